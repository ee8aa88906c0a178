// The typed messages between the page and the receptive-field worker, which measures
// which input pixels reach one output pixel (receptiveField from src/model). It holds no
// model of its own: each request carries the architecture to measure.
import type { ModelConfig } from '../model/config';
import type { BackendName, BackendReport } from './protocol';

export type ToReceptive =
  | {
      type: 'init';
      /** 'cpu' to skip wasm; any other backend is not used (receptiveField reads its result synchronously) */
      backend?: BackendName;
      /** absolute URL of the folder holding tfjs's .wasm files */
      wasmBase: string;
      /** wasm threads: 1 keeps the single-thread binary; undefined, one a core where the page is isolated */
      threads?: number;
    }
  | ReceptiveRequest;

export interface ReceptiveRequest {
  type: 'receptive';
  reqId: number;
  config: ModelConfig;
  row: number;
  col: number;
}

export type FromReceptive =
  | { type: 'receptive-ready'; backend: BackendReport }
  | { type: 'receptive-init-error'; message: string }
  | {
      type: 'receptive';
      reqId: number;
      /** [H * W] influence of each input pixel on the logits at (row, col) */
      field: Float32Array;
      row: number;
      col: number;
      ms: number;
      /** live tensors in this worker afterwards (flat when nothing leaks) */
      numTensors: number;
    }
  | { type: 'receptive-error'; reqId: number; message: string };
