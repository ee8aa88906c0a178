import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { makeConfig, type Conditioning, type ModelConfig, type OutputDist } from './config';
import { condTensor } from './conditioning';
import { forward } from './forward';
import { initParams } from './params';
import { mulberry32 } from '../util/rng';
import { receptiveField } from './receptive';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const conds: Record<string, Conditioning> = {
  none: { type: 'none' },
  class: { type: 'class', classes: 4 },
  vector: { type: 'vector', dim: 5 },
  'spatial class': { type: 'class', classes: 4, spatial: true },
  'spatial vector': { type: 'vector', dim: 5, spatial: true },
};

function smallConfig(
  arch: 'gated' | 'masked',
  channels: number,
  conditioning: Conditioning,
  output?: OutputDist,
  dilations?: number[],
): ModelConfig {
  return makeConfig({
    arch, height: 6, width: 5, channels, levels: 8, hidden: 24, layers: 3,
    firstKernel: 5, kernel: 3, headHidden: 24, conditioning, spatialChannels: 2, output, dilations,
  });
}

/** An earlier sub-pixel every architecture sees: the previous channel, else the pixel to the left, else above. */
function neighbourBefore(i: number, W: number, C: number): number {
  const ch = i % C;
  const c = Math.floor(i / C) % W;
  if (ch > 0) return i - 1;
  if (c > 0) return i - 1; // last channel of the pixel to the left
  return i >= W * C ? i - W * C + C - 1 : -1; // last channel of the pixel above
}

/**
 * For every sub-pixel position i (raster order, channels inside a pixel): randomise every
 * sub-pixel at or after i and return the largest change of the logits at i. Also returns
 * the share of positions whose logits move when only a neighbour before i is changed (must be > 0 somewhere, or
 * the test could not fail).
 */
function perturbationChanges(config: ModelConfig, seed: number) {
  const { height: H, width: W, channels: C, levels: K } = config;
  const N = H * W * C;
  const rand = mulberry32(seed);
  const base = new Float32Array(N).map(() => Math.floor(rand() * K));
  const future = new Float32Array(N * N);
  const past = new Float32Array(N * N);
  for (let i = 0; i < N; i++) {
    future.set(base, i * N);
    past.set(base, i * N);
    for (let j = i; j < N; j++) future[i * N + j] = (base[j] + 1 + Math.floor(rand() * (K - 1))) % K;
    const j = neighbourBefore(i, W, C);
    if (j >= 0) past[i * N + j] = (base[j] + 1) % K;
  }
  const model = { config, params: initParams(config, seed) };
  return tf.tidy(() => {
    const cond = condTensor(config, { labels: [1], embeddings: [new Float32Array([0.3, -1, 2, 0.5, 0])] }, 1);
    const condN = cond ? tf.tile(cond, [N, 1]) as tf.Tensor2D : undefined;
    const ref = forward(model, tf.tensor4d(base, [1, H, W, C]), cond).reshape([N, K]).arraySync() as number[][];
    const f = forward(model, tf.tensor4d(future, [N, H, W, C]), condN).reshape([N, N, K]).arraySync() as number[][][];
    const p = forward(model, tf.tensor4d(past, [N, H, W, C]), condN).reshape([N, N, K]).arraySync() as number[][][];
    let maxFuture = 0;
    let reached = 0;
    let candidates = 0;
    for (let i = 0; i < N; i++) {
      for (let k = 0; k < K; k++) maxFuture = Math.max(maxFuture, Math.abs(f[i][i][k] - ref[i][k]));
      if (neighbourBefore(i, W, C) >= 0) {
        let d = 0;
        for (let k = 0; k < K; k++) d = Math.max(d, Math.abs(p[i][i][k] - ref[i][k]));
        candidates++;
        if (d > 1e-6) reached++;
      }
    }
    Object.values(model.params).forEach((t) => t.dispose());
    return { maxFuture, pastReached: reached / candidates };
  });
}

