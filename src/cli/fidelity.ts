// npm run fidelity -- --model models/mnist --guidance 0,1,2,3,4 --per-class 50 [--json]
//   [--classifier models/mnist-classifier] [--seed S] [--temperature T] [--png PREFIX]
//
// Does the model draw the digit it is asked for? For each guidance value, samples
// --per-class images of every class and lets an independent classifier (src/eval/classifier.ts,
// trained by python -m training.classifier) read them: agreement overall and per class. And
// does guidance keep the variety of real digits? diversity = mean pairwise pixel distance
// among a class's samples / the same among as many real test digits of that class
// (1 = as varied as real digits; guidance that collapses every 7 into one shape goes to 0).
//
// npm run fidelity -- --model models/mnist-ae --variations [--limit 200] [--count 4]
//   [--npy conventional.npy] [--png PREFIX]
// An auto-encoder's variations of the first --limit test digits: does the classifier read
// them as their source's digit, are they copies (distance to the source against the distance
// between two real digits of a class), do they look more like their own source than like
// the other sources of its class; and the grey-band share (pixels in 0.1..0.9) of the
// sources, the variations and, given --npy, a conventional decoder's reconstructions.
import path from 'node:path';
import { loadMnist } from '../data/mnist';
import { encodePng, imageGrid, levelsToPixels } from '../io/png';
import { writeFilesAtomic } from '../io/atomicWrite';
import { quantize } from '../io/digits';
import { repeatEach } from '../model/codes';
import { distance, greyBandShare, variationFigures } from '../eval/variationFigures';
import { parseArgs, usage, UsageError, type Args, type FlagSpec } from './args';
import { startBackend } from './common';
import { Progress } from './progress';

const spec = {
  model: { type: 'string', required: true, help: 'a class-conditional MNIST model folder' },
  guidance: { type: 'string', help: 'comma-separated guidance values (default 0)' },
  'per-class': { type: 'int', min: 2, max: 1000, help: 'samples per class and guidance (default 50)' },
  classifier: { type: 'string', help: 'classifier folder (default models/mnist-classifier)' },
  seed: { type: 'int', min: 0, help: 'seed of the first class; class c uses seed + c (default 0)' },
  temperature: { type: 'number', positive: true, help: 'softmax temperature (default 1)' },
  unconditional: { type: 'enum', values: ['null', 'mixture'] as const, help: "guidance's unconditional term (default: the null condition when the model has one, else the class mixture)" },
  png: { type: 'string', help: 'write PREFIX-g<G>.png per guidance: 16 samples (or fewer) of each class, a row per class' },
  json: { type: 'bool', help: 'print only the JSON result line' },
  threads: { type: 'int', min: 1, max: 256, help: "threads that sample, each its own share of the images (default: the machine's cores); any count gives the same bytes" },
  variations: { type: 'bool', help: "auto-encoder: measure the variations of test digits (each sampled from its source's code)" },
  limit: { type: 'int', min: 2, max: 10000, help: '--variations: the first N test digits are the sources (default 200)' },
  count: { type: 'int', min: 1, max: 64, help: '--variations: variations per source (default 4)' },
  batch: { type: 'int', min: 1, max: 1000, help: '--variations: sources sampled side by side (default 50)' },
  npy: { type: 'string', help: "--variations: a conventional decoder's reconstructions of the same test digits, uint8 [N,28,28] or [N,28,28,1], N >= --limit" },
} satisfies FlagSpec;

/** Mean L2 distance (pixels scaled to 0..1) over all pairs of the n images in `images`. */
export function meanPairwiseDistance(images: Uint8Array, n: number, dims: number): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d = 0;
      for (let k = 0; k < dims; k++) {
        const e = (images[i * dims + k] - images[j * dims + k]) / 255;
        d += e * e;
      }
      sum += Math.sqrt(d);
      pairs++;
    }
  }
  return pairs > 0 ? sum / pairs : 0;
}

function parseGuidances(text: string | undefined): number[] {
  if (text === undefined) return [0];
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new UsageError(`--guidance: expected comma-separated numbers >= 0, got ${JSON.stringify(text)}`);
  }
  return values;
}

