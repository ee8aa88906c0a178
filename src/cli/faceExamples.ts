// npm run face-examples -- --faces data/faces --out models/faces/examples.json [--count 8]
//   [--split test|val|train] [--variant V] [--anchors models/faces/anchors.json [--fit-k K --fit-near D --fit-far D]]
//
// Writes the example faces a face model ships with (src/faces/examples.ts): the first N
// people of a build-faces split (default test: people the model never trained on), each
// as its 32x32 thumbnail (PNG data URL) and the descriptor stored for it in the data set,
// so a click in the app conditions on exactly what build-faces computed. The file is
// written to a temp file and renamed; the trainer's folder write keeps it beside the
// weights. Last line on stdout: a JSON summary.
import path from 'node:path';
import { readFacesDir } from '../faces/dataset';
import { DESCRIPTOR_DIM } from '../faces/descriptor';
import { EXAMPLES_FORMAT, pngDataUrl, parseFaceExamples } from '../faces/examples';
import { peopleOf } from '../faces/identity';
import { formatEmbeddingJson } from '../io/embedding';
import { encodePng } from '../io/png';
import { checkWritable, writeFilesAtomic } from '../io/atomicWrite';
import { parseArgs, usage, UsageError, type FlagSpec } from './args';
import { extOf } from './common';
import { facesFolder } from './evalFaces';
import { decodeAtlas, encodeAnchors, parseAnchors } from '../faces/anchorsFile';
import type { FitOptions } from '../faces/manifold';

/** The fitting options measured for models/faces (its card, "Real faces"). */
export const DEFAULT_FIT: Required<FitOptions> = { k: 10, near: 0.3, far: 0.36, base: 0.5 };
/** the atlas's thumbnails: 16 px (a 2x2 mean of the 32 px render), 16 levels a channel, so 1,600 of them take ~340 KB */
const THUMB = 16;
const THUMB_COLS = 40;
const THUMB_LEVELS = 16;

/** The atlas of one thumbnail per person: rows of THUMB_COLS, each a box mean of its size x size RGB image, quantised. */
function thumbAtlas(images: Uint8Array, rows: number[], size: number): { rgb: Uint8Array; width: number; height: number } {
  const f = size / THUMB;
  if (!Number.isInteger(f)) throw new Error(`face-examples: ${size} px images do not shrink to ${THUMB} px thumbnails by a whole factor`);
  const width = THUMB_COLS * THUMB;
  const height = Math.ceil(rows.length / THUMB_COLS) * THUMB;
  const rgb = new Uint8Array(width * height * 3).fill(200);
  const step = 255 / (THUMB_LEVELS - 1);
  rows.forEach((r, i) => {
    const img = images.subarray(r * size * size * 3, (r + 1) * size * size * 3);
    const x0 = (i % THUMB_COLS) * THUMB;
    const y0 = Math.floor(i / THUMB_COLS) * THUMB;
    for (let y = 0; y < THUMB; y++) {
      for (let x = 0; x < THUMB; x++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) sum += img[((y * f + dy) * size + x * f + dx) * 3 + c];
          rgb[((y0 + y) * width + x0 + x) * 3 + c] = Math.round(Math.round(sum / (f * f) / step) * step);
        }
      }
    }
  });
  return { rgb, width, height };
}

/** One descriptor per train-split person (their `variant`) with the fitting options, as anchors.json. */
async function writeAnchors(faces: string, out: string, variant: number, fit: FitOptions): Promise<{ out: string; count: number; bytes: number; atlasBytes: number }> {
  const data = await readFacesDir(await facesFolder(faces, 'train'));
  const people = peopleOf(data.identities, data.meta.variants, data.dir);
  if (variant >= people.variants) throw new UsageError(`--variant: ${data.dir} has ${people.variants} variants per person (0..${people.variants - 1})`);
  const n = people.identities.length;
  const vectors = new Float32Array(n * DESCRIPTOR_DIM);
  people.first.forEach((f, p) => vectors.set(data.descriptors.subarray((f + variant) * DESCRIPTOR_DIM, (f + variant + 1) * DESCRIPTOR_DIM), p * DESCRIPTOR_DIM));
  const size = Math.round(Math.sqrt(data.images.length / Math.max(1, data.count) / 3));
  const atlasFile = path.basename(out).replace(/\.json$/i, '.png');
  const atlas = thumbAtlas(data.images, people.first.map((f) => f + variant), size);
  const png = encodePng(atlas.rgb, atlas.width, atlas.height, 3);
  const thumbs = { file: atlasFile, size: THUMB, cols: THUMB_COLS };
  const file = encodeAnchors({ dim: DESCRIPTOR_DIM, count: n, vectors, identities: people.identities, fit, thumbs, source: { faces: path.relative(process.cwd(), data.dir) || '.', seed: data.meta.seed, variant } });
  const checked = parseAnchors(file, DESCRIPTOR_DIM);
  if (!checked.ok) throw new Error(`face-examples: the anchors written would not read back: ${checked.error}`);
  const atlasChecked = decodeAtlas(checked.value, png);
  if (!atlasChecked.ok) throw new Error(`face-examples: the atlas written would not read back: ${atlasChecked.error}`);
  const text = JSON.stringify(file) + '\n';
  await writeFilesAtomic([
    { path: out, data: text },
    { path: path.join(path.dirname(out), atlasFile), data: png },
  ]);
  process.stderr.write(`${out}: ${n} anchors of ${data.dir} (variant ${variant}, 8 bits a number), fit ${JSON.stringify(fit)}, ${text.length} bytes; thumbnails ${atlasFile} ${png.length} bytes\n`);
  return { out, count: n, bytes: text.length, atlasBytes: png.length };
}

