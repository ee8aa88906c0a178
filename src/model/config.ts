// One plain object describes a model completely. It is saved inside model.json next to
// the weights, so a weights folder is self-describing.

export type Conditioning =
  | { type: 'none' }
  // a class label, fed to the gates as a one-hot h
  | ({ type: 'class'; classes: number; spatial?: boolean } & NullCondition)
  // a real vector h (e.g. a 128-d face embedding)
  | ({ type: 'vector'; dim: number; spatial?: boolean } & NullCondition);

/**
 * A nullable model has a null condition besides the real ones, so one network gives both
 * p(x | h) and p(x) (what classifier-free guidance needs). h gets one more slot, the null
 * flag: a real condition is the one-hot / embedding with 0 there, the null condition is all
 * zeros with 1 there (so condDim is classes + 1 or dim + 1).
 */
export interface NullCondition {
  nullable?: boolean;
  /**
   * training only: the probability that an image's condition is replaced by the null one
   * (deterministic with the seed). Needs nullable; trained by the PyTorch trainer.
   */
  dropout?: number;
}
// spatial: true selects the location-dependent form of the paper (eq. 5): s = m(h) is an
// H x W x spatialChannels map made by a small deconvolution net, entering every gate
// through 1x1 convolutions. Otherwise h enters every gate as a per-channel bias V^T h.

export type Architecture = 'gated' | 'masked';

/**
 * The PixelCNN auto-encoder's E (issue 23, paper section 2.4): stride-2 3x3 convolutions
 * with these channels, then a dense layer to a code of `code` floats in (-1, 1). The code
 * is the decoder's condition, so conditioning is {type: 'vector', dim: code}.
 */
export interface EncoderConfig {
  type: 'conv';
  channels: number[];
  code: number;
}

/**
 * The per-sub-pixel distribution over the K levels (src/model/output.ts): a K-way softmax
 * (the paper; the default when absent) or a mixture of discretized logistics (PixelCNN++).
 */
export type OutputDist = { type: 'softmax' } | { type: 'logistic'; mixtures: number };

export interface ModelConfig {
  /** 'gated': vertical + horizontal stacks (no blind spot). 'masked': the plain PixelCNN baseline. */
  arch: Architecture;
  height: number;
  width: number;
  /** 1 (grey) or 3 (RGB, sub-pixels ordered R, G, B) */
  channels: number;
  /** softmax size per sub-pixel: 256 for 8-bit images, 2 for binarised */
  levels: number;
  /** feature maps per stack (p in the paper); a multiple of `channels` */
  hidden: number;
  /** number of layers including the causal first layer */
  layers: number;
  /** kernel size of the first layer (7 in the paper) */
  firstKernel: number;
  /** kernel size of the later layers (3 in the paper) */
  kernel: number;
  /**
   * dilation of each layer's convolutions (vertical, horizontal, or the masked baseline's),
   * one per layer; absent = all 1. A dilated layer reaches d * (kernel >> 1) rows up and
   * columns aside for the cost of an undilated one (a larger receptive field for free).
   */
  dilations?: number[];
  /** width of the output head's hidden 1x1 layer; a multiple of `channels` */
  headHidden: number;
  conditioning: Conditioning;
  /** channels of s = m(h) for spatial conditioning */
  spatialChannels?: number;
  /** distribution of each sub-pixel; absent = softmax */
  output?: OutputDist;
  /** an auto-encoder's image -> code network (src/model/encoder.ts); absent = none */
  encoder?: EncoderConfig;
}

export const DEFAULT_CONFIG: ModelConfig = {
  arch: 'gated',
  height: 28,
  width: 28,
  channels: 1,
  levels: 256,
  hidden: 32,
  layers: 8,
  firstKernel: 7,
  kernel: 3,
  headHidden: 64,
  conditioning: { type: 'none' },
};

export function makeConfig(partial: Partial<ModelConfig>): ModelConfig {
  const config = { ...DEFAULT_CONFIG, ...partial };
  validateConfig(config);
  return config;
}

