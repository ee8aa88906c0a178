// Sampling on every core in Node: a run's images go out in chunks (split.ts) to worker
// threads, each with its own tfjs-wasm and CPU kernel (sampleThread.ts), and to this
// thread, each taking the next chunk when it is free. A thread takes ~1.5 s to start (tsx, tfjs-wasm), so
// a command starts its pool first thing (SampleThreads.start), to boot beside its own
// loading, and keeps it for all its runs. Every image draws from its own stream, so any
// thread count gives the same bytes.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startThread } from '../backend/thread';
import type { PixelCNN } from '../model';
import { chunkImages, sampleChunked } from '../sampler/chunked';
import { chunks, portableOptions, shareOptions, shares, type Share } from '../sampler/split';
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

  private constructor(readonly threads: number, private readonly backend: string, modelDir?: string) {
    this.workers = Array.from({ length: threads - 1 }, () => {
      const w = startThread(new URL('./sampleThread.ts', import.meta.url));
      w.postMessage({ type: 'init', backend, modelDir } satisfies ToSampleThread);
      w.unref(); // an idle pool never keeps the process alive (run refs the workers it waits on)
      return w;
    });
  }

  /** Starts the workers now: they boot, and load `modelDir` when given, while the caller loads its model. */
  static start(threads: number, backend = 'wasm', modelDir?: string): SampleThreads {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
    return new SampleThreads(threads, backend, modelDir);
  }

  /**
   * Samples `opts` on up to this pool's threads. `model` is the one this thread holds
   * (loaded from `modelDir`, which the workers load themselves); `onProgress` sees the
   * sub-pixels decided so far averaged over all the run's images (0 .. H * W * C).
   * The images go out in chunks, each thread taking the next when it is free: a worker
   * that is still booting (~1.5 s) takes fewer, and no thread waits for another at the end
   * for longer than a chunk.
   */
  async run(model: PixelCNN, modelDir: string, opts: SampleOptions, onProgress?: (done: number) => void): Promise<ThreadedRun> {
    const { height: H, width: Wd, channels: C } = model.config;
    const size = H * Wd * C;
    const threads = Math.min(this.threads, opts.count);
    // about four chunks a thread, each at most what fits the kernel's memory well
    const per = Math.min(chunkImages(model, opts), Math.max(1, Math.ceil(opts.count / (threads * 4))));
    const queue = chunks({ first: 0, count: opts.count }, per);
    const progress = new Map<Share, number>();
    const report = (part: Share, d: number) => {
      progress.set(part, d);
      let sum = 0;
      for (const [p, v] of progress) sum += p.count * v;
      onProgress?.(sum / opts.count);
    };
    const out = new Uint8Array(opts.count * size);
    const cleanups: (() => void)[] = [];
    let failed = false;
    const remote = this.workers.slice(0, threads - 1).map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          let part: Share | undefined;
          const fail = (e: Error) => {
            failed = true;
            reject(e);
          };
          const next = () => {
            part = failed ? undefined : queue.shift();
            if (!part) return resolve();
            w.postMessage({ type: 'share', modelDir, opts: portableOptions(shareOptions(opts, size, part)) } satisfies ToSampleThread);
          };
          const onMessage = (m: FromSampleThread) => {
            if (m.type === 'progress') report(part!, m.done);
            else if (m.type === 'error') fail(new Error(m.message));
            else if (m.type === 'done') {
              out.set(m.images, part!.first * size);
              report(part!, size);
              next();
            }
          };
          const onError = (e: Error) => fail(new Error(`sampling thread: ${e.message.split('\n')[0]}`));
          const onExit = (code: number) => fail(new Error(`a sampling thread exited with code ${code}`));
          w.ref();
          w.on('message', onMessage).on('error', onError).on('exit', onExit);
          cleanups.push(() => w.off('message', onMessage).off('error', onError).off('exit', onExit).unref());
          next();
        }),
    );
    const local = (async () => {
      for (let part = queue.shift(); part && !failed; part = queue.shift()) {
        const p = part;
        out.set(await sampleChunked(model, shareOptions(opts, size, p), (d) => report(p, d), { breathe: threads > 1 }), p.first * size);
      }
    })().catch((e) => {
      failed = true;
      throw e;
    });
    try {
      const settled = await Promise.allSettled([local, ...remote]);
      const bad = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (bad) throw bad.reason;
      return { images: out, threads };
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
