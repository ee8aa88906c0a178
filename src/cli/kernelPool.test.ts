// A cpu-mode run split across kernel threads on one shared memory (sampler/kernelThreads.ts,
// kernelPool.ts): the same events and bytes as one thread, the runs that must not split,
// abort, a paused consumer, a helper's failure, a kernel memory kept from run to run
// (sampler/kernelCache.ts), and the CLI's SampleThreads over the pool.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { KernelPool } from './kernelPool';
import { SampleThreads } from './sampleThreads';
import { initParams, makeConfig, type Conditioning, type ModelConfig, type PixelCNN } from '../model';
import { mulberry32 } from '../util/rng';
import { CpuStepper, guidePlan, KernelCache, samplePixels, type PixelEvent, type SampleOptions } from '../sampler';
import { forgetKernel, helperKernel, type KernelThreads } from '../sampler/kernelThreads';
import { Board } from '../sampler/rowBoard';
import { pixelStats } from '../sampler/pixelStats';

let pool: KernelPool;

beforeAll(async () => {
  await initNodeBackend('wasm');
  pool = new KernelPool(2);
  await pool.whenReady();
  expect(pool.ready()).toBe(2);
});

afterAll(async () => {
  await pool?.close();
});

function model(conditioning: Conditioning, more: Partial<ModelConfig> = {}, seed = 3): PixelCNN {
  const channels = more.channels ?? 1;
  const config = makeConfig({
    height: 8, width: 8, channels, levels: 8, hidden: 6, layers: 3, firstKernel: 3, kernel: 3,
    headHidden: 6, conditioning, dilations: [1, 1, 2], ...more,
  });
  return { config, params: initParams(config, seed) };
}

function dispose(m: PixelCNN): void {
  Object.values(m.params).forEach((t) => t.dispose());
}

/** The pool seen as `helpers` helpers (1: a two-thread run on the two-helper pool). */
function limited(helpers: number): KernelThreads {
  const view: KernelThreads = {
    helpers,
    ready: () => Math.min(helpers, pool.ready()),
    whenReady: (ms) => pool.whenReady(ms),
    send: (i, m) => pool.send(i, m),
    lastRun: 1,
  };
  return view;
}

/** The pool for a run on `threads` threads (1: none). */
function threadsFor(threads: number): KernelThreads | undefined {
  return threads === 1 ? undefined : threads === 3 ? pool : limited(threads - 1);
}

interface Run {
  x: Uint8Array;
  events: PixelEvent[];
}

/** Runs to completion; `onEvent` may pause the consumer (it is awaited between events). */
async function run(m: PixelCNN, opts: SampleOptions, onEvent?: (e: PixelEvent, i: number) => Promise<void> | void): Promise<Run> {
  const events: PixelEvent[] = [];
  const it = samplePixels(m, { mode: 'cpu', ...opts });
  for (;;) {
    const step = await it.next();
    if (step.done) return { x: step.value, events };
    events.push(step.value);
    await onEvent?.(step.value, events.length - 1);
  }
}

