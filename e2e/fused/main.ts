// Runs in Chromium with WebGPU: the fused kernels against the portable cached sampler on
// the same backend, at every sub-pixel. Exposes window.runFusedCheck for e2e/fused.test.ts.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { initParams, makeConfig, type Conditioning, type ModelConfig, type PixelCNN } from '../../src/model';
import { mulberry32 } from '../../src/util/rng';
import { CachedStepper, FusedWebGPUStepper, makeStepper, sample, type PixelEvent, type SampleOptions, type Stepper } from '../../src/sampler';

interface CaseResult {
  name: string;
  maxLogDiff: number;
  sameImages: boolean;
  launchesPerSubpixel: number;
  leakedTensors: number;
  /** floats read back per sub-pixel, and what the UI needs (count * levels) */
  readPerSubpixel?: number;
  uiFloats?: number;
  /** the same seed and options without guidance gave other images (guidance does something) */
  guidanceChanges?: boolean;
  /** kernel launches of a prefix warm-up, and how many one pass over the given rows takes */
  warmLaunches?: number;
  expectedWarmLaunches?: number;
}

const cases: [string, number, Conditioning, number[]?][] = [
  ['grey, class', 1, { type: 'class', classes: 3 }],
  ['RGB, class, dilations 1, 2, 3', 3, { type: 'class', classes: 3 }, [1, 2, 3]],
  ['RGB, vector', 3, { type: 'vector', dim: 4 }],
  ['grey, spatial class', 1, { type: 'class', classes: 3, spatial: true }],
];

/** Runs a stepper over every sub-pixel with a fixed sequence of levels; returns all probabilities. */
async function replay(st: Stepper, H: number, W: number, C: number, N: number): Promise<Float32Array[]> {
  const x = new Uint8Array(N * H * W * C);
  const rand = mulberry32(9);
  const out: Float32Array[] = [];
  for (let r = 0; r < H; r++) {
    st.startRow(r, x);
    for (let c = 0; c < W; c++) {
      for (let ch = 0; ch < C; ch++) {
        const p = await st.probs(r, c, ch, x, 0.8);
        out.push(p);
        for (let n = 0; n < N; n++) x[((n * H + r) * W + c) * C + ch] = Math.floor(rand() * (p.length / N));
      }
      st.endPixel(r, c, x);
    }
  }
  return out;
}

async function runFusedCheck(): Promise<{ backend: string; cases: CaseResult[] }> {
  const results: CaseResult[] = [];
  let fusedBackend = '';
  for (const [name, channels, conditioning, dilations] of cases) {
    const config = makeConfig({
      height: 5, width: 6, channels, levels: 16, hidden: 12, layers: 3, firstKernel: 5, kernel: 3,
      headHidden: 12, conditioning, spatialChannels: 3, dilations,
    });
    const N = 2;
    const condition = conditioning.type === 'vector' ? { embeddings: [new Float32Array([0.5, -1, 2, 0])] } : { labels: [2, 1] };
    const opts = { count: N, seed: 5, temperature: 1, condition };
    // the fused kernels on WebGPU ...
    if (!(await tf.setBackend('webgpu'))) throw new Error('no webgpu adapter');
    fusedBackend = tf.getBackend();
    let model = { config, params: initParams(config, 3) };
    const before = tf.memory().numTensors;
    const fused = await FusedWebGPUStepper.create(model, N, condition);
    const fusedProbs = await replay(fused, config.height, config.width, channels, N);
    const launchesPerSubpixel = fused.launches / (config.height * config.width * channels);
    fused.dispose();
    const a = await sample(model, { ...opts, mode: 'fused' });
    const leakedTensors = tf.memory().numTensors - before;
    Object.values(model.params).forEach((t) => t.dispose());
    // ... against the portable cached sampler on the cpu backend (the same seeded weights)
    await tf.setBackend('cpu');
    model = { config, params: initParams(config, 3) };
    const cached = new CachedStepper(model, N, condition);
    const refProbs = await replay(cached, config.height, config.width, channels, N);
    cached.dispose();
    const b = await sample(model, { ...opts, mode: 'cached' });
    Object.values(model.params).forEach((t) => t.dispose());
    let maxLogDiff = 0;
    refProbs.forEach((p, i) => p.forEach((v, j) => (maxLogDiff = Math.max(maxLogDiff, Math.abs(Math.log(v) - Math.log(fusedProbs[i][j]))))));
    results.push({ name, maxLogDiff, sameImages: a.every((v, i) => v === b[i]), launchesPerSubpixel, leakedTensors });
  }
  return { backend: fusedBackend, cases: results };
}

