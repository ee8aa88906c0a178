import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { makeConfig, type Conditioning, type ModelConfig, type OutputDist } from '../model';
import { initParams } from '../model';
import { mulberry32 } from '../util/rng';
import type { PixelCNN } from '../model';
import { bestMode, CachedStepper, CpuStepper, NaiveStepper, sample, samplePixels, type PortableStepper } from './index';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

function model(channels: number, conditioning: Conditioning, seed = 1, output?: OutputDist, dilations?: number[]): PixelCNN {
  const config: ModelConfig = makeConfig({
    height: 7, width: 6, channels, levels: 16, hidden: 12, layers: 4, firstKernel: 5, kernel: 3,
    headHidden: 12, conditioning, spatialChannels: 3, output, dilations,
  });
  return { config, params: initParams(config, seed) };
}

const condition = { labels: [2, 0, 1], embeddings: [new Float32Array([1, -0.5, 0.25, 2])] };

describe('cached sampler', () => {
  const cases: [string, number, Conditioning, OutputDist?, number[]?][] = [
    ['grey, unconditional', 1, { type: 'none' }],
    ['grey, class', 1, { type: 'class', classes: 3 }],
    ['RGB, vector', 3, { type: 'vector', dim: 4 }],
    ['RGB, spatial class', 3, { type: 'class', classes: 3, spatial: true }],
    ['grey, spatial vector', 1, { type: 'vector', dim: 4, spatial: true }],
    ['RGB, class, logistic mixture output', 3, { type: 'class', classes: 3 }, { type: 'logistic', mixtures: 3 }],
    ['RGB, class, dilations 1, 2, 4, 3', 3, { type: 'class', classes: 3 }, undefined, [1, 2, 4, 3]],
  ];
  const steppers: [string, (m: PixelCNN, N: number, c: Parameters<typeof sample>[1]['condition']) => PortableStepper][] = [
    ['cached', (m, N, c) => new CachedStepper(m, N, c)],
    ['cpu kernel', (m, N, c) => new CpuStepper(m, N, c)],
  ];
  for (const [name, channels, cond, output, dilations] of cases) for (const [kind, make] of steppers) {
    it(`gives the full forward pass's distribution at every sub-pixel (${kind}, ${name})`, async () => {
      const m = model(channels, cond, 1, output, dilations);
      const { height: H, width: W, channels: C, levels: K } = m.config;
      const N = 3;
      const c = cond.type === 'vector' ? { embeddings: condition.embeddings } : { labels: condition.labels };
      const cached = make(m, N, c);
      const naive = new NaiveStepper(m, N, c);
      const x = new Uint8Array(N * H * W * C);
      const rand = mulberry32(5);
      let worst = 0;
      for (let r = 0; r < H; r++) {
        cached.startRow(r, x);
        for (let col = 0; col < W; col++) {
          for (let ch = 0; ch < C; ch++) {
            const a = await cached.probs(r, col, ch, x, 1);
            const b = await naive.probs(r, col, ch, x, 1);
            // compare log-probabilities: the logits up to the softmax's constant
            for (let i = 0; i < N * K; i++) worst = Math.max(worst, Math.abs(Math.log(a[i]) - Math.log(b[i])));
            for (let n = 0; n < N; n++) x[((n * H + r) * W + col) * C + ch] = Math.floor(rand() * K);
          }
          cached.endPixel(r, col, x);
        }
      }
      cached.dispose();
      naive.dispose();
      Object.values(m.params).forEach((t) => t.dispose());
      expect(worst).toBeLessThan(1e-4);
    });
  }

  it('with one seed, cached, cpu-kernel and naive sampling give the same images', async () => {
    const m = model(3, { type: 'class', classes: 3 });
    const opts = { count: 2, seed: 11, temperature: 0.9, condition: { labels: [1, 2] } };
    const a = await sample(m, { ...opts, mode: 'cached' });
    const b = await sample(m, { ...opts, mode: 'naive' });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(await sample(m, { ...opts, mode: 'cpu' }))).toEqual(Array.from(b));
    const c = await sample(m, { ...opts, seed: 12, mode: 'cached' });
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('streams every sub-pixel once, in raster order, with its distribution', async () => {
    const m = model(3, { type: 'none' });
    const seen: string[] = [];
    const out = await sample(m, { count: 2, seed: 1 }, (e) => {
      seen.push(`${e.row},${e.col},${e.channel}`);
      expect(e.probs.length).toBe(2 * 16);
      expect(e.values.length).toBe(2);
      expect(e.total).toBe(7 * 6 * 3);
      expect(e.done).toBe(seen.length);
    });
    expect(seen.length).toBe(7 * 6 * 3);
    expect(seen[0]).toBe('0,0,0');
    expect(seen[1]).toBe('0,0,1');
    expect(seen[3]).toBe('0,1,0');
    expect(out.length).toBe(2 * 7 * 6 * 3);
  });

  it('leaks no tensors across repeated runs, finished or aborted', async () => {
    const m = model(1, { type: 'class', classes: 3 });
    await sample(m, { count: 2, seed: 1, condition: { labels: [0] } });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await sample(m, { count: 2, seed: i, condition: { labels: [1] } });
      const ctl = new AbortController();
      let n = 0;
      await expect(
        sample(m, { count: 2, seed: i, signal: ctl.signal, condition: { labels: [1] } }, () => {
          if (++n === 5) ctl.abort();
        }),
      ).rejects.toThrow(/aborted/);
      // a consumer that simply stops iterating
      const it = samplePixels(m, { count: 1, seed: 3, condition: { labels: [2] } });
      await it.next();
      await it.return(new Uint8Array());
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('temperature near 0 picks the most likely level', async () => {
    const m = model(1, { type: 'none' });
    const naive = new NaiveStepper(m, 1, undefined);
    const rand = mulberry32(2);
    const x = new Uint8Array(7 * 6).map(() => Math.floor(rand() * 16));
    const p1 = await naive.probs(3, 2, 0, x, 1);
    const pCold = await naive.probs(3, 2, 0, x, 1e-3);
    expect(Math.max(...p1)).toBeLessThan(0.9);
    const best = p1.indexOf(Math.max(...p1));
    expect(pCold[best]).toBeGreaterThan(0.99);
    naive.dispose();
  });

  it('rejects bad options with one-line errors', async () => {
    const m = model(1, { type: 'class', classes: 3 });
    await expect(sample(m, { count: 1, seed: 1, mode: 'gpu' as 'cpu', condition: { labels: [0] } })).rejects.toThrow(/unknown mode "gpu" \(expected cached, cpu, fused or naive\)/);
    await expect(sample(m, { count: 0, seed: 1 })).rejects.toThrow(/count must be a positive integer/);
    await expect(sample(m, { count: 1, seed: 1, temperature: 0, condition: { labels: [0] } })).rejects.toThrow(/temperature/);
    await expect(sample(m, { count: 1, seed: 1 })).rejects.toThrow(/class-conditional/);
    await expect(sample(m, { count: 1, seed: 1, condition: { labels: [7] } })).rejects.toThrow(/class 7 is outside 0..2/);
  });
});

describe('on the wasm backend', () => {
  it('cached, cpu-kernel (the default there) and naive sampling give the same images', async () => {
    await initNodeBackend('wasm');
    try {
      const m = model(3, { type: 'class', classes: 3, spatial: true });
      const opts = { count: 2, seed: 4, condition: { labels: [0, 2] } };
      const a = await sample(m, { ...opts, mode: 'cached' });
      const b = await sample(m, { ...opts, mode: 'naive' });
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(bestMode(m)).toBe('cpu');
      expect(Array.from(await sample(m, opts))).toEqual(Array.from(b));
      // the kernel's row step is one call a row, its step one a sub-pixel: no tfjs kernel at all
      const st = new CpuStepper(m, 2, { labels: [0, 2] });
      const x = new Uint8Array(2 * 7 * 6 * 3);
      const kernels = (
        await tf.profile(async () => {
          st.startRow(0, x);
          await st.probs(0, 0, 0, x, 1);
        })
      ).kernels.length;
      st.dispose();
      expect(kernels).toBe(0);
      expect(st.calls).toBe(2);
      Object.values(m.params).forEach((t) => t.dispose());
    } finally {
      await initNodeBackend('cpu');
    }
  });
});
