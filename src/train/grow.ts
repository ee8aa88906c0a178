// Growing a trained model instead of starting over: new layers are appended on top of the
// trunk, each with its output 1x1 (weights and bias) at zero. A layer after the first adds
// its output to the horizontal stack through the residual, so a zero output passes h
// through unchanged and the grown model computes exactly the old model's logits; the new
// layers' other weights start as a fresh model's would. The gradient reaches the zero
// output weights at once (their input, the gated features, is not zero), so the new
// layers start learning from the first step. The motivating use: dilated layers that let
// a trained model see the whole digit (config.dilations).
//
// A checkpoint grows the same way: the old weights keep their Adam moments, the new ones
// start with zero moments, and step, epoch and data order carry on, so `train --resume`
// continues the same run with the larger model (its learning-rate schedule restarted).
import { initParams, disposeParams, makeConfig, type ModelConfig, type Params } from '../model';
import type { Checkpoint } from './checkpoint.ts';
import { paramLayout, type ParamLayout } from './gradient.ts';

/** The config with layers appended at `dilations` (one entry per new layer). */
export function grownConfig(config: ModelConfig, dilations: number[]): ModelConfig {
  if (dilations.length === 0) throw new Error('grow: give at least one new layer (its dilation)');
  const old = config.dilations ?? Array.from({ length: config.layers }, () => 1);
  // makeConfig validates: dilations too large for the span below are refused there
  return makeConfig({ ...config, layers: config.layers + dilations.length, dilations: [...old, ...dilations] });
}

/** Names of the weights that make a new layer an identity: its output 1x1 and bias. */
function isZeroedOutput(name: string, fromLayer: number): boolean {
  const m = /^l(\d+)\/(out|out_bias)$/.exec(name);
  return m !== null && Number(m[1]) >= fromLayer;
}

/**
 * A flat array of the old model (weights, or an Adam moment) laid out for the grown one:
 * every old tensor copied by name; new tensors from initParams(grown, seed) with the new
 * output 1x1s zeroed (fill 'init'), or all zero (fill 'zeros').
 */
export function growFlat(
  oldConfig: ModelConfig,
  grown: ModelConfig,
  oldFlat: Float32Array,
  fill: { init: number } | 'zeros',
): { layout: ParamLayout; flat: Float32Array } {
  const oldLayout = paramLayout(oldConfig);
  if (oldFlat.length !== oldLayout.total) {
    throw new Error(`grow: ${oldFlat.length} weights given, the model has ${oldLayout.total}`);
  }
  const layout = paramLayout(grown);
  for (const name of oldLayout.names) {
    if (!layout.names.includes(name)) throw new Error(`grow: weight "${name}" has no place in the grown model`);
  }
  const flat = new Float32Array(layout.total);
  const fresh: Params | null = fill === 'zeros' ? null : initParams(grown, fill.init);
  try {
    layout.names.forEach((name, i) => {
      const at = layout.offsets[i];
      const n = layout.sizes[i];
      const j = oldLayout.names.indexOf(name);
      if (j >= 0) {
        if (oldLayout.sizes[j] !== n) throw new Error(`grow: weight "${name}" changes size (${oldLayout.sizes[j]} -> ${n})`);
        flat.set(oldFlat.subarray(oldLayout.offsets[j], oldLayout.offsets[j] + n), at);
      } else if (fresh && !isZeroedOutput(name, oldConfig.layers)) {
        flat.set(fresh[name].dataSync() as Float32Array, at);
      }
    });
  } finally {
    if (fresh) disposeParams(fresh);
  }
  return { layout, flat };
}

/**
 * The checkpoint of the same run with layers appended (see the top of this file). The
 * learning-rate schedule starts again at this step (warm-up, then cosine decay): the new
 * layers need a learning rate the old run has decayed away; `lr` sets its peak.
 */
export function growCheckpoint(ckpt: Checkpoint, dilations: number[], seed: number, lr = ckpt.header.hyper.lr): Checkpoint {
  const oldConfig = ckpt.header.config;
  const grown = grownConfig(oldConfig, dilations);
  const { layout, flat: params } = growFlat(oldConfig, grown, ckpt.params, { init: seed });
  return {
    header: {
      ...ckpt.header,
      config: grown,
      hyper: { ...ckpt.header.hyper, lr },
      progress: { ...ckpt.header.progress, scheduleStart: ckpt.header.progress.step },
      tensors: layout.names.map((name, i) => ({ name, shape: layout.shapes[i] })),
      savedAt: new Date().toISOString(),
    },
    params,
    // moments: the old weights keep theirs, the new ones start at zero
    m: growFlat(oldConfig, grown, ckpt.m, 'zeros').flat,
    v: growFlat(oldConfig, grown, ckpt.v, 'zeros').flat,
  };
}