// Guidance and prefixes: the fused sampler (streams inside its dispatches) against the
// portable cached one, stepper by stepper and through sample().
const guidedCases: [string, number, Conditioning, Partial<SampleOptions>, number[]?][] = [
  ['grey, class mixture, g = 2', 1, { type: 'class', classes: 3 }, { guidance: 2, condition: { labels: [2, 0] } }],
  ['RGB, nullable class, null, g = 1.5, dilations 1, 2, 3', 3, { type: 'class', classes: 3, nullable: true }, { guidance: 1.5, condition: { labels: [1, 2] } }, [1, 2, 3]],
  ['grey, nullable spatial vector, null, g = 3', 1, { type: 'vector', dim: 4, nullable: true, spatial: true }, { guidance: 3, condition: { embeddings: [new Float32Array([0.5, -1, 2, 0])] } }],
  ['grey, nullable class, mixture, g = 1', 1, { type: 'class', classes: 3, nullable: true }, { guidance: 1, unconditional: 'mixture', condition: { labels: [0, 1] } }],
];

function guidedConfig(channels: number, conditioning: Conditioning, dilations?: number[]): ModelConfig {
  return makeConfig({
    height: 5, width: 6, channels, levels: 16, hidden: 12, layers: 3, firstKernel: 5, kernel: 3,
    headHidden: 12, conditioning, spatialChannels: 3, dilations,
  });
}

async function withModel<T>(backend: string, config: ModelConfig, f: (m: PixelCNN) => Promise<T>): Promise<T> {
  if (!(await tf.setBackend(backend))) throw new Error(`no ${backend} backend`);
  const m = { config, params: initParams(config, 3) };
  try {
    return await f(m);
  } finally {
    Object.values(m.params).forEach((t) => t.dispose());
  }
}

async function events(m: PixelCNN, opts: SampleOptions): Promise<{ x: Uint8Array; ev: PixelEvent[] }> {
  const ev: PixelEvent[] = [];
  const x = await sample(m, opts, (e) => ev.push(e));
  return { x, ev };
}

function logDiff(a: Float32Array[], b: Float32Array[]): number {
  let worst = a.length === b.length ? 0 : Infinity;
  a.forEach((p, i) => p.forEach((v, j) => (worst = Math.max(worst, Math.abs(Math.log(v) - Math.log(b[i][j]))))));
  return worst;
}

