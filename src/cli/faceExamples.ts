// npm run face-examples -- --faces data/faces --out models/faces/examples.json [--count 8]
//   [--split test|val|train] [--variant V]
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
import { downloadConditionJson } from '../app/embeddingFile';
import { encodePng } from '../io/png';
import { checkWritable, writeFilesAtomic } from '../io/atomicWrite';
import { parseArgs, usage, UsageError, type FlagSpec } from './args';
import { extOf } from './common';
import { facesFolder } from './evalFaces';

const spec = {
  faces: { type: 'string', required: true, help: 'a build-faces folder (its --split is used) or one of its split folders' },
  out: { type: 'string', required: true, help: 'the examples file to write, e.g. models/faces/examples.json' },
  count: { type: 'int', min: 1, max: 64, help: 'people to include: the first N of the split (default 8)' },
  split: { type: 'enum', values: ['test', 'val', 'train'] as const, help: 'which people of a build-faces folder (default test)' },
  variant: { type: 'int', min: 0, help: "which of each person's variants (default 0)" },
} satisfies FlagSpec;

export async function runFaceExamples(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('face-examples', '--faces DIR --out FILE.json [--count 8] [--split test] [--variant 0]', spec) + '\n');
    return;
  }
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
    return { identity, variant, png: pngDataUrl(png), descriptor: JSON.parse(downloadConditionJson(d)) as number[] };
  });
  const file = { format: EXAMPLES_FORMAT, size, dim: DESCRIPTOR_DIM, source: { faces: path.relative(process.cwd(), data.dir) || '.', seed: data.meta.seed }, examples };
  const checked = parseFaceExamples(file, size, DESCRIPTOR_DIM);
  if (!checked.ok) throw new Error(`face-examples: the file written would not read back: ${checked.error}`);
  const text = JSON.stringify(file, null, 1) + '\n';
  await writeFilesAtomic([{ path: a.out!, data: text }]);
  process.stderr.write(`${a.out}: ${count} people of ${data.dir} (variant ${variant}), ${text.length} bytes\n`);
  process.stdout.write(JSON.stringify({ out: a.out, faces: data.dir, count, variant, identities: examples.map((e) => e.identity), bytes: text.length }) + '\n');
}
