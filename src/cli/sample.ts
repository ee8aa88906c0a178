// npm run sample -- --model DIR [--class C | --embedding FILE] --count N --seed S
//   --temperature T --guidance G --mode cpu|cached|naive --png OUT.png --npy OUT.npy
// An auto-encoder also takes --from-png A.png,... / --from-npy FILE (variations) or
// --morph A.png,B.png --steps S (variations.ts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeNpy } from '../io/npy';
import { encodePng, imageGrid, levelsToPixels } from '../io/png';
import { checkWritable, writeFilesAtomic, type OutputFile } from '../io/atomicWrite';
import { parseArgs, usage, UsageError, type Args, type FlagSpec } from './args';
import type { SampleThreads } from './sampleThreads';
import { conditionFromFlags, extOf, samplerBackendFlag, startBackend } from './common';
import { Progress } from './progress';
import { autoencoderFlags, autoencoderPlan, checkAutoencoderFlags } from './variations';

const spec = {
  model: { type: 'string', required: true, help: 'model folder (model.json + shards)' },
  class: { type: 'int', min: 0, help: 'class label for every image (class-conditional models)' },
  embedding: { type: 'string', help: ".npy or .json file: one vector [D] for all images, or [N, D]; fitted onto the model's anchors.json first when it has one, as the app does" },
  'no-fit': { type: 'bool', help: "draw from --embedding as it is, not fitted onto the model's anchors.json" },
  count: { type: 'int', min: 1, max: 4096, help: 'images to sample (default 16)' },
  seed: { type: 'int', min: 0, help: 'random seed (default 0)' },
  temperature: { type: 'number', positive: true, help: "softmax temperature (default: model.json's metadata.recommendedTemperature, else 1)" },
  guidance: { type: 'number', min: 0, help: "classifier-free guidance g >= 0 (default: model.json's metadata.recommendedGuidance, else 0)" },
  mode: { type: 'enum', values: ['cpu', 'cached', 'naive'] as const, help: 'sampler (default: cpu, the WebAssembly kernel, on wasm / cpu; cached elsewhere)' },
  png: { type: 'string', help: 'write a grid of the samples to this PNG' },
  npy: { type: 'string', help: 'write the samples (levels 0..K-1) as uint8 [N,H,W,C] to this .npy' },
  scale: { type: 'int', min: 1, max: 32, help: 'PNG pixels per image pixel (default 4)' },
  backend: samplerBackendFlag,
  threads: { type: 'int', min: 1, max: 256, help: "threads that sample, each taking the images' rows as it is free (default: the machine's cores, fewer for a small run); any count gives the same bytes" },
  ...autoencoderFlags,
} satisfies FlagSpec;

/**
 * The sampling settings a model's makers recommend, from model.json's metadata:
 * recommendedGuidance (0 when absent) and recommendedTemperature (1 when absent). Read after
 * loadModel, so the file exists and is valid JSON.
 */
