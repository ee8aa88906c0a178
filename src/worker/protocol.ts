// The typed messages between the page and the sampling worker. The page only sends
// requests; the worker only sends facts back. Every run carries a runId so the page can
// drop messages of a run it has already replaced.
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

/** What a run is conditioned on: nothing, a class, or a vector (an embedding). */
export type WireCondition = { kind: 'none' } | { kind: 'class'; label: number } | { kind: 'vector'; values: number[] };

export interface GenerateRequest {
  type: 'generate';
  runId: number;
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
}

export type ToWorker =
  | {
      type: 'init';
      role: WorkerRole;
      /** backend to try first (the rest follow in BACKEND_ORDER) */
      backend?: BackendName;
      /** model to load; see loadModel */
      model?: string;
      /** the page's newest switch when this worker was started (its 'ready' answers it); 0 when none */
      loadId?: number;
      /** absolute URL of the folder holding tfjs's .wasm files */
      wasmBase: string;
      /** absolute URL of the models folder */
      modelsBase: string;
    }
  | LoadRequest
  | GenerateRequest
  | { type: 'pause'; runId: number }
  | { type: 'resume'; runId: number }
  | { type: 'stop'; runId: number }
  | { type: 'speed'; runId: number; delayMs: number }
  | ScoreRequest;

/**
 * Replaces the worker's model without reloading the page: the run in progress stops, and
 * the old weights are disposed only once the new ones have loaded, so a failed load
 * ('load-error') leaves the old model as it was. Answered by 'ready' with the same loadId.
 */
export interface LoadRequest {
  type: 'load';
  /** increases with every load the page asks for; a load overtaken by a newer one is skipped */
  loadId: number;
  model: string;
}

/**
 * Scores a picture: log p of each of its sub-pixels, under every class of a class model
 * (one batched pass) or under the model's own condition-free distribution otherwise.
 */
export interface ScoreRequest {
  type: 'score';
  reqId: number;
  /** [H * W * C] levels */
  image: Uint8Array;
}

/** Sub-pixels decided since the previous message, in raster order. */
export interface PixelBatch {
  type: 'pixels';
  runId: number;
  /** index (in sub-pixels, per image) of the first decided sub-pixel in this batch */
  start: number;
  /** values[k * count + i]: level of sub-pixel start+k of image i */
  values: Uint8Array;
  /** the distribution the last sub-pixel of the batch was drawn from, [count * levels] */
  probs: Float32Array;
  /** sub-pixels decided so far and in all, per image */
  done: number;
  total: number;
  /** ms since the run started, excluding pauses */
  elapsedMs: number;
}

export type FromWorker =
  | {
      type: 'ready';
      role: WorkerRole;
      backend: BackendReport;
      model?: ModelInfo;
      /** the load this answers (0: the model of 'init') */
      loadId?: number;
      /** live tensors in the worker with the model loaded (flat across switches when nothing leaks) */
      numTensors?: number;
    }
  | { type: 'init-error'; message: string; backend?: BackendReport; role?: WorkerRole }
  | { type: 'load-error'; role: WorkerRole; loadId: number; model: string; message: string; numTensors: number }
  | { type: 'started'; runId: number }
  | PixelBatch
  | { type: 'paused'; runId: number }
  | { type: 'resumed'; runId: number }
  | { type: 'done'; runId: number; elapsedMs: number; numTensors: number }
  | { type: 'stopped'; runId: number; numTensors: number }
  | { type: 'error'; runId: number; message: string; numTensors: number }
  | ScoreResult
  | { type: 'score-error'; reqId: number; message: string };

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
  if (msg.type === 'pixels') return [msg.values.buffer, msg.probs.buffer] as Transferable[];
  if (msg.type === 'score') return [msg.logp.buffer as Transferable];
  return [];
}
