// CPU sampling in one call a sub-pixel: the cached sampler (steppers.ts) with its
// per-sub-pixel horizontal step done by a hand-written WebAssembly SIMD kernel
// (cpuKernel.as.ts) instead of ~200 tfjs kernel launches, as the fused WebGPU pixel kernel
// does it on the GPU (webgpu/pixelKernel.ts). The vertical stack and a prefix's warm-up stay tfjs ops
// (once a row, where their convolutions are large enough for tfjs's own kernels); their
// outputs are copied into the kernel's memory. The masked weights are packed into that
// memory once. For wasm and cpu backends (it reads tensors back with dataSync).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model';
import { dilationOf, kernelOf, reachOf } from '../model';
import { outputLogits, outputsPerChannel } from '../model';
import type { Condition, PixelCNN } from '../model';
import { CachedStepper, type PortableStepper } from './steppers';
import { CPU_KERNEL_WASM } from './cpuKernelWasm';

interface KernelExports {
  heapBase(): number;
  step(cfg: number, c: number, colStart: number, nCols: number, mode: number, temperature: number): void;
  advance(cfg: number): void;
  layer(cfg: number, l: number, c: number): void;
}

const HEADER = 16;
const LAYER = 12;
const MODE = { raw: 0, softmax: 1, logSoftmax: 2 } as const;
/** The kernel's memory at most: 2 GiB, what a wasm memory may hold in every browser and Node. */
export const MAX_KERNEL_BYTES = 2 ** 31;

let compiled: WebAssembly.Module | undefined;

/** The kernel, compiled once a process (a few KB: synchronous compilation is allowed off the main thread). */
function kernelModule(): WebAssembly.Module {
  if (!compiled) compiled = new WebAssembly.Module(Uint8Array.from(atob(CPU_KERNEL_WASM), (ch) => ch.charCodeAt(0)));
  return compiled;
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
  const outCols = C * outputsPerChannel(config);
  let o = Math.ceil(base / 16) * 16;
  // 16-byte aligned blocks of `floats` floats
  const take = (floats: number) => {
    const at = o;
    o += Math.ceil((floats * 4) / 16) * 16;
    return at;
  };
  const cfg = take(HEADER + L * LAYER);
  const lay: Layout = { cfg, hc: [], ow: [], ob: [], link: [], state: [], hin: [], w1: 0, b1: 0, w2: 0, b2: 0, h: 0, pre: 0, gate: 0, hid: 0, out: 0, bytes: 0 };
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
  }
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

export class CpuStepper implements PortableStepper {
  private readonly config: ModelConfig;
  private readonly inner: CachedStepper;
  private readonly lay: Layout;
  private readonly memory: WebAssembly.Memory;
  private readonly kernel: KernelExports;
  private readonly reach0: number;
  /** kernel calls so far (for benchmarks: one a sub-pixel, plus one a decided pixel) */
  calls = 0;

  constructor(model: PixelCNN, private readonly N: number, condition: Condition | undefined) {
    this.config = model.config;
    const config = this.config;
    if (config.arch !== 'gated') throw new Error('the cached sampler runs the gated architecture; use mode "naive" for the masked baseline');
    // the kernel's static data sits at the start of its memory: size the memory after asking where it ends
    this.memory = new WebAssembly.Memory({ initial: 1 });
    this.kernel = new WebAssembly.Instance(kernelModule(), { env: { memory: this.memory } }).exports as unknown as KernelExports;
    this.lay = layout(config, N, this.kernel.heapBase());
    // its memory grows with the batch, up to what a wasm memory may hold: past that, one line before anything is drawn
    if (this.lay.bytes > MAX_KERNEL_BYTES) {
      const per = Math.ceil(this.lay.bytes / N);
      throw new Error(`cpu sampler: a batch of ${N} rows needs ${(this.lay.bytes / 2 ** 20).toFixed(0)} MB of kernel memory, over the ${MAX_KERNEL_BYTES / 2 ** 30} GB limit; sample at most ${Math.floor(MAX_KERNEL_BYTES / per)} rows at a time (sampleChunked does)`);
    }
    const pages = Math.ceil(this.lay.bytes / 65536) - this.memory.buffer.byteLength / 65536;
    if (pages > 0) this.memory.grow(pages);
    this.inner = new CachedStepper(model, N, condition);
    this.reach0 = reachOf(config, 0);
    this.writeTable();
    this.packWeights();
  }

