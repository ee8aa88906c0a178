// npm run encode -- --model DIR --png DIGIT.png[,MORE.png] | --npy FILE [--out codes.npy]
// An auto-encoder's codes (issue 23): one JSON array per image on stdout, or float32 [N, d]
// in an .npy with a one-line JSON summary. PNG pictures are framed as the app frames them.
import { encodeNpy } from '../io/npy';
import { checkWritable, writeFilesAtomic } from '../io/atomicWrite';
import { parseArgs, usage, UsageError, type FlagSpec } from './args';
import { backendFlag, extOf, startBackend } from './common';
import { Progress } from './progress';

const spec = {
  model: { type: 'string', required: true, help: 'an auto-encoder model folder (config.encoder), e.g. models/mnist-ae' },
  png: { type: 'string', help: 'picture(s) to encode, comma-separated; any size for a grey square model (framed as MNIST), else exactly its size' },
  npy: { type: 'string', help: 'uint8 images [N,H,W] or [N,H,W,C] to encode' },
  out: { type: 'string', help: 'write the codes as float32 [N, d] to this .npy instead of printing them' },
  batch: { type: 'int', min: 1, max: 4096, help: 'images per encoder pass (default 256)' },
  backend: backendFlag,
} satisfies FlagSpec;

export async function runEncode(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('encode', '--model DIR (--png DIGIT.png | --npy FILE) [--out codes.npy]', spec) + '\n');
    return;
  }
  if ((a.png === undefined) === (a.npy === undefined)) throw new UsageError('give --png DIGIT.png or --npy FILE (one of them)');
  if (a.npy !== undefined && extOf(a.npy) !== '.npy') throw new UsageError(`--npy: ${a.npy} should end in .npy`);
  if (a.out !== undefined) {
    if (extOf(a.out) !== '.npy') throw new UsageError(`--out: ${a.out} should end in .npy`);
    await checkWritable(a.out);
  }
  const files = a.png !== undefined ? a.png.split(',').map((s) => s.trim()).filter((s) => s) : [a.npy!];
  if (files.length === 0) throw new UsageError('--png: expected a file');
  const bad = a.png !== undefined ? files.find((f) => extOf(f) !== '.png') : undefined;
  if (bad) throw new UsageError(`--png: ${bad} should end in .png`);

  const backend = await startBackend(a.backend ?? 'wasm');
  const [{ loadModel }, { disposeParams }, { codesOf, readSources, requireEncoder }] = await Promise.all([
    import('../io/weightsNode'),
    import('../model'),
    import('./variations'),
  ]);
  const model = await loadModel(a.model!);
  try {
    requireEncoder(model.config, a.model!, '--model');
    const sources = await readSources(files, model.config);
    const batch = a.batch ?? 256;
    const size = model.config.height * model.config.width * model.config.channels;
    const progress = new Progress(`encoding ${sources.count} image(s) (${backend})`, sources.count);
    const codes: Float32Array[] = [];
    for (let i = 0; i < sources.count; i += batch) {
      const n = Math.min(batch, sources.count - i);
      const part = { pixels: sources.pixels.subarray(i * size, (i + n) * size), count: n, files: sources.files.slice(i, i + n) };
      codes.push(...(await codesOf(model, part)));
      progress.update(i + n);
    }
    progress.finish();
    const d = model.config.encoder!.code;
    if (a.out !== undefined) {
      const flat = new Float32Array(codes.length * d);
      codes.forEach((c, i) => flat.set(c, i * d));
      await writeFilesAtomic([{ path: a.out, data: encodeNpy(flat, [codes.length, d]) }]);
      process.stdout.write(JSON.stringify({ images: codes.length, code: d, out: a.out, backend }) + '\n');
    } else {
      for (const c of codes) process.stdout.write(JSON.stringify(Array.from(c)) + '\n');
    }
  } finally {
    disposeParams(model.params);
  }
}
