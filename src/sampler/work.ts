// What the cached sampler (steppers.ts CachedStepper, and cpu.ts / webgpu/ built on its
// layout) keeps between steps and how many multiply-adds it spends, from the config alone.
// No tfjs here: the page's "under the hood" view and the benchmark (src/cli/bench.ts)
// both read these figures, and work.test.ts checks them against the stepper's own
// buffers and against the multiply-adds tf.profile sees it run.
import { condDim, dilationOf, isSpatial, kernelOf, reachOf, type ModelConfig } from '../model/config';

/** One layer's caches, per batch row. */
export interface LayerCache {
  layer: number;
  kernel: number;
  dilation: number;
  /** dilation * (kernel >> 1): how far the layer reaches up and to each side */
  reach: number;
  /** taps of the vertical kernel (rows) and of the horizontal one (columns): kernel >> 1, plus one */
  taps: number;
  /** channels of the layer's input: the image's for layer 0, the hidden width after it */
  channels: number;
  /** the vertical stack's window, [reach + 1 rows, W + 2 reach columns, channels]: rows r-reach..r of its input */
  vertical: { rows: number; cols: number };
  /** the horizontal stack's window: the `reach` columns left of the current one, kept, and the current one */
  horizontal: { kept: number; cols: number };
  /** what the current row adds to the horizontal pre-gate, [W, 2p] */
  link: { cols: number; channels: number };
}

/** The caches of every layer, or null for the masked baseline (the cached sampler runs the gated architecture only). */
export function cacheFigures(config: ModelConfig): LayerCache[] | null {
  if (config.arch !== 'gated') return null;
  return Array.from({ length: config.layers }, (_, l) => {
    const reach = reachOf(config, l);
    return {
      layer: l,
      kernel: kernelOf(config, l),
      dilation: dilationOf(config, l),
      reach,
      taps: (kernelOf(config, l) >> 1) + 1,
      channels: l === 0 ? config.channels : config.hidden,
      vertical: { rows: reach + 1, cols: config.width + 2 * reach },
      horizontal: { kept: reach, cols: reach + 1 },
      link: { cols: config.width, channels: 2 * config.hidden },
    };
  });
}

/** Floats the caches hold for one batch row (vertical windows, horizontal windows, row links). */
export function cacheFloats(config: ModelConfig): number {
  return (cacheFigures(config) ?? []).reduce(
    (s, c) => s + c.vertical.rows * c.vertical.cols * c.channels + c.horizontal.kept * c.channels + c.link.cols * c.link.channels,
    0,
  );
}

/** Multiply-adds of one batch row, by when the cached sampler spends them. */
export interface WorkFigures {
  /** once a run: the conditioning terms of every layer (V^T h, or s = m(h) and V * s) */
  setup: number;
  /** once a row: every layer's vertical convolution and link over the row's W positions */
  perRow: number;
  /** once a sub-pixel: every layer's horizontal convolution and 1x1 at one position, and the head */
  perSubPixel: number;
  /** the horizontal stack at one position without the head (a prefix's warm-up pass) */
  perWarmPixel: number;
  /** one full forward pass, what the naive sampler spends on every sub-pixel */
  forward: number;
}

/** The channels of the head's last layer: K logits (softmax) or 3M mixture numbers per channel. */
function headOutputs(config: ModelConfig): number {
  const per = config.output?.type === 'logistic' ? 3 * config.output.mixtures : config.levels;
  return config.channels * per;
}

/**
 * Multiply-adds of one batch row, counted as the convolutions and 1x1s the CachedStepper
 * runs them (its head computes every channel's outputs; cpu.ts's kernel computes only the
 * drawn channel's, fewer for colour). Elementwise work (gates, biases, softmax) is not counted.
 */
export function samplerWork(config: ModelConfig): WorkFigures {
  const { width: W, height: H, hidden: P, headHidden: HH } = config;
  let vertical = 0; // per position
  let horizontal = 0; // per position
  for (let l = 0; l < config.layers; l++) {
    const k = kernelOf(config, l);
    const taps = (k >> 1) + 1;
    const cin = l === 0 ? config.channels : P;
    vertical += taps * k * cin * 2 * P + 2 * P * 2 * P; // v_conv, link
    horizontal += taps * cin * 2 * P + P * P; // h_conv, out
  }
  const headMacs = P * HH + HH * headOutputs(config);
  const D = condDim(config.conditioning);
  const stacks = config.arch === 'gated' ? 2 : 1;
  let setup = 0;
  if (D > 0 && isSpatial(config.conditioning)) {
    const q = config.spatialChannels ?? 0;
    const cells = Math.ceil(H / 4) * Math.ceil(W / 4);
    setup = D * cells * q + H * W * 9 * q * q + config.layers * stacks * H * W * q * 2 * P; // dense, 3x3 conv, V * s
  } else if (D > 0) setup = config.layers * stacks * D * 2 * P; // V^T h
  let forward: number;
  if (config.arch === 'gated') forward = setup + H * W * (vertical + horizontal + headMacs);
  else {
    let masked = 0;
    for (let l = 0; l < config.layers; l++) {
      const k = kernelOf(config, l);
      masked += ((k >> 1) + 1) * k * (l === 0 ? config.channels : P) * 2 * P + P * P;
    }
    forward = setup + H * W * (masked + headMacs);
  }
  return { setup, perRow: W * vertical, perSubPixel: horizontal + headMacs, perWarmPixel: horizontal, forward };
}

/** Batch rows a run computes per image: guidance runs 2 streams (a null condition) or one per class. */
export function streamsPerImage(config: ModelConfig, guidance: number): number {
  if (!(guidance > 0)) return 1;
  const c = config.conditioning;
  if (c.type === 'none') return 1;
  if (c.nullable === true) return 2;
  return c.type === 'class' ? c.classes : 1;
}

/**
 * Multiply-adds of one batch row once `done` sub-pixels are decided, `given` of them a
 * prefix (a completion's kept rows): the cached sampler's, and the naive sampler's (one
 * forward pass per drawn sub-pixel) for the same sub-pixels.
 */
export function workSoFar(config: ModelConfig, done: number, given = 0): { cached: number; naive: number } {
  const w = samplerWork(config);
  const rowLen = config.width * config.channels;
  const drawn = Math.max(0, done - given);
  if (config.arch !== 'gated') return { cached: drawn * w.forward, naive: drawn * w.forward };
  // startRow runs before the first sub-pixel of each row drawn, and for every row a prefix reaches
  const rows = Math.max(Math.ceil(done / rowLen), given > 0 ? Math.floor(given / rowLen) + 1 : 0);
  const warmPixels = given > 0 ? Math.floor((given % rowLen) / config.channels) : 0;
  const cached = w.setup + Math.min(rows, config.height) * w.perRow + warmPixels * w.perWarmPixel + drawn * w.perSubPixel;
  return { cached: done > 0 || given > 0 ? cached : 0, naive: drawn * w.forward };
}
