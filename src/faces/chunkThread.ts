// A thread of build-faces' pool (chunkPool.ts): its own tfjs-wasm instance and face-api,
// drawing the chunks the main thread hands it.
import { parentPort } from 'node:worker_threads';
import { buildChunk, type Chunk, type ChunkResult } from './chunk';
import { loadFaceRecognizer } from './faceapiNode';

export type ToChunkThread = { type: 'chunk'; seed: number; variants: number; chunk: Chunk };
export type FromChunkThread = { type: 'done'; result: ChunkResult } | { type: 'error'; message: string };

const port = parentPort!;
port.on('message', async (m: ToChunkThread) => {
  try {
    const api = await loadFaceRecognizer();
    const result = await buildChunk(api, m.seed, m.variants, m.chunk);
    port.postMessage({ type: 'done', result } satisfies FromChunkThread, [result.images.buffer as ArrayBuffer, result.descriptors.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ type: 'error', message: (e as Error).message.split('\n')[0] } satisfies FromChunkThread);
  }
});
