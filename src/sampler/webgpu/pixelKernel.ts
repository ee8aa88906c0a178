// The pixel kernel, once per sub-pixel: every layer's horizontal step, the head, the softmax
// and the draw (one launch instead of ~150 tfjs ops and a readback). One workgroup per image
// runs its S streams side by side and combines their logits into the guided distribution
// (guidance.ts), draws the level by inverse CDF from the run's uniforms and writes it into the
// GPU-side image, where the next dispatches read it.
import type { ModelConfig } from '../../model';
import type { GuidePlan } from '../guidance';
import { layerWeights, weightAt, type FusedLayout } from './layout';
import type { Kernel } from './kernel';
import { fusedTuning, gateFn, levelFn } from './wgsl';

/** Workgroup memory the pixel kernel needs, in floats. */
export function pixelSharedFloats(config: ModelConfig, S: number): number {
  const { hidden: P, headHidden: HH, levels: K } = config;
  return S * (4 * P + HH) + 2 * K + 2 + 2 * S;
}

interface PixelCtx {
  config: ModelConfig;
  lay: FusedLayout;
  plan: GuidePlan;
  WG: number;
  /** floats of the distribution [N, K], which comes first in the output: the only part read back */
  PH: number;
  /** where stream s of image n keeps its pixel state (a WGSL expression) */
  sb: (s: string) => string;
  /** where stream s keeps its log-softmax */
  lpAt: (s: string) => string;
}

function pixelContext(config: ModelConfig, lay: FusedLayout, plan: GuidePlan): PixelCtx {
  const PH = plan.N * config.levels;
  const PS = lay.pix.stride;
  const sb = (s: string) => `(${PH} + (n * ${plan.S} + ${s}) * ${PS})`;
  return { config, lay, plan, WG: fusedTuning.pixelWorkgroup, PH, sb, lpAt: (s) => `${sb(s)} + ${lay.pix.lp}` };
}

/** Layer l's taps on its own row to the left, and (l >= 1) on the current column, into acc. */
function ownTaps(x: PixelCtx, l: number): string {
  const { lay } = x;
  const { width: Wd, hidden: P, channels: C } = x.config;
  const P2 = 2 * P;
  const [half, d, reach] = [lay.halves[l], lay.dilations[l], lay.reaches[l]];
  const hConv = layerWeights(lay, l)('h_conv');
  if (l === 0) {
    // the image row as decided so far (zeros past it); the type-A mask leaves out the rest
    return `for (var dx = 0; dx <= ${half}; dx++) {
          let cc = c - ${reach} + dx * ${d};
          if (cc < 0) { continue; }
          for (var i = 0; i < ${C}; i++) { acc += lvl(img[((n * ${x.config.height} + r) * ${Wd} + cc) * ${C} + i]) * wts[${hConv} + (dx * ${C} + i) * ${P2} + o]; }
        }`;
  }
  // the state holds columns c-reach..c-1 (left of column 0: zero); tap dx reads column c - reach + dx*d
  return `for (var dx = 0; dx < ${half}; dx++) {
          if (c - ${reach} + dx * ${d} < 0) { continue; }
          for (var i = 0; i < ${P}; i++) { acc += hs[${x.sb('s')} + ${lay.pix.state[l]} + dx * ${d * P} + i] * wts[${hConv} + (dx * ${P} + i) * ${P2} + o]; }
        }
        for (var i = 0; i < ${P}; i++) { acc += cur[s * ${P} + i] * wts[${hConv} + (${half * P} + i) * ${P2} + o]; }`;
}

/** Every dispatch writes layer l's whole state; it moves one column on at the pixel's last channel. */
function stateShift(x: PixelCtx, l: number): string {
  const reach = x.lay.reaches[l];
  if (l === 0 || reach === 0) return '';
  const { hidden: P, channels: C } = x.config;
  return `for (var j = t; j < ${x.plan.S * reach * P}; j += ${x.WG}) {
        let s = j / ${reach * P}; let jj = j % ${reach * P}; let dx = jj / ${P}; let i = jj % ${P};
        let at = ${x.sb('s')} + ${x.lay.pix.state[l]} + jj;
        if (ch != ${C - 1}) { result[at] = hs[at]; }
        else if (dx < ${reach - 1}) { result[at] = hs[at + ${P}]; } else { result[at] = cur[s * ${P} + i]; }
      }`;
}