describe('a future sub-pixel never changes the present logits', () => {
  for (const arch of ['gated', 'masked'] as const) {
    for (const channels of [1, 3]) {
      for (const [name, cond] of Object.entries(conds)) {
        it(`${arch}, ${channels} channel(s), conditioning ${name}`, () => {
          const { maxFuture, pastReached } = perturbationChanges(smallConfig(arch, channels, cond), 7);
          expect(maxFuture).toBe(0);
          // an earlier neighbour does reach almost every position (a dead ReLU may cut
          // one off for random weights): the check above is not vacuous
          expect(pastReached).toBeGreaterThan(0.9);
        });
      }
    }
    it(`${arch}, 3 channels, class conditioning, dilations 2 and 3 in the later layers`, () => {
      const config = smallConfig(arch, 3, conds.class, undefined, [1, 2, 3]);
      const { maxFuture, pastReached } = perturbationChanges(config, 7);
      expect(maxFuture).toBe(0);
      expect(pastReached).toBeGreaterThan(0.9);
    });
    it(`${arch}, 3 channels, class conditioning, logistic mixture output`, () => {
      const config = smallConfig(arch, 3, conds.class, { type: 'logistic', mixtures: 2 });
      const { maxFuture, pastReached } = perturbationChanges(config, 7);
      expect(maxFuture).toBe(0);
      expect(pastReached).toBeGreaterThan(0.9);
    });
  }
});

describe('receptive field, measured from the model', () => {
  const cfg = (arch: 'gated' | 'masked', layers: number) =>
    makeConfig({ arch, height: 12, width: 12, channels: 1, levels: 4, hidden: 4, layers, firstKernel: 3, kernel: 3, headHidden: 4 });

  it('the gated model covers exactly the causal region its kernels reach: no holes', () => {
    for (const layers of [1, 2, 4]) {
      const [r, c] = [8, 6];
      const field = receptiveField(cfg('gated', layers), r, c);
      const reach = 1 + (layers - 1); // half of first kernel + half of each later kernel
      for (let y = 0; y < 12; y++) {
        for (let x = 0; x < 12; x++) {
          const above = y < r && y >= r - 1 - reach && Math.abs(x - c) <= reach;
          const left = y === r && x < c && x >= c - reach;
          expect(field[y][x] > 0, `layers ${layers}, pixel (${y}, ${x})`).toBe(above || left);
        }
      }
    }
  });

  it('dilated layers reach dilation x half further each, with no holes', () => {
    // reaches 1 + 1 + 2 + 4: each dilation at most the span below it
    const config = makeConfig({ ...cfg('gated', 4), height: 20, width: 20, dilations: [1, 1, 2, 4] });
    const [r, c] = [16, 9];
    const field = receptiveField(config, r, c);
    const reach = 8;
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 20; x++) {
        const above = y < r && y >= r - 1 - reach && Math.abs(x - c) <= reach;
        const left = y === r && x < c && x >= c - reach;
        expect(field[y][x] > 0, `pixel (${y}, ${x})`).toBe(above || left);
      }
    }
  });

  it('rejects dilations that would leave holes in the receptive field', () => {
    // layer 1 at dilation 2 over a layer that sees 1 pixel back: offsets -1, -3 but never -2
    expect(() => makeConfig({ ...cfg('gated', 3), dilations: [1, 2, 4] })).toThrow(
      /layer 1 has dilation 2 but the layers below it see only 1 pixel\(s\) back/,
    );
    expect(() => makeConfig({ ...cfg('gated', 3), dilations: [2, 1, 1] })).toThrow(/layer 0 has dilation 2/);
    expect(() => makeConfig({ ...cfg('gated', 3), dilations: [1, 1] })).toThrow(/expected an array of 3 integers/);
  });

  it('the masked baseline has a blind spot above-right that the gated model sees', () => {
    const [r, c] = [8, 5];
    const masked = receptiveField(cfg('masked', 4), r, c);
    const gated = receptiveField(cfg('gated', 4), r, c);
    let blind = 0;
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 12; x++) {
        const isPast = y < r || (y === r && x < c);
        if (!isPast) {
          expect(masked[y][x]).toBe(0);
          expect(gated[y][x]).toBe(0);
        }
        if (isPast && gated[y][x] > 0 && masked[y][x] === 0) blind++;
        // the masked model sees nothing the gated one does not
        if (masked[y][x] > 0) expect(gated[y][x]).toBeGreaterThan(0);
      }
    }
    expect(blind).toBeGreaterThan(0);
    // the classic hole: two rows up, to the right of the masked cone
    expect(masked[r - 1][c + 3]).toBe(0);
    expect(gated[r - 1][c + 3]).toBeGreaterThan(0);
  });

  it('rejects a pixel outside the image', () => {
    expect(() => receptiveField(cfg('gated', 2), 12, 0)).toThrow(/outside the 12 x 12 image/);
  });
});
