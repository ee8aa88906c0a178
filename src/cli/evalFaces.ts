// npm run eval-faces -- --model models/faces --faces DIR --identities 50 [--seed S]
//   [--guidance G] [--per-identity K] [--temperature T] [--split test|val|train]
//   [--batch B] [--png FILE] [--json]
//
// The identity check of issue 15. For the first N people of a build-faces folder's test
// split: draw K portraits from the descriptor of each person's variant 0, take each
// portrait's descriptor (faceDescriptors on the 32x32 image, as build-faces did), and rank it
// against the N people's variant-0 descriptors: top1 / top5 (own person among the nearest
// 1 / 5), mean distance to the own and to the others' descriptors. The same figures for each
// person's variant 1 from the data set (a real re-render with other accessories) are the
// ceiling a perfect model could reach. Progress on stderr; one JSON object last on stdout.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { DESCRIPTOR_DIM } from '../faces/descriptor';
import { readFacesDir, type FacesData } from '../faces/dataset';
import { identityFigures, peopleOf, type IdentityFigures, type PeopleIndex } from '../faces/identity';
import { encodePng, imageGrid, levelsToPixels } from '../io/png';
import { checkWritable, writeFilesAtomic } from '../io/atomicWrite';
import { parseArgs, usage, UsageError, type FlagSpec } from './args';
import { extOf, startBackend } from './common';
import { Progress } from './progress';
import { recommendedSampling } from './sample';

const SIZE = 32;
/** people shown in the picture, and generated portraits per person there */
const PNG_PEOPLE = 8;
const PNG_SAMPLES = 4;

const spec = {
  model: { type: 'string', required: true, help: `a ${SIZE}x${SIZE}x3 model conditioned on a ${DESCRIPTOR_DIM}-d face descriptor` },
  faces: { type: 'string', required: true, help: 'a build-faces folder (its --split is used) or one of its split folders' },
  identities: { type: 'int', min: 2, help: 'people scored: the first N of the split (default 50)' },
  'per-identity': { type: 'int', min: 1, max: 64, help: 'portraits drawn per person (default 1)' },
  seed: { type: 'int', min: 0, help: 'seed of the first sampler batch; batch b uses seed + b (default 0)' },
  guidance: { type: 'number', min: 0, help: "classifier-free guidance (default: model.json's metadata.recommendedGuidance, else 0)" },
  temperature: { type: 'number', positive: true, help: 'softmax temperature (default 1)' },
  split: { type: 'enum', values: ['test', 'val', 'train'] as const, help: 'which people of a build-faces folder (default test)' },
  batch: { type: 'int', min: 1, max: 4096, help: 'portraits per sampler call, rounded down to whole people (default 64)' },
  png: { type: 'string', help: `write a picture: for the first ${PNG_PEOPLE} people the conditioning portrait (variant 0), then up to ${PNG_SAMPLES} drawn ones` },
  json: { type: 'bool', help: 'print only the JSON result line' },
} satisfies FlagSpec;

export interface EvalFacesResult {
  model: string;
  faces: string;
  split: string;
  identities: number;
  perIdentity: number;
  seed: number;
  guidance: number;
  temperature: number;
  backend: string;
  /** what guessing scores: top1 1/N, top5 min(5, N)/N */
  chance: { top1: number; top5: number };
  /** the drawn portraits' descriptors against the people's variant-0 descriptors */
  generated: IdentityFigures;
  /** each person's variant 1 (from the data set) against the same: the ceiling */
  reRender: IdentityFigures;
  seconds: { sampling: number; descriptors: number };
  png: string | null;
}

/** The folder to score: DIR itself when it is one split, else DIR/<split>. */
export async function facesFolder(dir: string, split: string): Promise<string> {
  const metaFile = path.join(dir, 'meta.json');
  if (!existsSync(metaFile)) return existsSync(path.join(dir, split, 'meta.json')) ? path.join(dir, split) : dir; // readFacesDir names what is missing
  let meta: { split?: unknown };
  try {
    meta = JSON.parse(await fs.readFile(metaFile, 'utf8'));
  } catch {
    return dir; // readFacesDir says why
  }
  if (typeof meta.split === 'string') {
    if (meta.split !== split) throw new UsageError(`--faces: ${dir} is the ${meta.split} split; give --split ${meta.split} to score its people, or the build-faces folder itself`);
    return dir;
  }
  return path.join(dir, split);
}

