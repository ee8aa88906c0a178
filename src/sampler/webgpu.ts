// Fused WebGPU sampling: the cached sampler's work in two hand-written kernels.
//  - rowKernel, once per row: every layer's vertical stack on its window of rows, and the
//    row's link terms for the horizontal stack (one launch instead of ~80 tfjs ops).
//  - pixelKernel, once per sub-pixel: every layer's horizontal step, the head and the
//    softmax (one launch instead of ~150 tfjs ops), then one readback of the distribution.
//  - warmKernel, once for a prefix that ends inside a row: every layer's horizontal stack
//    over the given columns at once, leaving the pixel kernel's state for the next column.
// Each stream gets one row workgroup; each image one pixel workgroup, which runs the
// horizontal step of all its streams side by side (guidance: S streams per image, see
// guidance.ts) and combines their logits into the guided distribution, so only the N x K
// distribution is read back. Layers run in order inside a workgroup, separated by
// barriers. Sizes are baked into the WGSL text (tfjs caches pipelines by shaderKey, which
// we make unique per model shape); per-step values (row, column, channel, temperature,
// guidance) are uniforms. The portable CachedStepper is the reference these kernels are
// tested against.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model/config';
import { condTensor, condTerms, maskedWeights } from '../model';
import { dilationOf, kernelOf, reachOf } from '../model/params';
import type { Condition, PixelCNN } from '../model/types';
import { expandImages, guidePlan, prefixLogPost, type GuidePlan } from './guidance';
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
  device?: GPUDeviceLike;
  tensorMap?: { get(id: unknown): { resource?: unknown } | undefined };
  bufferManager?: { acquireBuffer(size: number, usage: number): GPUBufferLike; releaseBuffer(b: GPUBufferLike): void };
  commandEncoder?: { copyBufferToBuffer(src: unknown, so: number, dst: unknown, o: number, size: number): void };
  ensureCommandEncoderReady?(): void;
  endComputePassEncoder?(): void;
  submitQueue?(): void;
  runWebGPUProgram(
    program: Program,
    inputs: tf.TensorInfo[],
    dtype: 'float32',
    uniforms?: { type: 'int32' | 'float32'; data: number[] }[],
  ): tf.TensorInfo;
}

type GPUDeviceLike = object;
interface GPUBufferLike {
  size: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
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
  /** per stream: each layer's horizontal window (layers >= 1); guided: log-softmax lp [K] and log p(c | x_<i) w */
  pix: { state: number[]; lp: number; w: number; stride: number };
}

export function fusedLayout(config: ModelConfig, guided = false): FusedLayout {
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
  const pix = { state: [] as number[], lp: -1, w: -1, stride: 0 };
  for (let l = 0; l < L; l++) pix.state.push(l === 0 ? -1 : take(reaches[l] * P));
  if (guided) {
    pix.lp = take(K);
    pix.w = take(1);
  }
  pix.stride = o;
  return { halves, dilations, reaches, kernels, cins, w, row, pix };
}

/** Workgroup sizes (threads per image) of the two kernels; part of the pipeline key. */
export const fusedTuning = { rowWorkgroup: 256, pixelWorkgroup: 128 };

