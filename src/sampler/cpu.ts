// CPU sampling in one call a sub-pixel and one a row: the cached sampler (steppers.ts)
// with its per-sub-pixel horizontal step and its once-a-row vertical step done by a
// hand-written WebAssembly SIMD kernel (cpuKernel.as.ts) instead of ~200 and ~140 tfjs
// kernel launches, as the fused WebGPU kernels do it on the GPU (webgpu/). The masked
// weights and the condition's terms are packed into the kernel's memory once (a spatial
// code's map s = m(h) too, a row at a time); nothing else touches tfjs while it samples,
// but a logistic-mixture head's few ops. For wasm and cpu backends (it reads tensors
// back with dataSync).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig, Params } from '../model';
import { condDim, condTensor, condTerms, dilationOf, isSpatial, kernelOf, maskedWeights, reachOf, spatialMap } from '../model';
import { outputLogits, outputsPerChannel } from '../model';
import type { Condition, PixelCNN } from '../model';
import type { PortableStepper } from './steppers';
import { CPU_KERNEL_SHARED_WASM, CPU_KERNEL_WASM } from './cpuKernelWasm';
import { KernelTeam, type KernelCalls, type KernelThreads } from './kernelThreads';

interface KernelExports extends KernelCalls {
  heapBase(): number;
  layer(cfg: number, l: number, c: number): void;
}

const HEADER = 24;
const LAYER = 20;
const MODE = { raw: 0, softmax: 1, logSoftmax: 2 } as const;
/** The kernel's memory at most: 2 GiB, what a wasm memory may hold in every browser and Node. */
export const MAX_KERNEL_BYTES = 2 ** 31;

const compiled: { plain?: WebAssembly.Module; shared?: WebAssembly.Module; plainBase?: number; sharedBase?: number } = {};

/** The kernel, compiled once a process (a few KB: synchronous compilation is allowed off the main thread); `shared`: the build on a shared memory. */
function kernelModule(shared: boolean): WebAssembly.Module {
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
interface Layout {
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
}

/** `base`: the first byte past the kernel's static data. */
function layout(config: ModelConfig, N: number, base: number): Layout {
  const { layers: L, hidden: P, channels: C, width: Wd, headHidden: HH } = config;
  const q = spatialChannels(config);
  const outCols = C * outputsPerChannel(config);
  let o = Math.ceil(base / 16) * 16;
  // 16-byte aligned blocks of `floats` floats
  const take = (floats: number) => {
    const at = o;
    o += Math.ceil((floats * 4) / 16) * 16;
    return at;
  };
  const cfg = take(HEADER + L * LAYER);
  const lay: Layout = {
    cfg, hc: [], ow: [], ob: [], link: [], state: [], hin: [], vin: [], vw: [], vb: [], lw: [], lb: [], vcw: [], hcw: [],
    row0: 0, s: 0, vpre: 0, grow: 0, w1: 0, b1: 0, w2: 0, b2: 0, h: 0, pre: 0, gate: 0, hid: 0, out: 0, bytes: 0,
  };
  for (let l = 0; l < L; l++) {
    const cin = l === 0 ? C : P;
    const half = kernelOf(config, l) >> 1;
    const reach = reachOf(config, l);
    lay.hc.push(take((half + 1) * cin * 2 * P));
    lay.ow.push(take(P * P));
    lay.ob.push(take(P));
    lay.link.push(take(N * Wd * 2 * P));
    // layer 0: the image window [N, reach+1, C] the caller writes; others: [N, reach, P]
    lay.state.push(take(l === 0 ? N * (reach + 1) * C : N * reach * P));
    lay.hin.push(take(l === 0 ? 0 : N * P));
    const k = kernelOf(config, l);
    lay.vin.push(take(N * (reach + 1) * (Wd + 2 * reach) * cin));
    lay.vw.push(take((half + 1) * k * cin * 2 * P));
    lay.vb.push(take(N * 2 * P));
    lay.lw.push(take(4 * P * P));
    lay.lb.push(take(N * 2 * P));
    lay.vcw.push(take(q * 2 * P));
    lay.hcw.push(take(q * 2 * P));
  }
  lay.row0 = take(N * Wd * C);
  lay.s = take(N * Wd * q);
  lay.vpre = take(N * Wd * 2 * P);
  lay.grow = take(N * Wd * P);
  lay.w1 = take(P * HH);
  lay.b1 = take(HH);
  lay.w2 = take(HH * outCols);
  lay.b2 = take(outCols);
  lay.h = take(N * P);
  lay.pre = take(N * 2 * P);
  lay.gate = take(N * P);
  lay.hid = take(N * HH);
  lay.out = take(N * outCols);
  lay.bytes = o;
  return lay;
}

/** A spatial code's channels q (0: the condition is a bias per image, or none). */
function spatialChannels(config: ModelConfig): number {
  return isSpatial(config.conditioning) && condDim(config.conditioning) > 0 ? config.spatialChannels! : 0;
}

/** Where the kernel's static data ends (its math tables), asked once of an instance on a one-page memory. */
function heapBase(shared: boolean): number {
  const key = shared ? 'sharedBase' : 'plainBase';
  return (compiled[key] ??= (new WebAssembly.Instance(kernelModule(shared), { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared }) } }).exports as unknown as KernelExports).heapBase());
}

