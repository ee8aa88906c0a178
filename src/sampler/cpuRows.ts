// The CPU sampler's runtime, tf-free: the kernel (cpuKernel.as.ts) compiled once, where
// everything sits in its memory, and CpuRows, which steps batch rows n0 .. n1-1 of a memory
// already packed with the weights (cpu.ts packs it, with tfjs). A thread that draws rows
// of a run split across threads on a shared memory (kernelThreads.ts) runs a CpuRows of each
// block's rows with no tfjs at all.
import { condDim, dilationOf, isSpatial, kernelOf, outputsPerChannel, reachOf, type ModelConfig } from '../model/config';
import { CPU_KERNEL_SHARED_WASM, CPU_KERNEL_WASM } from './cpuKernelWasm';
import type { PortableStepper } from './steppers';

/** The kernel's exported calls (cpuKernel.as.ts): each but `layer` on batch rows n0 .. n1-1. */
export interface KernelExports {
  heapBase(): number;
  step(cfg: number, n0: number, n1: number, c: number, colStart: number, nCols: number, mode: number, temperature: number): void;
  advance(cfg: number, n0: number, n1: number): void;
  row(cfg: number, n0: number, n1: number): void;
  layer(cfg: number, l: number, c: number): void;
}

const HEADER = 24;
const LAYER = 20;
export const MODE = { raw: 0, softmax: 1, logSoftmax: 2 } as const;
/** The kernel's memory at most: 2 GiB, what a wasm memory may hold in every browser and Node. */
export const MAX_KERNEL_BYTES = 2 ** 31;

const compiled: { plain?: WebAssembly.Module; shared?: WebAssembly.Module; plainBase?: number; sharedBase?: number } = {};

/** The kernel, compiled once a process (a few KB: synchronous compilation is allowed off the main thread); `shared`: the build on a shared memory. */
export function kernelModule(shared: boolean): WebAssembly.Module {
  const b64 = shared ? CPU_KERNEL_SHARED_WASM : CPU_KERNEL_WASM;
  return (compiled[shared ? 'shared' : 'plain'] ??= new WebAssembly.Module(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))));
}

/** Whether this thread can share a kernel memory with others (a browser page needs cross-origin isolation for it). */
export function canShareKernel(): boolean {
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return typeof SharedArrayBuffer === 'function';
  } catch {
    return false;
  }
}

/** Byte offsets of everything in the kernel's memory. */
export interface Layout {
  cfg: number;
  hc: number[];
  ow: number[];
  ob: number[];
  link: number[];
  state: number[];
  hin: number[];
  /** the vertical stack: kept input rows [N, reach+1, W+2reach, cin], weights [half+1, k, cin, 2p], bias + condition [N, 2p], link weights [2p, 2p] and bias + condition [N, 2p], a spatial code's 1x1s [q, 2p] */
  vin: number[];
  vw: number[];
  vb: number[];
  lw: number[];
  lb: number[];
  vcw: number[];
  hcw: number[];
  row0: number;
  s: number;
  vpre: number;
  grow: number;
  w1: number;
  b1: number;
  w2: number;
  b2: number;
  h: number;
  pre: number;
  gate: number;
  hid: number;
  out: number;
  bytes: number;
  /** the blocks a run writes as it goes (activations, kept rows and columns) [byte offset, bytes]: what a packed memory run again must start from zeros */
  scratch: [number, number][];
}