async function runGuidedCheck(): Promise<{ cases: CaseResult[]; nanError: string }> {
  const results: CaseResult[] = [];
  const N = 2;
  for (const [name, channels, conditioning, extra, dilations] of guidedCases) {
    const config = guidedConfig(channels, conditioning, dilations);
    const { height: H, width: W, levels: K } = config;
    const opts: SampleOptions = { count: N, seed: 5, temperature: 0.9, ...extra };
    const fused = await withModel('webgpu', config, async (m) => {
      const before = tf.memory().numTensors;
      const st = (await makeStepper(m, { ...opts, mode: 'fused' })) as FusedWebGPUStepper;
      const probs = await replay(st, H, W, channels, N);
      const launches = st.launches / (H * W * channels);
      const read = st.readFloats / (H * W * channels);
      st.dispose();
      const run = await events(m, { ...opts, mode: 'fused' });
      const plain = await sample(m, { ...opts, guidance: 0, mode: 'fused' });
      return { probs, launches, read, run, plain, leaked: tf.memory().numTensors - before };
    });
    const cached = await withModel('cpu', config, async (m) => {
      const st = await makeStepper(m, { ...opts, mode: 'cached' });
      const probs = await replay(st, H, W, channels, N);
      st.dispose();
      return { probs, run: await events(m, { ...opts, mode: 'cached' }) };
    });
    results.push({
      name,
      maxLogDiff: Math.max(logDiff(fused.probs, cached.probs), logDiff(fused.run.ev.map((e) => e.probs), cached.run.ev.map((e) => e.probs))),
      sameImages: fused.run.x.every((v, i) => v === cached.run.x[i]),
      launchesPerSubpixel: fused.launches,
      leakedTensors: fused.leaked,
      readPerSubpixel: fused.read,
      uiFloats: N * K,
      guidanceChanges: fused.plain.some((v, i) => v !== fused.run.x[i]),
    });
  }
  // prefixes: at a row boundary, inside a row, inside a pixel; with and without guidance
  const prefixCases: [string, number, Conditioning, Partial<SampleOptions>, number][] = [
    ['prefix of 2 rows, grey class', 1, { type: 'class', classes: 3 }, { condition: { labels: [1, 2] } }, 2 * 6],
    ['prefix inside a row, RGB class mixture g = 1', 3, { type: 'class', classes: 3 }, { guidance: 1, condition: { labels: [0, 2] } }, 2 * 6 * 3 + 4 * 3],
    ['prefix inside a pixel, RGB nullable class null g = 2, dilations 1, 2, 3', 3, { type: 'class', classes: 3, nullable: true }, { guidance: 2, condition: { labels: [2] } }, 3 * 6 * 3 + 3 * 3 + 1],
  ];
  for (const [name, channels, conditioning, extra, length] of prefixCases) {
    const config = guidedConfig(channels, conditioning, name.includes('dilations') ? [1, 2, 3] : undefined);
    const size = config.height * config.width * channels;
    const rand = mulberry32(17);
    const images = new Uint8Array(N * size).map(() => Math.floor(rand() * config.levels));
    const opts: SampleOptions = { count: N, seed: 8, prefix: { images, length }, ...extra };
    const fused = await withModel('webgpu', config, async (m) => {
      const before = tf.memory().numTensors;
      // warm-up launches: one row kernel per row up to the resuming one, one warm kernel for its given columns
      const st = (await makeStepper(m, { ...opts, mode: 'fused' })) as FusedWebGPUStepper;
      await st.warm(images, length);
      const warmLaunches = st.launches;
      st.dispose();
      const run = await events(m, { ...opts, mode: 'fused' });
      return { run, warmLaunches, leaked: tf.memory().numTensors - before };
    });
    const rowsGiven = Math.floor(length / (config.width * channels));
    const expectedWarm = rowsGiven + 1 + (length % (config.width * channels) >= channels ? 1 : 0);
    const cached = await withModel('cpu', config, (m) => events(m, { ...opts, mode: 'cached' }));
    const kept = [0, 1].every((n) => fused.run.x.subarray(n * size, n * size + length).every((v, i) => v === images[n * size + i]));
    results.push({
      name,
      maxLogDiff: logDiff(fused.run.ev.map((e) => e.probs), cached.ev.map((e) => e.probs)),
      sameImages: kept && fused.run.ev.length === size - length && fused.run.x.every((v, i) => v === cached.x[i]),
      launchesPerSubpixel: 0,
      leakedTensors: fused.leaked,
      warmLaunches: fused.warmLaunches,
      expectedWarmLaunches: expectedWarm,
    });
  }
  // a NaN weight: the fused sampler stops with the error naming the pixel
  const config = guidedConfig(1, { type: 'class', classes: 3 });
  const nanError = await withModel('webgpu', config, async (m) => {
    const b2 = (await m.params['head/b2'].data()).slice();
    b2[5] = NaN;
    m.params['head/b2'].dispose();
    m.params['head/b2'] = tf.tensor1d(b2);
    return sample(m, { count: 1, seed: 1, mode: 'fused', condition: { labels: [0] } }).then(
      () => 'no error',
      (e: Error) => e.message,
    );
  });
  return { cases: results, nanError };
}

(window as unknown as { runFusedCheck: typeof runFusedCheck }).runFusedCheck = runFusedCheck;
(window as unknown as { runGuidedCheck: typeof runGuidedCheck }).runGuidedCheck = runGuidedCheck;
document.getElementById('state')!.textContent = 'ready';
