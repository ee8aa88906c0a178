// Conditioning has to matter: a model that ignored its label, its embedding or its spatial
// map would pass every causality and likelihood test, so these pin it down. Also the null
// condition of a nullable model (what guidance needs): its layout in h (shared with the
// PyTorch trainer), its own logits, and per-image selection inside one batch.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { condDim, makeConfig, type Conditioning, type ModelConfig } from './config';
import { condTensor, condTerms, spatialMap } from './conditioning';
import { forward, maskedWeights } from './forward';
import { initParams, paramShapes } from './params';
import { mulberry32 } from '../util/rng';
import type { Condition, PixelCNN } from './types';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

function config(conditioning: Conditioning, arch: 'gated' | 'masked' = 'gated'): ModelConfig {
  return makeConfig({
    arch, height: 6, width: 5, channels: 1, levels: 8, hidden: 8, layers: 3,
    firstKernel: 5, kernel: 3, headHidden: 8, conditioning, spatialChannels: 3,
  });
}

function modelOf(c: ModelConfig, seed = 3): PixelCNN {
  return { config: c, params: initParams(c, seed) };
}

/** One random image of levels, [1, H, W, C] as a flat array. */
function randomImage(c: ModelConfig, seed = 7): Float32Array {
  const rand = mulberry32(seed);
  return new Float32Array(c.height * c.width * c.channels).map(() => Math.floor(rand() * c.levels));
}

