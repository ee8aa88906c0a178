// A run's images split across threads that share one CPU-kernel memory. The calling thread
// packs the weights for every batch row into a shared WebAssembly memory (cpu.ts); each
// helper thread is sent its share of the images (whole images, all their guidance streams)
// and samples them on its own rows of that memory with the same tf-free loop (loop.ts,
// cpuRows.ts, guided.ts), never waiting for the others. It writes every sub-pixel's levels
// and distributions into a ring of slots in shared memory; the caller merges them into its
// own events, sub-pixel by sub-pixel, so a split run streams the same events and bytes as
// one thread (every image draws from its own stream: uniforms.ts). The caller waits on a
// helper that is behind only once it has drawn its own images as far ahead as a ring holds,
// or all of them; a helper waits only when the ring is full (the caller paused, or slower). The CLI's worker_threads and the app's nested workers run serveShare.
import type { ModelConfig } from '../model/config';
import { CpuRows, layout, type KernelExports } from './cpuRows';
import type { GuidePlan } from './guidance';
import { GuidedStepper } from './guided';
import { abortError, drawPixels } from './loop';
import { runStreams } from './uniforms';
import { TOP, type PixelStats } from './pixelStats';
import type { PixelEvent } from './types';
import type { Stepper } from './steppers';

// the control array's Int32 slots
const WRITTEN = 0; // sub-pixels the helper has put in the ring
const READ = 1; // sub-pixels the caller has taken out
const STOP = 2; // 1: the caller is gone (done, stopped or failed): the helper ends
const FAILED = 3; // 1: the helper failed; its message from TEXT on
const ENDED = 4; // 1: the helper has left the share (done, stopped or failed): it writes the memory no more
const TEXT = 5;
const CTRL_BYTES = 1024;

/** Loads of a control word a thread spins on before it sleeps: a few microseconds, less than a futex wake. */
const SPIN = 2000;
/** How long the caller waits on a helper that writes nothing before calling it lost. */
const LOST_MS = 30_000;

/** What a helper is sent: its images, its rows of the memory and where to put what it draws. */
export interface ShareMessage {
  type: 'share';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctrl: SharedArrayBuffer;
  /** slots x (values [count] uint8, then probs [count * K] float32, 4-byte aligned; with stats, then entropy [count] and topP [count * TOP] float32, top [count * TOP] uint16) */
  ring: SharedArrayBuffer;
  slots: number;
  config: ModelConfig;
  /** where the kernel's static data ends (cpuRows.ts's layout starts past it) */
  base: number;
  /** the memory's batch rows in all, and this share's n0 .. n1-1 */
  rows: number;
  n0: number;
  n1: number;
  /** a spatial code's map of its rows [n1 - n0, H, W, q] */
  sMap?: Float32Array;
  /** guidance over its images (no condition: the memory holds it) */
  plan?: Pick<GuidePlan, 'kind' | 'g' | 'S' | 'condStream'>;
  seed: number;
  /** the run's index of its first image, and its images */
  first: number;
  count: number;
  temperature: number;
  /** its images [count, H, W, C] with the prefix's given sub-pixels, and the prefix's length */
  x: Uint8Array;
  length: number;
  /** it computes its images' figures (pixelStats.ts) too, and sends them with the levels */
  stats: boolean;
}

/** The helper threads as the caller sees them. */
export interface KernelThreads {
  /** helpers started (the caller is one more) */
  readonly helpers: number;
  /** helpers up and able to take a share now */
  ready(): number;
  /** resolves once every helper is up or failed, or after timeoutMs */
  whenReady(timeoutMs: number): Promise<void>;
  /** sends the i-th ready helper its share */
  send(i: number, message: ShareMessage): void;
  /** threads the last split run used, the caller included */
  lastRun: number;
}

/**
 * What the Node pool (cli/kernelPool.ts) and the app's (worker/samplingThreads.ts) share: which
 * helpers are up, said by each helper itself in shared memory (the caller may be busy
 * sampling and hear no message), and the share sent to the i-th of them. A subclass starts
 * the helpers (each told its flag) and puts them in `workers`.
 */
export abstract class HelperPool<W extends { postMessage(message: unknown): void }> implements KernelThreads {
  protected readonly workers: (W | undefined)[];
  /** per helper: 1 once it is up, 2 if it failed (it is never sent a share: runs go on without it) */
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

  send(i: number, message: ShareMessage): void {
    this.upOnes()[i].postMessage(message);
  }

  async whenReady(timeoutMs = 30_000): Promise<void> {
    const t0 = performance.now();
    const settled = () => this.workers.every((_, k) => Atomics.load(this.up, k) !== 0);
    while (!settled() && performance.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 2));
  }
}

