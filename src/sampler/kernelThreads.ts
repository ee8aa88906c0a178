// A run's images split across threads that share one CPU-kernel memory. The calling thread
// packs the weights for every batch row into a shared WebAssembly memory (cpu.ts); each
// helper thread is sent its share of the images (whole images, all their guidance streams)
// and samples them on its own rows of that memory with the same tf-free loop (loop.ts,
// cpuRows.ts, guided.ts), never waiting for the others. It writes every sub-pixel's levels
// and distributions into a ring of slots in shared memory; the caller merges them into its
// own events, sub-pixel by sub-pixel, so a split run streams the same events and bytes as
// one thread (every image draws from its own stream: uniforms.ts). The caller waits only
// when a helper is behind it; a helper waits only when the ring is full (the caller paused,
// or slower). The CLI's worker_threads and the app's nested workers run serveShare.
import type { ModelConfig } from '../model/config';
import { CpuRows, layout, type KernelExports } from './cpuRows';
import type { GuidePlan } from './guidance';
import { GuidedStepper } from './guided';
import { drawPixels } from './loop';
import { runStreams } from './uniforms';
import type { PixelEvent } from './types';
import type { Stepper } from './steppers';

// the control array's Int32 slots
const WRITTEN = 0; // sub-pixels the helper has put in the ring
const READ = 1; // sub-pixels the caller has taken out
const STOP = 2; // 1: the caller is gone (done, stopped or failed): the helper ends
const FAILED = 3; // 1: the helper failed; its message from TEXT on
const TEXT = 4;
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
  /** slots x (values [count] uint8, then probs [count * K] float32, 4-byte aligned) */
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

/** A ring's size at most (its slots hold a sub-pixel's levels and distributions of a helper's images). */
export const RING_BYTES = 32 * 2 ** 20;

/** How long a run that can split waits for helpers still starting (they are up ~0.2 s after the pool starts). */
export const READY_WAIT_MS = 1000;

function slotBytes(count: number, K: number): { values: number; bytes: number } {
  const values = Math.ceil(count / 4) * 4;
  return { values, bytes: values + count * K * 4 };
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
  const { values: vBytes, bytes } = slotBytes(m.count, K);
  try {
    const kernel = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports as unknown as KernelExports;
    const rows = new CpuRows(config, m.rows, m.n0, m.n1, m.memory, kernel, layout(config, m.rows, m.base), m.sMap);
    const stepper: Stepper = m.plan ? new GuidedStepper(rows, config, { ...m.plan, N: m.count, condition: undefined }) : rows;
    let j = 0;
    for await (const e of drawPixels(stepper, config, m.x, m.length, runStreams(m.seed, m.count, m.first), m.temperature)) {
      // a full ring: wait for the caller to take a slot (it may be paused)
      for (let read = Atomics.load(ctrl, READ); j - read >= m.slots; read = Atomics.load(ctrl, READ)) {
        if (Atomics.load(ctrl, STOP)) return;
        Atomics.wait(ctrl, READ, read, 1000);
      }
      if (Atomics.load(ctrl, STOP)) return;
      const at = (j % m.slots) * bytes;
      new Uint8Array(m.ring, at, m.count).set(e.values);
      new Float32Array(m.ring, at + vBytes, m.count * K).set(e.probs);
      Atomics.store(ctrl, WRITTEN, ++j);
      Atomics.notify(ctrl, WRITTEN);
    }
  } catch (e) {
    const text = new TextEncoder().encode(e instanceof Error ? e.message : String(e)).slice(0, CTRL_BYTES - TEXT * 4 - 1);
    new Uint8Array(m.ctrl, TEXT * 4, text.length).set(text);
    Atomics.store(ctrl, FAILED, 1);
    Atomics.notify(ctrl, WRITTEN);
  }
}

/** The caller's view of one helper's share: its images first .. first+count-1 of the run. */
export class ShareLink {
  private readonly ctrl: Int32Array;
  private readonly ring: SharedArrayBuffer;
  private readonly bytes: number;
  private readonly vBytes: number;

  constructor(readonly first: number, readonly count: number, private readonly K: number, readonly slots: number) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(CTRL_BYTES));
    const s = slotBytes(count, K);
    this.bytes = s.bytes;
    this.vBytes = s.values;
    this.ring = new SharedArrayBuffer(slots * s.bytes);
  }

  /** The message that starts it (the rest of the share's fields from the caller). */
  message(rest: Omit<ShareMessage, 'type' | 'ctrl' | 'ring' | 'slots' | 'first' | 'count'>, runFirst: number): ShareMessage {
    return { type: 'share', ctrl: this.ctrl.buffer as SharedArrayBuffer, ring: this.ring, slots: this.slots, first: runFirst + this.first, count: this.count, ...rest };
  }

  /** Waits for the helper's j-th sub-pixel and copies its levels and distributions into the run's event arrays. */
  take(j: number, values: Uint8Array, probs: Float32Array): void {
    const ctrl = this.ctrl;
    let written = Atomics.load(ctrl, WRITTEN);
    for (let i = 0; written <= j && i < SPIN && !ctrl[FAILED]; i++) written = Atomics.load(ctrl, WRITTEN);
    const start = Date.now();
    while (written <= j) {
      if (Atomics.load(ctrl, FAILED)) throw new Error(`a sampling thread failed: ${failText(ctrl)}`);
      if (Atomics.wait(ctrl, WRITTEN, written, 1000) === 'timed-out' && Date.now() - start > LOST_MS) throw new Error('a sampling thread stopped answering');
      written = Atomics.load(ctrl, WRITTEN);
    }
    const at = (j % this.slots) * this.bytes;
    values.set(new Uint8Array(this.ring, at, this.count), this.first);
    probs.set(new Float32Array(this.ring, at + this.vBytes, this.count * this.K), this.first * this.K);
    Atomics.store(ctrl, READ, j + 1);
    Atomics.notify(ctrl, READ);
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
 */
export async function* mergePixels(own: AsyncGenerator<PixelEvent, Uint8Array>, links: ShareLink[], ownCount: number, N: number, K: number, x: Uint8Array, size: number): AsyncGenerator<PixelEvent, Uint8Array> {
  try {
    for (let j = 0; ; j++) {
      const step = await own.next();
      if (step.done) return x;
      const e = step.value;
      const values = new Uint8Array(N);
      const probs = new Float32Array(N * K);
      values.set(e.values.subarray(0, ownCount));
      probs.set(e.probs.subarray(0, ownCount * K));
      const i = e.done - 1; // the sub-pixel's raster index
      for (const link of links) {
        link.take(j, values, probs);
        for (let n = link.first; n < link.first + link.count; n++) x[n * size + i] = values[n];
      }
      yield { ...e, values, probs };
    }
  } finally {
    for (const link of links) link.stop();
    await own.return(x);
  }
}
