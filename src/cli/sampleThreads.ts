// Sampling on every core in Node: a run's images are split into even shares (split.ts),
// one per worker thread, each with its own tfjs-wasm and CPU kernel (sampleThread.ts); this
// thread samples the first share itself. A thread takes ~1.5 s to start (tsx, tfjs-wasm), so
// a command starts its pool first thing (SampleThreads.start), to boot beside its own
// loading, and keeps it for all its runs. Every image draws from its own stream, so any
// thread count gives the same bytes.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startThread } from '../backend/thread';
import type { PixelCNN } from '../model';
import { sampleChunked } from '../sampler/chunked';
import { shareOptions, shares } from '../sampler/split';
import type { SampleOptions } from '../sampler/types';
import type { FromSampleThread, ToSampleThread } from './sampleThread';

/** One thread a core. */
export function cores(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** Images a thread is worth starting for: below this its start-up (tsx, tfjs-wasm, the weights) costs more than it saves. */
export const MIN_THREAD_IMAGES = 2;

/** The threads a run of `count` images uses: `asked` (--threads), else one a core while each gets MIN_THREAD_IMAGES. */
export function threadsFor(count: number, asked?: number): number {
  if (asked !== undefined) return Math.min(asked, count);
  return Math.max(1, Math.min(cores(), Math.floor(count / MIN_THREAD_IMAGES)));
}

export interface ThreadedRun {
  images: Uint8Array;
  /** threads that sampled (fewer than asked when there are fewer images) */
  threads: number;
}

/** A command's sampling threads: this one and `threads - 1` workers. */
export class SampleThreads {
  private readonly workers: Worker[];

  private constructor(readonly threads: number, private readonly backend: string) {
    this.workers = Array.from({ length: threads - 1 }, () => {
      const w = startThread(new URL('./sampleThread.ts', import.meta.url));
      w.postMessage({ type: 'init', backend } satisfies ToSampleThread);
      w.unref(); // an idle pool never keeps the process alive (run refs the workers it waits on)
      return w;
    });
  }

  /** Starts the workers now (they boot while the caller loads its model). */
  static start(threads: number, backend = 'wasm'): SampleThreads {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
    return new SampleThreads(threads, backend);
  }

  /**
   * Samples `opts` on up to this pool's threads. `model` is the one this thread holds
   * (loaded from `modelDir`, which the workers load themselves); `onProgress` sees the
   * sub-pixels decided so far averaged over all the run's images (0 .. H * W * C).
   */
  async run(model: PixelCNN, modelDir: string, opts: SampleOptions, onProgress?: (done: number) => void): Promise<ThreadedRun> {
    const { height: H, width: Wd, channels: C } = model.config;
    const size = H * Wd * C;
    const parts = shares(opts.count, this.threads);
    const done = new Float64Array(parts.length);
    const report = (i: number, d: number) => {
      done[i] = d;
      onProgress?.(parts.reduce((sum, p, j) => sum + p.count * done[j], 0) / opts.count);
    };
    const out = new Uint8Array(opts.count * size);
    const cleanups: (() => void)[] = [];
    const remote = parts.slice(1).map(
      (part, k) =>
        new Promise<void>((resolve, reject) => {
          const w = this.workers[k];
          const onMessage = (m: FromSampleThread) => {
            if (m.type === 'progress') report(k + 1, m.done);
            else if (m.type === 'error') reject(new Error(m.message));
            else if (m.type === 'done') {
              out.set(m.images, part.first * size);
              report(k + 1, size);
              resolve();
            }
          };
          const onError = (e: Error) => reject(new Error(`sampling thread: ${e.message.split('\n')[0]}`));
          const onExit = (code: number) => reject(new Error(`a sampling thread exited with code ${code}`));
          w.ref();
          w.on('message', onMessage).on('error', onError).on('exit', onExit);
          cleanups.push(() => w.off('message', onMessage).off('error', onError).off('exit', onExit).unref());
          const { signal: _signal, ...plain } = shareOptions(opts, size, part);
          w.postMessage({ type: 'share', modelDir, opts: plain } satisfies ToSampleThread);
        }),
    );
    try {
      const local = sampleChunked(model, shareOptions(opts, size, parts[0]), (d) => report(0, d), { breathe: parts.length > 1 }).then((images) => out.set(images, 0));
      const settled = await Promise.allSettled([local, ...remote]);
      const bad = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (bad) throw bad.reason;
      return { images: out, threads: parts.length };
    } finally {
      cleanups.forEach((f) => f());
    }
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
          const w = this.workers[k];
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
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** One run on a pool of its own (started here: its workers boot now). */
export async function sampleThreaded(model: PixelCNN, modelDir: string, backend: string, opts: SampleOptions, threads: number, onProgress?: (done: number) => void): Promise<ThreadedRun> {
  const pool = SampleThreads.start(Math.min(threads, opts.count), backend);
  try {
    return await pool.run(model, modelDir, opts, onProgress);
  } finally {
    await pool.close();
  }
}
