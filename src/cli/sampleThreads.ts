// Sampling on every core in Node. A run's images are split across kernel threads
// (kernelPool.ts): tf-free worker_threads that, with this thread, take the images' rows one
// at a time from the run's board and draw them on a shared CPU-kernel memory this thread
// packs (sampler/kernelThreads.ts), streamed as this thread's events; a large --count goes through in chunks (sampler/chunked.ts), each split
// the same way. eval --classify runs model forward passes instead, on threads with tfjs of
// their own (sampleThread.ts), started only when it asks. Every image draws from its own
// stream, so any thread count gives the same bytes.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startThread } from '../backend/thread';
import type { PixelCNN } from '../model';
import { sampleChunked } from '../sampler/chunked';
import { shares } from '../sampler/split';
import type { SampleOptions } from '../sampler/types';
import { KernelPool } from './kernelPool';
import type { FromSampleThread, ToSampleThread } from './sampleThread';

/** One thread a core. */
export function cores(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** The threads a run of `count` images uses: `asked` (--threads), else one a core; never more than its images (an image stays on one thread). */
export function threadsFor(count: number, asked?: number): number {
  return Math.max(1, Math.min(asked ?? cores(), count));
}

export interface ThreadedRun {
  images: Uint8Array;
  /** threads that sampled (fewer than asked when there are fewer images, or a thread was not up yet) */
  threads: number;
}

/** A command's sampling threads: this one and `threads - 1` kernel threads. */
export class SampleThreads {
  private readonly kernels: KernelPool | undefined;
  /** threads with tfjs, for eval --classify (started by its first call) */
  private workers: Worker[] | undefined;

  private constructor(readonly threads: number, private readonly backend: string, private readonly modelDir?: string) {
    this.kernels = threads > 1 && (backend === 'wasm' || backend === 'cpu') ? new KernelPool(threads - 1) : undefined;
  }

  /** Starts the kernel threads now: they boot while the caller loads its model. */
  static start(threads: number, backend = 'wasm', modelDir?: string): SampleThreads {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
    return new SampleThreads(threads, backend, modelDir);
  }

  /** Resolves once every kernel thread is up (benchmarks time a whole pool). */
  async whenReady(): Promise<void> {
    await this.kernels?.whenReady();
  }

  /**
   * Samples `opts` on up to this pool's threads, in chunks that fit the kernel's memory;
   * `onProgress` sees the sub-pixels decided so far averaged over all the run's images
   * (0 .. H * W * C). The threads step the kernel memory this thread packs: they need no model.
   */
  async run(model: PixelCNN, opts: SampleOptions, onProgress?: (done: number) => void): Promise<ThreadedRun> {
    const pool = this.kernels;
    // the threads are up ~0.2 s after the command starts them: a run that can split waits for them (at most a second)
    if (pool) pool.lastRun = 1;
    const images = await sampleChunked(model, { ...opts, kernelThreads: pool }, onProgress);
    return { images, threads: pool?.lastRun ?? 1 };
  }

  /** The tfjs threads (eval --classify), started on first use. */
  private tfThreads(): Worker[] {
    this.workers ??= Array.from({ length: this.threads - 1 }, () => {
      const w = startThread(new URL('./sampleThread.ts', import.meta.url));
      w.postMessage({ type: 'init', backend: this.backend, modelDir: this.modelDir } satisfies ToSampleThread);
      w.unref(); // an idle pool never keeps the process alive (classify refs the workers it waits on)
      return w;
    });
    return this.workers;
  }

  /**
   * eval --classify on the pool: each thread classifies a share of the images (levels
   * [count, H, W, C]) by Bayes from the class likelihoods, `batch` images a forward pass.
   */
  async classify(model: PixelCNN, modelDir: string, levels: Uint8Array, count: number, batch: number): Promise<number[]> {
    const { height: H, width: Wd, channels: C } = model.config;
    const size = H * Wd * C;
    const parts = shares(count, this.threads);
    const cleanups: (() => void)[] = [];
    const remote = parts.slice(1).map(
      (part, k) =>
        new Promise<number[]>((resolve, reject) => {
          const w = this.tfThreads()[k];
          const onMessage = (m: FromSampleThread) => (m.type === 'classified' ? resolve(m.predicted) : m.type === 'error' ? reject(new Error(m.message)) : undefined);
          const onExit = (code: number) => reject(new Error(`a sampling thread exited with code ${code}`));
          w.ref();
          w.on('message', onMessage).on('exit', onExit);
          cleanups.push(() => w.off('message', onMessage).off('exit', onExit).unref());
          const share = levels.slice(part.first * size, (part.first + part.count) * size);
          w.postMessage({ type: 'classify', modelDir, levels: share, count: part.count, batch } satisfies ToSampleThread, [share.buffer]);
        }),
    );
    try {
      const { classify } = await import('../model');
      const local = classify(model, levels.subarray(0, parts[0].count * size), parts[0].count, batch).then((r) => Array.from(r.predicted));
      return (await Promise.all([local, ...remote])).flat();
    } finally {
      cleanups.forEach((f) => f());
    }
  }

  async close(): Promise<void> {
    await Promise.all([...(this.workers ?? []).map((w) => w.terminate()), this.kernels?.close()]);
  }
}
