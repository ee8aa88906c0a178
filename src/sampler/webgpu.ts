// Fused WebGPU sampling: the cached sampler's work in two hand-written kernels.
//  - rowKernel, once per row: every layer's vertical stack on its window of rows, and the
//    row's link terms for the horizontal stack (one launch instead of ~80 tfjs ops).
//  - pixelKernel, once per sub-pixel: every layer's horizontal step, the head and the
//    softmax (one launch instead of ~150 tfjs ops), then one readback of the distribution.
// Each batch image gets one workgroup; layers run in order inside it, separated by
// barriers. Sizes are baked into the WGSL text (tfjs caches pipelines by shaderKey, which
// we make unique per model shape); per-step values (row, column, channel, temperature) are
// uniforms. The portable CachedStepper is the reference these kernels are tested against.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model/config';
import { condTensor, condTerms, maskedWeights } from '../model';
import { dilationOf, kernelOf, reachOf } from '../model/params';
import type { Condition, PixelCNN } from '../model/types';
import type { Stepper } from './steppers';

// Minimal shapes of tfjs-backend-webgpu's program interface (we do not import its types,
// so this module loads on any backend and fails with a clear message off WebGPU).
interface Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  getUserCode: () => string;
}
interface WebGPUBackendLike {
  runWebGPUProgram(
    program: Program,
    inputs: tf.TensorInfo[],
    dtype: 'float32',
    uniforms?: { type: 'int32' | 'float32'; data: number[] }[],
  ): tf.TensorInfo;
}

/** Where each weight and state block sits in the packed buffers (floats). */
export interface FusedLayout {
  halves: number[];
  /** per layer: dilation, and reach = dilation * half (how many rows/columns back a window holds) */
  dilations: number[];
  reaches: number[];
  kernels: number[];
  cins: number[];
  w: { hc: number[]; ow: number[]; ob: number[]; vc: number[]; vb: number[]; lk: number[]; lb: number[]; hb: number[]; w1: number; b1: number; w2: number; b2: number; size: number };
  row: { vwin: number[]; link: number[]; scratch: number; stride: number };
  pix: { state: number[]; probs: number; stride: number };
}

export function fusedLayout(config: ModelConfig): FusedLayout {
  const { layers: L, hidden: P, channels: C, width: W, levels: K, headHidden: HH } = config;
  const P2 = 2 * P;
  const halves = Array.from({ length: L }, (_, l) => kernelOf(config, l) >> 1);
  const dilations = Array.from({ length: L }, (_, l) => dilationOf(config, l));
  const reaches = Array.from({ length: L }, (_, l) => reachOf(config, l));
  const kernels = Array.from({ length: L }, (_, l) => kernelOf(config, l));
  const cins = Array.from({ length: L }, (_, l) => (l === 0 ? C : P));
  let o = 0;
  const take = (n: number) => {
    const at = o;
    o += n;
    return at;
  };
  const w = { hc: [] as number[], ow: [] as number[], ob: [] as number[], vc: [] as number[], vb: [] as number[], lk: [] as number[], lb: [] as number[], hb: [] as number[], w1: 0, b1: 0, w2: 0, b2: 0, size: 0 };
  for (let l = 0; l < L; l++) {
    w.hc.push(take((halves[l] + 1) * cins[l] * P2));
    w.ow.push(take(P * P));
    w.ob.push(take(P));
    w.vc.push(take((halves[l] + 1) * kernels[l] * cins[l] * P2));
    w.vb.push(take(P2));
    w.lk.push(take(P2 * P2));
    w.lb.push(take(P2));
    w.hb.push(take(P2));
  }
  w.w1 = take(P * HH);
  w.b1 = take(HH);
  w.w2 = take(HH * C * K);
  w.b2 = take(C * K);
  w.size = o;
  o = 0;
  const row = { vwin: [] as number[], link: [] as number[], scratch: 0, stride: 0 };
  for (let l = 0; l < L; l++) row.vwin.push(take((reaches[l] + 1) * W * cins[l]));
  for (let l = 0; l < L; l++) row.link.push(take(W * P2));
  row.scratch = take(W * P2);
  row.stride = o;
  o = 0;
  const pix = { state: [] as number[], probs: 0, stride: 0 };
  for (let l = 0; l < L; l++) pix.state.push(l === 0 ? -1 : take(reaches[l] * P));
  pix.probs = take(K);
  pix.stride = o;
  return { halves, dilations, reaches, kernels, cins, w, row, pix };
}

