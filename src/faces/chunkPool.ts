// The pool of threads that draw build-faces' chunks: each thread (chunkThread.ts) has its
// own tfjs-wasm and face-api and takes the next chunk when its last one is saved.
import { startThread } from '../backend/thread';
import { buildChunk, type Chunk, type ChunkResult } from './chunk';
import type { FromChunkThread, ToChunkThread } from './chunkThread';
import { loadFaceRecognizer } from './faceapiNode';

/** Draws chunks on `workers` threads (0: this thread), calling onDone as each finishes. */
export async function drawChunks(todo: Chunk[], seed: number, variants: number, workers: number, onDone: (r: ChunkResult) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const stop = () => {
    if (signal?.aborted) throw new Error('interrupted (finished chunks are saved; run again to continue)');
  };
  if (todo.length === 0) return;
  if (workers === 0) {
    const api = await loadFaceRecognizer();
    for (const c of todo) {
      stop();
      await onDone(await buildChunk(api, seed, variants, c));
    }
    return;
  }
  const queue = [...todo];
  let failed = false;
  const threads = Array.from({ length: Math.min(workers, todo.length) }, () => startThread(new URL('./chunkThread.ts', import.meta.url)));
  try {
    // Each thread takes the next chunk when its last one is saved; on a stop or another
    // thread's failure it takes none, but the chunk it is drawing is still saved.
    const runs = await Promise.allSettled(
      threads.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const fail = (e: Error) => {
              failed = true;
              reject(e);
            };
            const next = () => {
              const c = signal?.aborted || failed ? undefined : queue.shift();
              if (!c) return resolve();
              w.postMessage({ type: 'chunk', seed, variants, chunk: c } satisfies ToChunkThread);
            };
            w.on('message', (m: FromChunkThread) => {
              if (m.type === 'error') return fail(new Error(m.message));
              onDone(m.result).then(next, fail);
            });
            w.on('error', (e) => fail(new Error(`worker: ${e.message.split('\n')[0]}`)));
            w.on('exit', (code) => (code !== 0 ? fail(new Error(`a worker exited with code ${code}`)) : undefined));
            next();
          }),
      ),
    );
    const bad = runs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
    stop();
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
}