  private floats(at: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, length);
  }

  private writeTable(): void {
    const { layers: L, hidden: P, channels: C, headHidden: HH, width: Wd } = this.config;
    const lay = this.lay;
    const t = new Int32Array(this.memory.buffer, lay.cfg, HEADER + L * LAYER);
    t.set([L, this.N, P, HH, C * outputsPerChannel(this.config), lay.h, lay.pre, lay.gate, lay.hid, lay.out, lay.w1, lay.b1, lay.w2, lay.b2, Wd, 0]);
    for (let l = 0; l < L; l++) {
      const row = [l === 0 ? C : P, kernelOf(this.config, l) >> 1, dilationOf(this.config, l), reachOf(this.config, l), lay.hc[l], lay.ow[l], lay.ob[l], lay.link[l], lay.state[l], lay.hin[l], 0, 0];
      t.set(row, HEADER + l * LAYER);
    }
  }

  /** The masked weights, once: h_conv [1, half+1, cin, 2p] and the rest as [in, out]. */
  private packWeights(): void {
    const masked = this.inner.weights();
    const put = (name: string, at: number) => {
      const t = masked[name];
      if (!t) throw new Error(`cpu sampler: missing weight "${name}"`);
      this.floats(at, t.size).set(t.dataSync() as Float32Array);
    };
    for (let l = 0; l < this.config.layers; l++) {
      put(`l${l}/h_conv`, this.lay.hc[l]);
      put(`l${l}/out`, this.lay.ow[l]);
      put(`l${l}/out_bias`, this.lay.ob[l]);
    }
    put('head/w1', this.lay.w1);
    put('head/b1', this.lay.b1);
    put('head/w2', this.lay.w2);
    put('head/b2', this.lay.b2);
  }

  /** The row's link terms (vertical stack, biases, condition) from the tfjs row step. */
  private copyRow(): void {
    const links = this.inner.rowLinks();
    for (let l = 0; l < this.config.layers; l++) this.floats(this.lay.link[l], links[l].size).set(links[l].dataSync() as Float32Array);
  }

  /** Each layer's window (layers >= 1) as the tfjs stepper holds it. */
  private copyWindows(): void {
    const wins = this.inner.windows();
    for (let l = 1; l < this.config.layers; l++) {
      if (wins[l].size > 0) this.floats(this.lay.state[l], wins[l].size).set(wins[l].dataSync() as Float32Array);
    }
  }

  startRow(r: number, x: Uint8Array): void {
    this.inner.startRow(r, x);
    this.copyRow();
    this.copyWindows(); // zeros: nothing left of column 0
  }

  async warm(x: Uint8Array, length: number): Promise<void> {
    await this.inner.warm(x, length);
    this.copyRow();
    this.copyWindows();
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
    this.kernel.step(this.lay.cfg, c, colStart, nCols, logistic ? MODE.raw : mode, temperature);
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

  /** the masked weights it runs (those of its tfjs row step) */
  weights(): ReturnType<CachedStepper['weights']> {
    return this.inner.weights();
  }

  /** Layer l's step alone at column c (benchmarks: one layer against the same as tfjs ops). */
  layerStep(l: number, c: number): void {
    this.kernel.layer(this.lay.cfg, l, c);
  }

  endPixel(): void {
    this.kernel.advance(this.lay.cfg);
    this.calls++;
  }

  dispose(): void {
    this.inner.dispose();
  }
}
