// A run's images drawn by several threads that share one CPU-kernel memory. The calling
// thread packs the weights for every batch row into a shared WebAssembly memory (cpu.ts)
// and sends each helper thread the whole run; every thread, the caller too, then takes one
// row of a block of images at a time from the run's board (rowBoard.ts), the least-drawn
// first, and draws it on that block's rows of the memory with the same tf-free steppers
// (cpuRows.ts, guided.ts). Every drawn sub-pixel goes into a ring in shared memory; the caller yields a
// sub-pixel of all images as one event once each has drawn it, so a split run streams the
// same events and bytes as one thread (every image draws from its own stream:
// uniforms.ts). A thread waits only when no row is free to take: all are held, or the ring
// is full (the caller paused, or is slower). The CLI's worker_threads and the app's nested
// workers run serveRun.
import type { ModelConfig } from '../model/config';
import { CpuRows, layout, mapRowsOf, type KernelExports } from './cpuRows';
import { abortError } from './loop';
import { Board, drawRows, ImageRows, type BoardBuffers, type ThreadPlan } from './rowBoard';
import type { PixelEvent } from './types';

/** How long the caller waits on helpers that draw nothing before calling them lost. */
const LOST_MS = 30_000;

/** What a helper is sent: the run, its kernel memory and its board. */
export interface RunMessage {
  type: 'run';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** the caller's name for the memory: the same from one run to the next while it keeps it (kernelCache.ts) */
  memoryId: number;
  board: BoardBuffers;
  config: ModelConfig;
  /** where the kernel's static data ends (cpuRows.ts's layout starts past it) */
  base: number;
  /** the memory's batch rows in all (image n's are n * S .. n * S + S - 1) */
  rows: number;
  /** the run's images, a block's, the prefix's length, and whether events carry figures (pixelStats.ts) */
  N: number;
  block: number;
  length: number;
  stats: boolean;
  /** a spatial code's map of every image's rows [N * S, H, W, q] */
  sMap?: Float32Array;
  /** guidance over the run's images (no condition: the memory holds it) */
  plan?: ThreadPlan;
  seed: number;
  /** the run's index of its first image (its stream) */
  first: number;
  temperature: number;
  /** the block it looks at first (helpers start apart) */
  from: number;
}

/** The helper threads as the caller sees them. */
export interface KernelThreads {
  /** helpers started (the caller is one more) */
  readonly helpers: number;
  /** helpers up and able to take a run now */
  ready(): number;
  /** resolves once every helper is up or failed, or after timeoutMs */
  whenReady(timeoutMs: number): Promise<void>;
  /** sends the i-th ready helper the run */
  send(i: number, message: RunMessage): void;
  /** threads the last split run used, the caller included */
  lastRun: number;
  /** rows of images the helpers drew in the last split run (the caller drew the others) */
  lastHelped?: number;
}

/**
 * What the Node pool (cli/kernelPool.ts) and the app's (worker/samplingThreads.ts) share: which
 * helpers are up, said by each helper itself in shared memory (the caller may be busy
 * sampling and hear no message), and the run sent to the i-th of them. A subclass starts
 * the helpers (each told its flag) and puts them in `workers`.
 */
export abstract class HelperPool<W extends { postMessage(message: unknown): void }> implements KernelThreads {
  protected readonly workers: (W | undefined)[];
  /** per helper: 1 once it is up, 2 if it failed (it is never sent a run: runs go on without it) */
  protected readonly up: Int32Array;
  lastRun = 1;

  constructor(readonly helpers: number) {
    this.up = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, helpers)));
    this.workers = Array.from({ length: helpers }, () => undefined);
  }

  protected failed(index: number): void {
    Atomics.store(this.up, index, 2);
  }

  private upOnes(): W[] {
    return this.workers.filter((w, k): w is W => w !== undefined && Atomics.load(this.up, k) === 1);
  }

  ready(): number {
    return this.upOnes().length;
  }

  send(i: number, message: RunMessage): void {
    this.upOnes()[i].postMessage(message);
  }

  /** Every helper drops the kernel instance it keeps (its memory is being freed: a model switch). */
  forget(): void {
    for (const w of this.workers) w?.postMessage({ type: 'forget' } satisfies ForgetMessage);
  }

  async whenReady(timeoutMs = 30_000): Promise<void> {
    const t0 = performance.now();
    const settled = () => this.workers.every((_, k) => Atomics.load(this.up, k) !== 0);
    while (!settled() && performance.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 2));
  }
}