export async function runFidelity(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('fidelity', '--model DIR [--guidance 0,1,2,3] [--per-class 50] [--png PREFIX] [--json]  |  --model AE --variations [--limit 200] [--count 4] [--npy conventional.npy]', spec) + '\n');
    return;
  }
  if (a.variations) return runVariationFidelity(a);
  for (const k of ['limit', 'count', 'batch', 'npy'] as const) if (a[k] !== undefined) throw new UsageError(`--${k}: only with --variations`);
  const guidances = parseGuidances(a.guidance);
  const perClass = a['per-class'] ?? 50;
  const say = (s: string) => {
    if (!a.json) process.stderr.write(s + '\n');
  };
  const backend = await startBackend('wasm');
  const [{ loadModel }, { SampleThreads, threadsFor }, { disposeParams }, { loadClassifier, classify, disposeClassifier }] = await Promise.all([
    import('../io/weightsNode'),
    import('./sampleThreads'),
    import('../model'),
    import('../eval/classifier'),
  ]);
  const model = await loadModel(a.model!);
  const pool = SampleThreads.start(threadsFor(perClass, a.threads)); // boots while the test digits load
  const classifier = loadClassifier(a.classifier ?? path.join('models', 'mnist-classifier'));
  try {
    const c = model.config;
    if (c.encoder) throw new UsageError(`--model: ${a.model} is an auto-encoder: measure its variations with --variations`);
    if (c.conditioning.type !== 'class' || c.height !== 28 || c.width !== 28 || c.channels !== 1) {
      throw new UsageError(`--model: ${a.model} is not a class-conditional 28x28 grey model; fidelity reads MNIST digits`);
    }
    const classes = c.conditioning.classes;
    const D = 28 * 28;
    // real test digits of every class: the yardstick of diversity
    const test = loadMnist('test');
    const realDistance: number[] = [];
    for (let k = 0; k < classes; k++) {
      const picked = new Uint8Array(perClass * D);
      let n = 0;
      for (let i = 0; i < test.count && n < perClass; i++) {
        if (test.labels[i] === k) picked.set(test.images.subarray(i * D, (i + 1) * D), D * n++);
      }
      realDistance.push(meanPairwiseDistance(picked, n, D));
    }
    const progress = new Progress(`fidelity: ${guidances.length} guidance value(s) x ${classes} classes x ${perClass} samples (${backend})`, guidances.length * classes);
    const results = [];
    const pngs = [];
    for (const [gi, g] of guidances.entries()) {
      const t0 = performance.now();
      const perClassAgreement: number[] = [];
      const diversity: number[] = [];
      const shownPerClass = Math.min(16, perClass);
      const shown = new Uint8Array(classes * shownPerClass * D);
      for (let k = 0; k < classes; k++) {
        const { images: levels } = await pool.run(model, {
          count: perClass,
          seed: (a.seed ?? 0) + k,
          temperature: a.temperature ?? 1,
          mode: 'cached',
          condition: { labels: [k] },
          guidance: g,
          unconditional: a.unconditional,
        });
        const pixels = levelsToPixels(levels, c.levels);
        const read = await classify(classifier, pixels, perClass);
        perClassAgreement.push(read.filter((p) => p === k).length / perClass);
        diversity.push(meanPairwiseDistance(pixels, perClass, D) / realDistance[k]);
        shown.set(pixels.subarray(0, shownPerClass * D), k * shownPerClass * D);
        progress.update(gi * classes + k + 1);
      }
      const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
      const r = {
        guidance: g,
        agreement: mean(perClassAgreement),
        minClassAgreement: Math.min(...perClassAgreement),
        agreementPerClass: perClassAgreement,
        diversity: mean(diversity),
        minClassDiversity: Math.min(...diversity),
        diversityPerClass: diversity.map((v) => Math.round(v * 1000) / 1000),
        seconds: (performance.now() - t0) / 1000,
      };
      results.push(r);
      say(`guidance ${g}: agreement ${(r.agreement * 100).toFixed(1)}% (worst class ${(r.minClassAgreement * 100).toFixed(0)}%), diversity ${r.diversity.toFixed(3)} of real digits'`);
      if (a.png) {
        const grid = imageGrid(shown, classes * shownPerClass, 28, 28, 1, { scale: 2, pad: 1, cols: shownPerClass });
        pngs.push({ path: `${a.png}-g${g}.png`, data: encodePng(grid.data, grid.width, grid.height, grid.channels) });
      }
    }
    progress.finish();
    if (pngs.length) await writeFilesAtomic(pngs);
    process.stdout.write(
      JSON.stringify({
        model: a.model,
        perClass,
        temperature: a.temperature ?? 1,
        unconditional: a.unconditional ?? (c.conditioning.nullable ? 'null' : 'mixture'),
        classifier: { dir: a.classifier ?? 'models/mnist-classifier', ...classifier.metadata },
        backend,
        threads: pool.threads,
        results,
        png: pngs.map((p) => p.path),
      }) + '\n',
    );
  } finally {
    await pool.close();
    disposeParams(model.params);
    disposeClassifier(classifier);
  }
}

