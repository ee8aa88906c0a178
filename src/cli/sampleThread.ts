// A worker thread of the CLI's sampling pool (sampleThreads.ts): its own tfjs-wasm and CPU
// kernel, one share of a run's images, sampled in chunks; it reports progress a row at a
// time and sends its images back.
import { parentPort } from 'node:worker_threads';
import type { SampleOptions } from '../sampler/types';

export type ToSampleThread = { type: 'share'; modelDir: string; backend: string; opts: SampleOptions };
export type FromSampleThread =
  | { type: 'progress'; done: number }
  | { type: 'done'; images: Uint8Array }
  | { type: 'error'; message: string };

const port = parentPort!;
port.once('message', async (m: ToSampleThread) => {
  try {
    const [{ startBackend }, { loadModel }, { sampleChunked }, { disposeParams }] = await Promise.all([
      import('./common'),
      import('../io/weightsNode'),
      import('../sampler/chunked'),
      import('../model'),
    ]);
    await startBackend(m.backend as 'wasm');
    const model = await loadModel(m.modelDir);
    try {
      const { width: Wd, channels: C } = model.config;
      let said = -1;
      const images = await sampleChunked(model, m.opts, (done) => {
        // a row at a time: a message a sub-pixel would cost more than the sub-pixel
        const row = Math.floor(done / (Wd * C));
        if (row === said) return;
        said = row;
        port.postMessage({ type: 'progress', done } satisfies FromSampleThread);
      });
      port.postMessage({ type: 'done', images } satisfies FromSampleThread, [images.buffer as ArrayBuffer]);
    } finally {
      disposeParams(model.params);
    }
  } catch (e) {
    port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromSampleThread);
  }
});