const spec = {
  faces: { type: 'string', required: true, help: 'a build-faces folder (its --split is used) or one of its split folders' },
  out: { type: 'string', required: true, help: 'the examples file to write, e.g. models/faces/examples.json' },
  count: { type: 'int', min: 1, max: 64, help: 'people to include: the first N of the split (default 8)' },
  split: { type: 'enum', values: ['test', 'val', 'train'] as const, help: 'which people of a build-faces folder (default test)' },
  variant: { type: 'int', min: 0, help: "which of each person's variants (default 0)" },
  anchors: { type: 'string', help: "also write the model's anchors (src/faces/anchorsFile.ts): one descriptor per person of the train split (their --variant), e.g. models/faces/anchors.json" },
  'fit-k': { type: 'int', min: 1, max: 64, help: `anchors averaged when a face is fitted (default ${DEFAULT_FIT.k})` },
  'fit-near': { type: 'number', min: 0, help: `nearest-anchor distance up to which a face is drawn as it is (default ${DEFAULT_FIT.near})` },
  'fit-far': { type: 'number', min: 0, help: `nearest-anchor distance from which a face is replaced by its anchors' mean (default ${DEFAULT_FIT.far})` },
  'fit-base': { type: 'number', min: 0, max: 1, help: `the mean's share for a face within --fit-near (default ${DEFAULT_FIT.base})` },
} satisfies FlagSpec;

export async function runFaceExamples(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('face-examples', '--faces DIR --out FILE.json [--count 8] [--split test] [--variant 0]', spec) + '\n');
    return;
  }
  if (a.anchors) {
    if (extOf(a.anchors) !== '.json') throw new UsageError(`--anchors: ${a.anchors} should end in .json`);
    await checkWritable(a.anchors);
  }
  const fit = { k: a['fit-k'] ?? DEFAULT_FIT.k, near: a['fit-near'] ?? DEFAULT_FIT.near, far: a['fit-far'] ?? DEFAULT_FIT.far, base: a['fit-base'] ?? DEFAULT_FIT.base };
  if (fit.far < fit.near) throw new UsageError(`--fit-far: ${fit.far} is below --fit-near ${fit.near}`);
  const count = a.count ?? 8;
  const variant = a.variant ?? 0;
  if (extOf(a.out!) !== '.json') throw new UsageError(`--out: ${a.out} should end in .json`);
  await checkWritable(a.out!);
  const data = await readFacesDir(await facesFolder(a.faces!, a.split ?? 'test'));
  const size = Math.round(Math.sqrt(data.images.length / Math.max(1, data.count) / 3));
  if (data.count === 0 || size * size * 3 * data.count !== data.images.length) throw new Error(`${data.dir}: images.npy does not hold square RGB images`);
  const people = peopleOf(data.identities, data.meta.variants, data.dir);
  if (variant >= people.variants) throw new UsageError(`--variant: ${data.dir} has ${people.variants} variants per person (0..${people.variants - 1})`);
  if (people.identities.length < count) throw new UsageError(`--count: ${count} people asked for, ${data.dir} holds ${people.identities.length}`);

  const px = size * size * 3;
  const examples = people.identities.slice(0, count).map((identity, p) => {
    const row = people.first[p] + variant;
    const png = encodePng(data.images.subarray(row * px, (row + 1) * px), size, size, 3);
    const d = data.descriptors.subarray(row * DESCRIPTOR_DIM, (row + 1) * DESCRIPTOR_DIM);
    // shortest decimals that read back as the same float32s
    return { identity, variant, png: pngDataUrl(png), descriptor: JSON.parse(formatEmbeddingJson(d)) as number[] };
  });
  const file = { format: EXAMPLES_FORMAT, size, dim: DESCRIPTOR_DIM, source: { faces: path.relative(process.cwd(), data.dir) || '.', seed: data.meta.seed }, examples };
  const checked = parseFaceExamples(file, size, DESCRIPTOR_DIM);
  if (!checked.ok) throw new Error(`face-examples: the file written would not read back: ${checked.error}`);
  const text = JSON.stringify(file, null, 1) + '\n';
  await writeFilesAtomic([{ path: a.out!, data: text }]);
  process.stderr.write(`${a.out}: ${count} people of ${data.dir} (variant ${variant}), ${text.length} bytes\n`);
  let anchors: { out: string; count: number; bytes: number; atlasBytes: number } | null = null;
  if (a.anchors) anchors = await writeAnchors(a.faces!, a.anchors, variant, fit);
  process.stdout.write(JSON.stringify({ out: a.out, faces: data.dir, count, variant, identities: examples.map((e) => e.identity), bytes: text.length, anchors }) + '\n');
}