/** Layer l's horizontal step for every stream: pre-gate (the row's link terms + own taps), gate, 1x1, residual. */
function pixelLayer(x: PixelCtx, l: number): string {
  const { lay, WG } = x;
  const { hidden: P } = x.config;
  const { S } = x.plan;
  const P2 = 2 * P;
  const at = layerWeights(lay, l);
  return `
    // layer ${l}
    ${stateShift(x, l)}
    for (var j = t; j < ${S * P2}; j += ${WG}) {
      let s = j / ${P2}; let o = j % ${P2};
      var acc = rows[(n * ${S} + s) * ${lay.row.stride} + ${lay.row.link[l]} + c * ${P2} + o];
      ${ownTaps(x, l)}
      pre[s * ${P2} + o] = acc;
    }
    workgroupBarrier();
    for (var j = t; j < ${S * P}; j += ${WG}) { let s = j / ${P}; let o = j % ${P}; gat[j] = gateF(pre[s * ${P2} + o], pre[s * ${P2} + o + ${P}]); }
    workgroupBarrier();
    for (var j = t; j < ${S * P}; j += ${WG}) {
      let s = j / ${P}; let o = j % ${P};
      var acc = wts[${at('out_bias')} + o];
      for (var i = 0; i < ${P}; i++) { acc += gat[s * ${P} + i] * wts[${at('out')} + i * ${P} + o]; }
      ${l === 0 ? 'cur[j] = acc;' : 'cur[j] = cur[j] + acc;'}
    }
    workgroupBarrier();`;
}

/** Mixture: every class's log p(c | x_<i) learns the level drawn at the previous step. */
function mixturePosterior(x: PixelCtx): string {
  if (x.plan.kind !== 'mixture') return '';
  const { S, N } = x.plan;
  const { WG, sb, lpAt, lay } = x;
  const size = x.config.height * x.config.width * x.config.channels;
  return `for (var s = t; s < ${S}; s += ${WG}) {
    var w = hs[${sb('s')} + ${lay.pix.w}];
    var v = -1;
    if (uniforms.pending >= 0) { v = i32(img[n * ${size} + uniforms.pending]); }
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
  for (var s = t; s < ${S}; s += ${WG}) { result[${sb('s')} + ${lay.pix.w}] = wv[s]; }`;
}

/** The head up to its hidden layer: ReLU -> 1x1 -> ReLU, per stream. */
function headHidden(x: PixelCtx): string {
  const { hidden: P, headHidden: HH } = x.config;
  return `for (var j = t; j < ${x.plan.S * HH}; j += ${x.WG}) {
    let s = j / ${HH}; let jj = j % ${HH};
    var acc = wts[${weightAt(x.lay, 'head/b1')} + jj];
    for (var i = 0; i < ${P}; i++) { acc += max(cur[s * ${P} + i], 0.0) * wts[${weightAt(x.lay, 'head/w1')} + i * ${HH} + jj]; }
    hid[j] = max(acc, 0.0);
  }`;
}

/** The head's last 1x1, only the K logits of channel ch, per stream; `store` keeps acc. */
function logitLoop(x: PixelCtx, store: string): string {
  const { channels: C, levels: K, headHidden: HH } = x.config;
  return `for (var j = t; j < ${x.plan.S * K}; j += ${x.WG}) {
    let s = j / ${K}; let k = j % ${K};
    var acc = wts[${weightAt(x.lay, 'head/b2')} + ch * ${K} + k];
    for (var jj = 0; jj < ${HH}; jj++) { acc += hid[s * ${HH} + jj] * wts[${weightAt(x.lay, 'head/w2')} + jj * ${C * K} + ch * ${K} + k]; }
    ${store}
  }`;
}

/** lu, the unconditional log-softmax at level k: the null stream's, or the mixture over the class streams. */
function unconditionalLogit(x: PixelCtx): string {
  const { lpAt } = x;
  if (x.plan.kind === 'null') return `let lu = result[${lpAt('1')} + k];`;
  return `var m = wv[0] + result[${lpAt('0')} + k];
    for (var s = 1; s < ${x.plan.S}; s++) { m = max(m, wv[s] + result[${lpAt('s')} + k]); }
    var z = 0.0;
    for (var s = 0; s < ${x.plan.S}; s++) { z += exp(wv[s] + result[${lpAt('s')} + k] - m); }
    let lu = m + log(z);`;
}

/** The tempered logits lg [K]; guided: (1 + g) l_c - g l_u of the streams' log-softmaxes. */
function logits(x: PixelCtx): string {
  if (x.plan.kind === 'none') return logitLoop(x, 'lg[k] = acc * uniforms.invTemp;');
  const { levels: K } = x.config;
  const { S } = x.plan;
  const { WG, lpAt } = x;
  return `// every stream's log-softmax (kept: the mixture's next step reads it), then the guided logits
  ${logitLoop(x, `result[${lpAt('s')} + k] = acc;`)}
  storageBarrier(); workgroupBarrier();
  for (var s = t; s < ${S}; s += ${WG}) {
    let a = ${lpAt('s')};
    var m = result[a];
    for (var k = 1; k < ${K}; k++) { m = max(m, result[a + k]); }
    var z = 0.0;
    for (var k = 0; k < ${K}; k++) { z += exp(result[a + k] - m); }
    lse[s] = m + log(z);
  }
  workgroupBarrier();
  for (var j = t; j < ${S * K}; j += ${WG}) {
    let s = j / ${K}; let k = j % ${K};
    result[${lpAt('s')} + k] = result[${lpAt('s')} + k] - lse[s];
  }
  storageBarrier(); workgroupBarrier();
  let cs = i32(draws[n]);
  for (var k = t; k < ${K}; k += ${WG}) {
    let lc = result[${lpAt('cs')} + k];
    ${unconditionalLogit(x)}
    lg[k] = ((1.0 + uniforms.guide) * lc - uniforms.guide * lu) * uniforms.invTemp;
  }`;
}