export class CpuStepper implements PortableStepper {
  private readonly config: ModelConfig;
  private readonly lay: Layout;
  private readonly memory: WebAssembly.Memory;
  private readonly kernel: KernelExports;
  /** the kernel's calls, shared out over the threads given (kernelThreads.ts) */
  readonly team: KernelTeam;
  private readonly reach0: number;
  /** a spatial code's map s = m(h) [N, H, W, q], its rows copied in by startRow */
  private readonly sMap: Float32Array | undefined;
  private masked: Params | undefined;
  /** kernel calls so far (for benchmarks: one a sub-pixel, plus one a decided pixel and one a row) */
  calls = 0;

  /** `threads`: helpers that step their share of every call's batch rows on a shared memory (none: this thread alone) */
  constructor(private readonly model: PixelCNN, private readonly N: number, condition: Condition | undefined, threads?: KernelThreads) {
    this.config = model.config;
    const config = this.config;
    if (config.arch !== 'gated') throw new Error('the cached sampler runs the gated architecture; use mode "naive" for the masked baseline');
    const shared = (threads?.helpers ?? 0) > 0 && N > 1;
    const module = kernelModule(shared);
    this.lay = layout(config, N, heapBase(shared));
    // its memory grows with the batch, up to what its i32 offsets reach: past that, one line before anything is drawn
    if (this.lay.bytes > MAX_KERNEL_BYTES) {
      const per = Math.ceil(this.lay.bytes / N);
      throw new Error(`cpu sampler: a batch of ${N} rows needs ${(this.lay.bytes / 2 ** 20).toFixed(0)} MB of kernel memory, over the ${MAX_KERNEL_BYTES / 2 ** 30} GB limit; sample at most ${Math.floor(MAX_KERNEL_BYTES / per)} rows at a time (sampleChunked does)`);
    }
    const pages = Math.ceil(this.lay.bytes / 65536);
    // a shared memory cannot move, so it is made at its full size
    this.memory = new WebAssembly.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages });
    this.kernel = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as KernelExports;
    this.reach0 = reachOf(config, 0);
    this.writeTable();
    this.sMap = this.packWeights(condition);
    // last: from here the helpers hold this memory until dispose
    this.team = new KernelTeam(this.kernel, shared ? threads : undefined, module, this.memory);
  }

  private floats(at: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, length);
  }

  private writeTable(): void {
    const { layers: L, hidden: P, channels: C, headHidden: HH, width: Wd } = this.config;
    const lay = this.lay;
    const t = new Int32Array(this.memory.buffer, lay.cfg, HEADER + L * LAYER);
    t.set([L, this.N, P, HH, C * outputsPerChannel(this.config), lay.h, lay.pre, lay.gate, lay.hid, lay.out, lay.w1, lay.b1, lay.w2, lay.b2, Wd, lay.row0, lay.s, spatialChannels(this.config), lay.vpre, lay.grow]);
    for (let l = 0; l < L; l++) {
      const row = [
        l === 0 ? C : P, kernelOf(this.config, l) >> 1, dilationOf(this.config, l), reachOf(this.config, l), lay.hc[l], lay.ow[l], lay.ob[l], lay.link[l], lay.state[l], lay.hin[l],
        kernelOf(this.config, l), lay.vin[l], lay.vw[l], lay.vb[l], lay.lw[l], lay.lb[l], lay.vcw[l], lay.hcw[l],
      ];
      t.set(row, HEADER + l * LAYER);
    }
  }

  /**
   * The masked weights and the condition's terms, once: h_conv [1, half+1, cin, 2p],
   * v_conv [half+1, k, cin, 2p], the rest as [in, out]; per image the vertical and the
   * link's bias with a bias condition folded in. A spatial code's map comes back to be
   * copied in a row at a time.
   */
  private packWeights(condition: Condition | undefined): Float32Array | undefined {
    const { layers: L, hidden: P } = this.config;
    const N = this.N;
    const P2 = 2 * P;
    const q = spatialChannels(this.config);
    const read = (t: tf.Tensor) => t.dataSync() as Float32Array;
    // tidy returns the map as a tensor: a typed array returned from tidy is walked element by element
    const map = tf.tidy(() => {
      const masked = maskedWeights(this.config, this.model.params);
      const put = (name: string, at: number) => {
        const t = masked[name];
        if (!t) throw new Error(`cpu sampler: missing weight "${name}"`);
        this.floats(at, t.size).set(read(t));
      };
      const h = condTensor(this.config, condition, N);
      const terms = h && q === 0 ? condTerms(this.config, masked, h) : {};
      for (let l = 0; l < L; l++) {
        put(`l${l}/h_conv`, this.lay.hc[l]);
        put(`l${l}/out`, this.lay.ow[l]);
        put(`l${l}/out_bias`, this.lay.ob[l]);
        put(`l${l}/v_conv`, this.lay.vw[l]);
        put(`l${l}/link`, this.lay.lw[l]);
        if (q > 0) {
          put(`l${l}/v_cond`, this.lay.vcw[l]);
          put(`l${l}/h_cond`, this.lay.hcw[l]);
        }
        // [N, 2p]: v_bias (+ V^T h); link_bias + h_bias (+ V^T h)
        const vb = tf.add(tf.zeros([N, P2]), masked[`l${l}/v_bias`]);
        const lb = tf.add(tf.zeros([N, P2]), tf.add(masked[`l${l}/link_bias`], masked[`l${l}/h_bias`]));
        const vc = terms[`l${l}/v_cond`];
        const hc = terms[`l${l}/h_cond`];
        this.floats(this.lay.vb[l], N * P2).set(read(vc ? tf.add(vb, tf.reshape(vc, [N, P2])) : vb));
        this.floats(this.lay.lb[l], N * P2).set(read(hc ? tf.add(lb, tf.reshape(hc, [N, P2])) : lb));
      }
      put('head/w1', this.lay.w1);
      put('head/b1', this.lay.b1);
      put('head/w2', this.lay.w2);
      put('head/b2', this.lay.b2);
      return h && q > 0 ? spatialMap(this.config, masked, h) : undefined;
    });
    if (!map) return undefined;
    const values = read(map);
    map.dispose();
    return values;
  }

  startRow(r: number, x: Uint8Array): void {
    const { height: H, width: Wd, channels: C, levels: K } = this.config;
    const N = this.N;
    // layer 0's new vertical row: the image row above, normalised (zeros above row 0)
    const row0 = this.floats(this.lay.row0, N * Wd * C);
    const scale = 2 / (K - 1);
    if (r === 0) row0.fill(0);
    else for (let n = 0; n < N; n++) for (let i = 0, src = (n * H + r - 1) * Wd * C; i < Wd * C; i++) row0[n * Wd * C + i] = x[src + i] * scale - 1;
    const s = this.sMap;
    if (s) {
      const q = spatialChannels(this.config);
      const rowS = this.floats(this.lay.s, N * Wd * q);
      for (let n = 0; n < N; n++) rowS.set(s.subarray((n * H + r) * Wd * q, (n * H + r + 1) * Wd * q), n * Wd * q);
    }
    this.team.row(this.lay.cfg, N);
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
      this.team.step(this.lay.cfg, this.N, c, 0, 1, MODE.raw, 1);
      this.team.advance(this.lay.cfg, this.N);
    }
  }

  /** Layer 0's window: image columns c-reach..c of row r, normalised; the pixel's undecided channels as level 0 (masked out). */
  private writeImageWindow(r: number, c: number, ch: number, x: Uint8Array): void {
    const { height: H, width: Wd, channels: C, levels: K } = this.config;
    const reach = this.reach0;
    const win = this.floats(this.lay.state[0], this.N * (reach + 1) * C);
    const scale = 2 / (K - 1);
    for (let n = 0; n < this.N; n++) {
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
    this.writeImageWindow(r, c, ch, x);
    const K = this.config.levels;
    const logistic = this.config.output?.type === 'logistic';
    const per = outputsPerChannel(this.config);
    // softmax heads: only channel ch's K logits; a mixture head: all its raw outputs
    const colStart = logistic ? 0 : ch * K;
    const nCols = logistic ? this.config.channels * per : K;
    this.team.step(this.lay.cfg, this.N, c, colStart, nCols, logistic ? MODE.raw : mode, temperature);
    this.calls++;
    const out = this.floats(this.lay.out, this.N * nCols).slice();
    if (!logistic) return out;
    // the mixture's levels (a few tfjs ops on N x C x 3M values)
    const p = tf.tidy(() => {
      const logits = tf.reshape(tf.slice(outputLogits(this.config, tf.tensor2d(out, [this.N, nCols])), [0, ch, 0], [this.N, 1, K]), [this.N, K]);
      return mode === MODE.softmax ? tf.softmax(tf.div(logits, temperature)) : tf.logSoftmax(logits);
    });
    const values = p.dataSync() as Float32Array;
    p.dispose();
    return values;
  }

  async probs(r: number, c: number, ch: number, x: Uint8Array, temperature: number): Promise<Float32Array> {
    return this.run(r, c, ch, x, MODE.softmax, temperature);
  }

  async logProbs(r: number, c: number, ch: number, x: Uint8Array): Promise<Float32Array> {
    return this.run(r, c, ch, x, MODE.logSoftmax, 1);
  }

  /** the masked weights it runs (benchmarks compare its layer step with the same as tfjs ops) */
  weights(): Params {
    // in a tidy: the masks multiplied in are tensors too
    this.masked ??= tf.tidy(() => maskedWeights(this.config, this.model.params));
    return this.masked;
  }

  /** Layer l's step alone at column c (benchmarks: one layer against the same as tfjs ops). */
  layerStep(l: number, c: number): void {
    this.kernel.layer(this.lay.cfg, l, c);
  }

  endPixel(): void {
    this.team.advance(this.lay.cfg, this.N);
    this.calls++;
  }

  dispose(): void {
    this.team.dispose();
    // masked copies only: the caller's own weights stay alive
    const own = new Set(Object.values(this.model.params));
    for (const t of Object.values(this.masked ?? {})) if (!own.has(t)) t.dispose();
    this.masked = undefined;
  }
}
