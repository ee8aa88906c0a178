// The board a split run's threads share (kernelThreads.ts): the images, in blocks of a few,
// have their rows taken one at a time by whichever thread is free, the least-drawn block
// first. A thread the browser slows (its own threads take a core of two now and then) so
// draws fewer rows instead of setting the run's end, as a fixed share of the images did.
// Between two rows an image's whole state is in shared memory: its kernel rows, its pixels
// (x) and a mixture's class likelihoods; its stream is skipped ahead to the row
// (uniforms.ts), so whichever thread draws a row draws the same bytes. Each drawn sub-pixel
// goes into a ring of whole-batch slots, which the caller yields as one event once every
// image has drawn it. tf-free.
import type { ModelConfig } from '../model/config';
import type { GuidePlan } from './guidance';
import { normalizeLogPost } from './guideMath';
import { GuidedStepper } from './guided';
import { abortError, checkFinite, drawLevel } from './loop';
import { TOP, writeStats, type PixelStats } from './pixelStats';
import type { CpuRows } from './cpuRows';
import type { Stepper } from './steppers';
import type { PixelEvent } from './types';
import { imageStream } from './uniforms';

// the control array's Int32 slots
const STOP = 0; // 1: the caller is gone (done, stopped or failed): every helper ends
const FAILED = 1; // 1: a helper failed; its message from TEXT on
const READ = 2; // raster index of the next sub-pixel the caller takes out of the ring
const TICK = 3; // counts rows finished and sub-pixels taken: what a thread with nothing to take waits on
const LEFT = 4; // helpers that have left the run: they write the memory no more
const HELPED = 5; // rows the helpers drew (the rest the caller drew)
const TEXT = 8;
const CTRL_BYTES = 1024;
// per block, three Int32s: taken by a thread now, the next row to draw, sub-pixels drawn (raster index of the next),
// a cache line (16 Int32s) a block: threads drawing two blocks do not write the same line every sub-pixel
const STRIDE = 16;
const BUSY = 0;
const NEXT = 1;
const WRITTEN = 2;

/** How long a thread with nothing to do sleeps before it looks for a stop again. */
const NAP_MS = 200;

/** Where a slot's parts start (bytes; its levels at 0), and its size: a ring slot and a merged event's buffer. */
export interface Slot {
  probs: number;
  entropy: number;
  topP: number;
  top: number;
  bytes: number;
}

/** A sub-pixel of `count` images: values [count] uint8, then probs [count * K] float32, 4-byte aligned; with stats, then entropy [count] and topP [count * TOP] float32, top [count * TOP] uint16. */
export function slotLayout(count: number, K: number, stats: boolean): Slot {
  const probs = Math.ceil(count / 4) * 4;
  const entropy = probs + count * K * 4;
  if (!stats) return { probs, entropy, topP: entropy, top: entropy, bytes: entropy };
  const topP = entropy + count * 4;
  const top = topP + count * TOP * 4;
  return { probs, entropy, topP, top, bytes: top + Math.ceil((count * TOP * 2) / 4) * 4 };
}

/** The board's shared buffers: what a helper is sent. */
export interface BoardBuffers {
  ctrl: SharedArrayBuffer;
  images: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  slots: number;
  /** the run's images [N, H, W, C] */
  x: SharedArrayBuffer;
  /** a mixture's log p(c | x_<i) per stream [N * S] float64 */
  logPost?: SharedArrayBuffer;
}

/** What the board needs to know of a run. */
export interface BoardRun {
  config: ModelConfig;
  /** images */
  N: number;
  /** images a block: a row of one block is what a thread takes (one image a call of the kernel costs ~5% more than many) */
  block: number;
  /** the prefix's length: sub-pixels before it are given */
  length: number;
  stats: boolean;
}

