// The typed messages between the page and the sampling worker. The page only sends
// requests, each with its own reqId; the worker answers each exactly once with that reqId,
// so the page's client (src/app/samplerClient.ts) can drop answers it no longer wants.
import type { ModelConfig } from '../model/config';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/**
 * What a worker of sampler.worker.ts does: 'sampler' streams pixels on the fastest
 * backend; 'scorer' scores drawings on a CPU backend, so it never waits for, nor slows, a
 * generation on the GPU (and a software WebGPU adapter, such as SwiftShader, runs one
 * batched forward pass far slower than wasm does). Receptive fields have their own worker
 * (receptive.worker.ts, receptiveProtocol.ts).
 */
export type WorkerRole = 'sampler' | 'scorer';
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface BackendReport {
  /** the backend tfjs runs on */
  name: BackendName;
  /** backends tried before it, each with the reason it was not used */
  skipped: { name: BackendName; reason: string }[];
  /** what the backend runs on, when known (the WebGPU adapter) */
  device?: string;
  /** true when WebGPU runs on a software (fallback) adapter such as SwiftShader */
  software?: boolean;
  /** wasm / cpu: the sampler's sampling threads (samplingThreads.ts; the scorer's: the threads its tfjs runs, 1 without cross-origin isolation), and how they run or why only one */
  threads?: number;
  threadsNote?: string;
}

export interface ModelInfo {
  /** what was asked for: a name under /models/, a path, or a 'random…' preset */
  source: string;
  /** true when the weights are random (no trained model was found or one was asked for) */
  random: boolean;
  /** one sentence the page shows next to the model name */
  note: string;
  config: ModelConfig;
  paramCount: number;
  /** model.json metadata.recommendedGuidance: the guidance the app starts with (0 when absent) */
  recommendedGuidance: number;
  /** model.json metadata.recommendedTemperature: the temperature the app starts with (1 when absent) */
  recommendedTemperature: number;
  /** the model card's likelihood figures, bits/dim, when model.json's metadata has them */
  testBitsPerDim?: number;
  valBitsPerDim?: number;
}

/**
 * What a run is conditioned on: nothing, a class, a vector (an embedding) for every image,
 * or one vector per image (`values[i]` for image i: an auto-encoder's morph strip).
 */
export type WireCondition =
  | { kind: 'none' }
  | { kind: 'class'; label: number }
  | { kind: 'vector'; values: number[] }
  | { kind: 'vectors'; values: number[][] };

export interface GenerateRequest {
  type: 'generate';
  reqId: number;
  /** the load (its reqId) that brought the model this run is for: a run for any other model never starts */
  modelId: number;
  /** one condition for every image; a class is ignored by unconditional models */
  condition: WireCondition;
  /** classifier-free guidance g >= 0 (0: plain conditional sampling) */
  guidance: number;
  /**
   * sub-pixels given, not drawn (completing a drawing): values [H * W * C] levels shared by
   * every image, of which the first `length` in raster order are kept
   */
  prefix?: { values: Uint8Array; length: number };
  count: number;
  seed: number;
  temperature: number;
  /** pause after each sub-pixel, ms; 0 runs as fast as the backend allows */
  delayMs: number;
  /** the image whose full distributions the pixel batches carry (default 0; a 'watch' message changes it) */
  watch?: number;
}

/**
 * Starts the worker: picks its backend and nothing else (models come by 'load'). Answered by
 * 'backend', or by 'init-error' when no backend works: then every load fails with that reason.
 */
export interface InitRequest {
  type: 'init';
  role: WorkerRole;
  /** backend to try first (the rest follow in BACKEND_ORDER) */
  backend?: BackendName;
  /** absolute URL of the folder holding tfjs's .wasm files */
  wasmBase: string;
  /** wasm threads: 1 keeps the single-thread binary; undefined, one a core where the page is isolated */
  threads?: number;
  /** absolute URL of the models folder */
  modelsBase: string;
}

/**
 * Loads a model in place of the one held: the run in progress stops, and the old weights
 * are disposed only once the new ones have loaded, so a failed load ('failed') leaves the
 * old model as it was. Answered by 'loaded'; a load overtaken by a newer one before it
 * finished is answered 'failed' with `replaced`.
 */
export interface LoadRequest {
  type: 'load';
  reqId: number;
  model: string;
  /** a model given as files (`model` is then catalog.ts's filesSpec): read from these, never fetched */
  files?: ModelFiles;
}

/**
 * A model folder the visitor gave the page, as the trainers write it: model.json, its
 * shards, and examples.json / anchors.json when present. File name (no folder) -> bytes.
 */
export type ModelFiles = Record<string, ArrayBuffer>;

/**
 * Scores a picture: log p of each of its sub-pixels, under every class of a class model
 * (one batched pass) or under the model's own condition-free distribution otherwise.
 */
export interface ScoreRequest {
  type: 'score';
  reqId: number;
  /** the load (its reqId) of the model the picture was drawn for: any other model refuses it */
  modelId: number;
  /** [H * W * C] levels */
  image: Uint8Array;
}

/** The code of a picture under an auto-encoder model's encoder (src/worker/encode.ts). */
export interface EncodeRequest {
  type: 'encode';
  reqId: number;
  /** the load (its reqId) of the model the picture was made for: any other model refuses it */
  modelId: number;
  /** [H * W * C] levels */
  image: Uint8Array;
}

