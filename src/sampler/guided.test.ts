// Prefixes, guidance and non-finite distributions, in the naive, cached and cpu-kernel samplers.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { condTensor, forward, makeConfig, type Conditioning, type PixelCNN } from '../model';
import { initParams } from '../model';
import { mulberry32 } from '../util/rng';
import { CachedStepper, sample, type PixelEvent, type SampleOptions } from './index';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const H = 5;
const W = 4;
const K = 8;

function model(channels: number, conditioning: Conditioning, seed = 7): PixelCNN {
  const config = makeConfig({
    height: H, width: W, channels, levels: K, hidden: 6, layers: 3, firstKernel: 3, kernel: 3,
    headHidden: 6, conditioning, dilations: [1, 1, 2], spatialChannels: 2,
  });
  return { config, params: initParams(config, seed) };
}

function dispose(m: PixelCNN): void {
  Object.values(m.params).forEach((t) => t.dispose());
}

async function run(m: PixelCNN, opts: SampleOptions): Promise<{ x: Uint8Array; events: PixelEvent[] }> {
  const events: PixelEvent[] = [];
  const x = await sample(m, opts, (e) => events.push(e));
  return { x, events };
}

/** Largest |log a - log b| over every event's distribution. */
function maxLogDiff(a: PixelEvent[], b: PixelEvent[]): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((e, i) => e.probs.forEach((p, j) => (worst = Math.max(worst, Math.abs(Math.log(p) - Math.log(b[i].probs[j]))))));
  return worst;
}

