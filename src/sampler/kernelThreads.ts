// Threads that step one CPU-kernel call together (cpu.ts): the kernel's memory is a shared
// WebAssembly memory, every thread runs its own instance of the kernel on it, and each call's
// batch rows go out in blocks that the calling thread and the helpers claim one at a time
// (compare-and-swap on a word of a small shared control array). A row's state never reads
// another row's, so any thread may step any row at any call, and the bytes are those of one
// thread. A helper that is still starting, or late to wake, claims nothing: the caller steps
// every block itself and never waits for a thread that has not begun a block. tf-free: the
// CLI's worker_threads and the app's nested workers run kernelThread.ts around it.

/** The kernel's exported calls a block runs (cpuKernel.as.ts), each on batch rows n0 .. n1-1. */
export interface KernelCalls {
  step(cfg: number, n0: number, n1: number, c: number, colStart: number, nCols: number, mode: number, temperature: number): void;
  advance(cfg: number, n0: number, n1: number): void;
  row(cfg: number, n0: number, n1: number): void;
}

export const OP = { step: 1, advance: 2, row: 3, detach: 4 } as const;

// the control array's Int32 slots
const SEQ = 0; // command number: a helper wakes on its change
const CLAIM = 1; // (seq & SEQ_MASK) << BLOCK_BITS | next block
const DONE = 2; // blocks finished in this command
const FAILED = 3; // 1: a helper's block threw (its message in FAILED_TEXT)
const KIND = 4;
const ROWS = 5;
const BLOCKS = 6;
const CFG = 7;
const ARGS = 8; // c, colStart, nCols, mode, temperature (f32 bits)
const FAILED_TEXT = 16; // bytes from here: a helper's error message, UTF-8
const CTRL_BYTES = 1024;
const BLOCK_BITS = 12;
const MAX_BLOCKS = 1 << BLOCK_BITS;
const SEQ_MASK = (1 << (31 - BLOCK_BITS)) - 1;

/** Blocks a call is cut into per thread: enough that a late or slower thread leaves little for the others at the end. */
const BLOCKS_PER_THREAD = 8;
/** Loads of the control word a thread spins on before sleeping: a few tens of microseconds, less than a futex wake. */
const SPIN = 400000;
/** How long the caller waits for a helper's claimed block before calling it lost. */
const LOST_MS = 60_000;

/** Where a thread posts and hears messages: a Node MessagePort / Worker or a browser Worker / worker scope. */
export interface Port {
  postMessage(message: unknown): void;
}

export interface AttachMessage {
  type: 'attach';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctrl: SharedArrayBuffer;
}

/** The batch rows of block k of `blocks` over `rows` rows. */
function blockRows(k: number, blocks: number, rows: number): [number, number] {
  return [Math.floor((k * rows) / blocks), Math.floor(((k + 1) * rows) / blocks)];
}

/** Runs blocks of command `seq` until none is left (or a newer command has begun); returns how many it ran. */
function claimBlocks(ctrl: Int32Array, f32: Float32Array, calls: KernelCalls, seq: number): number {
  const tag = (seq & SEQ_MASK) << BLOCK_BITS;
  let ran = 0;
  for (;;) {
    const w = Atomics.load(ctrl, CLAIM);
    if ((w & ~(MAX_BLOCKS - 1)) !== tag) return ran;
    const k = w & (MAX_BLOCKS - 1);
    const blocks = ctrl[BLOCKS];
    if (k >= blocks) return ran;
    if (Atomics.compareExchange(ctrl, CLAIM, w, w + 1) !== w) continue;
    ran++;
    const [n0, n1] = blockRows(k, blocks, ctrl[ROWS]);
    const cfg = ctrl[CFG];
    try {
      const kind = ctrl[KIND];
      if (kind === OP.step) calls.step(cfg, n0, n1, ctrl[ARGS], ctrl[ARGS + 1], ctrl[ARGS + 2], ctrl[ARGS + 3], f32[ARGS + 4]);
      else if (kind === OP.advance) calls.advance(cfg, n0, n1);
      else calls.row(cfg, n0, n1);
    } catch (e) {
      if (Atomics.compareExchange(ctrl, FAILED, 0, 1) === 0) {
        const text = new TextEncoder().encode(String(e instanceof Error ? e.message : e)).slice(0, CTRL_BYTES - FAILED_TEXT * 4 - 1);
        new Uint8Array(ctrl.buffer, FAILED_TEXT * 4, text.length).set(text);
      }
    }
    if (Atomics.add(ctrl, DONE, 1) + 1 === blocks) Atomics.notify(ctrl, DONE);
  }
}