export interface EncodeResult {
  type: 'encoded';
  reqId: number;
  /** [code] floats in (-1, 1) */
  code: Float32Array;
  ms: number;
  numTensors: number;
}

/** Every request the page makes, each with its own reqId (one counter per worker). */
export type Request = LoadRequest | GenerateRequest | ScoreRequest | EncodeRequest;

export type ToWorker =
  | InitRequest
  | Request
  /** the page no longer wants this request: a run stops, a waiting load or score is skipped */
  | { type: 'cancel'; reqId: number }
  | { type: 'pause'; reqId: number }
  | { type: 'resume'; reqId: number }
  | { type: 'speed'; reqId: number; delayMs: number }
  /** the run's batches carry image `image`'s full distributions from now on */
  | { type: 'watch'; reqId: number; image: number };

/**
 * Sub-pixels decided since the previous message, in raster order. Of every sub-pixel the
 * page gets each image's entropy and three likeliest levels (the entropy map and its hover
 * work for whichever image is selected), and the whole distribution of the watched image
 * only (the current-pixel chart).
 */
export interface PixelBatch {
  type: 'pixels';
  reqId: number;
  /** index (in sub-pixels, per image) of the first decided sub-pixel in this batch */
  start: number;
  /** values[k * count + i]: level of sub-pixel start+k of image i */
  values: Uint8Array;
  /** entropy[k * count + i]: bits of the distribution sub-pixel start+k of image i was drawn from */
  entropy: Float32Array;
  /** top[(k * count + i) * 3 + j]: its j-th likeliest level (likeliest first); topP the probabilities */
  top: Uint16Array;
  topP: Float32Array;
  /** the image whose distribution `probs` holds */
  watch: number;
  /** probs[v]: probability of level v for the batch's last sub-pixel of image `watch`, the one the chart shows (a batch's every distribution was 1 KB a sub-pixel the page dropped) */
  probs: Float32Array;
  /** sub-pixels decided so far and in all, per image */
  done: number;
  total: number;
  /** ms since the run started, excluding pauses */
  elapsedMs: number;
}

/**
 * A fused WebGPU run's traffic (issue 32: at most 2 readbacks an image row), on 'done' and
 * 'stopped': readbacks and submits are every GPUBuffer.mapAsync and GPUQueue.submit the sampling
 * worker made during the run (counted by wrapping them, not by the sampler); launches and
 * compileMs are the fused sampler's own (its kernel dispatches, its first-run compiling).
 */
export interface GpuRunStats {
  readbacks: number;
  submits: number;
  launches: number;
  compileMs: number;
}

/**
 * What the worker says. Each request gets exactly one final answer ('loaded', 'done',
 * 'stopped', 'score', 'encoded' or 'failed', all carrying its reqId); a run also reports progress
 * ('started', 'pixels', 'paused', 'resumed') on the way. 'backend' and 'init-error'
 * answer 'init'.
 */
export type FromWorker =
  | { type: 'backend'; backend: BackendReport }
  | { type: 'init-error'; message: string; backend?: BackendReport }
  | { type: 'loaded'; reqId: number; model: ModelInfo; numTensors: number }
  | { type: 'started'; reqId: number }
  /** the run waits for its GPU kernels to compile (the first run of a model shape on WebGPU) */
  | { type: 'compiling'; reqId: number }
  /** the GPU failed (device lost, a kernel error, missing limits): one line; the run then ends 'stopped' with what it drew, and the worker is on wasm ('backend' follows) */
  | { type: 'fault'; reqId: number; message: string }
  | PixelBatch
  | { type: 'paused'; reqId: number }
  | { type: 'resumed'; reqId: number }
  /**
   * `last`: the run's last pixels, on its answer rather than in a batch of their own: with two
   * messages Chromium drew a frame between them (~10 ms on a 2x2 run's end) before the page heard 'done'
   */
  | { type: 'done'; reqId: number; elapsedMs: number; numTensors: number; gpu?: GpuRunStats; last?: PixelBatch }
  | { type: 'stopped'; reqId: number; numTensors: number; gpu?: GpuRunStats }
  | ScoreResult
  | EncodeResult
  /** one line; `replaced`: a newer request of the same kind took its place before it ran */
  | { type: 'failed'; reqId: number; message: string; numTensors: number; replaced?: boolean };

/** The final answers, one per request. */
export type Answer = Extract<FromWorker, { type: 'loaded' | 'done' | 'stopped' | 'score' | 'encoded' | 'failed' }>;
/** What a run reports before its final answer. */
export type Progress = Extract<FromWorker, { type: 'started' | 'compiling' | 'fault' | 'pixels' | 'paused' | 'resumed' }>;

export interface ScoreResult {
  type: 'score';
  reqId: number;
  /** rows of the answer: the model's classes, or 1 for a model without classes */
  classes: number;
  /** log p (nats) of each sub-pixel, [classes * H * W * C]: row k is class k */
  logp: Float32Array;
  ms: number;
  /** live tensors in the worker afterwards */
  numTensors: number;
}

/** Posts a message with its large buffers transferred instead of copied. */
export function transferablesOf(msg: FromWorker): Transferable[] {
  if (msg.type === 'pixels') return [msg.values.buffer, msg.entropy.buffer, msg.top.buffer, msg.topP.buffer, msg.probs.buffer] as Transferable[];
  if (msg.type === 'done' && msg.last) return transferablesOf(msg.last);
  if (msg.type === 'score') return [msg.logp.buffer as Transferable];
  return [];
}
