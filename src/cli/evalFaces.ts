// npm run eval-faces -- --model models/faces --faces DIR --identities 50 [--seed S]
//   [--guidance G] [--per-identity K] [--temperature T] [--split test|val|train]
//   [--batch B] [--png FILE] [--json] [--embeddings DIR] [--fit FILE|none] [--fit-k K]
//   [--fit-near D] [--fit-far D]
//
// The identity check of issue 15. For the first N people of a build-faces folder's test
// split: draw K portraits from the descriptor of each person's variant 0, take each
// portrait's descriptor (faceDescriptors on the 32x32 image, as build-faces did), and rank it
// against the N people's variant-0 descriptors: top1 / top5 (own person among the nearest
// 1 / 5), mean distance to the own and to the others' descriptors. The same figures for each
// person's variant 1 from the data set (a real re-render with other accessories) are the
// ceiling a perfect model could reach. Progress on stderr; one JSON object last on stdout.
//
// Issue 25's figures beside it: the colour-speckle share of every portrait (faces/speckle.ts),
// for the people with glasses apart, and each condition's distance to the nearest training
// descriptor (all images of the --faces folder's train split). With --embeddings DIR the
// people are the .json/.npy embeddings in DIR (e.g. a real photo's, from the app's download):
// the same figures per file, no identity ranking. Conditions are fitted onto the model's
// anchors (DIR/anchors.json, faces/fitCondition.ts) as the app and `sample` fit them,
// unless --fit none; --fit-k / --fit-near / --fit-far try other fitting options.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { DESCRIPTOR_DIM } from '../faces/descriptor';
import { readFacesDir, type FacesData } from '../faces/dataset';
import { identityFigures, peopleOf, type IdentityFigures, type PeopleIndex } from '../faces/identity';
import { speckleShares } from '../faces/speckle';
import { distanceToData, type Anchors } from '../faces/manifold';
import { fitCondition } from '../faces/fitCondition';
import type { FaceAnchors } from '../faces/anchorsFile';
import { modelAnchors, readAnchorsFile } from '../faces/anchorsNode';
import { decode as decodePng } from 'fast-png';
import { embeddingRowsOrThrow } from '../io/embedding';
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
  threads: { type: 'int', min: 1, max: 256, help: "threads that sample, each its own share of a batch (default: the machine's cores); any count gives the same bytes" },
  embeddings: { type: 'string', help: 'a folder of .json/.npy embeddings (128 numbers each, e.g. models/faces/demo-photos): draw --per-identity portraits from each and report speckle and distance to the data (no identity ranking); a sampleN.png beside sampleN.json is shown in --png' },
  fit: { type: 'string', help: "fit each condition onto these anchors first, or 'none' (default: the model's anchors.json when it has one)" },
  'fit-k': { type: 'int', min: 1, max: 64, help: "anchors averaged (default: the anchors file's)" },
  'fit-near': { type: 'number', min: 0, help: "distance to the nearest anchor up to which a condition is kept (default: the anchors file's)" },
  'fit-far': { type: 'number', min: 0, help: "distance from which a condition is replaced by its anchors' mean (default: the anchors file's)" },
  'fit-base': { type: 'number', min: 0, max: 1, help: "the mean's share for a condition within --fit-near (default: the anchors file's)" },
} satisfies FlagSpec;

/** Speckle over a group of portraits: mean share, and the worst portrait's. */
export interface SpeckleFigures {
  portraits: number;
  mean: number;
  max: number;
}

/** One condition of an --embeddings run. */
export interface EmbeddingFigures {
  file: string;
  /** distance of the embedding to the nearest training descriptor (null without a train split) */
  distanceToData: number | null;
  /** the fit's blend (0 kept, 1 only the anchors' mean) and the distance to the nearest anchor; null without fitting */
  blend: number | null;
  distanceToAnchors: number | null;
  /** the anchors it was drawn from (identities), when blend > 0 */
  neighbours: number[];
  speckle: SpeckleFigures;
  /** mean distance of the portraits' descriptors to the embedding */
  meanDistance: number;
}

function speckleOf(shares: number[]): SpeckleFigures {
  return { portraits: shares.length, mean: shares.reduce((s, x) => s + x, 0) / Math.max(1, shares.length), max: Math.max(0, ...shares) };
}