/** FNV-1a of the levels: a fingerprint of a run's images. */
function fingerprint(a: Uint8Array): number {
  let h = 2166136261;
  for (const v of a) {
    h ^= v;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

function randomImages(count: number, size: number, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  return new Uint8Array(count * size).map(() => Math.floor(rand() * K));
}

describe('prefix', () => {
  const C = 3;
  const size = H * W * C;
  // at a row boundary, inside a row at a pixel boundary, inside a pixel
  for (const length of [2 * W * C, 2 * W * C + 2 * C, 3 * W * C + C + 2]) {
    it(`a completion from ${length} given sub-pixels equals the naive sampler's, keeps them, and streams only the rest`, async () => {
      const m = model(C, { type: 'class', classes: 3 });
      const images = randomImages(2, size, 3);
      const opts = { count: 2, seed: 9, temperature: 0.9, condition: { labels: [1, 2] }, prefix: { images, length } };
      const cached = await run(m, { ...opts, mode: 'cached' });
      const naive = await run(m, { ...opts, mode: 'naive' });
      const cpu = await run(m, { ...opts, mode: 'cpu' });
      dispose(m);
      expect(Array.from(cached.x)).toEqual(Array.from(naive.x));
      expect(maxLogDiff(cached.events, naive.events)).toBeLessThan(1e-4);
      expect(Array.from(cpu.x)).toEqual(Array.from(naive.x));
      expect(maxLogDiff(cpu.events, naive.events)).toBeLessThan(1e-4);
      for (let n = 0; n < 2; n++) {
        expect(Array.from(cached.x.subarray(n * size, n * size + length))).toEqual(Array.from(images.subarray(n * size, n * size + length)));
      }
      expect(cached.events.length).toBe(size - length);
      const first = cached.events[0];
      expect([first.row, first.col, first.channel]).toEqual([Math.floor(length / (W * C)), Math.floor(length / C) % W, length % C]);
      expect(first.done).toBe(length + 1);
      expect(first.total).toBe(size);
      expect(cached.events[cached.events.length - 1].done).toBe(size);
    });
  }

  it('the cached sampler warms from a prefix in one pass: a row step per given row, one step for the given columns', async () => {
    const m = model(C, { type: 'class', classes: 3 });
    const x = randomImages(2, size, 6);
    const kernels = async (f: () => Promise<unknown> | unknown) => (await tf.profile(async () => void (await f()))).kernels.length;
    const ref = new CachedStepper(m, 2, { labels: [0] });
    const perRow = await kernels(() => ref.startRow(0, x));
    const perStep = await kernels(() => ref.probs(0, 0, C - 1, x, 1));
    ref.dispose();
    for (const cols of [1, 3]) {
      const st = new CachedStepper(m, 2, { labels: [0] });
      const warm = await kernels(() => st.warm(x, 3 * W * C + cols * C)); // 3 rows and `cols` columns given
      st.dispose();
      // stepping through the given columns would cost a step per column (and per channel)
      expect(warm).toBeLessThanOrEqual(4 * perRow + perStep);
    }
    dispose(m);
  });

  it('a prefix changes what comes after it, and one [H, W, C] prefix serves every image', async () => {
    const m = model(1, { type: 'none' });
    const one = randomImages(1, H * W, 4);
    const length = 2 * W + 1;
    const shared = await sample(m, { count: 2, seed: 3, prefix: { images: one, length } });
    const both = new Uint8Array(2 * H * W);
    both.set(one, 0);
    both.set(one, H * W);
    const explicit = await sample(m, { count: 2, seed: 3, prefix: { images: both, length } });
    const without = await sample(m, { count: 2, seed: 3 });
    dispose(m);
    expect(Array.from(shared)).toEqual(Array.from(explicit));
    expect(Array.from(shared.subarray(H * W, H * W + length))).toEqual(Array.from(one.subarray(0, length)));
    expect(Array.from(shared)).not.toEqual(Array.from(without));
  });

  it('a prefix of the whole image comes back as it is, with no events', async () => {
    const m = model(1, { type: 'none' });
    const images = randomImages(1, H * W, 5);
    const { x, events } = await run(m, { count: 1, seed: 1, prefix: { images, length: H * W } });
    dispose(m);
    expect(Array.from(x)).toEqual(Array.from(images));
    expect(events.length).toBe(0);
  });

  it('rejects bad prefixes with one-line errors', async () => {
    const m = model(1, { type: 'none' });
    const ok = new Uint8Array(H * W);
    const bad: [SampleOptions['prefix'], RegExp][] = [
      [{ images: new Uint8Array(H * W + 1), length: 3 }, /prefix\.images must be a Uint8Array of 40 \(\[2, 5, 4, 1\]\) or 20 \(\[5, 4, 1\]\) levels, got 21 values/],
      [{ images: [1, 2] as unknown as Uint8Array, length: 1 }, /prefix\.images must be a Uint8Array/],
      [{ images: ok, length: H * W + 1 }, /prefix\.length must be an integer from 0 to 20/],
      [{ images: ok, length: -1 }, /prefix\.length must be an integer/],
      [{ images: ok, length: 2.5 }, /prefix\.length must be an integer/],
      [{ images: new Uint8Array(H * W).fill(K), length: 6 }, /prefix level 8 at image 0, row 0, col 0, channel 0 is outside 0\.\.7/],
    ];
    for (const [prefix, msg] of bad) {
      const err = await sample(m, { count: 2, seed: 1, prefix }).then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(msg);
      expect(err?.message).not.toContain('\n');
    }
    // a level past the prefix is not looked at
    const tail = new Uint8Array(H * W).fill(K);
    tail.fill(1, 0, 6);
    await expect(sample(m, { count: 1, seed: 1, prefix: { images: tail, length: 6 } })).resolves.toBeInstanceOf(Uint8Array);
    dispose(m);
  });
});

/**
 * The guided distribution at sub-pixel i of x, straight from the definition, with full
 * forward passes: l_c for the image's class, l_u from the null condition or from the
 * mixture over classes weighted by their likelihood of x_<i.
 */
function referenceGuided(m: PixelCNN, x: Uint8Array, label: number, i: number, g: number, T: number, kind: 'null' | 'mixture'): Float64Array {
  const { channels: C } = m.config;
  const classes = m.config.conditioning.type === 'class' ? m.config.conditioning.classes : 0;
  const rows = kind === 'null' ? 2 : classes;
  const cond = kind === 'null' ? { labels: [label, label], unconditional: [false, true] } : { labels: Array.from({ length: rows }, (_, c) => c) };
  const lp = tf.tidy(() => {
    const batch = tf.tensor4d(Array.from({ length: rows }, () => Array.from(x)).flat(), [rows, H, W, C], 'float32');
    return tf.logSoftmax(forward(m, batch, condTensor(m.config, cond, rows))).arraySync() as number[][][][][];
  });
  const at = (b: number, j: number) => lp[b][Math.floor(j / (W * C))][Math.floor(j / C) % W][j % C];
  let lc: number[];
  let lu: number[];
  if (kind === 'null') {
    lc = at(0, i);
    lu = at(1, i);
  } else {
    // p(c | x_<i) by Bayes from each class's likelihood of the sub-pixels before i
    const ll = Array.from({ length: classes }, (_, c) => {
      let s = 0;
      for (let j = 0; j < i; j++) s += at(c, j)[x[j]];
      return s;
    });
    const top = Math.max(...ll);
    const post = ll.map((v) => Math.exp(v - top));
    const z = post.reduce((a, b) => a + b, 0);
    lc = at(label, i);
    lu = Array.from({ length: K }, (_, k) => Math.log(post.reduce((acc, p, c) => acc + (p / z) * Math.exp(at(c, i)[k]), 0)));
  }
  const logits = lc.map((v, k) => ((1 + g) * v - g * lu[k]) / T);
  const top = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - top));
  const z = e.reduce((a, b) => a + b, 0);
  return Float64Array.from(e, (v) => v / z);
}