/** The first index where two arrays' bytes differ, or -1. */
function firstDiff(a: ArrayBufferView, b: ArrayBufferView): number {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (x.length !== y.length) return Math.min(x.length, y.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** Every event alike (position, levels, distributions: the same float32 bits) and the same bytes. */
function expectSame(got: Run, want: Run, what: string): void {
  expect(got.events.length, what).toBe(want.events.length);
  got.events.forEach((e, i) => expectSameEvent(e, want.events[i], `${what}: event ${i}`));
  expect(firstDiff(got.x, want.x), `${what}: the images differ at this index`).toBe(-1);
}

/** One event alike: position, levels, distributions and figures, to the bit. */
function expectSameEvent(e: PixelEvent, w: PixelEvent, what: string): void {
  expect([e.row, e.col, e.channel, e.done, e.total], what).toEqual([w.row, w.col, w.channel, w.done, w.total]);
  expect(firstDiff(e.values, w.values), `${what}: values differ at this index`).toBe(-1);
  expect(firstDiff(e.probs, w.probs), `${what}: probs differ at this byte`).toBe(-1);
  expect(e.stats === undefined, `${what}: has figures`).toBe(w.stats === undefined);
  if (e.stats && w.stats) {
    for (const k of ['entropy', 'top', 'topP'] as const) expect(firstDiff(e.stats[k], w.stats[k]), `${what}: ${k} differ at this byte`).toBe(-1);
  }
}

/** The images differ from one another, so a share sent to the wrong images or stream can fail. */
function expectDistinct(x: Uint8Array, count: number, what: string): void {
  const size = x.length / count;
  const seen = new Set(Array.from({ length: count }, (_, n) => x.subarray(n * size, (n + 1) * size).join()));
  expect(seen.size, what).toBe(count);
}

function randomImages(count: number, size: number, K: number, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  return new Uint8Array(count * size).map(() => Math.floor(rand() * K));
}

/** A label an image (not all alike, so a share with another image's condition can fail). */
const labels = (count: number) => Array.from({ length: count }, (_, i) => [2, 0, 1, 1, 2][i % 5]);
const embeddings = (count: number) => Array.from({ length: count }, (_, i) => new Float32Array([i - 2, 0.5 * i, 1]));

describe('a split run gives one thread\'s events and bytes', () => {
  const cases: [string, () => PixelCNN, (count: number) => Partial<SampleOptions>][] = [
    ['class, no guidance', () => model({ type: 'class', classes: 3 }), (count) => ({ condition: { labels: labels(count) } })],
    ['null guidance', () => model({ type: 'class', classes: 3, nullable: true }), (count) => ({ guidance: 2, condition: { labels: labels(count) } })],
    ['mixture guidance', () => model({ type: 'class', classes: 3 }), (count) => ({ guidance: 1, condition: { labels: labels(count) } })],
    [
      'a prefix, null guidance',
      () => model({ type: 'class', classes: 3, nullable: true }),
      (count) => ({ guidance: 2, condition: { labels: labels(count) }, prefix: { images: randomImages(count, 64, 8, 4), length: 2 * 8 + 3 } }),
    ],
    ['RGB, null guidance', () => model({ type: 'class', classes: 3, nullable: true }, { channels: 3 }), (count) => ({ guidance: 1.5, temperature: 0.8, condition: { labels: labels(count) } })],
    ['spatial code', () => model({ type: 'vector', dim: 3, spatial: true }, { spatialChannels: 2 }), (count) => ({ condition: { embeddings: embeddings(count) } })],
  ];
  for (const [name, make, extra] of cases) {
    it(`${name}: counts 2, 3, 5 on 1, 2 and 3 threads`, async () => {
      const m = make();
      for (const count of [2, 3, 5]) {
        // with figures (each image's from the thread that drew it) on 3 and 5 images
        const opts: SampleOptions = { count, seed: 11, first: 1, stats: count > 2, ...extra(count) };
        const one = await run(m, opts);
        expectDistinct(one.x, count, `${name}, ${count} images`);
        if (count > 2) {
          const e = one.events[one.events.length - 1];
          expect(firstDiff(e.stats!.entropy, pixelStats(e.probs, count, m.config.levels).entropy), `${name}: the figures are the distributions'`).toBe(-1);
        }
        for (const threads of [2, 3]) {
          const kt = threadsFor(threads)!;
          kt.lastRun = 1;
          const split = await run(m, { ...opts, kernelThreads: kt });
          expectSame(split, one, `${name}, ${count} images, ${threads} threads`);
          expect(kt.lastRun, `${name}, ${count} images, ${threads} threads`).toBe(Math.min(count, threads));
        }
      }
      // 17 images on 2 threads: rows of blocks of two images (the last of one) are what a thread takes
      const opts: SampleOptions = { count: 17, seed: 12, stats: true, ...extra(17) };
      expectSame(await run(m, { ...opts, kernelThreads: threadsFor(2) }), await run(m, opts), `${name}, 17 images in blocks`);
      dispose(m);
    });
  }
});

describe('runs that do not split', () => {
  it('a logistic-mixture head, a mixture-guided prefix and a single image run on one thread, with its bytes', async () => {
    const logistic = model({ type: 'class', classes: 3 }, { output: { type: 'logistic', mixtures: 2 } });
    const mixture = model({ type: 'class', classes: 3 });
    const runs: [string, PixelCNN, SampleOptions][] = [
      ['logistic head', logistic, { count: 3, seed: 5, condition: { labels: labels(3) } }],
      ['mixture-guided prefix', mixture, { count: 3, seed: 5, guidance: 1, condition: { labels: labels(3) }, prefix: { images: randomImages(3, 64, 8, 2), length: 9 } }],
      ['one image', mixture, { count: 1, seed: 5, guidance: 1, condition: { labels: labels(1) } }],
    ];
    for (const [name, m, opts] of runs) {
      const one = await run(m, opts);
      pool.lastRun = 1;
      const threaded = await run(m, { ...opts, kernelThreads: pool });
      expectSame(threaded, one, name);
      expect(pool.lastRun, name).toBe(1);
    }
    // the same mixture-guided run without its prefix does split: the check above can fail
    const opts: SampleOptions = { count: 3, seed: 5, guidance: 1, condition: { labels: labels(3) } };
    expectSame(await run(mixture, { ...opts, kernelThreads: pool }), await run(mixture, opts), 'mixture, no prefix');
    expect(pool.lastRun).toBe(3);
    dispose(logistic);
    dispose(mixture);
  });
});

describe('stopping and waiting', () => {
  it('an abort rejects with an AbortError and frees the helpers for the next run', async () => {
    const m = model({ type: 'class', classes: 3, nullable: true }, { height: 16, width: 16 });
    const opts: SampleOptions = { count: 3, seed: 8, guidance: 2, condition: { labels: labels(3) } };
    const want = await run(m, opts);
    const ac = new AbortController();
    const err = await run(m, { ...opts, signal: ac.signal, kernelThreads: pool }, (_, i) => {
      if (i === 5) ac.abort();
    }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.name).toBe('AbortError');
    expect(pool.lastRun).toBe(3);
    // the helpers took the next share (one that never ended would hold the next run up for good)
    pool.lastRun = 1;
    expectSame(await run(m, { ...opts, kernelThreads: pool }), want, 'after the abort');
    expect(pool.lastRun).toBe(3);
    dispose(m);
  });

  it('a consumer that pauses while the helpers run ahead still gets every event right', async () => {
    // 64 x 64 grey, 256 levels, 5 images: a ring (index.ts: at most RING_BYTES) shorter than an image
    const m = model({ type: 'class', classes: 3 }, { height: 64, width: 64, levels: 256 });
    const opts: SampleOptions = { count: 5, seed: 9, condition: { labels: labels(5) } };
    const want = await run(m, opts);
    const t0 = Date.now();
    const got = await run(m, { ...opts, kernelThreads: pool }, async (_, i) => {
      // long enough for the helpers to fill their rings
      if (i < 3 * 64 && i % 64 === 0) await new Promise((r) => setTimeout(r, 100));
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3 * 100);
    expectSame(got, want, 'paused consumer');
    expect(pool.lastRun).toBe(3);
    // while this thread waited on the consumer, the helpers drew rows (each image's, since the ring holds rows of all)
    expect((pool as KernelThreads).lastHelped).toBeGreaterThan(0);
    dispose(m);
  });

  it('helpers alone draw a run on a ring of two rows, waiting on the caller for room: the same events', async () => {
    const m = model({ type: 'class', classes: 3, nullable: true }, { height: 8, width: 8, channels: 3 });
    const { height: H, width: W, channels: C } = m.config;
    const size = H * W * C;
    // a null-guided run of 3 images from a prefix (two streams each), in blocks of images 0-1 and 2; this thread takes no row
    const opts: SampleOptions = { count: 3, seed: 4, first: 7, guidance: 2, stats: true, condition: { labels: labels(3) }, prefix: { images: randomImages(3, size, 8, 5), length: 30 } };
    const want = await run(m, opts);
    const { board, stepper } = sendRun(m, opts, 2 * W * C, 2);
    try {
      let seen = 0;
      for (let j = opts.prefix!.length; j < size; j++) {
        // the helpers are two rows ahead at most: these pauses leave them waiting on a full ring
        if (j % 16 === 0) await new Promise((r) => setTimeout(r, 10));
        const t0 = Date.now();
        while (board.whole() <= j) {
          board.check();
          expect(Date.now() - t0, `sub-pixel ${j}: the helpers stopped`).toBeLessThan(10_000);
          board.sleep(board.ticks(), 50);
        }
        // never more than the ring ahead of what was taken
        seen = Math.max(seen, board.whole() - j);
        const [e] = board.take(j);
        expectSameEvent(e, want.events[j - opts.prefix!.length], `sub-pixel ${j}`);
      }
      expect(seen).toBeLessThanOrEqual(board.slots);
      // rows 1 .. H-1 of each block (the prefix ends in row 1)
      expect(board.helped()).toBe(2 * (H - 1));
      expect(firstDiff(board.x, want.x), 'the images').toBe(-1);
    } finally {
      board.stop();
      stepper.dispose();
      dispose(m);
    }
  });
});

/** A run sent to the pool's two helpers on a board of `slots` slots and blocks of `block` images, which this thread only reads (it takes no row). */
function sendRun(m: PixelCNN, opts: SampleOptions, slots: number, block = 1): { board: Board; stepper: CpuStepper } {
  const { height: H, width: W, channels: C } = m.config;
  const size = H * W * C;
  const plan = guidePlan(m, opts);
  const N = opts.count;
  const stepper = new CpuStepper(m, N * plan.S, plan.condition, true);
  const length = opts.prefix?.length ?? 0;
  const x = new Uint8Array(N * size);
  for (let n = 0; n < N; n++) x.set(opts.prefix?.images.subarray(n * size, n * size + length) ?? [], n * size);
  const board = Board.create({ config: m.config, N, block, length, stats: opts.stats ?? false }, x, slots, plan.kind === 'mixture' ? plan.S : 0);
  const sub = plan.kind === 'none' ? undefined : { kind: plan.kind, g: plan.g, S: plan.S, condStream: plan.condStream };
  for (let i = 0; i < 2; i++) {
    pool.send(i, {
      type: 'run', ...stepper.packed, board: board.buffers, config: m.config, rows: stepper.capacity, N, block, length, stats: opts.stats ?? false,
      sMap: stepper.mapRows(0, N * plan.S), plan: sub, seed: opts.seed, first: opts.first ?? 0, temperature: opts.temperature ?? 1, from: i,
    });
    board.sent++;
  }
  return { board, stepper };
}

describe("a helper's failure", () => {
  /** The error a run ends with, or null. */
  async function failure(m: PixelCNN, opts: SampleOptions): Promise<Error | null> {
    return run(m, opts).then(
      () => null,
      (e: Error) => e,
    );
  }

  it('non-finite distributions everywhere: the split run rejects with one line, and the pool goes on', async () => {
    const m = model({ type: 'class', classes: 3 });
    const opts: SampleOptions = { count: 3, seed: 1, condition: { labels: labels(3) } };
    const bad = model({ type: 'class', classes: 3 });
    for (const [k, t] of Object.entries(bad.params)) {
      bad.params[k] = tf.fill(t.shape, NaN);
      t.dispose();
    }
    expect((await failure(bad, opts))?.message).toBe('sampler: probabilities at row 0, col 0, channel 0 are not finite');
    const err = await failure(bad, { ...opts, kernelThreads: pool });
    expect(err?.message).toMatch(/not finite/);
    expect(err?.message).not.toContain('\n');
    pool.lastRun = 1;
    expectSame(await run(m, { ...opts, kernelThreads: pool }), await run(m, opts), 'after the failure');
    expect(pool.lastRun).toBe(3);
    dispose(m);
    dispose(bad);
  });

  it("a helper's images fail: the caller reports the helper's message in one line, and the pool goes on", async () => {
    // a spatial code of huge values overflows its map to Inf - Inf = NaN: only the last image's rows
    const m = model({ type: 'vector', dim: 3, spatial: true }, { spatialChannels: 2 });
    const big = 3e38;
    const opts: SampleOptions = { count: 2, seed: 1, condition: { embeddings: [embeddings(1)[0], new Float32Array([big, -big, big])] } };
    const message = 'sampler: probabilities at row 0, col 0, channel 0 are not finite';
    expect((await failure(m, opts))?.message).toBe(message);
    // the first image alone samples
    await run(m, { ...opts, count: 1, condition: { embeddings: embeddings(1) } });
    // whichever thread takes the bad image's first row says so; here only helpers take rows
    const { board, stepper } = sendRun(m, opts, 64);
    const t0 = Date.now();
    let err: Error | null = null;
    while (!err && Date.now() - t0 < 10_000) {
      try {
        board.check();
        board.sleep(board.ticks(), 50);
      } catch (e) {
        err = e as Error;
      }
    }
    board.stop();
    stepper.dispose();
    expect(err?.message).toBe(`a sampling thread failed: ${message}`);
    // through the sampler, it is the helper's message or this thread's own
    expect((await failure(m, { ...opts, kernelThreads: pool }))?.message).toMatch(new RegExp(`^(a sampling thread failed: )?${message}$`));
    expect(pool.lastRun).toBe(2);
    const fine: SampleOptions = { ...opts, condition: { embeddings: embeddings(2) } };
    expectSame(await run(m, { ...fine, kernelThreads: pool }), await run(m, fine), 'after the failure');
    dispose(m);
  });
});

describe('a kernel memory kept from run to run (KernelCache)', () => {
  /** A cache whose take() records what it handed out. */
  function watched(minRows?: number): { cache: KernelCache; taken: CpuStepper[] } {
    const cache = new KernelCache(minRows);
    const taken: CpuStepper[] = [];
    const take = cache.take.bind(cache);
    cache.take = (...args) => {
      const st = take(...args);
      taken.push(st);
      return st;
    };
    return { cache, taken };
  }

  const cases: [string, () => PixelCNN, (count: number, k: number) => Partial<SampleOptions>][] = [
    ['class, RGB', () => model({ type: 'class', classes: 3 }, { channels: 3 }), (count, k) => ({ condition: { labels: labels(count).map((l) => (l + k) % 3) } })],
    [
      'null guidance, a prefix',
      () => model({ type: 'class', classes: 3, nullable: true }),
      (count, k) => ({ guidance: 2, condition: { labels: labels(count).map((l) => (l + k) % 3) }, prefix: k === 1 ? { images: randomImages(count, 64, 8, 4), length: 11 } : undefined }),
    ],
    ['spatial code', () => model({ type: 'vector', dim: 3, spatial: true }, { spatialChannels: 2 }), (count, k) => ({ condition: { embeddings: embeddings(count).map((e) => e.map((v) => v * (k + 1))) } })],
    ['logistic head', () => model({ type: 'class', classes: 3 }, { output: { type: 'logistic', mixtures: 2 } }), (count, k) => ({ temperature: 0.9, condition: { labels: labels(count).map((l) => (l + k) % 3) } })],
  ];
  for (const [name, make, extra] of cases) {
    it(`${name}: each run has a fresh memory's bytes on 1 and 3 threads, the weights packed once`, async () => {
      const m = make();
      for (const threads of [1, 3]) {
        // room for 6 rows: the 3-, 2- and 1-image runs (two rows an image with guidance) fit, the 5-image one packs anew;
        // the single image runs on one thread, on the split runs' shared memory
        const { cache, taken } = watched(6);
        const counts = [3, 2, 1, 3, 5, 4];
        for (const [k, count] of counts.entries()) {
          const opts: SampleOptions = { count, seed: 20 + k, stats: k === 0, ...extra(count, k) };
          const fresh = await run(m, opts);
          expectSame(await run(m, { ...opts, kernelCache: cache, kernelThreads: threadsFor(threads) }), fresh, `${name}, run ${k} (${count} images), ${threads} threads`);
        }
        const rows = guidePlan(m, { count: 1, seed: 0, ...extra(1, 0) }).S;
        const kept = taken.map((st) => taken.indexOf(st));
        // a run reuses the memory before it while its rows fit (5 guided images need 10)
        expect(kept, `${name}, ${threads} threads: which memory each run got`).toEqual(rows === 1 ? [0, 0, 0, 0, 0, 0] : [0, 0, 0, 0, 4, 4]);
        cache.clear();
      }
      dispose(m);
    });
  }

  it('split runs stopped early: each next run has its bytes; a memory a helper is still on is not reused', async () => {
    const m = model({ type: 'class', classes: 3, nullable: true }, { height: 16, width: 16 });
    const opts: SampleOptions = { count: 3, seed: 8, guidance: 2, condition: { labels: labels(3) } };
    const want = await run(m, opts);
    const { cache, taken } = watched();
    for (let i = 0; i < 3; i++) {
      const ac = new AbortController();
      const err = await run(m, { ...opts, signal: ac.signal, kernelThreads: pool, kernelCache: cache }, (_, j) => {
        if (j === 5 + i) ac.abort();
      }).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.name).toBe('AbortError');
      expectSame(await run(m, { ...opts, kernelThreads: pool, kernelCache: cache }), want, `after stop ${i}`);
    }
    expect(taken.length).toBe(6);
    // a memory a helper has not left (this board's run was never sent, so it never ends) is not packed again
    const st = taken[taken.length - 1];
    const board = Board.create({ config: m.config, N: 2, block: 1, length: 0, stats: false }, new Uint8Array(2 * 16 * 16), 32);
    board.sent = 1;
    cache.give(m, st, board);
    expect(cache.take(m, 6, guidePlan(m, opts).condition, true)).not.toBe(st);
    cache.clear();
    dispose(m);
  });
});

it("a helper keeps its kernel instance while runs come on the same memory, takes a new memory's, and drops it when told", () => {
  const m = model({ type: 'class', classes: 3 });
  const [a, b] = [0, 1].map(() => new CpuStepper(m, 2, { labels: [0, 1] }, true));
  const first = helperKernel(a.packed);
  // a new instance a run made V8 drop the helper's optimised code every run
  expect(helperKernel(a.packed)).toBe(first);
  const other = helperKernel(b.packed);
  expect(other).not.toBe(first);
  expect(helperKernel(b.packed)).toBe(other);
  // a model switch frees the memory: the helper lets go of it
  forgetKernel();
  expect(helperKernel(b.packed)).not.toBe(other);
  a.dispose();
  b.dispose();
  dispose(m);
});

it('helpers told to forget their kernel instances serve the next split run with its bytes', async () => {
  const m = model({ type: 'class', classes: 3 });
  const opts: SampleOptions = { count: 3, seed: 4, condition: { labels: labels(3) } };
  const cache = new KernelCache();
  const want = await run(m, opts);
  expectSame(await run(m, { ...opts, kernelThreads: pool, kernelCache: cache }), want, 'before');
  pool.forget();
  expectSame(await run(m, { ...opts, kernelThreads: pool, kernelCache: cache }), want, 'after forget');
  cache.clear();
  dispose(m);
});

describe('SampleThreads', () => {
  it("samples a run's images on its threads with one thread's bytes", async () => {
    const m = model({ type: 'class', classes: 3, nullable: true });
    const threads = SampleThreads.start(2);
    try {
      await threads.whenReady();
      const opts: SampleOptions = { count: 4, seed: 6, guidance: 1, condition: { labels: [0, 1, 2, 0] } };
      const one: SampleOptions = { ...opts, count: 1, condition: { labels: [1] } };
      const four = await threads.run(m, opts);
      expect(four.threads).toBe(2);
      expect(Array.from(four.images)).toEqual(Array.from((await run(m, opts)).x));
      const single = await threads.run(m, one);
      expect(single.threads).toBe(1);
      expect(Array.from(single.images)).toEqual(Array.from((await run(m, one)).x));
    } finally {
      await threads.close();
      dispose(m);
    }
  });
});
