// Messages between the training loop (main thread) and its gradient threads (gradientThread.ts).
import type { ModelConfig } from '../model';

export type WorkerBackend = 'wasm' | 'cpu';

export type ToGradientThread =
  | { type: 'init'; config: ModelConfig; backend: WorkerBackend; params: SharedArrayBuffer; grad: SharedArrayBuffer }
  /** gradient of (summed nats of these images) * scale, written into the worker's grad buffer */
  | { type: 'grad'; id: number; images: Uint8Array; labels: Uint8Array; scale: number }
  /** summed nats per image, no gradient */
  | { type: 'eval'; id: number; images: Uint8Array; labels: Uint8Array }
  /** GFLOP/s of plain tf.conv2d forwards of the given shapes on this worker's backend */
  | { type: 'convBench'; id: number; shapes: ConvShape[]; seconds: number };

export interface ConvShape {
  batch: number;
  height: number;
  width: number;
  kh: number;
  kw: number;
  cin: number;
  cout: number;
}

export type FromGradientThread =
  | { type: 'ready'; backend: string }
  | { type: 'grad'; id: number; nats: number; ms: number; numTensors: number }
  | { type: 'eval'; id: number; nats: Float64Array; ms: number }
  | { type: 'convBench'; id: number; gflops: number }
  | { type: 'error'; id?: number; message: string };