export class Board {
  private readonly ctrl: Int32Array;
  private readonly img: Int32Array;
  private readonly ring: Uint8Array;
  private readonly ringF: Float32Array;
  private readonly ringU16: Uint16Array;
  readonly x: Uint8Array;
  readonly logPost: Float64Array | undefined;
  readonly slot: Slot;
  readonly slots: number;
  private readonly rowLen: number;
  private readonly total: number;
  readonly blocks: number;
  private readonly scratch = { entropy: new Float32Array(1), top: new Uint16Array(TOP), topP: new Float32Array(TOP) };
  /** helpers sent the run (the caller's count: ended() waits for each) */
  sent = 0;

  constructor(readonly buffers: BoardBuffers, readonly run: BoardRun) {
    const { height: H, width: Wd, channels: C, levels: K } = run.config;
    this.ctrl = new Int32Array(buffers.ctrl);
    this.img = new Int32Array(buffers.images);
    this.ring = new Uint8Array(buffers.ring);
    this.ringF = new Float32Array(buffers.ring);
    this.ringU16 = new Uint16Array(buffers.ring);
    this.x = new Uint8Array(buffers.x);
    this.logPost = buffers.logPost && new Float64Array(buffers.logPost);
    this.slot = slotLayout(run.N, K, run.stats);
    this.slots = buffers.slots;
    this.rowLen = Wd * C;
    this.total = H * Wd * C;
    this.blocks = Math.ceil(run.N / run.block);
  }

  /**
   * The caller's board for a run starting from images x [N, H, W, C]; `slots`: ring slots
   * (at least a row's sub-pixels: a row is taken only when it fits); `mixtureS`: a
   * mixture's streams per image, whose likelihoods it holds.
   */
  static create(run: BoardRun, x: Uint8Array, slots: number, mixtureS = 0): Board {
    const { N, config, length } = run;
    const rowLen = config.width * config.channels;
    if (slots < Math.min(rowLen, config.height * rowLen)) throw new Error(`sampler: a ring of ${slots} slots holds less than a row (${rowLen} sub-pixels)`);
    const xs = new SharedArrayBuffer(x.length);
    new Uint8Array(xs).set(x);
    const logPost = mixtureS > 0 ? new SharedArrayBuffer(N * mixtureS * 8) : undefined;
    if (logPost) normalizeLogPost(new Float64Array(logPost), N, mixtureS);
    const board = new Board(
      { ctrl: new SharedArrayBuffer(CTRL_BYTES), images: new SharedArrayBuffer(Math.ceil(N / run.block) * STRIDE * 4), ring: new SharedArrayBuffer(slots * slotLayout(N, config.levels, run.stats).bytes), slots, x: xs, logPost },
      run,
    );
    for (let b = 0; b < board.blocks; b++) {
      board.img[b * STRIDE + NEXT] = Math.floor(length / rowLen);
      board.img[b * STRIDE + WRITTEN] = length;
    }
    // the prefix is never taken: the ring's room counts from its end (from 0, a ring shorter
    // than the prefix had room for no row, and the run waited until it was called lost)
    board.ctrl[READ] = length;
    return board;
  }

  /**
   * Takes the least-drawn block's row no thread holds whose sub-pixels fit in the ring now,
   * looking from block `from` on (ties go to the first seen); null if there is none.
   */
  claim(from: number): { b: number; r: number } | null {
    const N = this.blocks;
    const H = this.run.config.height;
    for (;;) {
      const read = Atomics.load(this.ctrl, READ);
      const fits = (r: number) => Math.min(this.total, (r + 1) * this.rowLen) - read <= this.slots;
      let best = -1;
      let bestRow = H;
      for (let k = 0; k < N; k++) {
        const n = (from + k) % N;
        if (Atomics.load(this.img, n * STRIDE + BUSY) !== 0) continue;
        const r = Atomics.load(this.img, n * STRIDE + NEXT);
        if (r < bestRow && fits(r)) {
          best = n;
          bestRow = r;
        }
      }
      if (best < 0) return null;
      if (Atomics.compareExchange(this.img, best * STRIDE + BUSY, 0, 1) !== 0) continue; // another thread took it first
      // another thread may have drawn a row of it between the look and the take
      const r = Atomics.load(this.img, best * STRIDE + NEXT);
      if (r < H && fits(r)) return { b: best, r };
      Atomics.store(this.img, best * STRIDE + BUSY, 0);
    }
  }