/** Logits [B, H*W*C*K] of `batch` copies of one image under a condition. */
function logits(model: PixelCNN, image: Float32Array, condition: Condition | undefined, batch: number): Float32Array[] {
  const { height: H, width: W, channels: C } = model.config;
  const rows = tf.tidy(() => {
    const x = tf.tile(tf.tensor4d(image, [1, H, W, C]), [batch, 1, 1, 1]) as tf.Tensor4D;
    const h = condTensor(model.config, condition, batch);
    return tf.reshape(forward(model, x, h), [batch, -1]).arraySync() as number[][];
  });
  return rows.map((r) => Float32Array.from(r));
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('the condition changes the logits', () => {
  for (const arch of ['gated', 'masked'] as const) {
    for (const spatial of [false, true]) {
      const name = `${arch}${spatial ? ', spatial' : ''}`;
      it(`${name}: two classes give different logits on the same image`, () => {
        const model = modelOf(config({ type: 'class', classes: 4, spatial }, arch));
        const x = randomImage(model.config);
        const [a, b] = logits(model, x, { labels: [1, 2] }, 2);
        expect(maxDiff(a, b)).toBeGreaterThan(1e-2);
        // and the same class twice gives the same logits (the difference is the label's)
        const [c, d] = logits(model, x, { labels: [1, 1] }, 2);
        expect(maxDiff(c, d)).toBeLessThan(1e-6);
      });
      it(`${name}: two embeddings give different logits on the same image`, () => {
        const model = modelOf(config({ type: 'vector', dim: 3, spatial }, arch));
        const x = randomImage(model.config);
        const e1 = new Float32Array([0.5, -1, 0.25]);
        const e2 = new Float32Array([-0.5, 0.75, 1]);
        const [a, b] = logits(model, x, { embeddings: [e1, e2] }, 2);
        expect(maxDiff(a, b)).toBeGreaterThan(1e-2);
        const [c, d] = logits(model, x, { embeddings: [e1, Float32Array.from(e1)] }, 2);
        expect(maxDiff(c, d)).toBeLessThan(1e-6);
      });
    }
  }
});

describe('spatial conditioning: s = m(h)', () => {
  const c = config({ type: 'class', classes: 4, spatial: true });
  const model = modelOf(c);

  it('varies with position: s is not one vector broadcast over the image', () => {
    const spread = tf.tidy(() => {
      const masked = maskedWeights(c, model.params);
      const s = spatialMap(c, masked, condTensor(c, { labels: [2] }, 1)!); // [1, H, W, q]
      expect(s.shape).toEqual([1, c.height, c.width, c.spatialChannels]);
      // per channel: largest value minus smallest over the H x W positions
      return tf.sub(tf.max(s, [0, 1, 2]), tf.min(s, [0, 1, 2])).arraySync() as number[];
    });
    expect(Math.max(...spread)).toBeGreaterThan(1e-2);
  });

  it('enters the gates location by location: the terms are [B, H, W, 2p] and vary with position', () => {
    const spread = tf.tidy(() => {
      const masked = maskedWeights(c, model.params);
      const t = condTerms(c, masked, condTensor(c, { labels: [2] }, 1));
      const v = t['l1/v_cond'];
      expect(v.shape).toEqual([1, c.height, c.width, 2 * c.hidden]);
      return tf.max(tf.sub(tf.max(v, [0, 1, 2]), tf.min(v, [0, 1, 2]))).arraySync() as number;
    });
    expect(spread).toBeGreaterThan(1e-2);
  });

  it('changes the output: another map (other weights of m, same h) gives other logits', () => {
    const x = randomImage(c);
    const [a] = logits(model, x, { labels: [2] }, 1);
    const params = { ...model.params, 'cond_map/conv': tf.mul(model.params['cond_map/conv'], -1) };
    const [b] = logits({ config: c, params }, x, { labels: [2] }, 1);
    params['cond_map/conv'].dispose();
    expect(maxDiff(a, b)).toBeGreaterThan(1e-2);
  });
});

describe('null condition', () => {
  it('config: condDim has the null slot and the conditioning weights follow it', () => {
    const plain = config({ type: 'class', classes: 4 });
    const nullable = config({ type: 'class', classes: 4, nullable: true });
    expect(condDim(plain.conditioning)).toBe(4);
    expect(condDim(nullable.conditioning)).toBe(5);
    expect(condDim(config({ type: 'vector', dim: 3, nullable: true }).conditioning)).toBe(4);
    const shapes = (c: ModelConfig) => Object.fromEntries(paramShapes(c).map((s) => [s.name, s.shape]));
    expect(shapes(nullable)['l0/v_cond']).toEqual([5, 16]);
    expect(shapes(nullable)['l2/h_cond']).toEqual([5, 16]);
    expect(shapes(config({ type: 'class', classes: 4, nullable: true, spatial: true }))['cond_map/dense'][0]).toBe(5);
    // everything else is unchanged: same names, same shapes
    const rest = (c: ModelConfig) => paramShapes(c).filter((s) => !/cond/.test(s.name));
    expect(rest(nullable)).toEqual(rest(plain));
  });

  it('config: nullable and dropout are checked with one-line errors', () => {
    const bad = (conditioning: unknown) => () => config(conditioning as Conditioning);
    expect(bad({ type: 'class', classes: 4, nullable: 'yes' })).toThrow(/^config\.conditioning\.nullable: expected true or false/);
    expect(bad({ type: 'none', nullable: true })).toThrow(/^config\.conditioning\.nullable: a model without conditioning/);
    expect(bad({ type: 'class', classes: 4, nullable: true, dropout: 1.5 })).toThrow(/^config\.conditioning\.dropout: expected a probability from 0 to 1, got 1\.5$/);
    expect(bad({ type: 'class', classes: 4, nullable: true, dropout: '0.1' })).toThrow(/^config\.conditioning\.dropout: expected a probability/);
    expect(bad({ type: 'vector', dim: 3, nullable: true, dropout: -0.1 })).toThrow(/^config\.conditioning\.dropout: expected a probability/);
    expect(bad({ type: 'class', classes: 4, dropout: 0.1 })).toThrow(/^config\.conditioning\.dropout: 0\.1 needs "nullable": true/);
    for (const ok of [
      { type: 'class', classes: 4, nullable: true, dropout: 0.1 },
      { type: 'vector', dim: 3, nullable: true, dropout: 1 },
      { type: 'class', classes: 4, nullable: false },
      { type: 'class', classes: 4, dropout: 0 },
    ]) {
      expect(bad(ok)).not.toThrow();
    }
  });

  it('h layout: a class is one-hot with 0 in the last slot, the null condition is all zeros with 1 there', () => {
    const c = config({ type: 'class', classes: 4, nullable: true });
    const h = condTensor(c, { labels: [3, 0, 9], unconditional: [false, false, true] }, 3)!;
    expect(h.arraySync()).toEqual([
      [0, 0, 0, 1, 0],
      [1, 0, 0, 0, 0],
      [0, 0, 0, 0, 1],
    ]);
    h.dispose();
    const v = config({ type: 'vector', dim: 2, nullable: true });
    const hv = condTensor(v, { embeddings: [new Float32Array([0.5, -2])], unconditional: [false, true] }, 2)!;
    expect(hv.arraySync()).toEqual([
      [0.5, -2, 0],
      [0, 0, 1],
    ]);
    hv.dispose();
    // one flag for all; no label needed when every image is unconditional
    const all = condTensor(c, { unconditional: [true] }, 2)!;
    expect(all.arraySync()).toEqual([
      [0, 0, 0, 0, 1],
      [0, 0, 0, 0, 1],
    ]);
    all.dispose();
    // a non-nullable model's h has no extra slot
    const plain = condTensor(config({ type: 'class', classes: 4 }), { labels: [2], unconditional: [false] }, 1)!;
    expect(plain.arraySync()).toEqual([[0, 0, 1, 0]]);
    plain.dispose();
  });

  for (const conditioning of [
    { type: 'class', classes: 4, nullable: true },
    { type: 'class', classes: 4, nullable: true, spatial: true },
  ] as Conditioning[]) {
    it(`${conditioning.type === 'class' && conditioning.spatial ? 'spatial: ' : ''}the null condition gives logits different from every class`, () => {
      const model = modelOf(config(conditioning));
      const x = randomImage(model.config);
      const rows = logits(model, x, { labels: [0, 1, 2, 3, 0], unconditional: [false, false, false, false, true] }, 5);
      for (let y = 0; y < 4; y++) expect(maxDiff(rows[4], rows[y])).toBeGreaterThan(1e-2);
    });
  }

  for (const conditioning of [
    { type: 'class', classes: 4, nullable: true },
    { type: 'vector', dim: 3, nullable: true, spatial: true },
  ] as Conditioning[]) {
    it(`${conditioning.type}${conditioning.type !== 'none' && conditioning.spatial ? ' (spatial)' : ''}: a batch mixing conditional and unconditional images equals each image computed alone`, () => {
      const model = modelOf(config(conditioning, 'gated'));
      const { height: H, width: W, channels: C } = model.config;
      const B = 4;
      const images = Array.from({ length: B }, (_, b) => randomImage(model.config, 10 + b));
      const unconditional = [false, true, false, true];
      const labels = [2, 3, 0, 1];
      const embeddings = labels.map((y) => new Float32Array([y - 1, 0.5 * y, -y]));
      const isClass = conditioning.type === 'class';
      const together = tf.tidy(() => {
        const x = tf.concat(images.map((im) => tf.tensor4d(im, [1, H, W, C]))) as tf.Tensor4D;
        const h = condTensor(model.config, isClass ? { labels, unconditional } : { embeddings, unconditional }, B);
        return tf.reshape(forward(model, x, h), [B, -1]).arraySync() as number[][];
      });
      for (let b = 0; b < B; b++) {
        // alone: a real condition without the flag, or the null one without any label
        const alone: Condition = unconditional[b]
          ? { unconditional: [true] }
          : isClass ? { labels: [labels[b]] } : { embeddings: [embeddings[b]] };
        const [ref] = logits(model, images[b], alone, 1);
        expect(maxDiff(Float32Array.from(together[b]), ref)).toBeLessThan(1e-4);
      }
      // the rows really differ: the null rows are not the conditional ones
      const [asIfReal] = logits(model, images[1], isClass ? { labels: [labels[1]] } : { embeddings: [embeddings[1]] }, 1);
      expect(maxDiff(Float32Array.from(together[1]), asIfReal)).toBeGreaterThan(1e-2);
    });
  }

  it('unconditional on a model without a null condition is a one-line error', () => {
    const msg = /^condition: unconditional was asked for, but the model has no null condition \(conditioning.nullable is not set\)$/;
    expect(() => condTensor(config({ type: 'class', classes: 4 }), { labels: [1, 2], unconditional: [false, true] }, 2)).toThrow(msg);
    expect(() => condTensor(config({ type: 'vector', dim: 3 }), { unconditional: [true] }, 2)).toThrow(msg);
    expect(() => condTensor(config({ type: 'none' }), { unconditional: [true] }, 1)).toThrow(msg);
    // all false is today's conditional model
    const h = condTensor(config({ type: 'class', classes: 4 }), { labels: [1, 2], unconditional: [false, false] }, 2)!;
    expect(h.shape).toEqual([2, 4]);
    h.dispose();
  });

  it('bad flags and missing labels for conditional images are one-line errors', () => {
    const c = config({ type: 'class', classes: 4, nullable: true });
    expect(() => condTensor(c, { labels: [1, 2, 3], unconditional: [true, false] }, 3)).toThrow(/^condition: give 1 or 3 unconditional flags, got 2$/);
    expect(() => condTensor(c, { unconditional: [true, false] }, 2)).toThrow(/^condition: the model is class-conditional; give 1 or 2 class labels$/);
    expect(() => condTensor(c, { labels: [1], unconditional: [1 as unknown as boolean] }, 1)).toThrow(/^condition: unconditional flags must be true or false, got 1$/);
    const v = config({ type: 'vector', dim: 3, nullable: true });
    expect(() => condTensor(v, { embeddings: [new Float32Array(4)] }, 1)).toThrow(/^condition: embedding has length 4, expected 3$/);
  });

  it('leaves no tensors behind', () => {
    const model = modelOf(config({ type: 'class', classes: 4, nullable: true, spatial: true }));
    const x = randomImage(model.config);
    logits(model, x, { labels: [1, 0], unconditional: [false, true] }, 2); // warm-up
    const before = tf.memory().numTensors;
    logits(model, x, { labels: [1, 0], unconditional: [false, true] }, 2);
    expect(tf.memory().numTensors).toBe(before);
  });
});