/** Workgroup sizes (threads per image) of the two kernels; part of the pipeline key. */
export const fusedTuning = { rowWorkgroup: 256, pixelWorkgroup: 128 };

function shapeKey(config: ModelConfig, count: number, cond: string): string {
  const c = config;
  const dil = (c.dilations ?? []).join('-') || '1';
  return [c.height, c.width, c.channels, c.levels, c.hidden, c.layers, c.firstKernel, c.kernel, c.headHidden, dil, count, cond].join('_');
}

const gateFn = `
fn gateF(a : f32, b : f32) -> f32 {
  return tanh(clamp(a, -15.0, 15.0)) / (1.0 + exp(-b));
}`;

/** Which conditioning terms the kernels read, and how they are laid out. */
interface CondInfo {
  kind: 'none' | 'global' | 'spatial';
}

function condIndex(config: ModelConfig, cond: CondInfo, l: number, which: 0 | 1, o: string, col: string): string {
  const P2 = 2 * config.hidden;
  const L = config.layers;
  if (cond.kind === 'global') return `((n * ${L} + ${l}) * 2 + ${which}) * ${P2} + ${o}`;
  return `((((n * ${config.height} + r) * ${config.width} + ${col}) * ${L} + ${l}) * 2 + ${which}) * ${P2} + ${o}`;
}

/** One workgroup per batch image, a flat float output of `stride` floats per image. */
function perImageProgram(key: string, inputs: string[], count: number, stride: number, wg: number, code: () => string): Program {
  return {
    variableNames: inputs,
    outputShape: [count * stride],
    shaderKey: key,
    dispatchLayout: { x: [0] },
    dispatch: [count, 1, 1],
    workgroupSize: [wg, 1, 1],
    uniforms: 'row : i32, col : i32, channel : i32, invTemp : f32,',
    getUserCode: code,
  };
}

function rowProgram(config: ModelConfig, lay: FusedLayout, count: number, cond: CondInfo): Program {
  const WG_ROW = fusedTuning.rowWorkgroup;
  const { width: W, hidden: P, layers: L } = config;
  const P2 = 2 * P;
  const RS = lay.row.stride;
  const parts: string[] = [];
  for (let l = 0; l < L; l++) {
    const half = lay.halves[l];
    const d = lay.dilations[l];
    const reach = lay.reaches[l];
    const k = lay.kernels[l];
    const cin = lay.cins[l];
    const V = lay.row.vwin[l];
    const newRow =
      l === 0
        ? `for (var j = t; j < ${W * cin}; j += ${WG_ROW}) { result[base + ${V + reach * W * cin} + j] = img[n * ${W * cin} + j]; }`
        : `for (var j = t; j < ${W * P}; j += ${WG_ROW}) {
            let col = j / ${P}; let i = j % ${P};
            let a = base + ${lay.row.scratch} + col * ${P2} + i;
            result[base + ${V + reach * W * P} + j] = gateF(result[a], result[a + ${P}]);
          }`;
    const condV = cond.kind === 'none' ? '' : `s += cond[${condIndex(config, cond, l, 0, 'o', 'col')}];`;
    const condH = cond.kind === 'none' ? '' : `s += cond[${condIndex(config, cond, l, 1, 'o', 'col')}];`;
    parts.push(`
    // layer ${l}: window rows r-${reach}..r of its input (taps every ${d} rows and columns)
    for (var j = t; j < ${reach * W * cin}; j += ${WG_ROW}) { result[base + ${V} + j] = prev[base + ${V + W * cin} + j]; }
    ${newRow}
    storageBarrier(); workgroupBarrier();
    for (var j = t; j < ${W * P2}; j += ${WG_ROW}) {
      let col = j / ${P2}; let o = j % ${P2};
      var s = wts[${lay.w.vb[l]} + o];
      ${condV}
      for (var dy = 0; dy <= ${half}; dy++) {
        for (var dx = 0; dx < ${k}; dx++) {
          let cc = col + dx * ${d} - ${reach};
          if (cc < 0 || cc >= ${W}) { continue; }
          let ib = base + ${V} + (dy * ${d * W} + cc) * ${cin};
          let wb = ${lay.w.vc[l]} + ((dy * ${k} + dx) * ${cin}) * ${P2} + o;
          for (var i = 0; i < ${cin}; i++) { s += result[ib + i] * wts[wb + i * ${P2}]; }
        }
      }
      result[base + ${lay.row.scratch} + j] = s;
    }
    storageBarrier(); workgroupBarrier();
    for (var j = t; j < ${W * P2}; j += ${WG_ROW}) {
      let col = j / ${P2}; let o = j % ${P2};
      var s = wts[${lay.w.lb[l]} + o] + wts[${lay.w.hb[l]} + o];
      ${condH}
      let sb = base + ${lay.row.scratch} + col * ${P2};
      for (var i = 0; i < ${P2}; i++) { s += result[sb + i] * wts[${lay.w.lk[l]} + i * ${P2} + o]; }
      result[base + ${lay.row.link[l]} + j] = s;
    }
    storageBarrier(); workgroupBarrier();`);
  }
  return perImageProgram(`pixelcnn_row_${WG_ROW}_${shapeKey(config, count, cond.kind)}`, ['wts', 'prev', 'img', 'cond'], count, RS, WG_ROW, () => `
${gateFn}
fn main(index : i32) {
  let n = i32(workgroupId.x);
  let t = i32(localId.x);
  let r = uniforms.row;
  if (r < 0) { return; }
  let base = n * ${RS};
  // keep every binding statically used, so 'auto' layouts keep them all
  if (t == 0 && cond[0] != cond[0]) { result[base] = 0.0; }
  ${parts.join('\n')}
}`);
}