/** Dimension of the conditioning vector h (0 when unconditional), the null flag slot included. */
export function condDim(c: Conditioning): number {
  if (c.type === 'none') return 0;
  const extra = c.nullable === true ? 1 : 0;
  return (c.type === 'class' ? c.classes : c.dim) + extra;
}

/** Whether the model has a null condition (Condition.unconditional may select it). */
export function isNullable(c: Conditioning): boolean {
  return c.type !== 'none' && c.nullable === true;
}

export function isSpatial(c: Conditioning): boolean {
  return c.type !== 'none' && c.spatial === true;
}

/** Whether the model is an auto-encoder: it can turn an image into its own condition. */
export function hasEncoder(c: ModelConfig): c is ModelConfig & { encoder: EncoderConfig } {
  return c.encoder !== undefined;
}

/** Throws a one-line error naming the first bad field. */
export function validateConfig(c: unknown): asserts c is ModelConfig {
  if (typeof c !== 'object' || c === null) throw new Error('config: expected an object');
  const o = c as Record<string, unknown>;
  const posInt = (k: string, min = 1) => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new Error(`config.${k}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
  };
  if (o.arch !== 'gated' && o.arch !== 'masked') {
    throw new Error(`config.arch: expected "gated" or "masked", got ${JSON.stringify(o.arch)}`);
  }
  posInt('height', 2);
  posInt('width', 2);
  posInt('levels', 2);
  posInt('hidden');
  posInt('layers');
  posInt('headHidden');
  posInt('firstKernel');
  posInt('kernel');
  if (o.channels !== 1 && o.channels !== 3) {
    throw new Error(`config.channels: expected 1 or 3, got ${JSON.stringify(o.channels)}`);
  }
  for (const k of ['firstKernel', 'kernel'] as const) {
    if ((o[k] as number) % 2 !== 1) throw new Error(`config.${k}: expected an odd kernel size, got ${o[k]}`);
  }
  const ch = o.channels as number;
  for (const k of ['hidden', 'headHidden'] as const) {
    if ((o[k] as number) % ch !== 0) {
      throw new Error(`config.${k}: ${o[k]} is not a multiple of channels (${ch})`);
    }
  }
  if (o.dilations !== undefined) {
    const d = o.dilations;
    if (!Array.isArray(d) || d.length !== o.layers) {
      throw new Error(`config.dilations: expected an array of ${o.layers} integers (one per layer), got ${JSON.stringify(d)}`);
    }
    for (const v of d) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 64) {
        throw new Error(`config.dilations: expected integers from 1 to 64, got ${JSON.stringify(v)}`);
      }
    }
    // A layer with dilation d adds its taps' offsets (0, d, 2d, ...) to the span S the
    // layers below already see without gaps; the sum has no gaps only while d <= S. A
    // larger d leaves pixels no path reaches: a blind spot of its own.
    let span = 0;
    for (let l = 0; l < d.length; l++) {
      const dl = d[l] as number;
      if (l === 0 ? dl !== 1 : dl > span) {
        throw new Error(
          `config.dilations: layer ${l} has dilation ${dl} but the layers below it see only ${span} pixel(s) back, ` +
            `so its receptive field would have holes (use at most ${Math.max(1, span)})`,
        );
      }
      span += dl * ((l === 0 ? (o.firstKernel as number) : (o.kernel as number)) >> 1);
    }
  }
  const cond = o.conditioning as Record<string, unknown> | undefined;
  if (typeof cond !== 'object' || cond === null) throw new Error('config.conditioning: expected an object');
  if (cond.type === 'class') {
    if (!Number.isInteger(cond.classes) || (cond.classes as number) < 2) {
      throw new Error(`config.conditioning.classes: expected an integer >= 2, got ${JSON.stringify(cond.classes)}`);
    }
  } else if (cond.type === 'vector') {
    if (!Number.isInteger(cond.dim) || (cond.dim as number) < 1) {
      throw new Error(`config.conditioning.dim: expected an integer >= 1, got ${JSON.stringify(cond.dim)}`);
    }
  } else if (cond.type !== 'none') {
    throw new Error(`config.conditioning.type: expected "none", "class" or "vector", got ${JSON.stringify(cond.type)}`);
  }
  if (cond.type !== 'none' && cond.spatial === true) posInt('spatialChannels');
  if (cond.nullable !== undefined) {
    if (typeof cond.nullable !== 'boolean') {
      throw new Error(`config.conditioning.nullable: expected true or false, got ${JSON.stringify(cond.nullable)}`);
    }
    if (cond.type === 'none' && cond.nullable) {
      throw new Error('config.conditioning.nullable: a model without conditioning has no condition to null');
    }
  }
  if (cond.dropout !== undefined) {
    const p = cond.dropout;
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) {
      throw new Error(`config.conditioning.dropout: expected a probability from 0 to 1, got ${JSON.stringify(p)}`);
    }
    if (p > 0 && cond.nullable !== true) {
      throw new Error(`config.conditioning.dropout: ${p} needs "nullable": true (dropout replaces the condition by the null one)`);
    }
  }
  // after conditioning and before output, as training/config.py checks them
  if (o.encoder !== undefined) validateEncoder(o.encoder, cond);
  const out = o.output as Record<string, unknown> | undefined;
  if (out !== undefined) {
    if (typeof out !== 'object' || out === null) throw new Error('config.output: expected an object');
    if (out.type === 'logistic') {
      const m = out.mixtures;
      if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > 32) {
        throw new Error(`config.output.mixtures: expected an integer from 1 to 32, got ${JSON.stringify(m)}`);
      }
    } else if (out.type !== 'softmax') {
      throw new Error(`config.output.type: expected "softmax" or "logistic", got ${JSON.stringify(out.type)}`);
    }
  }
}

/**
 * A value as Python's json.dumps writes it (", " and ": " between items; a missing field is
 * null), so the encoder's messages are training/config.py's to the character.
 */
function pyJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyJson).join(', ')}]`;
  if (typeof v === 'object' && v !== null) return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pyJson(x)}`).join(', ')}}`;
  return JSON.stringify(v ?? null);
}

