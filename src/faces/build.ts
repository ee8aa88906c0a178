// build-faces: a data set of cartoon people and their face descriptors (issue 15 §1).
//   DIR/images.npy       uint8   [N, 32, 32, 3]
//   DIR/descriptors.npy  float32 [N, 128]
//   DIR/identities.npy   int32   [N]        (image i = identity * variants + variant)
//   DIR/faces.json       [{identity, variant, gender, face}] per image (facesjs FaceConfig)
//   DIR/meta.json        seed, counts, crop, split rule, versions (written last: its
//                        presence means the build is complete)
//   DIR/{train,val,test}/ the same five files for the identities of that split
// Work is cut into chunks of identities (chunk.ts), drawn by a pool of threads
// (chunkPool.ts); each finished chunk is saved to DIR/.parts/ at once (parts.ts), so an
// interrupted run continues where it stopped, and the result does not depend on how many
// threads drew it or in which order. This file checks the folder, runs the chunks and
// writes the data set, split by identity (splits.ts), with its distance statistics.
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFilesAtomic } from '../io/atomicWrite';
import { encodeNpy } from '../io/npy';
import { chunksOf, type ChunkTiming, type FaceRecord } from './chunk';
import { drawChunks } from './chunkPool';
import { encodeNpyInt32, FORMAT, readFacesDir } from './dataset';
import { DESCRIPTOR_BATCH, DESCRIPTOR_DIM, NET_INPUT } from './descriptor';
import { distanceStats, type DistanceStats } from './distanceStats';
import { packageVersions } from './faceapiNode';
import { IDENTITY_FEATURES, VARIANT_FEATURES } from './generate';
import { encodePart, partFile, partsDir, readPart } from './parts';
import { BACKGROUND, SIZE, VIEWBOX } from './render';
import { SPLIT_RULE, SPLITS, splitIdentities, type SplitName } from './splits';

export interface BuildOptions {
  identities: number;
  variants: number;
  seed: number;
  out: string;
  /** worker threads drawing chunks (default 1); 0 draws them in the calling thread, which then cannot answer signals while it renders */
  workers?: number;
  /** identities per chunk (the unit of resume); part of what a build is, so recorded in meta.json */
  chunkIdentities?: number;
  /** called after each chunk with images done / to do in this run */
  onProgress?: (done: number, total: number) => void;
  /** stops between chunks (what is saved stays saved) */
  signal?: AbortSignal;
}

export interface BuildSummary {
  out: string;
  images: number;
  identities: number;
  variants: number;
  seed: number;
  /** chunks found finished in DIR/.parts from an earlier run */
  resumedChunks: number;
  builtChunks: number;
  alreadyBuilt: boolean;
  splits: Record<SplitName, { identities: number; images: number }>;
  /** ms per image over the chunks built in this run, wall and CPU (see ChunkTiming); null when none was */
  timing: { renderMsPerImage: number; descriptorMsPerImage: number; renderCpuMsPerImage: number; descriptorCpuMsPerImage: number } | null;
  /** os.loadavg() at the end: other processes on the same cores inflate both times */
  loadAverage: number[];
  distances: DistanceStats;
}

interface Plan {
  format: string;
  seed: number;
  identities: number;
  variants: number;
  chunkIdentities: number;
  size: number;
  viewBox: string;
  background: string;
  versions: Record<string, string>;
}

