// npm run fidelity -- --model models/mnist --guidance 0,1,2,3,4 --per-class 50 [--json]
//   [--classifier models/mnist-classifier] [--seed S] [--temperature T] [--png PREFIX]
//
// Does the model draw the digit it is asked for? For each guidance value, samples
// --per-class images of every class and lets an independent classifier (src/eval/classifier.ts,
// trained by python -m training.classifier) read them: agreement overall and per class. And
// does guidance keep the variety of real digits? diversity = mean pairwise pixel distance
// among a class's samples / the same among as many real test digits of that class
// (1 = as varied as real digits; guidance that collapses every 7 into one shape goes to 0).
import path from 'node:path';
import { loadMnist } from '../data/mnist';
import { encodePng, imageGrid, levelsToPixels } from '../io/png';
import { writeFilesAtomic } from '../io/atomicWrite';
import { parseArgs, usage, UsageError, type FlagSpec } from './args';
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
    process.stdout.write(usage('fidelity', '--model DIR [--guidance 0,1,2,3] [--per-class 50] [--png PREFIX] [--json]', spec) + '\n');
    return;
  }
  const guidances = parseGuidances(a.guidance);
  const perClass = a['per-class'] ?? 50;
  const say = (s: string) => {
    if (!a.json) process.stderr.write(s + '\n');
  };
  const backend = await startBackend('wasm');
  const [{ loadModel }, { sample }, { disposeParams }, { loadClassifier, classify, disposeClassifier }] = await Promise.all([
    import('../io/weightsNode'),
    import('../sampler'),
    import('../model'),
    import('../eval/classifier'),
  ]);
  const model = await loadModel(a.model!);
  const classifier = loadClassifier(a.classifier ?? path.join('models', 'mnist-classifier'));
  try {
    const c = model.config;
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
        const levels = await sample(model, {
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
        results,
        png: pngs.map((p) => p.path),
      }) + '\n',
    );
  } finally {
    disposeParams(model.params);
    disposeClassifier(classifier);
  }
}
