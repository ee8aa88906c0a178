// The warm kernel, once for a prefix that ends inside a row: every layer's horizontal stack
// over the given columns at once, leaving the pixel kernel's state for the next column.
import type { ModelConfig } from '../../model';
import type { GuidePlan } from '../guidance';
import { layerWeights, type FusedLayout } from './layout';
import type { Kernel } from './kernel';
import { fusedTuning, gateFn, levelFn } from './wgsl';

interface WarmCtx {
  config: ModelConfig;
  lay: FusedLayout;
  WG: number;
}

// Per stream a scratch of five W x P blocks: two layer inputs (alternating), the pre-gates, the gates.
const inputBlock = (Wd: number, P: number, i: number) => (i % 2) * Wd * P;
const preBlock = (Wd: number, P: number) => 2 * Wd * P;
const gateBlock = (Wd: number, P: number) => 4 * Wd * P;

/** Layer l's pixel state: its input at columns c0-reach..c0-1 (zero left of column 0). */
function stateFromInput(x: WarmCtx, l: number): string {
  const reach = x.lay.reaches[l];
  if (l === 0 || reach === 0) return '';
  const { width: Wd, hidden: P } = x.config;
  const IN = inputBlock(Wd, P, l + 1);
  return `for (var j = t; j < ${reach * P}; j += ${x.WG}) {
      let cc = c0 - ${reach} + j / ${P};
      var v = 0.0;
      if (cc >= 0) { v = result[xb + ${IN} + cc * ${P} + j % ${P}]; }
      result[sb + ${x.lay.pix.state[l]} + j] = v;
    }`;
}

/** Layer l over columns 0..c0-1: pre-gate (the row's link terms + own taps), gate, 1x1, residual. */
function warmLayer(x: WarmCtx, l: number): string {
  const { lay, WG } = x;
  const { width: Wd, hidden: P, channels: C } = x.config;
  const P2 = 2 * P;
  const at = layerWeights(lay, l);
  const [half, d, reach] = [lay.halves[l], lay.dilations[l], lay.reaches[l]];
  const IN = inputBlock(Wd, P, l + 1); // layer l's input (l >= 1): layer l-1's output
  const OUT = inputBlock(Wd, P, l);
  const PRE = preBlock(Wd, P);
  const GAT = gateBlock(Wd, P);
  const own =
    l === 0
      ? `for (var i = 0; i < ${C}; i++) { acc += lvl(img[((im * ${x.config.height} + uniforms.row) * ${Wd} + cc) * ${C} + i]) * wts[${at('h_conv')} + (dx * ${C} + i) * ${P2} + o]; }`
      : `for (var i = 0; i < ${P}; i++) { acc += result[xb + ${IN} + cc * ${P} + i] * wts[${at('h_conv')} + (dx * ${P} + i) * ${P2} + o]; }`;
  return `
    // layer ${l}
    ${stateFromInput(x, l)}
    for (var j = t; j < ${Wd * P2}; j += ${WG}) {
      let col = j / ${P2}; let o = j % ${P2};
      if (col >= c0) { continue; }
      var acc = rows[b * ${lay.row.stride} + ${lay.row.link[l]} + j];
      for (var dx = 0; dx <= ${half}; dx++) {
        let cc = col - ${reach} + dx * ${d};
        if (cc < 0) { continue; }
        ${own}
      }
      result[xb + ${PRE} + j] = acc;
    }
    storageBarrier(); workgroupBarrier();
    for (var j = t; j < ${Wd * P}; j += ${WG}) {
      let col = j / ${P}; let o = j % ${P};
      if (col >= c0) { continue; }
      result[xb + ${GAT} + j] = gateF(result[xb + ${PRE} + col * ${P2} + o], result[xb + ${PRE} + col * ${P2} + o + ${P}]);
    }
    storageBarrier(); workgroupBarrier();
    for (var j = t; j < ${Wd * P}; j += ${WG}) {
      let col = j / ${P}; let o = j % ${P};
      if (col >= c0) { continue; }
      var acc = wts[${at('out_bias')} + o];
      for (var i = 0; i < ${P}; i++) { acc += result[xb + ${GAT} + col * ${P} + i] * wts[${at('out')} + i * ${P} + o]; }
      result[xb + ${OUT} + j] = ${l === 0 ? 'acc' : `result[xb + ${IN} + j] + acc`};
    }
    storageBarrier(); workgroupBarrier();`;
}

/**
 * Warm-up from a prefix that ends inside row r (uniform `col` = c0 given columns): every
 * layer's horizontal stack over columns 0..c0-1 at once, one workgroup per stream (as the
 * row kernel does for the vertical stack), leaving each layer's inputs at columns
 * c0-reach..c0-1, the pixel kernel's state. Output: the pixel state (the distribution part
 * unwritten), then per stream a scratch of two layer inputs, the pre-gates and the gates.
 */
export function warmKernel(config: ModelConfig, lay: FusedLayout, plan: GuidePlan): Kernel {
  const WG = fusedTuning.rowWorkgroup;
  const { width: Wd, hidden: P, levels: K } = config;
  const { N, S } = plan;
  const B = N * S;
  const PS = lay.pix.stride;
  const PH = N * K;
  const SCR = 5 * Wd * P;
  const x: WarmCtx = { config, lay, WG };
  const layers = Array.from({ length: config.layers }, (_, l) => warmLayer(x, l));
  // guided: each stream's log-softmax and log p(c | x_<i) pass through unchanged
  const carry = lay.pix.lp < 0 ? '' : `for (var j = t; j < ${K + 1}; j += ${WG}) { result[sb + ${lay.pix.lp} + j] = hs[sb + ${lay.pix.lp} + j]; }`;
  const bindings = ['result', 'wts', 'rows', 'hs', 'img'].map((name) => ({ name, write: name === 'result' }));
  return { label: 'warm', bindings, groups: B, wg: WG, body: `
${gateFn}
${levelFn(config)}
fn main() {
  let b = i32(workgroupId.x);
  let t = i32(localId.x);
  let im = b / ${S};
  let c0 = uniforms.col;
  let sb = ${PH} + b * ${PS};
  let xb = ${PH + B * PS} + b * ${SCR};
  ${carry}
  ${layers.join('\n')}
}` };
}