/** A ring's size at most (its slots hold a sub-pixel's levels and distributions of a helper's images). */
export const RING_BYTES = 32 * 2 ** 20;

/** How long a run that can split waits for helpers still starting (they are up ~0.2 s after the pool starts). */
export const READY_WAIT_MS = 1000;

/** Where a slot's parts start (bytes; its levels at 0), and its size: a helper's ring slot, and a merged event's buffer. */
interface Slot {
  probs: number;
  entropy: number;
  topP: number;
  top: number;
  bytes: number;
}

function slotLayout(count: number, K: number, stats: boolean): Slot {
  const probs = Math.ceil(count / 4) * 4;
  const entropy = probs + count * K * 4;
  if (!stats) return { probs, entropy, topP: entropy, top: entropy, bytes: entropy };
  const topP = entropy + count * 4;
  const top = topP + count * TOP * 4;
  return { probs, entropy, topP, top, bytes: top + Math.ceil((count * TOP * 2) / 4) * 4 };
}

function failText(ctrl: Int32Array): string {
  const bytes = new Uint8Array(ctrl.buffer, TEXT * 4, CTRL_BYTES - TEXT * 4);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(bytes.slice(0, end < 0 ? bytes.length : end));
}

/** A helper's side: samples one share into its ring, then returns (kernelThread.ts / kernel.worker.ts call it for each share). */
export async function serveShare(m: ShareMessage): Promise<void> {
  const ctrl = new Int32Array(m.ctrl);
  const { config } = m;
  const K = config.levels;
  const slot = slotLayout(m.count, K, m.stats);
  try {
    const kernel = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports as unknown as KernelExports;
    const rows = new CpuRows(config, m.rows, m.n0, m.n1, m.memory, kernel, layout(config, m.rows, m.base), m.sMap);
    const stepper: Stepper = m.plan ? new GuidedStepper(rows, config, { ...m.plan, N: m.count, condition: undefined }) : rows;
    let j = 0;
    for await (const e of drawPixels(stepper, config, m.x, m.length, runStreams(m.seed, m.count, m.first), m.temperature, undefined, m.stats)) {
      // a full ring: wait for the caller to take a slot (it may be paused)
      for (let read = Atomics.load(ctrl, READ); j - read >= m.slots; read = Atomics.load(ctrl, READ)) {
        if (Atomics.load(ctrl, STOP)) return;
        Atomics.wait(ctrl, READ, read, 1000);
      }
      if (Atomics.load(ctrl, STOP)) return;
      const at = (j % m.slots) * slot.bytes;
      new Uint8Array(m.ring, at, m.count).set(e.values);
      new Float32Array(m.ring, at + slot.probs, m.count * K).set(e.probs);
      if (e.stats) {
        new Float32Array(m.ring, at + slot.entropy, m.count).set(e.stats.entropy);
        new Float32Array(m.ring, at + slot.topP, m.count * TOP).set(e.stats.topP);
        new Uint16Array(m.ring, at + slot.top, m.count * TOP).set(e.stats.top);
      }
      Atomics.store(ctrl, WRITTEN, ++j);
      Atomics.notify(ctrl, WRITTEN);
    }
  } catch (e) {
    const text = new TextEncoder().encode(e instanceof Error ? e.message : String(e)).slice(0, CTRL_BYTES - TEXT * 4 - 1);
    new Uint8Array(m.ctrl, TEXT * 4, text.length).set(text);
    Atomics.store(ctrl, FAILED, 1);
    Atomics.notify(ctrl, WRITTEN);
  } finally {
    Atomics.store(ctrl, ENDED, 1);
  }
}

/** The caller's view of one helper's share: its images first .. first+count-1 of the run. */
export class ShareLink {
  private readonly ctrl: Int32Array;
  private readonly ring: SharedArrayBuffer;
  private readonly slot: Slot;