function pixelProgram(config: ModelConfig, lay: FusedLayout, count: number, cond: CondInfo): Program {
  const WG_PIX = fusedTuning.pixelWorkgroup;
  const { width: W, hidden: P, layers: L, channels: C, levels: K, headHidden: HH } = config;
  const P2 = 2 * P;
  const RS = lay.row.stride;
  const PS = lay.pix.stride;
  const parts: string[] = [];
  for (let l = 0; l < L; l++) {
    const half = lay.halves[l];
    const d = lay.dilations[l];
    const reach = lay.reaches[l];
    const S = lay.pix.state[l];
    let own: string;
    if (l === 0) {
      own = `for (var dx = 0; dx <= ${half}; dx++) {
          let cc = c - ${reach} + dx * ${d};
          if (cc < 0) { continue; }
          for (var i = 0; i < ${C}; i++) { s += img[(n * ${W} + cc) * ${C} + i] * wts[${lay.w.hc[0]} + (dx * ${C} + i) * ${P2} + o]; }
        }`;
    } else {
      // the state holds columns c-reach..c-1; tap dx reads column c - reach + dx*d
      own = `for (var dx = 0; dx < ${half}; dx++) {
          for (var i = 0; i < ${P}; i++) { s += hs[sb + ${S} + dx * ${d * P} + i] * wts[${lay.w.hc[l]} + (dx * ${P} + i) * ${P2} + o]; }
        }
        for (var i = 0; i < ${P}; i++) { s += cur[i] * wts[${lay.w.hc[l]} + (${half * P} + i) * ${P2} + o]; }`;
    }
    const stateUpdate =
      l === 0 || reach === 0
        ? ''
        : `for (var j = t; j < ${reach * P}; j += ${WG_PIX}) {
        let dx = j / ${P}; let i = j % ${P};
        if (dx < ${reach - 1}) { result[sb + ${S} + j] = hs[sb + ${S} + j + ${P}]; } else { result[sb + ${S} + j] = cur[i]; }
      }`;
    parts.push(`
    // layer ${l}
    ${stateUpdate}
    for (var o = t; o < ${P2}; o += ${WG_PIX}) {
      var s = rows[rb + ${lay.row.link[l]} + c * ${P2} + o];
      ${own}
      pre[o] = s;
    }
    workgroupBarrier();
    for (var o = t; o < ${P}; o += ${WG_PIX}) { gat[o] = gateF(pre[o], pre[o + ${P}]); }
    workgroupBarrier();
    for (var o = t; o < ${P}; o += ${WG_PIX}) {
      var s = wts[${lay.w.ob[l]} + o];
      for (var i = 0; i < ${P}; i++) { s += gat[i] * wts[${lay.w.ow[l]} + i * ${P} + o]; }
      ${l === 0 ? 'cur[o] = s;' : 'cur[o] = cur[o] + s;'}
    }
    workgroupBarrier();`);
  }
  return perImageProgram(`pixelcnn_pixel_${WG_PIX}_${shapeKey(config, count, cond.kind)}`, ['wts', 'rows', 'hs', 'img'], count, PS, WG_PIX, () => `
${gateFn}
var<workgroup> cur : array<f32, ${P}>;
var<workgroup> pre : array<f32, ${P2}>;
var<workgroup> gat : array<f32, ${P}>;
var<workgroup> hid : array<f32, ${HH}>;
var<workgroup> lg : array<f32, ${K}>;
var<workgroup> norm : array<f32, 2>;
fn main(index : i32) {
  let n = i32(workgroupId.x);
  let t = i32(localId.x);
  if (t == 0 && hs[0] != hs[0]) { cur[0] = 0.0; }
  let c = uniforms.col;
  let ch = uniforms.channel;
  let rb = n * ${RS};
  let sb = n * ${PS};
  ${parts.join('\n')}
  // head: ReLU -> 1x1 -> ReLU -> 1x1, only the K logits of channel ch
  for (var j = t; j < ${HH}; j += ${WG_PIX}) {
    var s = wts[${lay.w.b1} + j];
    for (var i = 0; i < ${P}; i++) { s += max(cur[i], 0.0) * wts[${lay.w.w1} + i * ${HH} + j]; }
    hid[j] = max(s, 0.0);
  }
  workgroupBarrier();
  for (var k = t; k < ${K}; k += ${WG_PIX}) {
    var s = wts[${lay.w.b2} + ch * ${K} + k];
    for (var j = 0; j < ${HH}; j++) { s += hid[j] * wts[${lay.w.w2} + j * ${C * K} + ch * ${K} + k]; }
    lg[k] = s * uniforms.invTemp;
  }
  workgroupBarrier();
  if (t == 0) {
    var m = lg[0];
    for (var k = 1; k < ${K}; k++) { m = max(m, lg[k]); }
    var z = 0.0;
    for (var k = 0; k < ${K}; k++) { z += exp(lg[k] - m); }
    norm[0] = m;
    norm[1] = z;
  }
  workgroupBarrier();
  for (var k = t; k < ${K}; k += ${WG_PIX}) { result[sb + ${lay.pix.probs} + k] = exp(lg[k] - norm[0]) / norm[1]; }
}`);
}