/** A helper's side: serves one memory's commands until told to detach (kernelThread.ts calls it for every attach). */
export function serveTeam(m: AttachMessage): void {
  const ctrl = new Int32Array(m.ctrl);
  const f32 = new Float32Array(m.ctrl);
  const calls = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports as unknown as KernelCalls;
  let seen = Atomics.load(ctrl, SEQ);
  // a team given back before this helper heard of it: its detach came first
  if (ctrl[KIND] === OP.detach) return;
  for (;;) {
    let s = Atomics.load(ctrl, SEQ);
    for (let i = 0; s === seen && i < SPIN; i++) s = Atomics.load(ctrl, SEQ);
    if (s === seen) {
      Atomics.wait(ctrl, SEQ, seen);
      continue;
    }
    seen = s;
    if (ctrl[KIND] === OP.detach) return;
    claimBlocks(ctrl, f32, calls, s);
  }
}

/** The pool's threads as the caller sees them: each takes attach messages (and runs serveTeam). */
export interface KernelThreads {
  /** helper threads (the caller is one more) */
  readonly helpers: number;
  /** blocks run by the callers and by the helpers, every team's added (did the helpers step any?) */
  readonly blocks: { caller: number; helpers: number };
  /** sends every helper an attach message */
  attach(message: AttachMessage): void;
}

/**
 * One kernel memory's team: the caller and every helper of `threads` stepping its calls.
 * Without helpers (or for one batch row) a call runs on the caller alone, as before.
 */
export class KernelTeam {
  private readonly ctrl: Int32Array;
  private readonly f32: Float32Array;
  private seq = 0;
  /** blocks run on each side so far (tests and benchmarks: did the helpers step any?) */
  readonly blocks: { caller: number; helpers: number };

  constructor(private readonly calls: KernelCalls, private readonly threads: KernelThreads | undefined, module: WebAssembly.Module, memory: WebAssembly.Memory) {
    const buffer = new SharedArrayBuffer(CTRL_BYTES);
    this.ctrl = new Int32Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.blocks = threads?.blocks ?? { caller: 0, helpers: 0 };
    if (threads && threads.helpers > 0) threads.attach({ type: 'attach', module, memory, ctrl: buffer });
  }

  private get helpers(): number {
    return this.threads?.helpers ?? 0;
  }

  step(cfg: number, rows: number, c: number, colStart: number, nCols: number, mode: number, temperature: number): void {
    if (this.alone(rows)) return this.calls.step(cfg, 0, rows, c, colStart, nCols, mode, temperature);
    this.ctrl.set([c, colStart, nCols, mode], ARGS);
    this.f32[ARGS + 4] = temperature;
    this.run(OP.step, cfg, rows);
  }

  advance(cfg: number, rows: number): void {
    if (this.alone(rows)) return this.calls.advance(cfg, 0, rows);
    this.run(OP.advance, cfg, rows);
  }

  row(cfg: number, rows: number): void {
    if (this.alone(rows)) return this.calls.row(cfg, 0, rows);
    this.run(OP.row, cfg, rows);
  }

  private alone(rows: number): boolean {
    if (this.helpers === 0 || rows < 2) {
      this.blocks.caller++;
      return true;
    }
    return false;
  }

  /** One command: its blocks claimed by whoever is free, the caller included; returns once all are done. */
  private run(kind: number, cfg: number, rows: number): void {
    const ctrl = this.ctrl;
    const blocks = Math.min(rows, (this.helpers + 1) * BLOCKS_PER_THREAD, MAX_BLOCKS);
    ctrl[KIND] = kind;
    ctrl[ROWS] = rows;
    ctrl[BLOCKS] = blocks;
    ctrl[CFG] = cfg;
    Atomics.store(ctrl, DONE, 0);
    const seq = ++this.seq;
    Atomics.store(ctrl, CLAIM, (seq & SEQ_MASK) << BLOCK_BITS);
    Atomics.store(ctrl, SEQ, seq);
    Atomics.notify(ctrl, SEQ);
    const mine = claimBlocks(ctrl, this.f32, this.calls, seq);
    this.blocks.caller += mine;
    this.blocks.helpers += blocks - mine;
    let done = Atomics.load(ctrl, DONE);
    for (let i = 0; done < blocks && i < SPIN; i++) done = Atomics.load(ctrl, DONE);
    const start = Date.now();
    while (done < blocks) {
      if (Atomics.wait(ctrl, DONE, done, 1000) === 'timed-out' && Date.now() - start > LOST_MS) throw new Error('cpu sampler: a sampling thread stopped answering');
      done = Atomics.load(ctrl, DONE);
    }
    if (ctrl[FAILED]) {
      const bytes = new Uint8Array(ctrl.buffer, FAILED_TEXT * 4, CTRL_BYTES - FAILED_TEXT * 4);
      const text = new TextDecoder().decode(bytes.slice(0, bytes.indexOf(0)));
      throw new Error(`cpu sampler: a sampling thread failed: ${text}`);
    }
  }

  /** Sends the helpers back to wait for another memory. */
  dispose(): void {
    if (this.helpers === 0) return;
    this.ctrl[KIND] = OP.detach;
    Atomics.store(this.ctrl, SEQ, ++this.seq);
    Atomics.notify(this.ctrl, SEQ);
  }
}
