import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { initParams, makeConfig, type PixelCNN } from '../model';
import { chunkImages, sampleChunked } from './chunked';
import { CpuStepper, sample } from './index';
import { chunks, shareOptions, shares } from './split';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

// a tiny spatial, nullable vector model: guidance runs two streams an image, and the
// spatial code's map is split with its images
function tiny(): PixelCNN {
  const config = makeConfig({
    height: 5, width: 4, channels: 1, levels: 8, hidden: 8, layers: 3, firstKernel: 3, kernel: 3,
    headHidden: 8, conditioning: { type: 'vector', dim: 3, nullable: true, spatial: true }, spatialChannels: 2, dilations: [1, 1, 2],
  });
  return { config, params: initParams(config, 3) };
}

describe('split arithmetic', () => {
  it('shares cover every image once, as even as can be, none empty', () => {
    expect(shares(7, 2)).toEqual([{ first: 0, count: 4 }, { first: 4, count: 3 }]);
    expect(shares(2, 4)).toEqual([{ first: 0, count: 1 }, { first: 1, count: 1 }]);
    expect(shares(64, 1)).toEqual([{ first: 0, count: 64 }]);
    for (const [n, t] of [[100, 3], [5, 5], [1000, 16]]) {
      const s = shares(n, t);
      expect(s.reduce((a, p) => a + p.count, 0)).toBe(n);
      s.forEach((p, i) => expect(p.first).toBe(i === 0 ? 0 : s[i - 1].first + s[i - 1].count));
      expect(Math.max(...s.map((p) => p.count)) - Math.min(...s.map((p) => p.count))).toBeLessThanOrEqual(1);
    }
    expect(chunks({ first: 10, count: 7 }, 3)).toEqual([{ first: 10, count: 3 }, { first: 13, count: 3 }, { first: 16, count: 1 }]);
  });

  it('bad counts are one-line errors', () => {
    expect(() => shares(0, 2)).toThrow('split: count must be a positive integer, got 0');
    expect(() => shares(4, 0)).toThrow('split: threads must be a positive integer, got 0');
    expect(() => chunks({ first: 0, count: 4 }, 0)).toThrow('split: chunk size must be a positive integer, got 0');
    const opts = { count: 3, seed: 0, condition: { labels: [1, 2] } };
    expect(() => shareOptions(opts, 4, { first: 1, count: 1 })).toThrow('split: condition.labels has 2 entries; give 1 or 3');
  });

  it("a share's options carry its images' conditions, prefix and first stream", () => {
    const e = [0, 1, 2, 3].map((i) => new Float32Array([i, 0, 0]));
    const images = Uint8Array.from({ length: 4 * 2 }, (_, i) => i);
    const s = shareOptions({ count: 4, seed: 5, first: 10, condition: { embeddings: e, unconditional: [true] }, prefix: { images, length: 1 } }, 2, { first: 2, count: 2 });
    expect(s.count).toBe(2);
    expect(s.first).toBe(12);
    expect(s.condition!.embeddings).toEqual([e[2], e[3]]);
    expect(s.condition!.unconditional).toEqual([true]);
    expect(Array.from(s.prefix!.images)).toEqual([4, 5, 6, 7]);
  });
});

describe('the same bytes for any split', () => {
  it('shares sampled alone, chunks, and the naive / cached / cpu samplers all give the one-batch images', async () => {
    const m = tiny();
    const e = Array.from({ length: 5 }, (_, i) => new Float32Array([i - 2, 0.5 * i, 1]));
    const opts = { count: 5, seed: 9, guidance: 1.5, temperature: 0.9, condition: { embeddings: e } };
    const size = 5 * 4;
    const whole = await sample(m, { ...opts, mode: 'cpu' });
    // a different draw per image (the streams are per image), so the test can fail
    expect(new Set(Array.from({ length: 5 }, (_, n) => whole.subarray(n * size, (n + 1) * size).join())).size).toBeGreaterThan(1);
    for (const threads of [2, 3, 5]) {
      const parts = new Uint8Array(whole.length);
      for (const s of shares(5, threads)) parts.set(await sample(m, { ...shareOptions(opts, size, s), mode: 'cpu' }), s.first * size);
      expect(Array.from(parts), `${threads} shares`).toEqual(Array.from(whole));
    }
    for (const mode of ['naive', 'cached'] as const) expect(Array.from(await sample(m, { ...opts, mode })), mode).toEqual(Array.from(whole));
    const seen: number[] = [];
    const chunked = await sampleChunked(m, { ...opts, mode: 'cpu' }, (d) => seen.push(d), { maxImages: 2 });
    expect(Array.from(chunked)).toEqual(Array.from(whole));
    // progress covers the whole run, rising to H * W * C once
    expect(seen.every((d, i) => i === 0 || d >= seen[i - 1])).toBe(true);
    expect(seen.at(-1)).toBe(size);
    expect(seen.filter((d) => d === size)).toHaveLength(1);
  });

  it('chunks hold CHUNK_ROWS batch rows: half as many images with guidance streams', () => {
    const m = tiny();
    const e = [new Float32Array([1, 0, 0])];
    expect(chunkImages(m, { count: 1000, seed: 0, condition: { embeddings: e } })).toBe(512);
    expect(chunkImages(m, { count: 1000, seed: 0, guidance: 2, condition: { embeddings: e } })).toBe(256);
  });
});

describe('no batch too large', () => {
  it("the CPU kernel's memory grows with the batch (600 rows, past its first page) and draws what the cached sampler draws", async () => {
    const m = tiny();
    const opts = { count: 300, seed: 2, guidance: 1, condition: { embeddings: [new Float32Array([0.5, -1, 2])] } };
    const [cpu, cached] = [await sample(m, { ...opts, mode: 'cpu' }), await sample(m, { ...opts, mode: 'cached' })];
    expect(Array.from(cpu)).toEqual(Array.from(cached));
  });

  it('a batch past the kernel memory limit is a one-line error before anything is drawn', () => {
    expect(() => new CpuStepper(tiny(), 4_000_000, undefined)).toThrow(/^cpu sampler: a batch of 4000000 rows needs \d+ MB of kernel memory, over the 2 GB limit; sample at most \d+ rows at a time/);
  });
});