/** Packs the masked weights into one buffer in fusedLayout order. */
async function packWeights(model: PixelCNN, lay: FusedLayout): Promise<Float32Array> {
  const { config } = model;
  const W = tf.tidy(() => maskedWeights(config, model.params));
  const out = new Float32Array(lay.w.size);
  const own = new Set(Object.values(model.params));
  try {
    const put = async (name: string, at: number) => {
      const t = W[name];
      if (!t) throw new Error(`fused sampler: missing weight "${name}"`);
      out.set((await t.data()) as Float32Array, at);
    };
    for (let l = 0; l < config.layers; l++) {
      await put(`l${l}/h_conv`, lay.w.hc[l]);
      await put(`l${l}/out`, lay.w.ow[l]);
      await put(`l${l}/out_bias`, lay.w.ob[l]);
      await put(`l${l}/v_conv`, lay.w.vc[l]);
      await put(`l${l}/v_bias`, lay.w.vb[l]);
      await put(`l${l}/link`, lay.w.lk[l]);
      await put(`l${l}/link_bias`, lay.w.lb[l]);
      await put(`l${l}/h_bias`, lay.w.hb[l]);
    }
    await put('head/w1', lay.w.w1);
    await put('head/b1', lay.w.b1);
    await put('head/w2', lay.w.w2);
    await put('head/b2', lay.w.b2);
  } finally {
    for (const t of Object.values(W)) if (!own.has(t)) t.dispose();
  }
  return out;
}

/** Conditioning terms as [N, (H, W,)? L, 2, 2p]: v_cond then h_cond per layer. */
function packCond(model: PixelCNN, count: number, condition: Condition | undefined): { info: CondInfo; t: tf.Tensor1D } {
  const { config } = model;
  if (config.conditioning.type === 'none') return { info: { kind: 'none' }, t: tf.zeros([1]) };
  const kind = config.conditioning.spatial === true ? 'spatial' : 'global';
  const t = tf.tidy(() => {
    const W = maskedWeights(config, model.params);
    const h = condTensor(config, condition, count);
    const terms = condTerms(config, W, h);
    const perLayer: tf.Tensor[] = [];
    for (let l = 0; l < config.layers; l++) {
      perLayer.push(tf.stack([terms[`l${l}/v_cond`], terms[`l${l}/h_cond`]], 3)); // [N, h, w, 2, 2p]
    }
    const all = tf.stack(perLayer, 3); // [N, h, w, L, 2, 2p]
    return tf.reshape(all, [-1]) as tf.Tensor1D;
  });
  return { info: { kind }, t };
}

export function isWebGPUBackend(): boolean {
  return tf.getBackend() === 'webgpu';
}