describe('guidance', () => {
  const cases: [string, number, Conditioning, 'null' | 'mixture', SampleOptions['condition']][] = [
    ['mixture over classes (grey)', 1, { type: 'class', classes: 3 }, 'mixture', { labels: [2, 0] }],
    ['null condition of a class model (RGB)', 3, { type: 'class', classes: 3, nullable: true }, 'null', { labels: [1, 2] }],
    ['null condition of a spatial vector model', 1, { type: 'vector', dim: 3, nullable: true, spatial: true }, 'null', { embeddings: [new Float32Array([1, -1, 0.5])] }],
  ];
  for (const [name, C, conditioning, kind, condition] of cases) {
    it(`guided cached and cpu-kernel = guided naive at every sub-pixel, and the same images (${name})`, async () => {
      const m = model(C, conditioning);
      const opts: SampleOptions = { count: 2, seed: 4, temperature: 0.8, guidance: 2, condition };
      const cached = await run(m, { ...opts, mode: 'cached' });
      const naive = await run(m, { ...opts, mode: 'naive' });
      const cpu = await run(m, { ...opts, mode: 'cpu' });
      const plain = await run(m, { ...opts, guidance: 0, mode: 'cached' });
      dispose(m);
      expect(maxLogDiff(cached.events, naive.events)).toBeLessThan(1e-4);
      expect(Array.from(cached.x)).toEqual(Array.from(naive.x));
      expect(maxLogDiff(cpu.events, naive.events)).toBeLessThan(1e-4);
      expect(Array.from(cpu.x)).toEqual(Array.from(naive.x));
      // guidance changes the distributions (a tiny random model's images may come out the same)
      expect(maxLogDiff(cached.events, plain.events)).toBeGreaterThan(1e-3);
    });
  }

  for (const kind of ['null', 'mixture'] as const) {
    it(`draws from softmax(((1+g) l_c - g l_u) / T), checked against full passes (${kind})`, async () => {
      const m = model(1, { type: 'class', classes: 3, nullable: kind === 'null' });
      const label = 1;
      const g = 1.5;
      const T = 0.7;
      // from a prefix, so the mixture's class posterior starts from given pixels
      const images = randomImages(1, H * W, 8);
      const length = W + 1;
      const { x, events } = await run(m, { count: 1, seed: 2, temperature: T, guidance: g, unconditional: kind, condition: { labels: [label] }, prefix: { images, length }, mode: 'cached' });
      let worst = 0;
      for (const e of events) {
        const i = e.row * W + e.col;
        const ref = referenceGuided(m, x, label, i, g, T, kind);
        e.probs.forEach((p, k) => (worst = Math.max(worst, Math.abs(Math.log(p) - Math.log(ref[k])))));
      }
      dispose(m);
      expect(worst).toBeLessThan(1e-4);
    });
  }

  it("g = 0 gives today's images bit for bit, whatever the unconditional source", async () => {
    const m = model(3, { type: 'class', classes: 3 });
    const base = { count: 3, seed: 21, temperature: 0.9, condition: { labels: [0, 1, 2] } };
    // the fingerprint of these images as sampled without guidance, since each image draws from its own stream (uniforms.ts)
    const today = 2250869556;
    for (const mode of ['cached', 'cpu', 'naive'] as const) {
      expect(fingerprint(await sample(m, { ...base, mode }))).toBe(today);
      expect(fingerprint(await sample(m, { ...base, mode, guidance: 0 }))).toBe(today);
      expect(fingerprint(await sample(m, { ...base, mode, guidance: 0, unconditional: 'mixture' }))).toBe(today);
    }
    dispose(m);
  });

  it('rejects bad guidance with one-line errors', async () => {
    const cls = model(1, { type: 'class', classes: 3 });
    const vec = model(1, { type: 'vector', dim: 3 });
    const none = model(1, { type: 'none' });
    const e = { embeddings: [new Float32Array(3)] };
    const bad: [PixelCNN, SampleOptions, RegExp][] = [
      [cls, { count: 1, seed: 1, guidance: -1, condition: { labels: [0] } }, /guidance must be a number >= 0, got -1/],
      [cls, { count: 1, seed: 1, guidance: NaN, condition: { labels: [0] } }, /guidance must be a number >= 0/],
      [none, { count: 1, seed: 1, guidance: 1 }, /guidance needs a conditional model/],
      [vec, { count: 1, seed: 1, guidance: 1, condition: e }, /vector-conditioned model needs a null condition/],
      [vec, { count: 1, seed: 1, guidance: 1, condition: e, unconditional: 'mixture' }, /"mixture" needs a class-conditional model/],
      [cls, { count: 1, seed: 1, guidance: 1, condition: { labels: [0] }, unconditional: 'null' }, /"null" needs a model with a null condition/],
      [cls, { count: 1, seed: 1, guidance: 1, condition: { labels: [0] }, unconditional: 'both' as 'null' }, /unconditional must be "null" or "mixture"/],
      [cls, { count: 2, seed: 1, guidance: 1 }, /class-conditional; give 1 or 2 class labels/],
    ];
    for (const [m, opts, msg] of bad) {
      const err = await sample(m, opts).then(() => null, (x: Error) => x);
      expect(err?.message).toMatch(msg);
      expect(err?.message).not.toContain('\n');
    }
    [cls, vec, none].forEach(dispose);
  });
});