/** The encoder's fields (messages as training/config.py's, the contract of issue 23). */
function validateEncoder(e: unknown, cond: Record<string, unknown>): void {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new Error('config.encoder: expected an object');
  const o = e as Record<string, unknown>;
  if (o.type !== 'conv') throw new Error(`config.encoder.type: expected "conv", got ${pyJson(o.type)}`);
  const ch = o.channels;
  const okChannel = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 512;
  if (!Array.isArray(ch) || ch.length < 1 || ch.length > 4 || !ch.every(okChannel)) {
    throw new Error(`config.encoder.channels: expected 1 to 4 integers from 1 to 512, got ${pyJson(ch)}`);
  }
  const code = o.code;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 1) {
    throw new Error(`config.encoder.code: expected an integer >= 1, got ${pyJson(code)}`);
  }
  if (cond.type !== 'vector' || cond.dim !== code) {
    throw new Error(`config.encoder: the code is the decoder's condition, so conditioning must be {"type": "vector", "dim": ${code}}`);
  }
}

/** Kernel size of layer l: the causal first layer is wider. */
export function kernelOf(config: ModelConfig, l: number): number {
  return l === 0 ? config.firstKernel : config.kernel;
}

/** Dilation of layer l's convolutions (1 unless the config lists dilations). */
export function dilationOf(config: ModelConfig, l: number): number {
  return config.dilations?.[l] ?? 1;
}

/** How far layer l's kernel reaches up and to each side, in pixels: dilation * (kernel >> 1). */
export function reachOf(config: ModelConfig, l: number): number {
  return dilationOf(config, l) * (kernelOf(config, l) >> 1);
}

/** Sub-pixels (dimensions) per image, the denominator of bits/dim. */
export function dims(c: ModelConfig): number {
  return c.height * c.width * c.channels;
}

/** Numbers the head emits per sub-pixel: K logits, or 3 per mixture of logistics. */
export function outputsPerChannel(config: ModelConfig): number {
  const o = config.output;
  return o?.type === 'logistic' ? 3 * o.mixtures : config.levels;
}