export class FusedWebGPUStepper implements Stepper {
  private rowState: tf.Tensor;
  private pixState: tf.Tensor;
  private readonly rowProg: Program;
  private readonly pixProg: Program;
  /** kernel launches so far (for benchmarks) */
  launches = 0;

  private constructor(
    private readonly config: ModelConfig,
    private readonly count: number,
    private readonly lay: FusedLayout,
    private readonly weights: tf.Tensor1D,
    private readonly cond: tf.Tensor1D,
    condInfo: CondInfo,
  ) {
    this.rowProg = rowProgram(config, lay, count, condInfo);
    this.pixProg = pixelProgram(config, lay, count, condInfo);
    this.rowState = tf.zeros([count * lay.row.stride]);
    this.pixState = tf.zeros([count * lay.pix.stride]);
  }

  static async create(model: PixelCNN, count: number, condition: Condition | undefined): Promise<FusedWebGPUStepper> {
    if (!isWebGPUBackend()) throw new Error(`the fused sampler needs the webgpu backend (current: ${tf.getBackend()})`);
    if (model.config.arch !== 'gated') throw new Error('the fused sampler runs the gated architecture');
    if (model.config.output?.type === 'logistic') throw new Error('the fused sampler computes a softmax head; use the cached sampler for a logistic-mixture model');
    const lay = fusedLayout(model.config);
    const packed = await packWeights(model, lay);
    const cond = packCond(model, count, condition);
    return new FusedWebGPUStepper(model.config, count, lay, tf.tensor1d(packed), cond.t, cond.info);
  }

  private run(prog: Program, inputs: tf.Tensor[], r: number, c: number, ch: number, temperature: number): tf.Tensor {
    const backend = tf.backend() as unknown as WebGPUBackendLike;
    // runWebGPUProgram overwrites program.shaderKey with its extended cache key: give it a
    // fresh copy each time, or the key grows on every call and every dispatch recompiles
    const info = backend.runWebGPUProgram({ ...prog }, inputs, 'float32', [
      { type: 'int32', data: [r] },
      { type: 'int32', data: [c] },
      { type: 'int32', data: [ch] },
      { type: 'float32', data: [1 / temperature] },
    ]);
    this.launches++;
    return tf.engine().makeTensorFromTensorInfo(info);
  }

  /** The decided values of row r, normalised to [-1, 1]; undecided sub-pixels 0. */
  private rowInput(x: Uint8Array, r: number, upTo: number): tf.Tensor1D {
    const { height: H, width: W, channels: C, levels: K } = this.config;
    const N = this.count;
    const out = new Float32Array(N * W * C);
    if (r >= 0) {
      const scale = 2 / (K - 1);
      for (let n = 0; n < N; n++) {
        const src = (n * H + r) * W * C;
        for (let j = 0; j < Math.min(upTo, W * C); j++) out[n * W * C + j] = x[src + j] * scale - 1;
      }
    }
    return tf.tensor1d(out);
  }

  startRow(r: number, x: Uint8Array): void {
    const { width: W, channels: C } = this.config;
    // the vertical stack sees the image shifted down one row; row -1 is all zeros
    const img = r === 0 ? tf.zeros([this.count * W * C]) : this.rowInput(x, r - 1, W * C);
    const next = this.run(this.rowProg, [this.weights, this.rowState, img, this.cond], r, 0, 0, 1);
    img.dispose();
    this.rowState.dispose();
    this.rowState = next;
    this.pixState.dispose();
    this.pixState = tf.zeros([this.count * this.lay.pix.stride]);
  }

  async probs(r: number, c: number, ch: number, x: Uint8Array, temperature: number): Promise<Float32Array> {
    const { channels: C, levels: K } = this.config;
    const img = this.rowInput(x, r, c * C + ch);
    const out = this.run(this.pixProg, [this.weights, this.rowState, this.pixState, img], r, c, ch, temperature);
    img.dispose();
    const data = (await out.data()) as Float32Array;
    // no layer output at (r, c) depends on the pixel's last channel: that step's state is final
    if (ch === C - 1) {
      this.pixState.dispose();
      this.pixState = out;
    } else out.dispose();
    const N = this.count;
    const probs = new Float32Array(N * K);
    for (let n = 0; n < N; n++) {
      const at = n * this.lay.pix.stride + this.lay.pix.probs;
      probs.set(data.subarray(at, at + K), n * K);
    }
    return probs;
  }

  endPixel(): void {}

  dispose(): void {
    this.rowState.dispose();
    this.pixState.dispose();
    this.weights.dispose();
    this.cond.dispose();
  }
}
