// Where every weight and every piece of state sits in the fused kernels' flat buffers. The
// kernels bake these offsets into their WGSL and the sampler (rowSampler.ts) concatenates the
// masked weights in this table's order, keyed by parameter name, so the two cannot drift apart.
import type { ModelConfig } from '../../model';
import { dilationOf, kernelOf, reachOf } from '../../model';

/** A gated layer's parameters (`l${l}/${part}` in model.params), in packing order. */
export type LayerPart = 'h_conv' | 'out' | 'out_bias' | 'v_conv' | 'v_bias' | 'link' | 'link_bias' | 'h_bias';
export type HeadPart = 'w1' | 'b1' | 'w2' | 'b2';
export type WeightName = `l${number}/${LayerPart}` | `head/${HeadPart}`;

/** One parameter's place in the packed weight buffer, in floats. */
export interface WeightBlock {
  at: number;
  size: number;
}

/** Where each weight and state block sits in the packed buffers (floats). */
export interface FusedLayout {
  halves: number[];
  /** per layer: dilation, and reach = dilation * half (how many rows/columns back a window holds) */
  dilations: number[];
  reaches: number[];
  kernels: number[];
  cins: number[];
  /** every packed parameter by its name in model.params, in buffer order */
  weights: Map<WeightName, WeightBlock>;
  /** floats in the packed weight buffer */
  weightFloats: number;
  row: { vwin: number[]; link: number[]; scratch: number; stride: number };
  /** per stream: each layer's horizontal window (layers >= 1); guided: log-softmax lp [K] and log p(c | x_<i) w */
  pix: { state: number[]; lp: number; w: number; stride: number };
}

/** Hands out consecutive blocks of a flat buffer. */
function allocator(): { take: (n: number) => number; size: () => number } {
  let o = 0;
  return {
    take: (n) => {
      const at = o;
      o += n;
      return at;
    },
    size: () => o,
  };
}

/** Layer l's parameters and their sizes in floats (the masked tensors, flattened). */
function layerSizes(config: ModelConfig, lay: Pick<FusedLayout, 'halves' | 'kernels' | 'cins'>, l: number): Record<LayerPart, number> {
  const P = config.hidden;
  const P2 = 2 * P;
  const half = lay.halves[l];
  const cin = lay.cins[l];
  return {
    h_conv: (half + 1) * cin * P2, // [1, half+1, cin, 2p]
    out: P * P,
    out_bias: P,
    v_conv: (half + 1) * lay.kernels[l] * cin * P2, // [half+1, k, cin, 2p]
    v_bias: P2,
    link: P2 * P2,
    link_bias: P2,
    h_bias: P2,
  };
}

function headSizes(config: ModelConfig): Record<HeadPart, number> {
  const { hidden: P, channels: C, levels: K, headHidden: HH } = config;
  return { w1: P * HH, b1: HH, w2: HH * C * K, b2: C * K };
}

export function fusedLayout(config: ModelConfig, guided = false): FusedLayout {
  const { layers: L, hidden: P, channels: C, width: Wd, levels: K } = config;
  const P2 = 2 * P;
  const halves = Array.from({ length: L }, (_, l) => kernelOf(config, l) >> 1);
  const dilations = Array.from({ length: L }, (_, l) => dilationOf(config, l));
  const reaches = Array.from({ length: L }, (_, l) => reachOf(config, l));
  const kernels = Array.from({ length: L }, (_, l) => kernelOf(config, l));
  const cins = Array.from({ length: L }, (_, l) => (l === 0 ? C : P));

  const wbuf = allocator();
  const weights = new Map<WeightName, WeightBlock>();
  const add = (name: WeightName, size: number) => weights.set(name, { at: wbuf.take(size), size });
  for (let l = 0; l < L; l++) {
    for (const [part, size] of Object.entries(layerSizes(config, { halves, kernels, cins }, l))) add(`l${l}/${part as LayerPart}`, size);
  }
  for (const [part, size] of Object.entries(headSizes(config))) add(`head/${part as HeadPart}`, size);

  const rbuf = allocator();
  const row = { vwin: [] as number[], link: [] as number[], scratch: 0, stride: 0 };
  for (let l = 0; l < L; l++) row.vwin.push(rbuf.take((reaches[l] + 1) * Wd * cins[l]));
  for (let l = 0; l < L; l++) row.link.push(rbuf.take(Wd * P2));
  row.scratch = rbuf.take(Wd * P2);
  row.stride = rbuf.size();

  const pbuf = allocator();
  const pix = { state: [] as number[], lp: -1, w: -1, stride: 0 };
  for (let l = 0; l < L; l++) pix.state.push(l === 0 ? -1 : pbuf.take(reaches[l] * P));
  if (guided) {
    pix.lp = pbuf.take(K);
    pix.w = pbuf.take(1);
  }
  pix.stride = pbuf.size();
  return { halves, dilations, reaches, kernels, cins, weights, weightFloats: wbuf.size(), row, pix };
}

/** The offset of a packed parameter in the weight buffer. */
export function weightAt(lay: FusedLayout, name: WeightName): number {
  const block = lay.weights.get(name);
  if (!block) throw new Error(`fused sampler: the layout has no weight "${name}"`);
  return block.at;
}

/** Layer l's parameter offsets: at('h_conv'). */
export function layerWeights(lay: FusedLayout, l: number): (part: LayerPart) => number {
  return (part) => weightAt(lay, `l${l}/${part}`);
}

/** Which conditioning terms the kernels read: none, one per image, or one per pixel. */
export interface CondInfo {
  kind: 'none' | 'global' | 'spatial';
}

/**
 * WGSL index into the conditioning buffer [N, (H, W,)? L, 2, 2p] (packCond): layer l's
 * v_cond (which 0) or h_cond (1) at output channel `o`, column `col` of the kernel's row r.
 */
export function condIndex(config: ModelConfig, cond: CondInfo, l: number, which: 0 | 1, o: string, col: string): string {
  const P2 = 2 * config.hidden;
  const L = config.layers;
  if (cond.kind === 'global') return `((n * ${L} + ${l}) * 2 + ${which}) * ${P2} + ${o}`;
  return `((((n * ${config.height} + r) * ${config.width} + ${col}) * ${L} + ${l}) * 2 + ${which}) * ${P2} + ${o}`;
}