  /** `stats`: the helper sends its images' figures too */
  constructor(readonly first: number, readonly count: number, private readonly K: number, readonly slots: number, readonly stats: boolean) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(CTRL_BYTES));
    this.slot = slotLayout(count, K, stats);
    this.ring = new SharedArrayBuffer(slots * this.slot.bytes);
  }

  /** The message that starts it (the rest of the share's fields from the caller). */
  message(rest: Omit<ShareMessage, 'type' | 'ctrl' | 'ring' | 'slots' | 'first' | 'count' | 'stats'>, runFirst: number): ShareMessage {
    return { type: 'share', ctrl: this.ctrl.buffer as SharedArrayBuffer, ring: this.ring, slots: this.slots, first: runFirst + this.first, count: this.count, stats: this.stats, ...rest };
  }

  /** Waits for the helper's j-th sub-pixel and copies its levels, distributions (and figures) into the run's event arrays. */
  take(j: number, values: Uint8Array, probs: Float32Array, stats?: PixelStats): void {
    const ctrl = this.ctrl;
    let written = Atomics.load(ctrl, WRITTEN);
    for (let i = 0; written <= j && i < SPIN && !ctrl[FAILED]; i++) written = Atomics.load(ctrl, WRITTEN);
    const start = Date.now();
    while (written <= j) {
      if (Atomics.load(ctrl, FAILED)) throw new Error(`a sampling thread failed: ${failText(ctrl)}`);
      if (Atomics.wait(ctrl, WRITTEN, written, 1000) === 'timed-out' && Date.now() - start > LOST_MS) throw new Error('a sampling thread stopped answering');
      written = Atomics.load(ctrl, WRITTEN);
    }
    const { slot, first, count } = this;
    const at = (j % this.slots) * slot.bytes;
    values.set(new Uint8Array(this.ring, at, count), first);
    probs.set(new Float32Array(this.ring, at + slot.probs, count * this.K), first * this.K);
    if (stats) {
      stats.entropy.set(new Float32Array(this.ring, at + slot.entropy, count), first);
      stats.topP.set(new Float32Array(this.ring, at + slot.topP, count * TOP), first * TOP);
      stats.top.set(new Uint16Array(this.ring, at + slot.top, count * TOP), first * TOP);
    }
    Atomics.store(ctrl, READ, j + 1);
    Atomics.notify(ctrl, READ);
  }

  /** Whether the helper has put its j-th sub-pixel in the ring (take(j) would not wait). */
  has(j: number): boolean {
    return Atomics.load(this.ctrl, WRITTEN) > j;
  }

  /** Whether the helper has left its share: until then it may still write the run's memory. */
  ended(): boolean {
    return Atomics.load(this.ctrl, ENDED) === 1;
  }

  /** The caller is done with it (finished, stopped or failed): a helper still sampling ends at its next sub-pixel. */
  stop(): void {
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.notify(this.ctrl, READ);
  }
}

/**
 * The caller's side of a split run: its own events (its images) merged with every helper's,
 * sub-pixel by sub-pixel, into events of the whole run; x [N, H, W, C] gets every image.
 * `stats`: the events carry every image's figures, each computed by the thread that drew it.
 * It draws its own sub-pixels ahead of a helper that is behind (one starts a little later,
 * or is descheduled), up to `ahead` of them, instead of waiting on it for each one.
 */
export async function* mergePixels(own: AsyncGenerator<PixelEvent, Uint8Array>, links: ShareLink[], ownCount: number, N: number, K: number, x: Uint8Array, size: number, stats: boolean, ahead: number, signal?: AbortSignal): AsyncGenerator<PixelEvent, Uint8Array> {
  // each event's arrays in one buffer laid out as a ring's slot of N images: an allocation a sub-pixel rather than five
  const at = slotLayout(N, K, stats);
  const merge = (e: PixelEvent, j: number): PixelEvent => {
    const buffer = new ArrayBuffer(at.bytes);
    const values = new Uint8Array(buffer, 0, N);
    const probs = new Float32Array(buffer, at.probs, N * K);
    values.set(e.values.subarray(0, ownCount));
    probs.set(e.probs.subarray(0, ownCount * K));
    let all: PixelStats | undefined;
    if (stats && e.stats) {
      all = { entropy: new Float32Array(buffer, at.entropy, N), top: new Uint16Array(buffer, at.top, N * TOP), topP: new Float32Array(buffer, at.topP, N * TOP) };
      all.entropy.set(e.stats.entropy);
      all.top.set(e.stats.top);
      all.topP.set(e.stats.topP);
    }
    const i = e.done - 1; // the sub-pixel's raster index
    for (const link of links) {
      link.take(j, values, probs, all);
      for (let n = link.first; n < link.first + link.count; n++) x[n * size + i] = values[n];
    }
    return { ...e, values, probs, ...(all ? { stats: all } : {}) };
  };
  // this thread's sub-pixels drawn but not yet merged; the first is sub-pixel j
  const queue: PixelEvent[] = [];
  let j = 0;
  let ownDone = false;
  try {
    for (;;) {
      // yield what every helper has drawn too; wait on them only with nothing of its own left to draw
      while (queue.length > 0 && (ownDone || queue.length >= ahead || links.every((l) => l.has(j)))) {
        // its own sub-pixels may all be drawn: the stop is heard here too
        if (signal?.aborted) throw abortError();
        yield merge(queue.shift()!, j++);
      }
      if (ownDone) return x;
      const step = await own.next();
      if (step.done) ownDone = true;
      else queue.push(step.value);
    }
  } finally {
    for (const link of links) link.stop();
    await own.return(x);
  }
}