/** `base`: the first byte past the kernel's static data. */
export function layout(config: ModelConfig, N: number, base: number): Layout {
  const { layers: L, hidden: P, channels: C, width: Wd, headHidden: HH } = config;
  const q = spatialChannels(config);
  const outCols = C * outputsPerChannel(config);
  let o = Math.ceil(base / 16) * 16;
  const scratch: [number, number][] = [];
  // 16-byte aligned blocks of `floats` floats
  const take = (floats: number) => {
    const at = o;
    o += Math.ceil((floats * 4) / 16) * 16;
    return at;
  };
  const runBlock = (floats: number) => {
    const at = take(floats);
    scratch.push([at, o - at]);
    return at;
  };
  const cfg = take(HEADER + L * LAYER);
  const lay: Layout = {
    cfg, hc: [], ow: [], ob: [], link: [], state: [], hin: [], vin: [], vw: [], vb: [], lw: [], lb: [], vcw: [], hcw: [],
    row0: 0, s: 0, vpre: 0, grow: 0, w1: 0, b1: 0, w2: 0, b2: 0, h: 0, pre: 0, gate: 0, hid: 0, out: 0, bytes: 0, scratch,
  };
  for (let l = 0; l < L; l++) {
    const cin = l === 0 ? C : P;
    const half = kernelOf(config, l) >> 1;
    const reach = reachOf(config, l);
    lay.hc.push(take((half + 1) * cin * 2 * P));
    lay.ow.push(take(P * P));
    lay.ob.push(take(P));
    lay.link.push(runBlock(N * Wd * 2 * P));
    // layer 0: the image window [N, reach+1, C] the caller writes; others: [N, reach, P]
    lay.state.push(runBlock(l === 0 ? N * (reach + 1) * C : N * reach * P));
    lay.hin.push(runBlock(l === 0 ? 0 : N * P));
    const k = kernelOf(config, l);
    lay.vin.push(runBlock(N * (reach + 1) * (Wd + 2 * reach) * cin));
    lay.vw.push(take((half + 1) * k * cin * 2 * P));
    lay.vb.push(take(N * 2 * P));
    lay.lw.push(take(4 * P * P));
    lay.lb.push(take(N * 2 * P));
    lay.vcw.push(take(q * 2 * P));
    lay.hcw.push(take(q * 2 * P));
  }
  lay.row0 = runBlock(N * Wd * C);
  lay.s = runBlock(N * Wd * q);
  lay.vpre = runBlock(N * Wd * 2 * P);
  lay.grow = runBlock(N * Wd * P);
  lay.w1 = take(P * HH);
  lay.b1 = take(HH);
  lay.w2 = take(HH * outCols);
  lay.b2 = take(outCols);
  lay.h = runBlock(N * P);
  lay.pre = runBlock(N * 2 * P);
  lay.gate = runBlock(N * P);
  lay.hid = runBlock(N * HH);
  lay.out = runBlock(N * outCols);
  lay.bytes = o;
  return lay;
}

/** Rows n0 .. n1-1 [n1 - n0, H, W, q] of a spatial code's map of every batch row (none without one). */
export function mapRowsOf(config: ModelConfig, sMap: Float32Array | undefined, n0: number, n1: number): Float32Array | undefined {
  const per = config.height * config.width * spatialChannels(config);
  return sMap?.slice(n0 * per, n1 * per);
}

/** A spatial code's channels q (0: the condition is a bias per image, or none). */
export function spatialChannels(config: ModelConfig): number {
  return isSpatial(config.conditioning) && condDim(config.conditioning) > 0 ? config.spatialChannels! : 0;
}

/** Where the kernel's static data ends (its math tables), asked once of an instance on a one-page memory. */
export function heapBase(shared: boolean): number {
  const key = shared ? 'sharedBase' : 'plainBase';
  return (compiled[key] ??= (new WebAssembly.Instance(kernelModule(shared), { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared }) } }).exports as unknown as KernelExports).heapBase());
}


/** The kernel's table at lay.cfg: where every block is, for every call to read. */
export function writeTable(memory: WebAssembly.Memory, config: ModelConfig, N: number, lay: Layout): void {
  const { layers: L, hidden: P, channels: C, headHidden: HH, width: Wd } = config;
  const t = new Int32Array(memory.buffer, lay.cfg, HEADER + L * LAYER);
  t.set([L, N, P, HH, C * outputsPerChannel(config), lay.h, lay.pre, lay.gate, lay.hid, lay.out, lay.w1, lay.b1, lay.w2, lay.b2, Wd, lay.row0, lay.s, spatialChannels(config), lay.vpre, lay.grow]);
  for (let l = 0; l < L; l++) {
    const row = [
      l === 0 ? C : P, kernelOf(config, l) >> 1, dilationOf(config, l), reachOf(config, l), lay.hc[l], lay.ow[l], lay.ob[l], lay.link[l], lay.state[l], lay.hin[l],
      kernelOf(config, l), lay.vin[l], lay.vw[l], lay.vb[l], lay.lw[l], lay.lb[l], lay.vcw[l], lay.hcw[l],
    ];
    t.set(row, HEADER + l * LAYER);
  }
}