function quantiles(xs: number[]): { median: number; p90: number; max: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))];
  return { median: at(0.5), p90: at(0.9), max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** The embeddings of a folder: every .json / .npy file (one vector each), by name. */
export async function readEmbeddingsDir(dir: string, dim: number): Promise<{ file: string; vector: Float32Array; thumb: Uint8Array | null }[]> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((f) => ['.json', '.npy'].includes(extOf(f))).sort();
  } catch (e) {
    throw new UsageError(`--embeddings: ${dir} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (names.length === 0) throw new UsageError(`--embeddings: ${dir} holds no .json or .npy files`);
  const out = [];
  for (const f of names) {
    const rows = embeddingRowsOrThrow(path.join(dir, f), new Uint8Array(await fs.readFile(path.join(dir, f))));
    if (rows.length !== 1) throw new Error(`${path.join(dir, f)}: holds ${rows.length} embeddings; eval-faces reads one a file`);
    if (rows[0].length !== dim) throw new Error(`${path.join(dir, f)}: embedding has length ${rows[0].length}, the model expects ${dim}`);
    // a picture of the face beside it (the app's crop), for the --png
    const png = path.join(dir, f.replace(/\.(json|npy)$/i, '.png'));
    let thumb: Uint8Array | null = null;
    if (existsSync(png)) {
      const img = decodePng(await fs.readFile(png));
      if (img.width === SIZE && img.height === SIZE && img.depth === 8 && img.channels >= 3) {
        thumb = new Uint8Array(SIZE * SIZE * 3);
        for (let i = 0; i < SIZE * SIZE; i++) for (let c = 0; c < 3; c++) thumb[i * 3 + c] = img.data[i * img.channels + c];
      }
    }
    out.push({ file: f, vector: rows[0], thumb });
  }
  return out;
}

/** Which people of a split wear glasses (faces.json's facesjs config); null when the folder has no such record. */
async function glassesOf(dir: string, rows: number[]): Promise<boolean[] | null> {
  try {
    const faces = JSON.parse(await fs.readFile(path.join(dir, 'faces.json'), 'utf8')) as { face?: { glasses?: { id?: string } } }[];
    if (!Array.isArray(faces) || faces.length === 0) return null;
    return rows.map((r) => (faces[r]?.face?.glasses?.id ?? 'none') !== 'none');
  } catch {
    return null;
  }
}

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
  /** threads that sampled a batch */
  threads: number;
  /** what guessing scores: top1 1/N, top5 min(5, N)/N */
  chance: { top1: number; top5: number };
  /** the drawn portraits' descriptors against the people's variant-0 descriptors */
  generated: IdentityFigures;
  /** each person's variant 1 (from the data set) against the same: the ceiling */
  reRender: IdentityFigures;
  seconds: { sampling: number; descriptors: number };
  png: string | null;
  /** the fitting applied to each condition (and the conditions' distance to the nearest anchor), or null */
  fit: { anchors: string; k: number; near: number; far: number; base?: number; fitted: number; distanceToAnchors: { median: number; p90: number; max: number; mean: number } } | null;
  /** colour speckle of all portraits, of the people with glasses and without */
  speckle: { all: SpeckleFigures; glasses: SpeckleFigures | null; noGlasses: SpeckleFigures | null; perPerson: number[] };
  /** the conditions' distance to the nearest training descriptor (null without a train split) */
  distanceToData: { median: number; p90: number; max: number; mean: number } | null;
}

export interface EvalEmbeddingsResult {
  model: string;
  embeddings: string;
  perIdentity: number;
  seed: number;
  guidance: number;
  temperature: number;
  backend: string;
  fit: EvalFacesResult['fit'];
  speckle: SpeckleFigures;
  files: EmbeddingFigures[];
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

/** The train split beside DIR (a build-faces folder, or one of its splits): the descriptors the model learnt from. */
export async function trainFolder(dir: string): Promise<string> {
  try {
    return await facesFolder(dir, 'train');
  } catch (e) {
    if (e instanceof UsageError) return path.join(dir, '..', 'train'); // DIR is another split
    throw e;
  }
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
    process.stdout.write(usage('eval-faces', '--model DIR --faces DIR [--identities 50] [--per-identity K] [--seed S] [--guidance G] [--png FILE] [--json] [--embeddings DIR] [--fit FILE|none]', spec) + '\n');
    return;
  }
  const N = a.identities ?? 50;
  const K = a['per-identity'] ?? 1;
  const seed = a.seed ?? 0;
  const temperature = a.temperature ?? 1;
  const split = a.split ?? 'test';
  const embeddingsMode = a.embeddings !== undefined;
  if (embeddingsMode && (a.identities !== undefined || a.split !== undefined)) throw new UsageError('--embeddings draws from the files in its folder: drop --identities / --split');
  if (a.png) {
    if (extOf(a.png) !== '.png') throw new UsageError(`--png: ${a.png} should end in .png`);
    await checkWritable(a.png);
  }
  const say = (s: string) => {
    if (!a.json) process.stderr.write(s + '\n');
  };

  // the data first: a bad folder or too few people answers before tfjs and face-api load
  const px = SIZE * SIZE * 3;
  // the conditions ("subjects"): the split's people (variant 0) or the folder's embeddings
  let subjects: { name: string; vector: Float32Array; thumb: Uint8Array | null }[];
  let test: { data: FacesData; people: PeopleIndex; gallery: Float32Array; reRender: IdentityFigures; glasses: boolean[] | null } | null = null;
  if (embeddingsMode) {
    subjects = (await readEmbeddingsDir(a.embeddings!, DESCRIPTOR_DIM)).map((e) => ({ name: e.file, vector: e.vector, thumb: e.thumb }));
  } else {
    const data = await readFacesDir(await facesFolder(a.faces!, split));
    const side = Math.round(Math.sqrt(data.images.length / Math.max(1, data.count) / 3));
    if (data.count > 0 && side * side * 3 * data.count !== data.images.length) throw new Error(`${data.dir}: images.npy does not hold square RGB images`);
    if (data.count > 0 && side !== SIZE) throw new Error(`${data.dir}: images are ${side}x${side}, eval-faces scores ${SIZE}x${SIZE} portraits`);
    const people = firstPeople(data, N);
    const v0 = people.first;
    const gallery = pick(data.descriptors, v0, DESCRIPTOR_DIM);
    const reRender = identityFigures(gallery, pick(data.descriptors, v0.map((f) => f + 1), DESCRIPTOR_DIM), N, 1);
    test = { data, people, gallery, reRender, glasses: await glassesOf(data.dir, v0) };
    subjects = v0.map((f, p) => ({ name: `person ${people.identities[p]}`, vector: gallery.slice(p * DESCRIPTOR_DIM, (p + 1) * DESCRIPTOR_DIM), thumb: data.images.slice(f * px, (f + 1) * px) }));
  }
  const S = subjects.length;
  // the descriptors the model learnt from, when the folder has its train split beside
  const trainDir = await trainFolder(a.faces!);
  let toData: number[] | null = null;
  if (existsSync(path.join(trainDir, 'meta.json'))) {
    const train = await readFacesDir(trainDir);
    const trainAnchors: Anchors = { dim: DESCRIPTOR_DIM, count: train.count, vectors: train.descriptors, identities: train.identities };
    toData = subjects.map((s) => distanceToData(trainAnchors, s.vector));
  } else say(`note: no train split at ${trainDir}: no distance to the data`);

  const backend = await startBackend('wasm');
  const [{ loadModel }, { SampleThreads, threadsFor }, { disposeParams, isNullable }, { loadFaceRecognizer }, { faceDescriptors }] = await Promise.all([
    import('../io/weightsNode'),
    import('./sampleThreads'),
    import('../model'),
    import('../faces/faceapiNode'),
    import('../faces/descriptor'),
  ]);
  const pool = SampleThreads.start(threadsFor(Math.max(1, Math.floor((a.batch ?? 64) / K)) * K, a.threads));
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
    // the fitting the app and `sample` apply, unless told otherwise
    let anchors: FaceAnchors | null = null;
    let anchorsFile = '';
    if (a.fit === 'none') anchors = null;
    else if (a.fit !== undefined) [anchors, anchorsFile] = [await readAnchorsFile(a.fit, DESCRIPTOR_DIM), a.fit];
    else [anchors, anchorsFile] = [await modelAnchors(a.model!, DESCRIPTOR_DIM), path.join(a.model!, 'anchors.json')];
    if (!anchors && (a['fit-k'] !== undefined || a['fit-near'] !== undefined || a['fit-far'] !== undefined || a['fit-base'] !== undefined)) throw new UsageError('--fit-k / --fit-near / --fit-far / --fit-base: no anchors to fit onto (give --fit FILE)');
    if (anchors) {
      anchors = { ...anchors, fit: { k: a['fit-k'] ?? anchors.fit.k, near: a['fit-near'] ?? anchors.fit.near, far: a['fit-far'] ?? anchors.fit.far, base: a['fit-base'] ?? anchors.fit.base ?? 0 } };
      if (anchors.fit.far < anchors.fit.near) throw new UsageError(`--fit-far: ${anchors.fit.far} is below --fit-near ${anchors.fit.near}`);
    }
    const fits = anchors ? subjects.map((s) => fitCondition(anchors!, s.vector)) : null;
    const drawFrom = subjects.map((s, i) => (fits ? fits[i].vector : s.vector));
    const api = await loadFaceRecognizer();

    const perCall = Math.max(1, Math.floor((a.batch ?? 64) / K)); // subjects per sampler call
    const drawn = new Uint8Array(S * K * px);
    const drawnDesc = new Float32Array(S * K * DESCRIPTOR_DIM);
    const what = embeddingsMode ? `${S} embeddings` : `${S} people`;
    const progress = a.json ? undefined : new Progress(`eval-faces: ${what} x ${K} portrait(s), guidance ${guidance}${anchors ? `, fitted (k ${anchors.fit.k}, base ${anchors.fit.base ?? 0}, ${anchors.fit.near}..${anchors.fit.far})` : ''} (${backend})`, S * K);
    let samplingMs = 0;
    let descriptorMs = 0;
    for (let b = 0, p0 = 0; p0 < S; b++, p0 += perCall) {
      const p1 = Math.min(S, p0 + perCall);
      const count = (p1 - p0) * K;
      const embeddings: Float32Array[] = [];
      for (let p = p0; p < p1; p++) for (let k = 0; k < K; k++) embeddings.push(drawFrom[p]);
      let t = performance.now();
      const total = c.height * c.width * c.channels;
      const { images: levels } = await pool.run(
        model,
        { count, seed: seed + b, temperature, condition: { embeddings }, guidance },
        (done) => progress?.update(Math.floor(p0 * K + (count * done) / total)),
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
    const shares = speckleShares(drawn, S * K, SIZE);
    const sharesOf = (p: number) => shares.slice(p * K, (p + 1) * K);
    const fitFigures = anchors ? { anchors: anchorsFile, ...anchors.fit, fitted: fits!.filter((f) => f.fit.blend > 0).length, distanceToAnchors: quantiles(fits!.map((f) => f.fit.distance)) } : null;

    if (a.png) {
      const shownPeople = embeddingsMode ? S : Math.min(PNG_PEOPLE, S);
      const shownK = Math.min(PNG_SAMPLES, K);
      const cols = 1 + shownK;
      const tiles = new Uint8Array(shownPeople * cols * px).fill(200); // the data set's grey where a file has no picture
      for (let p = 0; p < shownPeople; p++) {
        const thumb = subjects[p].thumb;
        if (thumb) tiles.set(thumb, p * cols * px);
        for (let k = 0; k < shownK; k++) tiles.set(drawn.subarray((p * K + k) * px, (p * K + k + 1) * px), (p * cols + 1 + k) * px);
      }
      const g = imageGrid(tiles, shownPeople * cols, SIZE, SIZE, 3, { scale: 3, pad: 2, cols });
      await writeFilesAtomic([{ path: a.png, data: encodePng(g.data, g.width, g.height, g.channels) }]);
    }
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    const pct2 = (x: number) => `${(x * 100).toFixed(2)}%`;
    const seconds = { sampling: samplingMs / 1000, descriptors: descriptorMs / 1000 };

    if (embeddingsMode) {
      const files: EmbeddingFigures[] = subjects.map((s, p) => {
        const own = Array.from({ length: K }, (_, k) => {
          let d = 0;
          for (let j = 0; j < DESCRIPTOR_DIM; j++) d += (drawnDesc[(p * K + k) * DESCRIPTOR_DIM + j] - s.vector[j]) ** 2;
          return Math.sqrt(d);
        });
        const f = fits?.[p].fit;
        return {
          file: s.name,
          distanceToData: toData ? toData[p] : null,
          blend: f ? f.blend : null,
          distanceToAnchors: f ? f.distance : null,
          neighbours: f && f.blend > 0 ? f.neighbours.map((n) => Number(anchors!.identities[n.index])) : [],
          speckle: speckleOf(sharesOf(p)),
          meanDistance: own.reduce((x, y) => x + y, 0) / K,
        };
      });
      for (const f of files) say(`${f.file}: distance to the data ${f.distanceToData?.toFixed(3) ?? '?'}${f.blend !== null ? `, fit blend ${f.blend.toFixed(2)}` : ''}, speckle ${pct2(f.speckle.mean)} (worst ${pct2(f.speckle.max)}), portraits ${f.meanDistance.toFixed(3)} from the embedding`);
      const all = speckleOf(shares);
      say(`all ${S * K} portraits: speckle ${pct2(all.mean)} (worst ${pct2(all.max)})`);
      const result: EvalEmbeddingsResult = { model: a.model!, embeddings: a.embeddings!, perIdentity: K, seed, guidance, temperature, backend, fit: fitFigures, speckle: all, files, seconds, png: a.png ?? null };
      process.stdout.write(JSON.stringify(result) + '\n');
      return;
    }

    const t = test!;
    const generated = identityFigures(t.gallery, drawnDesc, N, K);
    const perPerson = subjects.map((_, p) => speckleOf(sharesOf(p)).mean);
    const group = (want: boolean) => (t.glasses ? speckleOf(subjects.flatMap((_, p) => (t.glasses![p] === want ? sharesOf(p) : []))) : null);
    const speckle = { all: speckleOf(shares), glasses: group(true), noGlasses: group(false), perPerson };
    const dist = toData ? quantiles(toData) : null;
    say(`drawn portraits: top1 ${pct(generated.top1)}, top5 ${pct(generated.top5)}, distance to own ${generated.meanOwnDistance.toFixed(3)} vs others ${generated.meanOtherDistance.toFixed(3)}`);
    say(`real re-render (ceiling): top1 ${pct(t.reRender.top1)}, top5 ${pct(t.reRender.top5)}, distance to own ${t.reRender.meanOwnDistance.toFixed(3)} vs others ${t.reRender.meanOtherDistance.toFixed(3)}; chance top1 ${pct(1 / N)}`);
    say(`speckle: ${pct2(speckle.all.mean)} of pixels (worst portrait ${pct2(speckle.all.max)})${speckle.glasses ? `; with glasses ${pct2(speckle.glasses.mean)} (${speckle.glasses.portraits / K} people), without ${pct2(speckle.noGlasses!.mean)}` : ''}`);
    if (dist) say(`conditions' distance to the nearest training descriptor: median ${dist.median.toFixed(3)}, p90 ${dist.p90.toFixed(3)}, max ${dist.max.toFixed(3)}`);
    if (fitFigures) say(`fitted onto ${fitFigures.anchors}: ${fitFigures.fitted} of ${S} conditions moved; distance to the nearest anchor median ${fitFigures.distanceToAnchors.median.toFixed(3)}, max ${fitFigures.distanceToAnchors.max.toFixed(3)}`);
    const result: EvalFacesResult = {
      model: a.model!,
      faces: t.data.dir,
      split,
      identities: N,
      perIdentity: K,
      seed,
      guidance,
      temperature,
      backend,
      threads: pool.threads,
      chance: { top1: 1 / N, top5: Math.min(5, N) / N },
      generated,
      reRender: t.reRender,
      seconds,
      png: a.png ?? null,
      fit: fitFigures,
      speckle,
      distanceToData: dist,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await pool.close();
    disposeParams(model.params);
  }
}