  /** Block b's row r is drawn (`helper`: by a helper): the next row is free to take. */
  finish(b: number, r: number, helper: boolean): void {
    if (helper) Atomics.add(this.ctrl, HELPED, 1);
    Atomics.store(this.img, b * STRIDE + NEXT, r + 1);
    Atomics.store(this.img, b * STRIDE + BUSY, 0);
    this.tick();
  }

  /** Gives back a row taken but not drawn (a stop). */
  drop(b: number): void {
    Atomics.store(this.img, b * STRIDE + BUSY, 0);
    this.tick();
  }

  private tick(): void {
    Atomics.add(this.ctrl, TICK, 1);
    Atomics.notify(this.ctrl, TICK);
  }

  /** The tick now: read before looking for work, and waited on if there is none. */
  ticks(): number {
    return Atomics.load(this.ctrl, TICK);
  }

  /** Sleeps until something changes after tick `seen` (a row finished, a sub-pixel taken, a stop), at most `ms`. */
  sleep(seen: number, ms = NAP_MS): void {
    Atomics.wait(this.ctrl, TICK, seen, ms);
  }

  /** Puts image n's sub-pixel i (raster index), drawn as `value` from `probs` [K], into x and the ring (wrote() then says its block has it). */
  put(n: number, i: number, value: number, probs: Float32Array): void {
    const K = this.run.config.levels;
    const at = (i % this.slots) * this.slot.bytes;
    this.ring[at + n] = value;
    this.ringF.set(probs, (at + this.slot.probs) / 4 + n * K);
    if (this.run.stats) {
      // into scratch arrays, then the ring: no views made a sub-pixel
      const { entropy, top, topP } = this.scratch;
      writeStats(probs, 1, K, 0, entropy, top, topP);
      this.ringF[(at + this.slot.entropy) / 4 + n] = entropy[0];
      for (let k = 0; k < TOP; k++) {
        this.ringF[(at + this.slot.topP) / 4 + n * TOP + k] = topP[k];
        this.ringU16[(at + this.slot.top) / 2 + n * TOP + k] = top[k];
      }
    }
    this.x[n * this.total + i] = value;
  }

  /** Block b's images have their sub-pixel i in the ring. */
  wrote(b: number, i: number): void {
    Atomics.store(this.img, b * STRIDE + WRITTEN, i + 1);
  }

  /** Raster index of the first sub-pixel some image has not drawn yet: the ring's sub-pixels before it are whole. */
  whole(): number {
    let min = this.total;
    for (let b = 0; b < this.blocks; b++) min = Math.min(min, Atomics.load(this.img, b * STRIDE + WRITTEN));
    return min;
  }

  /**
   * Sub-pixels j .. end-1 of every image as events, one a sub-pixel (their arrays views of one
   * buffer laid out as the ring's slots: one copy and one allocation for the lot), and frees
   * their slots.
   */
  take(j: number, end = j + 1): PixelEvent[] {
    const { N, config } = this.run;
    const { width: Wd, channels: C, levels: K } = config;
    const s = this.slot;
    const bytes = new Uint8Array((end - j) * s.bytes);
    // the ring's slots j .. end-1: at most two spans (it wraps)
    for (let at = j; at < end; ) {
      const slot = at % this.slots;
      const n = Math.min(end - at, this.slots - slot);
      bytes.set(this.ring.subarray(slot * s.bytes, (slot + n) * s.bytes), (at - j) * s.bytes);
      at += n;
    }
    Atomics.store(this.ctrl, READ, end);
    this.tick();
    const events: PixelEvent[] = [];
    for (let i = j; i < end; i++) {
      const o = (i - j) * s.bytes;
      const buf = bytes.buffer;
      const stats: PixelStats | undefined = this.run.stats
        ? { entropy: new Float32Array(buf, o + s.entropy, N), top: new Uint16Array(buf, o + s.top, N * TOP), topP: new Float32Array(buf, o + s.topP, N * TOP) }
        : undefined;
      events.push({
        row: Math.floor(i / (Wd * C)), col: Math.floor(i / C) % Wd, channel: i % C,
        values: new Uint8Array(buf, o, N), probs: new Float32Array(buf, o + s.probs, N * K), ...(stats ? { stats } : {}),
        done: i + 1, total: this.total,
      });
    }
    return events;
  }