export async function recommendedSampling(dir: string): Promise<{ guidance: number; temperature: number }> {
  const file = path.join(dir, 'model.json');
  const meta = (JSON.parse(await readFile(file, 'utf8')) as { metadata?: Record<string, unknown> }).metadata ?? {};
  const pick = (key: string, fallback: number, ok: (v: number) => boolean, rule: string): number => {
    const v = meta[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`${file}: metadata.${key}: expected a number ${rule}, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    guidance: pick('recommendedGuidance', 0, (v) => v >= 0, '>= 0'),
    temperature: pick('recommendedTemperature', 1, (v) => v > 0, '> 0'),
  };
}

/** The app's path for an embedding (faces/fitCondition.ts): each distinct row fitted onto the model's anchors, with a line saying what was done. */
async function fitEmbeddings(modelDir: string, rows: Float32Array[]): Promise<Float32Array[]> {
  const { modelAnchors } = await import('../faces/anchorsNode');
  const { fitCondition } = await import('../faces/fitCondition');
  const anchors = await modelAnchors(modelDir, rows[0].length);
  if (!anchors) return rows;
  const fitted = new Map<Float32Array, Float32Array>();
  return rows.map((r) => {
    let f = fitted.get(r);
    if (!f) {
      const c = fitCondition(anchors, r);
      process.stderr.write(`embedding${rows.length > 1 && new Set(rows).size > 1 ? ` ${fitted.size}` : ''}: ${c.summary}\n`);
      fitted.set(r, (f = c.vector));
    }
    return f;
  });
}

export async function runSample(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('sample', '--model DIR [--class C | --embedding FILE | --from-png A.png | --from-npy X.npy | --morph A.png,B.png] [--count N] [--guidance G] [--png OUT.png] [--npy OUT.npy]', spec) + '\n');
    return;
  }
  if (!a.png && !a.npy) throw new UsageError('give --png OUT.png and/or --npy OUT.npy');
  if (a.png && extOf(a.png) !== '.png') throw new UsageError(`--png: ${a.png} should end in .png`);
  if (a.npy && extOf(a.npy) !== '.npy') throw new UsageError(`--npy: ${a.npy} should end in .npy`);
  // fail before the (long) sampling, not after
  for (const f of [a.png, a.npy]) if (f) await checkWritable(f);
  checkAutoencoderFlags(a);

  // the sampling threads boot first, beside this thread's own loading (an auto-encoder's count is known only once its sources are read: one a core)
  const { SampleThreads, threadsFor, cores } = await import('./sampleThreads');
  const ae = a['from-png'] ?? a['from-npy'] ?? a.morph;
  if (a.backend === 'webgpu' && a.threads !== undefined && a.threads > 1) throw new UsageError('--threads: the webgpu backend samples on one thread (the GPU runs the batch)');
  const pool = SampleThreads.start(a.backend === 'webgpu' ? 1 : ae === undefined ? threadsFor(a.count ?? 16, a.threads) : (a.threads ?? cores()), a.backend ?? 'wasm', a.model);
  try {
    await sampleWith(a, pool);
  } finally {
    await pool.close();
  }
}

async function sampleWith(a: Args<typeof spec>, pool: SampleThreads): Promise<void> {
  const backend = await startBackend(a.backend ?? 'wasm');
  const [{ loadModel }, { bestMode }, { disposeParams }] = await Promise.all([
    import('../io/weightsNode'),
    import('../sampler'),
    import('../model'),
  ]);
  const model = await loadModel(a.model!);
  const mode = a.mode ?? bestMode(model);
  try {
    const { height: H, width: W, channels: C } = model.config;
    if (a.guidance !== undefined && a.guidance > 0 && model.config.conditioning.type === 'none') {
      throw new UsageError('--guidance: this model is unconditional, there is no condition to guide towards');
    }
    const recommended = await recommendedSampling(a.model!);
    const guidance = a.guidance ?? recommended.guidance;
    const temperature = a.temperature ?? recommended.temperature;
    const ae = await autoencoderPlan(model, a.model!, a);
    const count = ae?.count ?? a.count ?? 16;
    const { condition, note } = ae ?? (await conditionFromFlags(model.config, count, { class: a.class, embedding: a.embedding }));
    if (note) process.stderr.write(`note: ${note}\n`);
    if (!ae && condition && 'embeddings' in condition && condition.embeddings && !a['no-fit']) condition.embeddings = await fitEmbeddings(a.model!, condition.embeddings);
    const threads = Math.min(pool.threads, count);
    const progress = new Progress(`sampling ${count} x ${H}x${W}x${C} (${mode}, guidance ${guidance}, temperature ${temperature}, ${backend}, ${threads} thread${threads > 1 ? 's' : ''})`, H * W * C);
    const t0 = performance.now();
    const run = await pool.run(model, { count, seed: a.seed ?? 0, temperature, mode, condition, guidance }, (done) => progress.update(Math.floor(done)));
    const images = run.images;
    progress.finish();
    const seconds = (performance.now() - t0) / 1000;
    if (images.length !== count * H * W * C) {
      throw new Error(`sampler returned ${images.length} values, expected ${count * H * W * C}`);
    }

    const files: OutputFile[] = [];
    if (a.png) {
      const g = ae ? ae.grid(images, a.scale ?? 4) : imageGrid(levelsToPixels(images, model.config.levels), count, H, W, C, { scale: a.scale ?? 4, pad: 2 });
      files.push({ path: a.png, data: encodePng(g.data, g.width, g.height, g.channels) });
    }
    if (a.npy) files.push({ path: a.npy, data: encodeNpy(images, [count, H, W, C]) });
    await writeFilesAtomic(files);
    const summary = { count, height: H, width: W, channels: C, mode, guidance, temperature, backend, threads: run.threads, seconds, png: a.png ?? null, npy: a.npy ?? null, ...ae?.summary };
    process.stdout.write(JSON.stringify(summary) + '\n');
  } finally {
    disposeParams(model.params);
  }
}
