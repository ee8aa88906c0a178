// Every weight of a model, by name and shape, derived from the config alone.
import * as tf from '@tensorflow/tfjs';
import { condDim, isSpatial, kernelOf, type ModelConfig } from './config';
// a layer's kernel, dilation and reach depend on the config alone, so they live in the tf-free config.ts
export { kernelOf, dilationOf, reachOf } from './config';
import { outputsPerChannel } from './output';
import type { Params } from './types';
import { mulberry32 } from '../util/rng';

export interface ParamSpec {
  name: string;
  shape: number[];
  /** standard deviation of the initial values (0: zeros) */
  initStd: number;
}

/** Grid of the spatial conditioning net before it is upsampled to H x W. */
export function spatialGrid(config: ModelConfig): [number, number] {
  return [Math.ceil(config.height / 4), Math.ceil(config.width / 4)];
}

/** The encoder's last feature map: height and width halved (rounding up) once per stride-2 conv. */
export function encoderGrid(config: ModelConfig): [number, number] {
  let [gh, gw] = [config.height, config.width];
  for (let i = 0; i < (config.encoder?.channels.length ?? 0); i++) [gh, gw] = [Math.ceil(gh / 2), Math.ceil(gw / 2)];
  return [gh, gw];
}

export function paramSpecs(config: ModelConfig): ParamSpec[] {
  const p = config.hidden;
  const C = config.channels;
  const specs: ParamSpec[] = [];
  const add = (name: string, shape: number[], fanIn: number) =>
    specs.push({ name, shape, initStd: fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0 });
  const D = condDim(config.conditioning);
  const spatial = isSpatial(config.conditioning);
  const q = config.spatialChannels ?? 0;

  if (spatial) {
    const [gh, gw] = spatialGrid(config);
    add('cond_map/dense', [D, gh * gw * q], D);
    add('cond_map/dense_bias', [gh * gw * q], 0);
    add('cond_map/conv', [3, 3, q, q], 9 * q);
    add('cond_map/conv_bias', [q], 0);
  }
  // conditioning enters each gate as V^T h (a bias per channel) or V * s (1x1 on s)
  const condIn = spatial ? q : D;
  const condStd = (name: string) => {
    if (D > 0) specs.push({ name, shape: [condIn, 2 * p], initStd: 0.5 / Math.sqrt(condIn) });
  };

  for (let l = 0; l < config.layers; l++) {
    const k = kernelOf(config, l);
    const half = k >> 1;
    const cin = l === 0 ? C : p;
    if (config.arch === 'gated') {
      // vertical: rows i-half..i of the down-shifted input, all k columns
      add(`l${l}/v_conv`, [half + 1, k, cin, 2 * p], (half + 1) * k * cin);
      add(`l${l}/v_bias`, [2 * p], 0);
      // horizontal: columns j-half..j of the current row
      add(`l${l}/h_conv`, [1, half + 1, cin, 2 * p], (half + 1) * cin);
      add(`l${l}/h_bias`, [2 * p], 0);
      // link: vertical pre-gate -> horizontal pre-gate
      add(`l${l}/link`, [2 * p, 2 * p], 2 * p);
      add(`l${l}/link_bias`, [2 * p], 0);
      condStd(`l${l}/v_cond`);
      condStd(`l${l}/h_cond`);
    } else {
      // masked baseline: top half+1 rows of a k x k kernel, future taps masked
      add(`l${l}/conv`, [half + 1, k, cin, 2 * p], (half + 1) * k * cin);
      add(`l${l}/bias`, [2 * p], 0);
      condStd(`l${l}/cond`);
    }
    add(`l${l}/out`, [p, p], p);
    add(`l${l}/out_bias`, [p], 0);
  }
  add('head/w1', [p, config.headHidden], p);
  add('head/b1', [config.headHidden], 0);
  add('head/w2', [config.headHidden, C * outputsPerChannel(config)], config.headHidden);
  add('head/b2', [C * outputsPerChannel(config)], 0);
  // the auto-encoder's E after the head, so every decoder's tensor order stays as it was
  const enc = config.encoder;
  if (enc) {
    let cin = C;
    enc.channels.forEach((c, i) => {
      add(`enc/conv${i}`, [3, 3, cin, c], 9 * cin);
      add(`enc/conv${i}_bias`, [c], 0);
      cin = c;
    });
    const [gh, gw] = encoderGrid(config);
    add('enc/dense', [gh * gw * cin, enc.code], gh * gw * cin);
    add('enc/dense_bias', [enc.code], 0);
  }
  return specs;
}

export function paramShapes(config: ModelConfig): { name: string; shape: number[] }[] {
  return paramSpecs(config).map(({ name, shape }) => ({ name, shape }));
}

/** Fills a Float32Array with N(0, std^2) draws (Box-Muller). */
export function gaussian(n: number, std: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Seeded initial weights: deterministic across backends. */
export function initParams(config: ModelConfig, seed = 0): Params {
  const rand = mulberry32(seed * 2654435761 + 12345);
  const params: Params = {};
  for (const spec of paramSpecs(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const values = spec.initStd > 0 ? gaussian(n, spec.initStd, rand) : new Float32Array(n);
    params[spec.name] = tf.tensor(values, spec.shape, 'float32');
  }
  return params;
}

export function disposeParams(params: Params): void {
  for (const t of Object.values(params)) t.dispose();
}
