// The auto-encoder's E (issue 23): its config rules and messages (the contract shared with
// training/config.py), its tensors after the head, and its forward against a plain loop
// written from the contract (pad 1, stride-2 3x3 conv + ReLU per layer, NHWC flatten,
// dense + tanh). PyTorch parity is training/tests/test_encoder_parity.py.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { hasEncoder, makeConfig, validateConfig, type ModelConfig } from './config';
import { interpolateCodes, repeatEach } from './codes';
import { encode, encodeImages } from './encoder';
import { initParams, paramShapes, paramSpecs, gaussian } from './params';
import { mulberry32 } from '../util/rng';
import type { Params } from './types';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const aeConfig = (encoder: unknown, over: Partial<ModelConfig> = {}): ModelConfig =>
  makeConfig({
    height: 6, width: 5, channels: 1, levels: 4, hidden: 4, layers: 2, headHidden: 4, firstKernel: 3, kernel: 3,
    conditioning: { type: 'vector', dim: 3, nullable: true },
    encoder: encoder as ModelConfig['encoder'],
    ...over,
  });

/** Every weight random, biases included (zero biases would hide a misplaced bias). */
function randomParams(config: ModelConfig, seed: number): Params {
  const rand = mulberry32(seed);
  const out: Params = {};
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    out[s.name] = tf.tensor(gaussian(n, s.initStd || 0.5, rand), s.shape);
  }
  return out;
}

/** The contract's forward, one multiply-add at a time. x: levels [B, H, W, C]. */
function referenceEncode(config: ModelConfig, weights: Record<string, Float32Array>, x: Float32Array, B: number): Float32Array {
  let h = config.height, w = config.width, c = config.channels;
  let a = x.map((v) => v * (2 / (config.levels - 1)) - 1);
  config.encoder!.channels.forEach((co, i) => {
    const oh = Math.ceil(h / 2), ow = Math.ceil(w / 2);
    const k = weights[`enc/conv${i}`], bias = weights[`enc/conv${i}_bias`];
    const out = new Float32Array(B * oh * ow * co);
    for (let b = 0; b < B; b++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) for (let o = 0; o < co; o++) {
      let s = bias[o];
      for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) {
        const iy = 2 * y + dy - 1, ix = 2 * xx + dx - 1; // padded by one: tap (dy, dx) reads input (2y+dy-1, 2x+dx-1)
        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
        for (let ci = 0; ci < c; ci++) s += a[((b * h + iy) * w + ix) * c + ci] * k[((dy * 3 + dx) * c + ci) * co + o];
      }
      out[((b * oh + y) * ow + xx) * co + o] = Math.max(0, s);
    }
    a = out;
    h = oh; w = ow; c = co;
  });
  const F = h * w * c, d = config.encoder!.code;
  const codes = new Float32Array(B * d);
  for (let b = 0; b < B; b++) for (let j = 0; j < d; j++) {
    let s = weights['enc/dense_bias'][j];
    for (let f = 0; f < F; f++) s += a[b * F + f] * weights['enc/dense'][f * d + j];
    codes[b * d + j] = Math.tanh(s);
  }
  return codes;
}

describe('config.encoder', () => {
  const base = { ...aeConfig(undefined) } as Record<string, unknown>;
  const check = (encoder: unknown, conditioning: unknown = base.conditioning) => () => validateConfig({ ...base, encoder, conditioning });
  it('accepts the contract\'s form, and a model without one is no auto-encoder', () => {
    expect(check({ type: 'conv', channels: [32, 64], code: 3 })).not.toThrow();
    expect(hasEncoder(aeConfig({ type: 'conv', channels: [2], code: 3 }))).toBe(true);
    expect(hasEncoder(aeConfig(undefined))).toBe(false);
  });
  it('names the bad field in the contract\'s words', () => {
    expect(check(null)).toThrow(/^config\.encoder: expected an object$/);
    expect(check([1])).toThrow(/^config\.encoder: expected an object$/);
    expect(check({ type: 'dense', channels: [4], code: 3 })).toThrow(/^config\.encoder\.type: expected "conv", got "dense"$/);
    expect(check({ channels: [4], code: 3 })).toThrow(/^config\.encoder\.type: expected "conv", got null$/); // a missing field reads as Python's json.dumps(None)
    // values written as Python's json.dumps writes them, so both languages say the same
    for (const [ch, shown] of [[[], '[]'], [[1, 2, 3, 4, 5], '[1, 2, 3, 4, 5]'], [[0], '[0]'], [[513], '[513]'], [[2.5], '[2.5]'], [['8'], '["8"]'], [8, '8'], [{ a: [1, 2] }, '{"a": [1, 2]}']] as const) {
      expect(check({ type: 'conv', channels: ch, code: 3 })).toThrow(`config.encoder.channels: expected 1 to 4 integers from 1 to 512, got ${shown}`);
    }
    for (const code of [0, 1.5, '3', null, true]) {
      expect(check({ type: 'conv', channels: [4], code })).toThrow(`config.encoder.code: expected an integer >= 1, got ${JSON.stringify(code)}`);
    }
    const needs = 'config.encoder: the code is the decoder\'s condition, so conditioning must be {"type": "vector", "dim": 3}';
    expect(check({ type: 'conv', channels: [4], code: 3 }, { type: 'vector', dim: 4 })).toThrow(needs);
    expect(check({ type: 'conv', channels: [4], code: 3 }, { type: 'class', classes: 3 })).toThrow(needs);
    expect(check({ type: 'conv', channels: [4], code: 3 }, { type: 'none' })).toThrow(needs);
    // the code may enter as a spatial map or be nullable, as any vector condition
    expect(() => validateConfig({ ...base, spatialChannels: 2, encoder: { type: 'conv', channels: [4], code: 3 }, conditioning: { type: 'vector', dim: 3, spatial: true } })).not.toThrow();
  });
});

