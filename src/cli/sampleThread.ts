// A worker thread of the CLI's sampling pool (sampleThreads.ts): its own tfjs-wasm and CPU
// kernel. It starts its backend as soon as it is told which (while the main thread still
// loads), then samples one share of each run it is sent, in chunks, reporting progress a
// row at a time and sending its images back. The model stays loaded between runs.
import { parentPort } from 'node:worker_threads';
import type { PixelCNN } from '../model';
import type { SampleOptions } from '../sampler/types';

export type ToSampleThread =
  /** modelDir: the model the runs will be on, loaded as soon as the backend is up (beside the main thread's own loading) */
  | { type: 'init'; backend: string; modelDir?: string }
  | { type: 'share'; modelDir: string; opts: SampleOptions }
  /** eval --classify: a share of the images [count, H, W, C] (levels), classified by Bayes from the class likelihoods */
  | { type: 'classify'; modelDir: string; levels: Uint8Array; count: number; batch: number };
export type FromSampleThread =
  | { type: 'progress'; done: number }
  | { type: 'done'; images: Uint8Array }
  | { type: 'classified'; predicted: number[] }
  | { type: 'error'; message: string };

const port = parentPort!;

async function boot(backend: string) {
  const [common, weights, chunked, model] = await Promise.all([import('./common'), import('../io/weightsNode'), import('../sampler/chunked'), import('../model')]);
  await common.startBackend(backend as 'wasm');
  return { loadModel: weights.loadModel, sampleChunked: chunked.sampleChunked, disposeParams: model.disposeParams, classify: model.classify };
}

/** The model of `dir`, loaded once and kept for the runs after. */
async function modelOf(lib: Awaited<ReturnType<typeof boot>>, dir: string): Promise<PixelCNN> {
  if (held?.dir !== dir) {
    if (held) lib.disposeParams(held.model.params);
    held = { dir, model: await lib.loadModel(dir) };
  }
  return held.model;
}

let ready: ReturnType<typeof boot> | undefined;
let held: { dir: string; model: PixelCNN } | undefined;
// runs one after another, in the order sent
let queue: Promise<void> = Promise.resolve();

async function share(modelDir: string, opts: SampleOptions): Promise<void> {
  const lib = await ready!;
  const model = await modelOf(lib, modelDir);
  const { width: Wd, channels: C } = model.config;
  let said = -1;
  const images = await lib.sampleChunked(model, opts, (done) => {
    // a row at a time: a message a sub-pixel would cost more than the sub-pixel
    const row = Math.floor(done / (Wd * C));
    if (row === said) return;
    said = row;
    port.postMessage({ type: 'progress', done } satisfies FromSampleThread);
  });
  port.postMessage({ type: 'done', images } satisfies FromSampleThread, [images.buffer as ArrayBuffer]);
}

async function classify(modelDir: string, levels: Uint8Array, count: number, batch: number): Promise<void> {
  const lib = await ready!;
  const { predicted } = await lib.classify(await modelOf(lib, modelDir), levels, count, batch);
  port.postMessage({ type: 'classified', predicted: Array.from(predicted) } satisfies FromSampleThread);
}

port.on('message', (m: ToSampleThread) => {
  if (m.type === 'init') {
    ready = boot(m.backend);
    ready.catch(() => undefined); // reported with the first share
    const dir = m.modelDir;
    if (dir !== undefined) queue = queue.then(async () => void (await modelOf(await ready!, dir))).catch(() => undefined); // a bad folder: the main thread's own load says why
    return;
  }
  queue = queue.then(() =>
    (m.type === 'share' ? share(m.modelDir, m.opts) : classify(m.modelDir, m.levels, m.count, m.batch)).catch((e) => port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromSampleThread)),
  );
});