/**
 * softmax(lg) into the run's output (sub-pixel i's distributions [N, K] at i * N * K), then
 * thread 0 draws the level from this image's uniform as drawLevel does, in the same order
 * and f32 arithmetic (so the CPU's drawLevel on the read-back distribution gives the same
 * level), and writes it into the image and the output's values [H * W * C, N].
 */
function softmaxAndDraw(x: PixelCtx): string {
  const { height: H, width: Wd, channels: C, levels: K } = x.config;
  const { N } = x.plan;
  const size = H * Wd * C;
  return `if (t == 0) {
    var m = lg[0];
    for (var k = 1; k < ${K}; k++) { m = max(m, lg[k]); }
    var z = 0.0;
    for (var k = 0; k < ${K}; k++) { z += exp(lg[k] - m); }
    norm[0] = m;
    norm[1] = z;
  }
  workgroupBarrier();
  let i = (r * ${Wd} + c) * ${C} + ch;
  for (var k = t; k < ${K}; k += ${x.WG}) {
    let p = exp(lg[k] - norm[0]) / norm[1];
    pw[k] = p;
    out[(i * ${N} + n) * ${K} + k] = p;
  }
  workgroupBarrier();
  if (t == 0) {
    var total = 0.0;
    for (var k = 0; k < ${K}; k++) { total += pw[k]; }
    let goal = draws[${N} + uniforms.step * ${N} + n] * total;
    var acc = 0.0;
    var v = -1;
    for (var k = 0; k < ${K}; k++) {
      acc += pw[k];
      if (goal < acc) { v = k; break; }
    }
    // u ~ 1 and rounding: the last level with any mass
    if (v < 0) {
      v = 0;
      for (var k = ${K - 1}; k > 0; k--) { if (pw[k] > 0.0) { v = k; break; } }
    }
    img[n * ${size} + i] = f32(v);
    out[${size * N * K} + i * ${N} + n] = f32(v);
  }`;
}

/** Workgroup memory (pixelSharedFloats counts it): per stream the layer's activations, then per image. */
function workgroupArrays(x: PixelCtx): string {
  const { hidden: P, headHidden: HH, levels: K } = x.config;
  const { S } = x.plan;
  return `var<workgroup> cur : array<f32, ${S * P}>;
var<workgroup> pre : array<f32, ${S * 2 * P}>;
var<workgroup> gat : array<f32, ${S * P}>;
var<workgroup> hid : array<f32, ${S * HH}>;
var<workgroup> lg : array<f32, ${K}>;
var<workgroup> pw : array<f32, ${K}>;
var<workgroup> norm : array<f32, 2>;
var<workgroup> lse : array<f32, ${S}>;
var<workgroup> wv : array<f32, ${S}>;`;
}

/**
 * One workgroup per image, running its S streams side by side. `img` is the GPU-side image
 * [N, H, W, C] of levels (it reads row r as decided so far and writes the drawn level);
 * `draws` holds per image the stream whose logits are l_c, then the run's uniforms
 * [steps, N]. It reads the pixel state `hs` and writes the next into `result` (after an
 * unused [N, K] head, each stream's state at stride PS), and writes the distributions and
 * levels into `out`.
 */
export function pixelKernel(config: ModelConfig, lay: FusedLayout, plan: GuidePlan): Kernel {
  const x = pixelContext(config, lay, plan);
  const layers = Array.from({ length: config.layers }, (_, l) => pixelLayer(x, l));
  const bindings = ['result', 'wts', 'rows', 'hs', 'img', 'out', 'draws'].map((name) => ({ name, write: ['result', 'img', 'out'].includes(name) }));
  return { label: 'pixel', bindings, groups: plan.N, wg: x.WG, body: `
${gateFn}
${levelFn(config)}
${workgroupArrays(x)}
fn main() {
  let n = i32(workgroupId.x);
  let t = i32(localId.x);
  let r = uniforms.row;
  let c = uniforms.col;
  let ch = uniforms.channel;
  ${mixturePosterior(x)}
  ${layers.join('\n')}
  // head: ReLU -> 1x1 -> ReLU -> 1x1, only the K logits of channel ch
  ${headHidden(x)}
  workgroupBarrier();
  ${logits(x)}
  workgroupBarrier();
  ${softmaxAndDraw(x)}
}` };
}