describe('a distribution that is not finite', () => {
  for (const [what, value] of [['NaN', NaN], ['infinite', Infinity]] as const) {
    for (const mode of ['cached', 'cpu', 'naive'] as const) {
      it(`stops sampling with an error naming the pixel (${what} weights, ${mode})`, async () => {
        const m = model(3, { type: 'class', classes: 3, nullable: true });
        // one output bias of channel 1 (G), logits [C, K]: every G sub-pixel is bad
        const b2 = m.params['head/b2'].arraySync() as number[];
        b2[1 * K + 3] = value;
        m.params['head/b2'].dispose();
        m.params['head/b2'] = tf.tensor1d(b2);
        const images = randomImages(1, H * W * 3, 1);
        const prefix = { images, length: 2 * W * 3 + 3 * 3 }; // resumes at row 2, col 3, channel 0
        const tryIt = async (opts: Partial<SampleOptions>) => {
          const seen: string[] = [];
          const err = await sample(m, { count: 2, seed: 1, mode, condition: { labels: [0] }, prefix, ...opts }, (e) => seen.push(`${e.row},${e.col},${e.channel}`)).then(
            () => null,
            (e: Error) => e,
          );
          return { msg: err?.message, seen };
        };
        for (const guidance of [0, 1]) {
          expect(await tryIt({ guidance })).toEqual({ msg: 'sampler: probabilities at row 2, col 3, channel 1 are not finite', seen: ['2,3,0'] });
        }
        // the mixture's class posterior already holds the prefix's G sub-pixels
        expect(await tryIt({ guidance: 1, unconditional: 'mixture' })).toEqual({ msg: 'sampler: probabilities at row 2, col 3, channel 0 are not finite', seen: [] });
        dispose(m);
      });
    }
  }
});

describe('tensor memory', () => {
  it('stays flat across runs with prefixes and guidance, finished, aborted or abandoned', async () => {
    const cls = model(1, { type: 'class', classes: 3 });
    const nul = model(1, { type: 'class', classes: 3, nullable: true });
    const prefix = { images: randomImages(1, H * W, 2), length: W + 2 };
    const runs: [PixelCNN, SampleOptions][] = [
      [cls, { count: 2, seed: 1, condition: { labels: [1] }, prefix }],
      [cls, { count: 2, seed: 1, condition: { labels: [1] }, guidance: 1, prefix }],
      [nul, { count: 2, seed: 1, condition: { labels: [2] }, guidance: 1, prefix }],
    ];
    const once = async () => {
      for (const [m, opts] of runs) {
        for (const mode of ['cached', 'cpu', 'naive'] as const) {
          await sample(m, { ...opts, mode });
          const ctl = new AbortController();
          let n = 0;
          await expect(sample(m, { ...opts, mode, signal: ctl.signal }, () => ++n === 3 && ctl.abort())).rejects.toThrow(/aborted/);
        }
      }
    };
    await once();
    const before = tf.memory().numTensors;
    await once();
    await once();
    expect(tf.memory().numTensors).toBe(before);
    [cls, nul].forEach(dispose);
  });
});
