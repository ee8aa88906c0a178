// The row kernel, once per row: every layer's vertical stack on its window of rows, and the
// row's link terms for the horizontal stack (one launch instead of ~80 tfjs ops).
import type { ModelConfig } from '../../model';
import type { GuidePlan } from '../guidance';
import { condIndex, layerWeights, type CondInfo, type FusedLayout } from './layout';
import type { Kernel } from './kernel';
import { fusedTuning, gateFn, levelFn } from './wgsl';

interface RowCtx {
  config: ModelConfig;
  lay: FusedLayout;
  plan: GuidePlan;
  cond: CondInfo;
  WG: number;
}

/** Layer l's window moves down a row: rows r-reach+1..r of the previous window, then row r. */
function shiftWindow(x: RowCtx, l: number): string {
  const { lay, plan, WG } = x;
  const { width: Wd, hidden: P } = x.config;
  const P2 = 2 * P;
  const reach = lay.reaches[l];
  const cin = lay.cins[l];
  const V = lay.row.vwin[l];
  // layer 0 reads the image's row r-1 (zeros above row 0); later layers the gated vertical
  // pre-gate of the layer below
  const newRow =
    l === 0
      ? `for (var j = t; j < ${Wd * cin}; j += ${WG}) {
            var v = 0.0;
            if (r > 0) { v = lvl(img[((n / ${plan.S}) * ${x.config.height} + r - 1) * ${Wd * cin} + j]); }
            result[base + ${V + reach * Wd * cin} + j] = v;
          }`
      : `for (var j = t; j < ${Wd * P}; j += ${WG}) {
            let col = j / ${P}; let i = j % ${P};
            let a = base + ${lay.row.scratch} + col * ${P2} + i;
            result[base + ${V + reach * Wd * P} + j] = gateF(result[a], result[a + ${P}]);
          }`;
  return `for (var j = t; j < ${reach * Wd * cin}; j += ${WG}) { result[base + ${V} + j] = prev[base + ${V + Wd * cin} + j]; }
    ${newRow}`;
}

/** Layer l's vertical pre-gate for every column of the row, into the scratch block. */
function verticalPre(x: RowCtx, l: number): string {
  const { lay, WG } = x;
  const { width: Wd, hidden: P } = x.config;
  const P2 = 2 * P;
  const at = layerWeights(lay, l);
  const [half, d, reach, k, cin, V] = [lay.halves[l], lay.dilations[l], lay.reaches[l], lay.kernels[l], lay.cins[l], lay.row.vwin[l]];
  const condV = x.cond.kind === 'none' ? '' : `s += cond[${condIndex(x.config, x.cond, l, 0, 'o', 'col')}];`;
  return `for (var j = t; j < ${Wd * P2}; j += ${WG}) {
      let col = j / ${P2}; let o = j % ${P2};
      var s = wts[${at('v_bias')} + o];
      ${condV}
      for (var dy = 0; dy <= ${half}; dy++) {
        for (var dx = 0; dx < ${k}; dx++) {
          let cc = col + dx * ${d} - ${reach};
          if (cc < 0 || cc >= ${Wd}) { continue; }
          let ib = base + ${V} + (dy * ${d * Wd} + cc) * ${cin};
          let wb = ${at('v_conv')} + ((dy * ${k} + dx) * ${cin}) * ${P2} + o;
          for (var i = 0; i < ${cin}; i++) { s += result[ib + i] * wts[wb + i * ${P2}]; }
        }
      }
      result[base + ${lay.row.scratch} + j] = s;
    }`;
}

/** What the row adds to layer l's horizontal pre-gate: link(vertical pre-gate) + biases (+ h_cond). */
function linkTerms(x: RowCtx, l: number): string {
  const { lay, WG } = x;
  const { width: Wd, hidden: P } = x.config;
  const P2 = 2 * P;
  const at = layerWeights(lay, l);
  const condH = x.cond.kind === 'none' ? '' : `s += cond[${condIndex(x.config, x.cond, l, 1, 'o', 'col')}];`;
  return `for (var j = t; j < ${Wd * P2}; j += ${WG}) {
      let col = j / ${P2}; let o = j % ${P2};
      var s = wts[${at('link_bias')} + o] + wts[${at('h_bias')} + o];
      ${condH}
      let sb = base + ${lay.row.scratch} + col * ${P2};
      for (var i = 0; i < ${P2}; i++) { s += result[sb + i] * wts[${at('link')} + i * ${P2} + o]; }
      result[base + ${lay.row.link[l]} + j] = s;
    }`;
}

function rowLayer(x: RowCtx, l: number): string {
  return `
    // layer ${l}: window rows r-${x.lay.reaches[l]}..r of its input (taps every ${x.lay.dilations[l]} rows and columns)
    ${shiftWindow(x, l)}
    storageBarrier(); workgroupBarrier();
    ${verticalPre(x, l)}
    storageBarrier(); workgroupBarrier();
    ${linkTerms(x, l)}
    storageBarrier(); workgroupBarrier();`;
}

/**
 * One workgroup per stream (batch row n * S + s); the image row comes from image n of the
 * GPU-side image [N, H, W, C] of levels. Reads the row state `prev`, writes the next into `result`.
 */
export function rowKernel(config: ModelConfig, lay: FusedLayout, plan: GuidePlan, cond: CondInfo): Kernel {
  const B = plan.N * plan.S;
  const WG = fusedTuning.rowWorkgroup;
  const RS = lay.row.stride;
  const x: RowCtx = { config, lay, plan, cond, WG };
  const layers = Array.from({ length: config.layers }, (_, l) => rowLayer(x, l));
  const bindings = [
    { name: 'result', write: true },
    { name: 'wts', write: false },
    { name: 'prev', write: false },
    { name: 'img', write: false },
    { name: 'cond', write: false },
  ];
  return { label: 'row', bindings, groups: B, wg: WG, body: `
${gateFn}
${levelFn(config)}
fn main() {
  let n = i32(workgroupId.x);
  let t = i32(localId.x);
  let r = uniforms.row;
  let base = n * ${RS};
  ${layers.join('\n')}
}` };
}
