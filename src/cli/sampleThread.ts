// A tfjs thread of the CLI's pool (sampleThreads.ts), for eval --classify: its own
// tfjs-wasm and the model, classifying the share of the images it is sent by Bayes from
// the class likelihoods (forward passes: not the CPU kernel the sampling threads share).
// It starts its backend as soon as it is told which and loads the model. The model stays
// loaded between calls.
import { parentPort } from 'node:worker_threads';
import type { PixelCNN } from '../model';

export type ToSampleThread =
  /** modelDir: the model the runs will be on, loaded as soon as the backend is up (beside the main thread's own loading) */
  | { type: 'init'; backend: string; modelDir?: string }
  /** eval --classify: a share of the images [count, H, W, C] (levels), classified by Bayes from the class likelihoods */
  | { type: 'classify'; modelDir: string; levels: Uint8Array; count: number; batch: number };
export type FromSampleThread =
  | { type: 'classified'; predicted: number[] }
  | { type: 'error'; message: string };

const port = parentPort!;

async function boot(backend: string) {
  const [common, weights, model] = await Promise.all([import('./common'), import('../io/weightsNode'), import('../model')]);
  await common.startBackend(backend as 'wasm');
  return { loadModel: weights.loadModel, disposeParams: model.disposeParams, classify: model.classify };
}

/** The model of `dir`, loaded once and kept for the calls after. */
async function modelOf(lib: Awaited<ReturnType<typeof boot>>, dir: string): Promise<PixelCNN> {
  if (held?.dir !== dir) {
    if (held) lib.disposeParams(held.model.params);
    held = { dir, model: await lib.loadModel(dir) };
  }
  return held.model;
}

let ready: ReturnType<typeof boot> | undefined;
let held: { dir: string; model: PixelCNN } | undefined;
// calls one after another, in the order sent
let queue: Promise<void> = Promise.resolve();

async function classify(modelDir: string, levels: Uint8Array, count: number, batch: number): Promise<void> {
  const lib = await ready!;
  const { predicted } = await lib.classify(await modelOf(lib, modelDir), levels, count, batch);
  port.postMessage({ type: 'classified', predicted: Array.from(predicted) } satisfies FromSampleThread);
}

port.on('message', (m: ToSampleThread) => {
  if (m.type === 'init') {
    ready = boot(m.backend);
    ready.catch(() => undefined); // reported with the first call
    const dir = m.modelDir;
    if (dir !== undefined) queue = queue.then(async () => void (await modelOf(await ready!, dir))).catch(() => undefined); // a bad folder: the main thread's own load says why
    return;
  }
  queue = queue.then(() =>
    classify(m.modelDir, m.levels, m.count, m.batch).catch((e) => port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromSampleThread)),
  );
});