/**
 * Batch rows n0 .. n1-1 of a packed kernel memory of N rows, as a stepper: the images it
 * is given (x) are its own rows only, [n1 - n0, H, W, C]. A spatial code's map s = m(h) of
 * its rows [n1 - n0, H, W, q] is copied in a row at a time.
 */
export class CpuRows implements PortableStepper {
  readonly rows: number;
  protected readonly reach0: number;
  /** views on its rows of what the JavaScript side writes and reads every step, made once (the memory never grows: it is made at its full size) */
  private readonly views: { row0: Float32Array; rowS: Float32Array; win: Float32Array; out: Map<number, Float32Array> };
  /** kernel calls so far (for benchmarks: one a sub-pixel, plus one a decided pixel and one a row) */
  calls = 0;

  constructor(
    protected readonly config: ModelConfig,
    protected readonly N: number,
    protected readonly n0: number,
    protected readonly n1: number,
    protected readonly memory: WebAssembly.Memory,
    protected readonly kernel: KernelExports,
    protected readonly lay: Layout,
    protected sMap: Float32Array | undefined,
  ) {
    this.rows = n1 - n0;
    this.reach0 = reachOf(config, 0);
    const { width: Wd, channels: C } = config;
    const q = spatialChannels(config);
    this.views = {
      row0: this.floats(lay.row0 + n0 * Wd * C * 4, this.rows * Wd * C),
      rowS: this.floats(lay.s + n0 * Wd * q * 4, this.rows * Wd * q),
      win: this.floats(lay.state[0] + n0 * (this.reach0 + 1) * C * 4, this.rows * (this.reach0 + 1) * C),
      out: new Map(),
    };
  }