export function checkOptions(o: BuildOptions): void {
  const int = (name: string, v: number, min: number) => {
    if (!Number.isSafeInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got ${v}`);
  };
  int('identities', o.identities, 3);
  int('variants', o.variants, 1);
  int('seed', o.seed, 0);
  int('workers', o.workers ?? 1, 0);
  int('chunkIdentities', o.chunkIdentities ?? 8, 1);
}

function planOf(o: Required<Pick<BuildOptions, 'identities' | 'variants' | 'seed' | 'chunkIdentities'>>): Plan {
  return {
    format: FORMAT,
    seed: o.seed,
    identities: o.identities,
    variants: o.variants,
    chunkIdentities: o.chunkIdentities,
    size: SIZE,
    viewBox: VIEWBOX,
    background: BACKGROUND,
    versions: packageVersions(),
  };
}

/** The flags a plan (or meta.json) was built with, for an error message. */
const flagsOf = (p: { identities: number; variants: number; seed: number; chunkIdentities?: number }) =>
  `--identities ${p.identities} --variants ${p.variants} --seed ${p.seed}${p.chunkIdentities !== undefined ? ` (chunks of ${p.chunkIdentities})` : ''}`;

function samePlan(a: Plan, b: Plan): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function readJson<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${file}: cannot be read as JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

export async function buildFaces(opts: BuildOptions): Promise<BuildSummary> {
  checkOptions(opts);
  const o = { ...opts, workers: opts.workers ?? 1, chunkIdentities: opts.chunkIdentities ?? 8 };
  const out = path.resolve(o.out);
  const plan = planOf(o);
  const metaFile = path.join(out, 'meta.json');

  if (existsSync(metaFile)) {
    const meta = await readJson<{ plan?: Plan }>(metaFile);
    if (!meta.plan || !samePlan(meta.plan, plan)) {
      throw new Error(`${o.out}: already holds a finished build (${meta.plan ? flagsOf(meta.plan) : 'unknown flags'}), not ${flagsOf(o)}; give another --out`);
    }
    await fs.rm(partsDir(out), { recursive: true, force: true }); // left by a run stopped just after writing meta.json
    return summarize(out, o, await assemble(out, o, plan, true), 0, 0, true);
  }

  const planFile = path.join(partsDir(out), 'plan.json');
  if (existsSync(planFile)) {
    const old = await readJson<Plan>(planFile);
    if (!samePlan(old, plan)) {
      throw new Error(`${o.out}: holds an unfinished build with other settings (${flagsOf(old)}, ${JSON.stringify(old.versions)}); rerun with those flags, or give another --out`);
    }
  } else {
    if (existsSync(out)) {
      const st = await fs.stat(out);
      if (!st.isDirectory()) throw new Error(`${o.out}: is not a folder`);
      const entries = await fs.readdir(out);
      if (entries.length > 0) throw new Error(`${o.out}: is not empty and holds no build-faces run; give a new or empty folder`);
    } else {
      const parent = path.dirname(out);
      if (!existsSync(parent)) throw new Error(`${o.out}: folder ${path.dirname(o.out)} does not exist`);
    }
    await fs.mkdir(partsDir(out), { recursive: true });
    await writeFilesAtomic([{ path: planFile, data: JSON.stringify(plan, null, 1) + '\n' }]);
  }

  const chunks = chunksOf(o.identities, o.chunkIdentities);
  const todo = chunks.filter((c) => !existsSync(partFile(out, c.index)));
  const total = todo.reduce((s, c) => s + c.count * o.variants, 0);
  let done = 0;
  const sum: ChunkTiming = { renderMs: 0, descriptorMs: 0, renderCpuMs: 0, descriptorCpuMs: 0 };
  o.onProgress?.(0, total);
  await drawChunks(
    todo,
    o.seed,
    o.variants,
    o.workers,
    async (r) => {
      await writeFilesAtomic([{ path: partFile(out, r.index), data: encodePart(r) }]);
      for (const k of Object.keys(sum) as (keyof ChunkTiming)[]) sum[k] += r.timing[k];
      done += r.faces.length;
      o.onProgress?.(done, total);
    },
    o.signal,
  );
  const all = await assemble(out, o, plan, false);
  await fs.rm(partsDir(out), { recursive: true, force: true });
  const summary = summarize(out, o, all, chunks.length - todo.length, todo.length, false);
  const per = (ms: number) => Number((ms / done).toFixed(2));
  const timing = done
    ? { renderMsPerImage: per(sum.renderMs), descriptorMsPerImage: per(sum.descriptorMs), renderCpuMsPerImage: per(sum.renderCpuMs), descriptorCpuMsPerImage: per(sum.descriptorCpuMs) }
    : null;
  return { ...summary, timing };
}

interface Assembled {
  images: Uint8Array;
  descriptors: Float32Array;
  identities: Int32Array;
  faces: FaceRecord[];
  splits: Record<SplitName, number[]>;
}

/** Reads the parts (or, for a finished build, the files) and writes the data set. */
async function assemble(out: string, o: Required<Omit<BuildOptions, 'onProgress' | 'signal'>>, plan: Plan, finished: boolean): Promise<Assembled> {
  const n = o.identities * o.variants;
  const px = SIZE * SIZE * 3;
  const splits = splitIdentities(o.identities, o.seed);
  if (finished) {
    const d = await readFacesDir(out);
    if (d.count !== n) throw new Error(`${o.out}: holds ${d.count} images, meta.json says ${n}`);
    return { images: d.images, descriptors: d.descriptors, identities: d.identities, faces: [], splits };
  }
  const images = new Uint8Array(n * px);
  const descriptors = new Float32Array(n * DESCRIPTOR_DIM);
  const faces: FaceRecord[] = [];
  for (const c of chunksOf(o.identities, o.chunkIdentities)) {
    const r = await readPart(partFile(out, c.index), c, o.variants);
    const at = c.first * o.variants;
    images.set(r.images, at * px);
    descriptors.set(r.descriptors, at * DESCRIPTOR_DIM);
    faces.push(...r.faces);
  }
  const identities = Int32Array.from(faces, (f) => f.identity);
  const meta = (extra: object) =>
    JSON.stringify(
      {
        format: FORMAT,
        seed: o.seed,
        identities: o.identities,
        variants: o.variants,
        images: n,
        image: { height: SIZE, width: SIZE, channels: 3, dtype: 'uint8' },
        crop: { source: 'facesjs faceToSvgString, drawn in a 400x600 box', viewBox: VIEWBOX, background: BACKGROUND, rasteriser: '@resvg/resvg-js, fitTo width' },
        faces: { identityFeatures: IDENTITY_FEATURES, variantFeatures: VARIANT_FEATURES, gender: 'per identity, 50/50' },
        descriptor: {
          net: '@vladmandic/face-api faceRecognitionNet (node-wasm build, tfjs wasm backend)',
          dim: DESCRIPTOR_DIM,
          input: `the ${SIZE}x${SIZE} uint8 image as float 0..255, resizeBilinear to ${NET_INPUT}x${NET_INPUT} (src/faces/descriptor.ts)`,
          batch: DESCRIPTOR_BATCH,
        },
        split: { rule: SPLIT_RULE, identities: Object.fromEntries(SPLITS.map((s) => [s, splits[s].length])) },
        versions: plan.versions,
        plan,
        ...extra,
      },
      null,
      1,
    ) + '\n';

  const filesOf = (dir: string, idx: number[], extra: object) => {
    const m = idx.length;
    const im = new Uint8Array(m * px);
    const de = new Float32Array(m * DESCRIPTOR_DIM);
    idx.forEach((i, k) => {
      im.set(images.subarray(i * px, (i + 1) * px), k * px);
      de.set(descriptors.subarray(i * DESCRIPTOR_DIM, (i + 1) * DESCRIPTOR_DIM), k * DESCRIPTOR_DIM);
    });
    return [
      { path: path.join(dir, 'images.npy'), data: encodeNpy(im, [m, SIZE, SIZE, 3]) },
      { path: path.join(dir, 'descriptors.npy'), data: encodeNpy(de, [m, DESCRIPTOR_DIM]) },
      { path: path.join(dir, 'identities.npy'), data: encodeNpyInt32(Int32Array.from(idx, (i) => identities[i]), [m]) },
      { path: path.join(dir, 'faces.json'), data: JSON.stringify(idx.map((i) => faces[i])) + '\n' },
      // last: meta.json says the folder is complete
      { path: path.join(dir, 'meta.json'), data: meta(extra) },
    ];
  };
  for (const s of SPLITS) {
    const dir = path.join(out, s);
    await fs.mkdir(dir, { recursive: true });
    const idx = splits[s].flatMap((id) => Array.from({ length: o.variants }, (_, v) => id * o.variants + v));
    await writeFilesAtomic(filesOf(dir, idx, { split: s, splitIdentities: splits[s], splitImages: idx.length }));
  }
  await writeFilesAtomic(filesOf(out, Array.from({ length: n }, (_, i) => i), { splitIdentities: splits }));
  return { images, descriptors, identities, faces, splits };
}

function summarize(out: string, o: { identities: number; variants: number; seed: number }, a: Assembled, resumed: number, built: number, alreadyBuilt: boolean): BuildSummary {
  return {
    out,
    images: a.identities.length,
    identities: o.identities,
    variants: o.variants,
    seed: o.seed,
    resumedChunks: resumed,
    builtChunks: built,
    alreadyBuilt,
    splits: Object.fromEntries(SPLITS.map((s) => [s, { identities: a.splits[s].length, images: a.splits[s].length * o.variants }])) as BuildSummary['splits'],
    timing: null,
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    distances: distanceStats(a.descriptors, a.identities),
  };
}