function shapeKey(config: ModelConfig, plan: GuidePlan, cond: string): string {
  const c = config;
  const dil = (c.dilations ?? []).join('-') || '1';
  return [c.height, c.width, c.channels, c.levels, c.hidden, c.layers, c.firstKernel, c.kernel, c.headHidden, dil, plan.N, plan.S, plan.kind, cond].join('_');
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

/** `groups` workgroups, a flat float output of `size` floats. */
function program(key: string, inputs: string[], groups: number, size: number, wg: number, code: () => string): Program {
  return {
    variableNames: inputs,
    outputShape: [size],
    shaderKey: key,
    dispatchLayout: { x: [0] },
    dispatch: [groups, 1, 1],
    workgroupSize: [wg, 1, 1],
    uniforms: 'row : i32, col : i32, channel : i32, invTemp : f32, guide : f32,',
    getUserCode: code,
  };
}

/** One workgroup per stream (batch row n * S + s); the image row comes from image n. */
function rowProgram(config: ModelConfig, lay: FusedLayout, plan: GuidePlan, cond: CondInfo): Program {
  const B = plan.N * plan.S;
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
        ? `for (var j = t; j < ${W * cin}; j += ${WG_ROW}) { result[base + ${V + reach * W * cin} + j] = img[(n / ${plan.S}) * ${W * cin} + j]; }`
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
  return program(`pixelcnn_row_${WG_ROW}_${shapeKey(config, plan, cond.kind)}`, ['wts', 'prev', 'img', 'cond'], B, B * RS, WG_ROW, () => `
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

/** Workgroup memory the pixel kernel needs, in floats. */
function pixelSharedFloats(config: ModelConfig, S: number): number {
  const { hidden: P, headHidden: HH, levels: K } = config;
  return S * (4 * P + HH) + K + 2 + 2 * S;
}

/**
 * One workgroup per image, running its S streams side by side. Input `img` holds the
 * image's current row as decided so far [N, W, C], then per image the level decided at the
 * previous step (-1: none), then per image the stream whose logits are l_c. The output is
 * the guided distribution [N, K], then each stream's pixel state (stride PS).
 */
function pixelProgram(config: ModelConfig, lay: FusedLayout, plan: GuidePlan): Program {
  const WG_PIX = fusedTuning.pixelWorkgroup;
  const { width: W, hidden: P, layers: L, channels: C, levels: K, headHidden: HH } = config;
  const { N, S, kind } = plan;
  const P2 = 2 * P;
  const RS = lay.row.stride;
  const PS = lay.pix.stride;
  const PH = N * K; // the distribution comes first: the only part read back
  const NWC = N * W * C;
  const sb = (s: string) => `(${PH} + (n * ${S} + ${s}) * ${PS})`; // stream s's pixel state
  const parts: string[] = [];
  for (let l = 0; l < L; l++) {
    const half = lay.halves[l];
    const d = lay.dilations[l];
    const reach = lay.reaches[l];
    const St = lay.pix.state[l];
    let own: string;
    if (l === 0) {
      own = `for (var dx = 0; dx <= ${half}; dx++) {
          let cc = c - ${reach} + dx * ${d};
          if (cc < 0) { continue; }
          for (var i = 0; i < ${C}; i++) { acc += img[(n * ${W} + cc) * ${C} + i] * wts[${lay.w.hc[0]} + (dx * ${C} + i) * ${P2} + o]; }
        }`;
    } else {
      // the state holds columns c-reach..c-1 (left of column 0: zero); tap dx reads column c - reach + dx*d
      own = `for (var dx = 0; dx < ${half}; dx++) {
          if (c - ${reach} + dx * ${d} < 0) { continue; }
          for (var i = 0; i < ${P}; i++) { acc += hs[${sb('s')} + ${St} + dx * ${d * P} + i] * wts[${lay.w.hc[l]} + (dx * ${P} + i) * ${P2} + o]; }
        }
        for (var i = 0; i < ${P}; i++) { acc += cur[s * ${P} + i] * wts[${lay.w.hc[l]} + (${half * P} + i) * ${P2} + o]; }`;
    }
    // every dispatch writes the whole state; it moves one column on at the pixel's last channel
    const stateUpdate =
      l === 0 || reach === 0
        ? ''
        : `for (var j = t; j < ${S * reach * P}; j += ${WG_PIX}) {
        let s = j / ${reach * P}; let jj = j % ${reach * P}; let dx = jj / ${P}; let i = jj % ${P};
        let at = ${sb('s')} + ${St} + jj;
        if (ch != ${C - 1}) { result[at] = hs[at]; }
        else if (dx < ${reach - 1}) { result[at] = hs[at + ${P}]; } else { result[at] = cur[s * ${P} + i]; }
      }`;
    parts.push(`
    // layer ${l}
    ${stateUpdate}
    for (var j = t; j < ${S * P2}; j += ${WG_PIX}) {
      let s = j / ${P2}; let o = j % ${P2};
      var acc = rows[(n * ${S} + s) * ${RS} + ${lay.row.link[l]} + c * ${P2} + o];
      ${own}
      pre[s * ${P2} + o] = acc;
    }
    workgroupBarrier();
    for (var j = t; j < ${S * P}; j += ${WG_PIX}) { let s = j / ${P}; let o = j % ${P}; gat[j] = gateF(pre[s * ${P2} + o], pre[s * ${P2} + o + ${P}]); }
    workgroupBarrier();
    for (var j = t; j < ${S * P}; j += ${WG_PIX}) {
      let s = j / ${P}; let o = j % ${P};
      var acc = wts[${lay.w.ob[l]} + o];
      for (var i = 0; i < ${P}; i++) { acc += gat[s * ${P} + i] * wts[${lay.w.ow[l]} + i * ${P} + o]; }
      ${l === 0 ? 'cur[j] = acc;' : 'cur[j] = cur[j] + acc;'}
    }
    workgroupBarrier();`);
  }
  const logitLoop = (store: string) => `for (var j = t; j < ${S * K}; j += ${WG_PIX}) {
    let s = j / ${K}; let k = j % ${K};
    var acc = wts[${lay.w.b2} + ch * ${K} + k];
    for (var jj = 0; jj < ${HH}; jj++) { acc += hid[s * ${HH} + jj] * wts[${lay.w.w2} + jj * ${C * K} + ch * ${K} + k]; }
    ${store}
  }`;
  const lpAt = (s: string) => `${sb(s)} + ${lay.pix.lp}`;
  // mixture: every class's log p(c | x_<i) learns the level drawn at the previous step
  const posterior =
    kind !== 'mixture'
      ? ''
      : `for (var s = t; s < ${S}; s += ${WG_PIX}) {
    var w = hs[${sb('s')} + ${lay.pix.w}];
    let v = i32(img[${NWC} + n]);
    if (v >= 0) { w = w + hs[${lpAt('s')} + v]; }
    wv[s] = w;
  }
  workgroupBarrier();
  if (t == 0) {
    var m = wv[0];
    for (var s = 1; s < ${S}; s++) { m = max(m, wv[s]); }
    var z = 0.0;
    for (var s = 0; s < ${S}; s++) { z += exp(wv[s] - m); }
    let lse = m + log(z);
    for (var s = 0; s < ${S}; s++) { wv[s] = wv[s] - lse; }
  }
  workgroupBarrier();
  for (var s = t; s < ${S}; s += ${WG_PIX}) { result[${sb('s')} + ${lay.pix.w}] = wv[s]; }`;
  const unconditional =
    kind === 'null'
      ? `let lu = result[${lpAt('1')} + k];`
      : `var m = wv[0] + result[${lpAt('0')} + k];
    for (var s = 1; s < ${S}; s++) { m = max(m, wv[s] + result[${lpAt('s')} + k]); }
    var z = 0.0;
    for (var s = 0; s < ${S}; s++) { z += exp(wv[s] + result[${lpAt('s')} + k] - m); }
    let lu = m + log(z);`;
  const logits =
    kind === 'none'
      ? logitLoop('lg[k] = acc * uniforms.invTemp;')
      : `// every stream's log-softmax (kept: the mixture's next step reads it), then the guided logits
  ${logitLoop(`result[${lpAt('s')} + k] = acc;`)}
  storageBarrier(); workgroupBarrier();
  for (var s = t; s < ${S}; s += ${WG_PIX}) {
    let a = ${lpAt('s')};
    var m = result[a];
    for (var k = 1; k < ${K}; k++) { m = max(m, result[a + k]); }
    var z = 0.0;
    for (var k = 0; k < ${K}; k++) { z += exp(result[a + k] - m); }
    lse[s] = m + log(z);
  }
  workgroupBarrier();
  for (var j = t; j < ${S * K}; j += ${WG_PIX}) {
    let s = j / ${K}; let k = j % ${K};
    result[${lpAt('s')} + k] = result[${lpAt('s')} + k] - lse[s];
  }
  storageBarrier(); workgroupBarrier();
  let cs = i32(img[${NWC + N} + n]);
  for (var k = t; k < ${K}; k += ${WG_PIX}) {
    let lc = result[${lpAt('cs')} + k];
    ${unconditional}
    lg[k] = ((1.0 + uniforms.guide) * lc - uniforms.guide * lu) * uniforms.invTemp;
  }`;
  return program(`pixelcnn_pixel_${WG_PIX}_${shapeKey(config, plan, '')}`, ['wts', 'rows', 'hs', 'img'], N, PH + N * S * PS, WG_PIX, () => `
${gateFn}
var<workgroup> cur : array<f32, ${S * P}>;
var<workgroup> pre : array<f32, ${S * P2}>;
var<workgroup> gat : array<f32, ${S * P}>;
var<workgroup> hid : array<f32, ${S * HH}>;
var<workgroup> lg : array<f32, ${K}>;
var<workgroup> norm : array<f32, 2>;
var<workgroup> lse : array<f32, ${S}>;
var<workgroup> wv : array<f32, ${S}>;
fn main(index : i32) {
  let n = i32(workgroupId.x);
  let t = i32(localId.x);
  if (t == 0 && hs[0] != hs[0]) { cur[0] = 0.0; }
  let c = uniforms.col;
  let ch = uniforms.channel;
  ${posterior}
  ${parts.join('\n')}
  // head: ReLU -> 1x1 -> ReLU -> 1x1, only the K logits of channel ch
  for (var j = t; j < ${S * HH}; j += ${WG_PIX}) {
    let s = j / ${HH}; let jj = j % ${HH};
    var acc = wts[${lay.w.b1} + jj];
    for (var i = 0; i < ${P}; i++) { acc += max(cur[s * ${P} + i], 0.0) * wts[${lay.w.w1} + i * ${HH} + jj]; }
    hid[j] = max(acc, 0.0);
  }
  workgroupBarrier();
  ${logits}
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
  for (var k = t; k < ${K}; k += ${WG_PIX}) { result[n * ${K} + k] = exp(lg[k] - norm[0]) / norm[1]; }
}`);
}

/**
 * Warm-up from a prefix that ends inside row r (uniform `col` = c0 given columns): every
 * layer's horizontal stack over columns 0..c0-1 at once, one workgroup per stream (as the
 * row kernel does for the vertical stack), leaving each layer's inputs at columns
 * c0-reach..c0-1, the pixel kernel's state. Output: the pixel state (the distribution part
 * unwritten), then per stream a scratch of two layer inputs, the pre-gates and the gates.
 */
function warmProgram(config: ModelConfig, lay: FusedLayout, plan: GuidePlan): Program {
  const WG = fusedTuning.rowWorkgroup;
  const { width: W, hidden: P, layers: L, channels: C, levels: K } = config;
  const { N, S } = plan;
  const B = N * S;
  const P2 = 2 * P;
  const RS = lay.row.stride;
  const PS = lay.pix.stride;
  const PH = N * K;
  const SCR = 5 * W * P;
  const buf = (i: number) => (i % 2) * W * P; // layer inputs alternate between two buffers
  const PRE = 2 * W * P;
  const GAT = 4 * W * P;
  const parts: string[] = [];
  for (let l = 0; l < L; l++) {
    const half = lay.halves[l];
    const d = lay.dilations[l];
    const reach = lay.reaches[l];
    const IN = buf(l + 1); // layer l's input (l >= 1): layer l-1's output
    const OUT = buf(l);
    const state =
      l === 0 || reach === 0
        ? ''
        : `for (var j = t; j < ${reach * P}; j += ${WG}) {
      let cc = c0 - ${reach} + j / ${P};
      var v = 0.0;
      if (cc >= 0) { v = result[xb + ${IN} + cc * ${P} + j % ${P}]; }
      result[sb + ${lay.pix.state[l]} + j] = v;
    }`;
    const own =
      l === 0
        ? `for (var i = 0; i < ${C}; i++) { acc += img[(im * ${W} + cc) * ${C} + i] * wts[${lay.w.hc[0]} + (dx * ${C} + i) * ${P2} + o]; }`
        : `for (var i = 0; i < ${P}; i++) { acc += result[xb + ${IN} + cc * ${P} + i] * wts[${lay.w.hc[l]} + (dx * ${P} + i) * ${P2} + o]; }`;
    parts.push(`
    // layer ${l}
    ${state}
    for (var j = t; j < ${W * P2}; j += ${WG}) {
      let col = j / ${P2}; let o = j % ${P2};
      if (col >= c0) { continue; }
      var acc = rows[b * ${RS} + ${lay.row.link[l]} + j];
      for (var dx = 0; dx <= ${half}; dx++) {
        let cc = col - ${reach} + dx * ${d};
        if (cc < 0) { continue; }
        ${own}
      }
      result[xb + ${PRE} + j] = acc;
    }
    storageBarrier(); workgroupBarrier();
    for (var j = t; j < ${W * P}; j += ${WG}) {
      let col = j / ${P}; let o = j % ${P};
      if (col >= c0) { continue; }
      result[xb + ${GAT} + j] = gateF(result[xb + ${PRE} + col * ${P2} + o], result[xb + ${PRE} + col * ${P2} + o + ${P}]);
    }
    storageBarrier(); workgroupBarrier();
    for (var j = t; j < ${W * P}; j += ${WG}) {
      let col = j / ${P}; let o = j % ${P};
      if (col >= c0) { continue; }
      var acc = wts[${lay.w.ob[l]} + o];
      for (var i = 0; i < ${P}; i++) { acc += result[xb + ${GAT} + col * ${P} + i] * wts[${lay.w.ow[l]} + i * ${P} + o]; }
      result[xb + ${OUT} + j] = ${l === 0 ? 'acc' : `result[xb + ${IN} + j] + acc`};
    }
    storageBarrier(); workgroupBarrier();`);
  }
  const carry = lay.pix.lp < 0 ? '' : `for (var j = t; j < ${K + 1}; j += ${WG}) { result[sb + ${lay.pix.lp} + j] = hs[sb + ${lay.pix.lp} + j]; }`;
  return program(`pixelcnn_warm_${WG}_${shapeKey(config, plan, '')}`, ['wts', 'rows', 'hs', 'img'], B, PH + B * PS + B * SCR, WG, () => `
${gateFn}
fn main(index : i32) {
  let b = i32(workgroupId.x);
  let t = i32(localId.x);
  let im = b / ${S};
  let c0 = uniforms.col;
  let sb = ${PH} + b * ${PS};
  let xb = ${PH + B * PS} + b * ${SCR};
  if (t == 0 && hs[0] != hs[0]) { result[xb] = 0.0; }
  ${carry}
  ${parts.join('\n')}
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

/**
 * The first `floats` values of a tensor on the WebGPU backend: a copy of just that range
 * into a staging buffer (tfjs's data() would map the whole buffer, every stream's state
 * included). Falls back to data() where the backend's internals are not as expected.
 */
async function readFirst(t: tf.Tensor, floats: number): Promise<{ data: Float32Array; read: number }> {
  const b = tf.backend() as unknown as WebGPUBackendLike;
  const src = b.tensorMap?.get(t.dataId)?.resource as { size?: number } | undefined;
  const usage = (globalThis as { GPUBufferUsage?: { COPY_DST: number; MAP_READ: number } }).GPUBufferUsage;
  const mode = (globalThis as { GPUMapMode?: { READ: number } }).GPUMapMode;
  if (!src || typeof src.size !== 'number' || !b.bufferManager || !b.ensureCommandEncoderReady || !b.endComputePassEncoder || !b.submitQueue || !usage || !mode) {
    const all = (await t.data()) as Float32Array;
    return { data: all.slice(0, floats), read: all.length };
  }
  const bytes = floats * 4;
  const staging = b.bufferManager.acquireBuffer(bytes, usage.COPY_DST | usage.MAP_READ);
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.commandEncoder!.copyBufferToBuffer(src, 0, staging, 0, bytes);
  b.submitQueue();
  await staging.mapAsync(mode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0, bytes));
  staging.unmap();
  b.bufferManager.releaseBuffer(staging);
  return { data: out, read: floats };
}

export class FusedWebGPUStepper implements Stepper {
  private rowState: tf.Tensor;
  private pixState: tf.Tensor;
  private readonly rowProg: Program;
  private readonly pixProg: Program;
  private readonly warmProg: Program;
  /** raster index of the sub-pixel decided after the last step (-1: none); the mixture learns from it */
  private pending = -1;
  /** kernel launches so far (for benchmarks) */
  launches = 0;
  /** floats read back from the GPU so far (for tests: N * K a sub-pixel) */
  readFloats = 0;

  private constructor(
    private readonly model: PixelCNN,
    private readonly plan: GuidePlan,
    private readonly lay: FusedLayout,
    private readonly weights: tf.Tensor1D,
    private readonly cond: tf.Tensor1D,
    condInfo: CondInfo,
  ) {
    const config = model.config;
    this.rowProg = rowProgram(config, lay, plan, condInfo);
    this.pixProg = pixelProgram(config, lay, plan);
    this.warmProg = warmProgram(config, lay, plan);
    this.rowState = tf.zeros([plan.N * plan.S * lay.row.stride]);
    this.pixState = this.initialPixState(null);
  }

  /**
   * count images; with a guidance plan (guidePlan) its streams run inside the same
   * dispatches, as more workgroups of the row kernel and side by side in the pixel kernel.
   */
  static async create(model: PixelCNN, count: number, condition: Condition | undefined, plan?: GuidePlan): Promise<FusedWebGPUStepper> {
    if (!isWebGPUBackend()) throw new Error(`the fused sampler needs the webgpu backend (current: ${tf.getBackend()})`);
    if (model.config.arch !== 'gated') throw new Error('the fused sampler runs the gated architecture');
    if (model.config.output?.type === 'logistic') throw new Error('the fused sampler computes a softmax head; use the cached sampler for a logistic-mixture model');
    const p = plan ?? guidePlan(model, { count, seed: 0, condition });
    const shared = pixelSharedFloats(model.config, p.S) * 4;
    if (shared > 16384) {
      throw new Error(`the fused sampler: ${p.S} streams per image need ${Math.ceil(shared / 1024)} KB of workgroup memory, over WebGPU's 16 KB; use the cached sampler`);
    }
    const lay = fusedLayout(model.config, p.kind !== 'none');
    const packed = await packWeights(model, lay);
    const cond = packCond(model, p.N * p.S, p.condition);
    return new FusedWebGPUStepper(model, p, lay, tf.tensor1d(packed), cond.t, cond.info);
  }

  /** Zeros, but the mixture's log p(c | x_<i) per stream (uniform without a prefix). */
  private initialPixState(logPost: Float64Array | null): tf.Tensor1D {
    const { N, S } = this.plan;
    const K = this.model.config.levels;
    const PS = this.lay.pix.stride;
    const state = new Float32Array(N * K + N * S * PS);
    if (this.plan.kind === 'mixture') {
      for (let b = 0; b < N * S; b++) state[N * K + b * PS + this.lay.pix.w] = logPost ? logPost[b] : -Math.log(S);
    }
    return tf.tensor1d(state);
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
      { type: 'float32', data: [this.plan.g] },
    ]);
    this.launches++;
    return tf.engine().makeTensorFromTensorInfo(info);
  }

  /** The decided values of row r, normalised to [-1, 1]; undecided sub-pixels 0. [N * W * C], then `extra`. */
  private rowInput(x: Uint8Array, r: number, upTo: number, extra: number[] = []): tf.Tensor1D {
    const { height: H, width: W, channels: C, levels: K } = this.model.config;
    const N = this.plan.N;
    const out = new Float32Array(N * W * C + extra.length);
    if (r >= 0) {
      const scale = 2 / (K - 1);
      for (let n = 0; n < N; n++) {
        const src = (n * H + r) * W * C;
        for (let j = 0; j < Math.min(upTo, W * C); j++) out[n * W * C + j] = x[src + j] * scale - 1;
      }
    }
    out.set(extra, N * W * C);
    return tf.tensor1d(out);
  }

  startRow(r: number, x: Uint8Array): void {
    const { width: W, channels: C } = this.model.config;
    // the vertical stack sees the image shifted down one row; row -1 is all zeros
    const img = r === 0 ? tf.zeros([this.plan.N * W * C]) : this.rowInput(x, r - 1, W * C);
    const next = this.run(this.rowProg, [this.weights, this.rowState, img, this.cond], r, 0, 0, 1);
    img.dispose();
    this.rowState.dispose();
    this.rowState = next;
  }

  /** One pixel dispatch; its output (the distribution, then the new state) becomes the state. */
  private pixelStep(r: number, c: number, ch: number, x: Uint8Array, temperature: number, prev: number[]): tf.Tensor {
    const { channels: C } = this.model.config;
    const extra = [...prev, ...this.plan.condStream];
    const img = this.rowInput(x, r, c * C + ch, extra);
    const out = this.run(this.pixProg, [this.weights, this.rowState, this.pixState, img], r, c, ch, temperature);
    img.dispose();
    this.pixState.dispose();
    this.pixState = out;
    return out;
  }

  async probs(r: number, c: number, ch: number, x: Uint8Array, temperature: number): Promise<Float32Array> {
    const { height: H, width: W, channels: C, levels: K } = this.model.config;
    const N = this.plan.N;
    const size = H * W * C;
    const prev = Array.from({ length: N }, (_, n) => (this.pending < 0 ? -1 : x[n * size + this.pending]));
    const out = this.pixelStep(r, c, ch, x, temperature, prev);
    this.pending = (r * W + c) * C + ch;
    const { data, read } = await readFirst(out, N * K);
    this.readFloats += read;
    return data;
  }

  endPixel(): void {}

  /**
   * Rows above the resuming row: one row dispatch each. The given pixels of the resuming
   * row: one warm dispatch for all of them. Nothing is read back. The mixture's class
   * posterior starts from one full pass over the prefix.
   */
  async warm(x: Uint8Array, length: number): Promise<void> {
    const { width: W, channels: C } = this.model.config;
    const { N, S } = this.plan;
    if (this.plan.kind === 'mixture') {
      const xs = new Uint8Array(x.length * S);
      expandImages(x, xs, N, S);
      const logPost = await prefixLogPost(this.model, this.plan, xs, length);
      this.pixState.dispose();
      this.pixState = this.initialPixState(logPost);
    }
    const r0 = Math.floor(length / (W * C));
    const c0 = Math.floor((length % (W * C)) / C);
    for (let r = 0; r <= r0; r++) this.startRow(r, x);
    if (c0 > 0) {
      const img = this.rowInput(x, r0, c0 * C);
      const next = this.run(this.warmProg, [this.weights, this.rowState, this.pixState, img], r0, c0, 0, 1);
      img.dispose();
      this.pixState.dispose();
      this.pixState = next;
    }
    this.pending = -1;
  }

  dispose(): void {
    this.rowState.dispose();
    this.pixState.dispose();
    this.weights.dispose();
    this.cond.dispose();
  }
}