  /** Whether every image's every row is drawn. */
  done(): boolean {
    const H = this.run.config.height;
    for (let b = 0; b < this.blocks; b++) if (Atomics.load(this.img, b * STRIDE + NEXT) < H) return false;
    return true;
  }

  /** The caller is done with the run (finished, stopped or failed): helpers end at their next sub-pixel. */
  stop(): void {
    Atomics.store(this.ctrl, STOP, 1);
    this.tick();
  }

  stopped(): boolean {
    return Atomics.load(this.ctrl, STOP) === 1;
  }

  /** A helper's failure, told to the caller (the first one's message is kept). */
  fail(message: string): void {
    if (Atomics.compareExchange(this.ctrl, FAILED, 0, 2) !== 0) return;
    const text = new TextEncoder().encode(message).slice(0, CTRL_BYTES - TEXT * 4 - 1);
    new Uint8Array(this.ctrl.buffer, TEXT * 4, text.length).set(text);
    Atomics.store(this.ctrl, FAILED, 1);
    this.tick();
  }

  /** Throws a helper's failure, if one failed. */
  check(): void {
    if (Atomics.load(this.ctrl, FAILED) !== 1) return;
    const bytes = new Uint8Array(this.ctrl.buffer, TEXT * 4, CTRL_BYTES - TEXT * 4);
    const end = bytes.indexOf(0);
    throw new Error(`a sampling thread failed: ${new TextDecoder().decode(bytes.slice(0, end < 0 ? bytes.length : end))}`);
  }

  /** A helper leaves the run. */
  leave(): void {
    Atomics.add(this.ctrl, LEFT, 1);
    Atomics.notify(this.ctrl, LEFT);
  }

  /** Rows the helpers drew so far. */
  helped(): number {
    return Atomics.load(this.ctrl, HELPED);
  }

  /**
   * Whether every helper sent the run has left it (until then one may still write the kernel
   * memory), waiting up to `waitMs` for them: a stopped helper leaves within a pixel, but a
   * next run may come sooner.
   */
  ended(waitMs = 0): boolean {
    const t0 = Date.now();
    for (let left = Atomics.load(this.ctrl, LEFT); left < this.sent; left = Atomics.load(this.ctrl, LEFT)) {
      const rest = waitMs - (Date.now() - t0);
      if (rest <= 0) return false;
      Atomics.wait(this.ctrl, LEFT, left, rest);
    }
    return true;
  }
}

/** A run's guidance as a thread needs it (no condition: the kernel memory holds it). */
export type ThreadPlan = Pick<GuidePlan, 'kind' | 'g' | 'S' | 'condStream'>;

/**
 * One thread's side of a board: it draws whichever block's row it takes, each block on its
 * own stepper of that block's kernel rows (`rows(n0, n1)`: batch rows n0 .. n1-1), made the
 * first time the thread takes the block and kept for the run.
 */
export class ImageRows {
  private readonly steppers = new Map<number, { stepper: Stepper; rows: CpuRows; guided?: GuidedStepper }>();

  constructor(
    private readonly board: Board,
    private readonly rows: (n0: number, n1: number) => CpuRows,
    private readonly plan: ThreadPlan | undefined,
    private readonly seed: number,
    /** the run's first image's index (its stream) */
    private readonly first: number,
    private readonly temperature: number,
  ) {}