  protected floats(at: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, length);
  }

  startRow(r: number, x: Uint8Array): void {
    const { height: H, width: Wd, channels: C, levels: K } = this.config;
    const { rows, n0 } = this;
    // layer 0's new vertical row: the image row above, normalised (zeros above row 0)
    const row0 = this.views.row0;
    const scale = 2 / (K - 1);
    if (r === 0) row0.fill(0);
    else for (let n = 0; n < rows; n++) for (let i = 0, src = (n * H + r - 1) * Wd * C; i < Wd * C; i++) row0[n * Wd * C + i] = x[src + i] * scale - 1;
    const s = this.sMap;
    if (s) {
      const q = spatialChannels(this.config);
      const rowS = this.views.rowS;
      for (let n = 0; n < rows; n++) rowS.set(s.subarray((n * H + r) * Wd * q, (n * H + r + 1) * Wd * q), n * Wd * q);
    }
    this.kernel.row(this.lay.cfg, n0, this.n1);
    this.calls++;
  }

  /**
   * Rows above the resuming row: their vertical steps (the horizontal stack keeps nothing
   * from one row to the next). The given columns of the resuming row: each given pixel's
   * step, whole, then the windows move on, as when it was drawn.
   */
  async warm(x: Uint8Array, length: number): Promise<void> {
    const { width: Wd, channels: C } = this.config;
    const r0 = Math.floor(length / (Wd * C));
    const c0 = Math.floor((length % (Wd * C)) / C);
    for (let r = 0; r <= r0; r++) this.startRow(r, x);
    for (let c = 0; c < c0; c++) {
      this.writeImageWindow(r0, c, C, x);
      this.kernel.step(this.lay.cfg, this.n0, this.n1, c, 0, 1, MODE.raw, 1);
      this.kernel.advance(this.lay.cfg, this.n0, this.n1);
    }
  }

  /** Layer 0's window: image columns c-reach..c of row r, normalised; the pixel's undecided channels as level 0 (masked out). */
  private writeImageWindow(r: number, c: number, ch: number, x: Uint8Array): void {
    const { height: H, width: Wd, channels: C, levels: K } = this.config;
    const reach = this.reach0;
    const win = this.views.win;
    const scale = 2 / (K - 1);
    for (let n = 0; n < this.rows; n++) {
      for (let j = 0; j <= reach; j++) {
        const col = c - reach + j;
        const o = (n * (reach + 1) + j) * C;
        const src = ((n * H + r) * Wd + col) * C;
        for (let k = 0; k < C; k++) {
          // left of column 0 is zero padding (after normalisation), as in the tfjs stepper
          if (col < 0) win[o + k] = 0;
          else win[o + k] = (col < c || k < ch ? x[src + k] : 0) * scale - 1;
        }
      }
    }
  }

  private run(r: number, c: number, ch: number, x: Uint8Array, mode: number, temperature: number): Float32Array {
    const logistic = this.config.output?.type === 'logistic';
    const out = this.step(r, c, ch, x, mode, temperature).slice();
    return logistic ? this.mixture(out, out.length / this.rows, ch, mode, temperature) : out;
  }

  /** One kernel step of sub-pixel (r, c, ch): its outputs [rows, nCols] as a view of the kernel's memory, which the next step overwrites. */
  private step(r: number, c: number, ch: number, x: Uint8Array, mode: number, temperature: number): Float32Array {
    this.writeImageWindow(r, c, ch, x);
    const K = this.config.levels;
    const logistic = this.config.output?.type === 'logistic';
    // softmax heads: only channel ch's K logits; a mixture head: all its raw outputs
    const colStart = logistic ? 0 : ch * K;
    const nCols = logistic ? this.config.channels * outputsPerChannel(this.config) : K;
    this.kernel.step(this.lay.cfg, this.n0, this.n1, c, colStart, nCols, logistic ? MODE.raw : mode, temperature);
    this.calls++;
    let view = this.views.out.get(nCols);
    // its rows start at the head's full width per row (cpuKernel.as.ts's step)
    if (!view) this.views.out.set(nCols, (view = this.floats(this.lay.out + this.n0 * this.config.channels * outputsPerChannel(this.config) * 4, this.rows * nCols)));
    return view;
  }

  /** A mixture head's levels from its raw outputs [rows, nCols] (cpu.ts: a few tfjs ops). */
  protected mixture(_out: Float32Array, _nCols: number, _ch: number, _mode: number, _temperature: number): Float32Array {
    throw new Error('cpu sampler: a logistic-mixture head needs tfjs (CpuStepper), not CpuRows alone');
  }

  async probs(r: number, c: number, ch: number, x: Uint8Array, temperature: number): Promise<Float32Array> {
    return this.run(r, c, ch, x, MODE.softmax, temperature);
  }

  /**
   * probs() as a view of the kernel's memory, valid until the next step, and at once: for a
   * caller that copies it straight away (a split run's thread into its ring: rowBoard.ts), which
   * so makes no array and waits on no promise a sub-pixel. A softmax head only.
   */
  probsView(r: number, c: number, ch: number, x: Uint8Array, temperature: number): Float32Array {
    if (this.config.output?.type === 'logistic') throw new Error('cpu sampler: probsView reads a softmax head; a logistic mixture needs probs()');
    return this.step(r, c, ch, x, MODE.softmax, temperature);
  }

  async logProbs(r: number, c: number, ch: number, x: Uint8Array): Promise<Float32Array> {
    return this.run(r, c, ch, x, MODE.logSoftmax, 1);
  }

  endPixel(): void {
    this.kernel.advance(this.lay.cfg, this.n0, this.n1);
    this.calls++;
  }

  dispose(): void {}
}
