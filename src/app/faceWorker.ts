// The face panel's bridge to the face-api worker (src/worker/faceapi.worker.ts): spawned
// the first time a photo or a portrait needs face-api (not at page load, so neither its
// code nor its 12 MB of weights cost anything until then), one promise per job.
import type { BackendReport } from '../worker/protocol';
import type { FromFaceWorker, PhotoFace, ToFaceWorker } from '../worker/faceapiProtocol';
import { readUrl } from './url';

export interface FaceWorkerEvents {
  /** bytes of face-api's weights fetched so far, of total; done once loaded */
  weights(loaded: number, total: number, done: boolean): void;
  ready(backend: BackendReport): void;
}

/** A job that failed: one line for the page, and the worker's tensor count afterwards. */
export class FaceJobError extends Error {
  constructor(
    message: string,
    readonly numTensors: number | null,
  ) {
    super(message);
  }
}

type Answer = Extract<FromFaceWorker, { reqId: number }>;

let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, { resolve(a: Answer): void; reject(e: FaceJobError): void }>();
let events: FaceWorkerEvents = { weights: () => undefined, ready: () => undefined };

export function onFaceWorker(e: FaceWorkerEvents): void {
  events = e;
}

function failAll(message: string): void {
  for (const p of pending.values()) p.reject(new FaceJobError(message, null));
  pending.clear();
}

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('../worker/faceapi.worker.ts', import.meta.url), { type: 'module', name: 'face-api' });
  w.onmessage = (ev: MessageEvent<FromFaceWorker>) => {
    const msg = ev.data;
    switch (msg.type) {
      case 'ready':
        events.ready(msg.backend);
        return;
      case 'init-error':
        return; // every job waiting on it answers with this error itself
      case 'weights':
        events.weights(msg.loaded, msg.total, msg.done);
        return;
      default: {
        const p = pending.get(msg.reqId);
        pending.delete(msg.reqId);
        if (!p) return;
        if (msg.type === 'job-error') p.reject(new FaceJobError(msg.message, msg.numTensors));
        else p.resolve(msg);
      }
    }
  };
  w.onerror = (ev) => {
    failAll(`face-api worker failed: ${ev.message || 'script error'}`);
    w.terminate();
    worker = null;
  };
  const base = new URL(import.meta.env.BASE_URL, location.href);
  const { threads } = readUrl(location.search).page;
  w.postMessage({ type: 'init', wasmBase: new URL('tfjs-wasm/', base).href, threads, weightsBase: new URL('face-api/', base).href } satisfies ToFaceWorker);
  worker = w;
  return w;
}

type Job = { type: 'photo'; file: Blob; name: string } | { type: 'describe'; images: Uint8Array; count: number; size: number };

function ask(job: Job): Promise<Answer> {
  const w = ensureWorker();
  const reqId = ++nextId;
  return new Promise<Answer>((resolve, reject) => {
    pending.set(reqId, { resolve, reject });
    w.postMessage({ ...job, reqId } satisfies ToFaceWorker);
  });
}

/** The largest face in a photo, cropped as the data set frames faces, with its descriptor. */
export async function detectPhoto(file: Blob, name: string): Promise<{ face: PhotoFace; ms: number; numTensors: number }> {
  const a = await ask({ type: 'photo', file, name });
  if (a.type !== 'photo') throw new FaceJobError('face-api worker: unexpected answer', null);
  return a;
}

/** Descriptors of `count` RGB images [count, size, size, 3]. */
export async function describeImages(images: Uint8Array, count: number, size: number): Promise<{ descriptors: Float32Array; ms: number; numTensors: number }> {
  const a = await ask({ type: 'describe', images, count, size });
  if (a.type !== 'descriptors') throw new FaceJobError('face-api worker: unexpected answer', null);
  return a;
}