  /** Block b's images: n0 .. n1-1. */
  private images(b: number): [number, number] {
    const { N, block } = this.board.run;
    return [b * block, Math.min(N, (b + 1) * block)];
  }

  private stepperOf(b: number): { stepper: Stepper; rows: CpuRows; guided?: GuidedStepper } {
    let s = this.steppers.get(b);
    if (s) return s;
    const [n0, n1] = this.images(b);
    const plan = this.plan;
    const S = plan?.S ?? 1;
    const inner = this.rows(n0 * S, n1 * S);
    if (!plan || plan.kind === 'none') s = { stepper: inner, rows: inner };
    else {
      const { config } = this.board.run;
      const sub = { ...plan, N: n1 - n0, condStream: plan.condStream.subarray(n0, n1), condition: undefined };
      const guided = new GuidedStepper(inner, config, sub, undefined, this.board.logPost?.subarray(n0 * S, n1 * S));
      s = { stepper: guided, rows: inner, guided };
    }
    this.steppers.set(b, s);
    return s;
  }

  /** Draws block b's row r into the board; false if the run stopped first (`stopped`, checked every pixel). */
  async row(b: number, r: number, stopped: () => boolean): Promise<boolean> {
    const { config, length } = this.board.run;
    const { height: H, width: Wd, channels: C, levels: K } = config;
    const size = H * Wd * C;
    const rowLen = Wd * C;
    const [n0, n1] = this.images(b);
    const x = this.board.x.subarray(n0 * size, n1 * size);
    const { stepper, rows, guided } = this.stepperOf(b);
    const start = Math.max(length, r * rowLen);
    const r0 = Math.floor(length / rowLen);
    // each image's stream past the sub-pixels drawn before this row
    const streams = Array.from({ length: n1 - n0 }, (_, k) => imageStream(this.seed, this.first + n0 + k, start - length));
    if (r === r0 && length > 0) await stepper.warm(x, length);
    else {
      // the rows other threads drew since this one last had the block
      guided?.resume(x, start);
      stepper.startRow(r, x);
    }
    const c0 = Math.floor((start % rowLen) / C);
    for (let c = c0; c < Wd; c++) {
      if (stopped()) return false;
      for (let ch = c === c0 ? start % C : 0; ch < C; ch++) {
        // unguided, the kernel's own output, copied into the ring by put: no array, no promise a sub-pixel
        const probs = guided ? await stepper.probs(r, c, ch, x, this.temperature) : rows.probsView(r, c, ch, x, this.temperature);
        checkFinite(probs, r, c, ch);
        const i = (r * Wd + c) * C + ch;
        for (let k = 0; k < n1 - n0; k++) {
          this.board.put(n0 + k, i, drawLevel(probs, k * K, K, streams[k]()), n1 - n0 === 1 ? probs : probs.subarray(k * K, (k + 1) * K));
        }
        this.board.wrote(b, i);
      }
      stepper.endPixel(r, c, x);
    }
    return true;
  }

  dispose(): void {
    for (const { stepper } of this.steppers.values()) stepper.dispose();
    this.steppers.clear();
  }
}

/**
 * Takes and draws rows until the board has none left for it; with `signal`, stops at its
 * abort. A helper runs it to the run's end; the `caller` one row between its merges.
 * Returns whether it drew a row.
 */
export async function drawRows(board: Board, rows: ImageRows, from: { b: number }, caller: boolean, signal?: AbortSignal): Promise<boolean> {
  let drew = false;
  const stopped = () => board.stopped() || !!signal?.aborted;
  for (;;) {
    const task = board.claim(from.b);
    if (!task) return drew;
    try {
      if (!(await rows.row(task.b, task.r, stopped))) {
        board.drop(task.b);
        if (signal?.aborted) throw abortError();
        return drew;
      }
    } catch (e) {
      board.drop(task.b);
      throw e;
    }
    board.finish(task.b, task.r, !caller);
    from.b = task.b + 1;
    drew = true;
    if (caller) return drew;
  }
}