describe('the encoder\'s tensors', () => {
  it('come after the head, so a decoder\'s tensors keep their order and shapes', () => {
    const plain = paramShapes(aeConfig(undefined));
    const ae = paramShapes(aeConfig({ type: 'conv', channels: [6, 7, 2], code: 3 }));
    expect(ae.slice(0, plain.length)).toEqual(plain);
    // 6x5 -> 3x3 -> 2x2 -> 1x1
    expect(ae.slice(plain.length)).toEqual([
      { name: 'enc/conv0', shape: [3, 3, 1, 6] }, { name: 'enc/conv0_bias', shape: [6] },
      { name: 'enc/conv1', shape: [3, 3, 6, 7] }, { name: 'enc/conv1_bias', shape: [7] },
      { name: 'enc/conv2', shape: [3, 3, 7, 2] }, { name: 'enc/conv2_bias', shape: [2] },
      { name: 'enc/dense', shape: [2, 3] }, { name: 'enc/dense_bias', shape: [3] },
    ]);
  });
  it('the shipped shape: 28x28, channels [32, 64], code 16 -> dense [7*7*64, 16]; init stds as the contract says', () => {
    const c = makeConfig({ conditioning: { type: 'vector', dim: 16, nullable: true }, encoder: { type: 'conv', channels: [32, 64], code: 16 } });
    const enc = paramSpecs(c).filter((s) => s.name.startsWith('enc/'));
    expect(enc).toEqual([
      { name: 'enc/conv0', shape: [3, 3, 1, 32], initStd: 1 / 3 },
      { name: 'enc/conv0_bias', shape: [32], initStd: 0 },
      { name: 'enc/conv1', shape: [3, 3, 32, 64], initStd: 1 / Math.sqrt(9 * 32) },
      { name: 'enc/conv1_bias', shape: [64], initStd: 0 },
      { name: 'enc/dense', shape: [7 * 7 * 64, 16], initStd: 1 / Math.sqrt(7 * 7 * 64) },
      { name: 'enc/dense_bias', shape: [16], initStd: 0 },
    ]);
  });
});

describe('encode', () => {
  for (const [name, channels, dims] of [
    ['one conv, 3 channels in', [5], { channels: 3, hidden: 6, headHidden: 6 }],
    ['three convs, odd sizes', [4, 6, 3], {}],
  ] as const) {
    it(`equals the contract's forward written as loops (${name})`, async () => {
      const config = aeConfig({ type: 'conv', channels, code: 3 }, dims);
      const params = randomParams(config, 11);
      const weights = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, t.dataSync() as Float32Array]));
      const B = 3;
      const rand = mulberry32(4);
      const x = new Float32Array(B * config.height * config.width * config.channels).map(() => Math.floor(rand() * config.levels));
      const want = referenceEncode(config, weights, x, B);
      const got = await encodeImages({ config, params }, x, B);
      expect(got).toHaveLength(B);
      const flat = Float32Array.from(got.flatMap((c) => Array.from(c)));
      for (let i = 0; i < want.length; i++) expect(flat[i]).toBeCloseTo(want[i], 5);
      // not vacuous: codes differ between images and are not saturated
      expect(Math.max(...flat.map((v, i) => Math.abs(v - flat[(i + 3) % flat.length])))).toBeGreaterThan(0.05);
      expect(Math.max(...flat.map(Math.abs))).toBeLessThan(0.9999);
      tf.dispose(Object.values(params));
    });
  }

  it('leaves no tensors behind and refuses a model without an encoder or a wrong shape in one line', async () => {
    const config = aeConfig({ type: 'conv', channels: [2], code: 3 });
    const params = initParams(config, 1);
    const before = tf.memory().numTensors;
    for (let r = 0; r < 3; r++) await encodeImages({ config, params }, new Float32Array(2 * 30), 2);
    const x = tf.zeros([1, 6, 5, 1]) as tf.Tensor4D;
    encode(params, config, x).dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const plain = aeConfig(undefined);
    const y = tf.zeros([1, 6, 5, 1]) as tf.Tensor4D;
    expect(() => encode(params, plain, y)).toThrow(/^encode: the model has no encoder \(config\.encoder\)$/);
    const z = tf.zeros([1, 5, 6, 1]) as tf.Tensor4D;
    expect(() => encode(params, config, z)).toThrow(/^encode: expected images \[B, 6, 5, 1\], got \[1, 5, 6, 1\]$/);
    await expect(encodeImages({ config, params }, new Float32Array(31), 1)).rejects.toThrow(/need 30 values, got 31/);
    tf.dispose([y, z]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(params));
  });
});

describe('codes', () => {
  it('a morph runs from A\'s code to B\'s in equal steps', () => {
    const a = Float32Array.from([0, 1, -0.5]);
    const b = Float32Array.from([1, -1, 0.5]);
    const m = interpolateCodes(a, b, 5);
    expect(m).toHaveLength(5);
    expect(Array.from(m[0])).toEqual(Array.from(a));
    expect(Array.from(m[4])).toEqual(Array.from(b));
    expect(Array.from(m[1])).toEqual([0.25, 0.5, -0.25]);
    expect(() => interpolateCodes(a, b, 1)).toThrow(/at least 2 steps/);
    expect(() => interpolateCodes(a, Float32Array.from([1]), 3)).toThrow(/lengths 3 and 1/);
  });
  it('variations are grouped by input: input i at rows i*k .. i*k+k-1', () => {
    const codes = [Float32Array.from([1]), Float32Array.from([2])];
    expect(repeatEach(codes, 3).map((c) => c[0])).toEqual([1, 1, 1, 2, 2, 2]);
  });
});
