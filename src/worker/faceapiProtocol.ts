// The typed messages between the face panel and the face-api worker, which runs
// @vladmandic/face-api (esm-nobundle build, on this worker's own tfjs, wasm backend) for
// two jobs: a photo -> the face it finds, cropped as the data set frames its cartoons, and
// that crop's descriptor; and portraits -> their descriptors. Its weights are fetched from
// the app's own /face-api/ folder the first time a job needs them. Every answer carries
// the worker's live tensor count (flat when nothing leaks).
import type { BackendReport } from './protocol';

/** The crop's side as the model sees it (the data set's image size) and as the page shows it. */
export const CROP_SIZE = 32;
export const PREVIEW_SIZE = 128;

export type ToFaceWorker =
  | {
      type: 'init';
      /** absolute URL of the folder holding tfjs's .wasm files */
      wasmBase: string;
      /** wasm threads: 1 keeps the single-thread binary; undefined, one a core where the page is isolated */
      threads?: number;
      /** absolute URL of the folder holding face-api's weights (and index.json with their sizes) */
      weightsBase: string;
    }
  | {
      type: 'photo';
      reqId: number;
      /** the file as the user gave it; decoded in the worker (createImageBitmap) */
      file: Blob;
      name: string;
    }
  | {
      type: 'describe';
      reqId: number;
      /** uint8 RGB [count, size, size, 3] */
      images: Uint8Array;
      count: number;
      size: number;
    };

export interface PhotoFace {
  /** the crop the model is conditioned on, uint8 RGB [CROP_SIZE, CROP_SIZE, 3] */
  crop: Uint8Array;
  /** the same crop larger, for the page, uint8 RGB [PREVIEW_SIZE, PREVIEW_SIZE, 3] */
  preview: Uint8Array;
  /** the crop's face descriptor, [128] */
  descriptor: Float32Array;
  /** faces the detector found; the largest is used */
  faces: number;
  /** the detector's box around the face used, in the photo's pixels */
  box: { x: number; y: number; width: number; height: number };
  /** the detector's confidence in the face used, 0..1 */
  score: number;
  /** the photo's size in pixels */
  width: number;
  height: number;
}

export type FromFaceWorker =
  | { type: 'ready'; backend: BackendReport }
  | { type: 'init-error'; message: string }
  /** bytes of face-api's weights fetched so far, of `total`; `done` once every net a job needs is loaded */
  | { type: 'weights'; loaded: number; total: number; done: boolean }
  | { type: 'photo'; reqId: number; face: PhotoFace; ms: number; numTensors: number }
  | { type: 'descriptors'; reqId: number; descriptors: Float32Array; count: number; ms: number; numTensors: number }
  /** one line: an image the browser cannot decode, no face, weights that would not load */
  | { type: 'job-error'; reqId: number; message: string; numTensors: number };