/** The first `n` people of a folder, checked: whole people, at least two variants (variant 1 is the re-render). */
export function firstPeople(data: FacesData, n: number): PeopleIndex {
  const variants = data.meta.variants;
  const people = peopleOf(data.identities, variants, data.dir);
  if (variants < 2) throw new Error(`${data.dir}: ${variants} variant per person; eval-faces needs at least 2 (variant 1 is the real re-render)`);
  if (people.identities.length < n) {
    throw new UsageError(`--identities: ${n} people asked for, ${data.dir} holds ${people.identities.length}`);
  }
  return { identities: people.identities.slice(0, n), first: people.first.slice(0, n), variants };
}

/** Rows `rows` of a [*, dim] array, in that order. */
function pick<T extends Uint8Array | Float32Array>(src: T, rows: number[], dim: number): T {
  const out = new (src.constructor as new (n: number) => T)(rows.length * dim);
  rows.forEach((r, i) => out.set(src.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

export async function runEvalFaces(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('eval-faces', '--model DIR --faces DIR [--identities 50] [--per-identity K] [--seed S] [--guidance G] [--png FILE] [--json]', spec) + '\n');
    return;
  }
  const N = a.identities ?? 50;
  const K = a['per-identity'] ?? 1;
  const seed = a.seed ?? 0;
  const temperature = a.temperature ?? 1;
  const split = a.split ?? 'test';
  if (a.png) {
    if (extOf(a.png) !== '.png') throw new UsageError(`--png: ${a.png} should end in .png`);
    await checkWritable(a.png);
  }
  const say = (s: string) => {
    if (!a.json) process.stderr.write(s + '\n');
  };

  // the data first: a bad folder or too few people answers before tfjs and face-api load
  const data = await readFacesDir(await facesFolder(a.faces!, split));
  const side = Math.round(Math.sqrt(data.images.length / Math.max(1, data.count) / 3));
  if (data.count > 0 && side * side * 3 * data.count !== data.images.length) throw new Error(`${data.dir}: images.npy does not hold square RGB images`);
  if (data.count > 0 && side !== SIZE) throw new Error(`${data.dir}: images are ${side}x${side}, eval-faces scores ${SIZE}x${SIZE} portraits`);
  const people = firstPeople(data, N);
  const px = SIZE * SIZE * 3;
  const v0 = people.first;
  const v1 = people.first.map((f) => f + 1);
  const gallery = pick(data.descriptors, v0, DESCRIPTOR_DIM);
  const reRender = identityFigures(gallery, pick(data.descriptors, v1, DESCRIPTOR_DIM), N, 1);

  const backend = await startBackend('wasm');
  const [{ loadModel }, { sample }, { disposeParams, isNullable }, { loadFaceRecognizer }, { faceDescriptors }] = await Promise.all([
    import('../io/weightsNode'),
    import('../sampler'),
    import('../model'),
    import('../faces/faceapiNode'),
    import('../faces/descriptor'),
  ]);
  const model = await loadModel(a.model!);
  try {
    const c = model.config;
    if (c.height !== SIZE || c.width !== SIZE || c.channels !== 3) {
      throw new UsageError(`--model: ${a.model} draws ${c.height}x${c.width}x${c.channels} images; eval-faces needs ${SIZE}x${SIZE}x3 portraits`);
    }
    if (c.conditioning.type !== 'vector' || c.conditioning.dim !== DESCRIPTOR_DIM) {
      const what = c.conditioning.type === 'vector' ? `a ${c.conditioning.dim}-d vector` : c.conditioning.type === 'class' ? 'a class' : 'nothing';
      throw new UsageError(`--model: ${a.model} is conditioned on ${what}; eval-faces needs a model conditioned on the ${DESCRIPTOR_DIM}-d face descriptor`);
    }
    const guidance = a.guidance ?? (await recommendedSampling(a.model!)).guidance;
    if (guidance > 0 && !isNullable(c.conditioning)) {
      throw new UsageError(`--guidance: ${guidance} needs a model with a null embedding (conditioning.nullable); ${a.model} has none`);
    }
    const api = await loadFaceRecognizer();

    const perCall = Math.max(1, Math.floor((a.batch ?? 64) / K)); // people per sampler call
    const drawn = new Uint8Array(N * K * px);
    const drawnDesc = new Float32Array(N * K * DESCRIPTOR_DIM);
    const progress = a.json ? undefined : new Progress(`eval-faces: ${N} people x ${K} portrait(s), guidance ${guidance} (${backend})`, N * K);
    let samplingMs = 0;
    let descriptorMs = 0;
    for (let b = 0, p0 = 0; p0 < N; b++, p0 += perCall) {
      const p1 = Math.min(N, p0 + perCall);
      const count = (p1 - p0) * K;
      const embeddings: Float32Array[] = [];
      for (let p = p0; p < p1; p++) for (let k = 0; k < K; k++) embeddings.push(gallery.slice(p * DESCRIPTOR_DIM, (p + 1) * DESCRIPTOR_DIM));
      let t = performance.now();
      const levels = await sample(
        model,
        { count, seed: seed + b, temperature, mode: 'cached', condition: { embeddings }, guidance },
        (e) => progress?.update(Math.floor(p0 * K + (count * e.done) / e.total)),
      );
      const pixels = levelsToPixels(levels, c.levels);
      drawn.set(pixels, p0 * K * px);
      samplingMs += performance.now() - t;
      t = performance.now();
      drawnDesc.set(await faceDescriptors(api, pixels, count, SIZE), p0 * K * DESCRIPTOR_DIM);
      descriptorMs += performance.now() - t;
      progress?.update(p1 * K);
    }
    progress?.finish();
    const generated = identityFigures(gallery, drawnDesc, N, K);

    if (a.png) {
      const shownPeople = Math.min(PNG_PEOPLE, N);
      const shownK = Math.min(PNG_SAMPLES, K);
      const cols = 1 + shownK;
      const tiles = new Uint8Array(shownPeople * cols * px);
      for (let p = 0; p < shownPeople; p++) {
        tiles.set(data.images.subarray(v0[p] * px, (v0[p] + 1) * px), p * cols * px);
        for (let k = 0; k < shownK; k++) tiles.set(drawn.subarray((p * K + k) * px, (p * K + k + 1) * px), (p * cols + 1 + k) * px);
      }
      const g = imageGrid(tiles, shownPeople * cols, SIZE, SIZE, 3, { scale: 3, pad: 2, cols });
      await writeFilesAtomic([{ path: a.png, data: encodePng(g.data, g.width, g.height, g.channels) }]);
    }
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    say(`drawn portraits: top1 ${pct(generated.top1)}, top5 ${pct(generated.top5)}, distance to own ${generated.meanOwnDistance.toFixed(3)} vs others ${generated.meanOtherDistance.toFixed(3)}`);
    say(`real re-render (ceiling): top1 ${pct(reRender.top1)}, top5 ${pct(reRender.top5)}, distance to own ${reRender.meanOwnDistance.toFixed(3)} vs others ${reRender.meanOtherDistance.toFixed(3)}; chance top1 ${pct(1 / N)}`);
    const result: EvalFacesResult = {
      model: a.model!,
      faces: data.dir,
      split,
      identities: N,
      perIdentity: K,
      seed,
      guidance,
      temperature,
      backend,
      chance: { top1: 1 / N, top5: Math.min(5, N) / N },
      generated,
      reRender,
      seconds: { sampling: samplingMs / 1000, descriptors: descriptorMs / 1000 },
      png: a.png ?? null,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    disposeParams(model.params);
  }
}