/** A ring's size at most (its slots hold a sub-pixel's levels and distributions of every image; at least two rows). */
export const RING_BYTES = 8 * 2 ** 20;

/** How long a run that can split waits for helpers still starting (they are up ~0.2 s after the pool starts). */
export const READY_WAIT_MS = 1000;

/**
 * This helper's kernel instance on the memory of its last run, kept while runs come on the
 * same memory: with an instance a run, the kernel's functions were new each run, and V8
 * threw away the helper's optimised code every run (deopts on "wrong map") and compiled it
 * again on the page's thread pool, beside the sampling. One memory at most: a run on
 * another replaces it, and a model switch drops it (HelperPool.forget).
 */
let kept: { memoryId: number; kernel: KernelExports } | undefined;

/** Drops the kept instance (its memory is being freed: a model switch); the next run makes one. */
export function forgetKernel(): void {
  kept = undefined;
}

/** What a helper may be sent besides a run: drop its kept kernel instance (forgetKernel). */
export interface ForgetMessage {
  type: 'forget';
}

/** A helper thread's inbox (kernelThread.ts, kernel.worker.ts): runs served one after another in the order sent, a forget at once. */
export function helperInbox(): (m: RunMessage | ForgetMessage) => void {
  let queue: Promise<void> = Promise.resolve();
  return (m) => {
    if (m.type === 'forget') forgetKernel();
    else queue = queue.then(() => serveRun(m));
  };
}

/** The kept instance when the run is on the kept memory, else a new one, kept. */
export function helperKernel(m: Pick<RunMessage, 'memoryId' | 'module' | 'memory'>): KernelExports {
  if (kept?.memoryId !== m.memoryId) kept = { memoryId: m.memoryId, kernel: new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports as unknown as KernelExports };
  return kept.kernel;
}

/** A helper's side: draws rows of one run until none is left (kernelThread.ts / kernel.worker.ts call it for each run). */
export async function serveRun(m: RunMessage): Promise<void> {
  const { config } = m;
  const board = new Board(m.board, { config, N: m.N, block: m.block, length: m.length, stats: m.stats });
  let rows: ImageRows | undefined;
  try {
    const kernel = helperKernel(m);
    const lay = layout(config, m.rows, m.base);
    rows = new ImageRows(board, (n0, n1) => new CpuRows(config, m.rows, n0, n1, m.memory, kernel, lay, mapRowsOf(config, m.sMap, n0, n1)), m.plan, m.seed, m.first, m.temperature);
    const from = { b: m.from };
    for (;;) {
      const seen = board.ticks();
      if (board.stopped()) return;
      if (await drawRows(board, rows, from, false)) continue;
      if (board.done() || board.stopped()) return;
      // every row left is held by another thread, or the ring is full
      board.sleep(seen);
    }
  } catch (e) {
    board.fail(e instanceof Error ? e.message : String(e));
  } finally {
    rows?.dispose();
    board.leave();
  }
}

/**
 * The caller's side of a split run: it yields each sub-pixel once every image has drawn it
 * and, between, draws rows itself (`rows`, on its own view of the memory); returns the
 * images [N, H, W, C] of the board.
 */
export async function* boardPixels(board: Board, rows: ImageRows, pool: KernelThreads, signal?: AbortSignal): AsyncGenerator<PixelEvent, Uint8Array> {
  const { config, length } = board.run;
  const total = config.height * config.width * config.channels;
  const from = { b: 0 };
  let j = length;
  let quiet = Date.now();
  try {
    for (;;) {
      const seen = board.ticks();
      board.check();
      const whole = board.whole();
      if (whole > j) {
        for (const e of board.take(j, whole)) {
          // its own rows may all be drawn: the stop is heard here too
          if (signal?.aborted) throw abortError();
          yield e;
        }
        j = whole;
      }
      if (j >= total) {
        pool.lastHelped = board.helped();
        return board.x;
      }
      if (signal?.aborted) throw abortError();
      // a row of its own between merges: the events wait a row at most
      if (await drawRows(board, rows, from, true, signal)) {
        quiet = Date.now();
        continue;
      }
      // every row left is held by a helper: wait for one to finish
      board.sleep(seen);
      if (board.ticks() !== seen) quiet = Date.now();
      else if (Date.now() - quiet > LOST_MS) throw new Error('a sampling thread stopped answering');
    }
  } finally {
    board.stop();
    rows.dispose();
  }
}
