// The cached sampler's figures from the config (src/sampler/work.ts, what the page's
// "under the hood" view and the benchmark show) against the sampler itself: the shapes of
// the buffers CachedStepper allocates for every shipped model and preset, and the
// multiply-adds tf.profile sees it run (the benchmark's own count, measureWork.ts).
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { disposeParams, initParams, makeConfig, validateConfig, type Condition, type ModelConfig, type PixelCNN } from '../model';
import { CachedStepper, samplePixels, type SampleOptions } from '../sampler';
import { cacheFigures, cacheFloats, samplerWork, streamsPerImage, workSoFar } from '../sampler/work';
import { measureMacs } from '../sampler/measureWork';
import { PRESETS } from '../train/presets';
import { RANDOM_PRESETS } from '../worker/catalog';

beforeAll(async () => {
  // wasm: the full-size shipped models' steppers are built in well under a second each
  await initNodeBackend('wasm');
});

/** A condition every model of this config reads (class 1, or a vector of sines). */
function conditionFor(config: ModelConfig, n: number): Condition | undefined {
  const c = config.conditioning;
  if (c.type === 'class') return { labels: Array.from({ length: n }, (_, i) => i % c.classes) };
  if (c.type === 'vector') return { embeddings: [new Float32Array(c.dim).map((_, i) => Math.sin(i))] };
  return undefined;
}

function shippedConfigs(): [string, ModelConfig][] {
  const dir = path.resolve(__dirname, '../../models');
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'model.json')))
    .map((d) => [d, JSON.parse(fs.readFileSync(path.join(dir, d, 'model.json'), 'utf8'))] as const)
    // a PixelCNN's folder (models/mnist-classifier holds another kind of network)
    .filter(([, json]) => json.format === 'gated-pixelcnn')
    .map(([d, json]) => {
      validateConfig(json.config);
      return [`models/${d}`, json.config];
    });
}

describe('cache figures', () => {
  it("equal the buffers CachedStepper allocates, for every shipped model and preset", () => {
    const configs: [string, ModelConfig][] = [
      ...shippedConfigs(),
      ...Object.entries(PRESETS).map(([n, p]): [string, ModelConfig] => [`preset ${n}`, p().model]),
      ...Object.entries(RANDOM_PRESETS).map(([n, f]): [string, ModelConfig] => [`app preset ${n}`, f()]),
    ];
    expect(configs.filter(([n]) => n.startsWith('models/')).length).toBeGreaterThanOrEqual(3);
    let checked = 0;
    for (const [name, config] of configs) {
      const figures = cacheFigures(config);
      if (config.arch !== 'gated') {
        expect(figures, name).toBeNull();
        continue;
      }
      const N = 2;
      const params = initParams(config, 0);
      const st = new CachedStepper({ config, params }, N, conditionFor(config, N));
      try {
        st.startRow(0, new Uint8Array(N * config.height * config.width * config.channels));
        const v = st.verticalWindows();
        const h = st.windows();
        const link = st.rowLinks();
        expect(figures!.length, name).toBe(v.length);
        let floats = 0;
        figures!.forEach((f, l) => {
          expect(v[l].shape, `${name} layer ${l} vertical`).toEqual([N, f.vertical.rows, f.vertical.cols, f.channels]);
          expect(h[l].shape, `${name} layer ${l} horizontal`).toEqual([N, 1, f.horizontal.kept, f.channels]);
          expect(link[l].shape, `${name} layer ${l} link`).toEqual([N, 1, f.link.cols, f.link.channels]);
          floats += v[l].size + h[l].size + link[l].size;
        });
        expect(cacheFloats(config) * N, name).toBe(floats);
        checked++;
      } finally {
        st.dispose();
        disposeParams(params);
      }
    }
    expect(checked).toBeGreaterThan(8);
  });

  it('follow the dilations: a dilated layer keeps more rows and columns for the same taps', () => {
    const f = cacheFigures(makeConfig({ layers: 4, dilations: [1, 1, 2, 3] }))!;
    expect(f.map((l) => [l.taps, l.reach, l.vertical.rows, l.horizontal.cols])).toEqual([[4, 3, 4, 4], [2, 1, 2, 2], [2, 2, 3, 3], [2, 3, 4, 4]]);
    expect(cacheFigures(makeConfig({ arch: 'masked' }))).toBeNull();
  });
});

describe('multiply-adds', () => {
  const tiny = { height: 6, width: 5, levels: 16, hidden: 6, layers: 3, firstKernel: 5, kernel: 3, headHidden: 12 };
  const cases: [string, Partial<ModelConfig>, Partial<SampleOptions>?][] = [
    ['grey, class', { conditioning: { type: 'class', classes: 3 } }],
    ['RGB, spatial nullable vector, dilated', { channels: 3, dilations: [1, 1, 2], spatialChannels: 3, conditioning: { type: 'vector', dim: 4, nullable: true, spatial: true } }],
    ['RGB, logistic mixture output', { channels: 3, output: { type: 'logistic', mixtures: 2 }, conditioning: { type: 'none' } }],
    ['grey, class, guidance 1.5 (one stream per class)', { conditioning: { type: 'class', classes: 3 } }, { guidance: 1.5 }],
    ['grey, completing a prefix of 2 rows and 2 pixels', { conditioning: { type: 'class', classes: 3 } }, { prefix: { images: new Uint8Array(30).fill(3), length: 12 } }],
  ];
  for (const [name, partial, extra] of cases) {
    it(`of a whole cached run and of naive steps match what tfjs runs (${name})`, async () => {
      const config = makeConfig({ ...tiny, ...partial });
      const model: PixelCNN = { config, params: initParams(config, 1) };
      const N = 2;
      const opts: SampleOptions = { count: N, seed: 3, condition: conditionFor(config, N), ...extra };
      const S = streamsPerImage(config, opts.guidance ?? 0);
      const total = config.height * config.width * config.channels;
      const given = opts.prefix?.length ?? 0;
      try {
        const measured = await measureMacs(async () => {
          for await (const e of samplePixels(model, { ...opts, mode: 'cached' })) void e;
        });
        const want = N * S * workSoFar(config, total, given).cached;
        expect(Math.abs(measured - want) / want, `${name}: measured ${measured}, from the config ${want}`).toBeLessThan(0.02);
        // the naive sampler: one forward pass per sub-pixel (3 sub-pixels measured)
        const naive = await measureMacs(async () => {
          for await (const e of samplePixels(model, { ...opts, mode: 'naive' })) if (e.done - given >= 3) break;
        });
        const wantNaive = N * S * workSoFar(config, given + 3, given).naive;
        expect(Math.abs(naive - wantNaive) / wantNaive, `${name}: naive measured ${naive}, from the config ${wantNaive}`).toBeLessThan(0.02);
        // a finished run costs about one forward pass; naive one per sub-pixel
        const w = samplerWork(config);
        expect(workSoFar(config, total, given).naive).toBe((total - given) * w.forward);
      } finally {
        disposeParams(model.params);
      }
      expect(tf.memory().numTensors).toBe(0);
    });
  }

  it('of a 28x28 digit run: the cached sampler does hundreds of times less work than the naive one', () => {
    const w = workSoFar(PRESETS['mnist-dilated']().model, 784);
    expect(w.naive / w.cached).toBeGreaterThan(100);
    expect(workSoFar(PRESETS.mnist().model, 0)).toEqual({ cached: 0, naive: 0 });
  });
});