/** --variations: the auto-encoder's figures (see the top of this file). */
async function runVariationFidelity(a: Args<typeof spec>): Promise<void> {
  if (a['per-class'] !== undefined || a.unconditional !== undefined) throw new UsageError('--variations: --per-class and --unconditional are for class models');
  const guidances = a.guidance === undefined ? undefined : parseGuidances(a.guidance);
  if (guidances && guidances.length !== 1) throw new UsageError('--variations: give one --guidance value');
  const n = a.limit ?? 200;
  const k = a.count ?? 4;
  const batch = a.batch ?? 50;
  const say = (s: string) => {
    if (!a.json) process.stderr.write(s + '\n');
  };
  const backend = await startBackend('wasm');
  const [{ loadModel }, { bestMode }, { disposeParams }, { loadClassifier, classify, disposeClassifier }, { recommendedSampling }, { codesOf, requireEncoder }, { SampleThreads, threadsFor }] = await Promise.all([
    import('../io/weightsNode'),
    import('../sampler'),
    import('../model'),
    import('../eval/classifier'),
    import('./sample'),
    import('./variations'),
    import('./sampleThreads'),
  ]);
  const model = await loadModel(a.model!);
  const pool = SampleThreads.start(threadsFor(Math.min(batch, n) * k, a.threads));
  const classifier = loadClassifier(a.classifier ?? path.join('models', 'mnist-classifier'));
  try {
    const c = model.config;
    requireEncoder(c, a.model!, '--variations');
    if (c.height !== 28 || c.width !== 28 || c.channels !== 1) throw new UsageError(`--model: ${a.model} is not a 28x28 grey model; fidelity reads MNIST digits`);
    const D = 28 * 28;
    const test = loadMnist('test');
    if (n > test.count) throw new UsageError(`--limit: the test split has ${test.count} digits`);
    const sources = test.images.slice(0, n * D);
    const labels = Array.from(test.labels.subarray(0, n));
    let conventional: Uint8Array | undefined;
    if (a.npy !== undefined) {
      const [{ digitsFromNpy }, { readInputFile }] = await Promise.all([import('../io/digits'), import('./common')]);
      const r = digitsFromNpy(new Uint8Array(await readInputFile(a.npy)), a.npy, c);
      if (r.count < n) throw new Error(`${a.npy}: holds ${r.count} reconstructions; --limit ${n} needs one for each of the first ${n} test digits`);
      conventional = r.pixels.slice(0, n * D);
    }
    const recommended = await recommendedSampling(a.model!);
    const guidance = guidances?.[0] ?? recommended.guidance;
    const temperature = a.temperature ?? recommended.temperature;
    const seed = a.seed ?? 0;
    // every mode draws the same images for a seed: take the fastest for the backend
    const mode = bestMode(model);
    // the sources as the model sees them (its levels), so a low-level model is not charged for quantization
    const seen = levelsToPixels(Uint8Array.from(quantize(sources, c.levels)), c.levels);
    const batches = Math.ceil(n / batch);
    const progress = new Progress(`fidelity: ${k} variation(s) of ${n} test digits, ${batches} batch(es) (guidance ${guidance}, temperature ${temperature}, ${mode}, ${backend})`, batches * D);
    const t0 = performance.now();
    const variations = new Uint8Array(n * k * D);
    for (let b = 0; b < batches; b++) {
      const lo = b * batch;
      const m = Math.min(batch, n - lo);
      const codes = await codesOf(model, { pixels: sources.subarray(lo * D, (lo + m) * D), count: m, files: [] });
      // batch b is seeded seed + b, as `sample --from-npy` of that batch alone would be with that seed
      const { images: levels } = await pool.run(model, { count: m * k, seed: seed + b, temperature, guidance, mode, condition: { embeddings: repeatEach(codes, k) } }, (done) => progress.update(Math.floor(b * D + done)));
      variations.set(levelsToPixels(levels, c.levels), lo * k * D);
    }
    progress.finish();
    const seconds = (performance.now() - t0) / 1000;
    const read = await classify(classifier, variations, n * k);
    const perClass = Array.from({ length: 10 }, () => ({ right: 0, all: 0 }));
    read.forEach((p, v) => {
      const y = labels[Math.floor(v / k)];
      perClass[y].all++;
      if (p === y) perClass[y].right++;
    });
    const agreement = read.filter((p, v) => p === labels[Math.floor(v / k)]).length / (n * k);
    const sourceRead = await classify(classifier, seen, n);
    const figures = variationFigures(seen, labels, variations, k, D);
    let conventionalFigures = {};
    if (conventional) {
      const conv = await classify(classifier, conventional, n);
      let d = 0;
      // a conventional decoder reconstructs the 8-bit digit itself, whatever the PixelCNN's levels
      for (let i = 0; i < n; i++) d += distance(conventional, i, sources, i, D);
      conventionalFigures = {
        conventional: {
          file: a.npy,
          agreement: conv.filter((p, i) => p === labels[i]).length / n,
          distanceToSource: d / n,
          ratio: d / n / figures.sameClassDistance,
          greyBand: greyBandShare(conventional),
        },
      };
    }
    const greyBand = { sources: greyBandShare(seen), variations: greyBandShare(variations) };
    say(
      `variations read as their source's digit: ${(100 * agreement).toFixed(1)}% (the sources themselves: ${(100 * sourceRead.filter((p, i) => p === labels[i]).length / n).toFixed(1)}%)\n` +
        `distance to their source ${figures.distanceToSource.toFixed(3)}, between two real digits of a class ${figures.sameClassDistance.toFixed(3)}: ratio ${figures.ratio.toFixed(3)}\n` +
        `nearer their own source than every other source of its class: ${(100 * figures.nearerOwnSource).toFixed(1)}% of ${figures.comparedVariations}\n` +
        `grey band (0.1..0.9): sources ${(100 * greyBand.sources).toFixed(1)}%, variations ${(100 * greyBand.variations).toFixed(1)}%` +
        (conventional ? `, conventional ${(100 * greyBandShare(conventional)).toFixed(1)}%` : ''),
    );
    let png: string | null = null;
    if (a.png) {
      // the first 8 sources, each row: source, (conventional reconstruction), its variations
      const rows = Math.min(8, n);
      const cols = 1 + (conventional ? 1 : 0) + k;
      const tiles = new Uint8Array(rows * cols * D);
      for (let i = 0; i < rows; i++) {
        let at = i * cols * D;
        tiles.set(seen.subarray(i * D, (i + 1) * D), at);
        at += D;
        if (conventional) {
          tiles.set(conventional.subarray(i * D, (i + 1) * D), at);
          at += D;
        }
        tiles.set(variations.subarray(i * k * D, (i + 1) * k * D), at);
      }
      const grid = imageGrid(tiles, rows * cols, 28, 28, 1, { scale: 3, pad: 2, cols });
      png = `${a.png}-variations.png`;
      await writeFilesAtomic([{ path: png, data: encodePng(grid.data, grid.width, grid.height, grid.channels) }]);
    }
    process.stdout.write(
      JSON.stringify({
        model: a.model,
        split: 'test',
        sources: n,
        variationsPerSource: k,
        guidance,
        temperature,
        seed,
        classifier: { dir: a.classifier ?? 'models/mnist-classifier', ...classifier.metadata },
        agreement,
        minClassAgreement: Math.min(...perClass.filter((p) => p.all > 0).map((p) => p.right / p.all)),
        agreementPerClass: perClass.map((p) => (p.all ? p.right / p.all : null)),
        sourceAgreement: sourceRead.filter((p, i) => p === labels[i]).length / n,
        ...figures,
        greyBand,
        ...conventionalFigures,
        mode,
        backend,
        threads: pool.threads,
        seconds,
        png,
      }) + '\n',
    );
  } finally {
    await pool.close();
    disposeParams(model.params);
    disposeClassifier(classifier);
  }
}
