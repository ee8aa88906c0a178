/// <reference lib="webworker" />
// face-api off the page's main thread: the face panel's photo path (detect the face, crop
// it as the data set frames its cartoons, take the crop's descriptor) and the portraits'
// descriptors. @vladmandic/face-api's esm-nobundle build runs on this worker's tfjs
// (@tensorflow/tfjs, the same package the sampler uses), on the wasm backend: face-api's
// nets have been reported to return nothing on WebGPU, and wasm is what build-faces used
// for the data set's descriptors. Canvas work uses OffscreenCanvas: face-api's environment
// is set to it (it has no worker environment of its own), and pictures are decoded here
// with createImageBitmap, so the page never decodes or runs a net.
import * as tf from '@tensorflow/tfjs';
import * as faceapi from '@vladmandic/face-api/dist/face-api.esm-nobundle.js';
import { faceDescriptors, rgbaToRgb, type FaceRecognizer } from '../faces/descriptor';
import { CROP_BACKGROUND, cropSquare, detectorScale, largestFace, visiblePart } from '../faces/crop';
import { selectBackend } from './backend';
import { CROP_SIZE, PREVIEW_SIZE, type FromFaceWorker, type PhotoFace, type ToFaceWorker } from './faceapiProtocol';

declare const self: DedicatedWorkerGlobalScope;

/** the detector's input is 512x512: larger photos are scaled down before it sees them */
const DETECT_MAX = 640;
const MIN_CONFIDENCE = 0.5;
/** larger files are refused unread */
const MAX_PHOTO_BYTES = 32 * 1024 * 1024;

type NetName = 'ssd_mobilenetv1_model' | 'face_recognition_model';
interface Loadable {
  isLoaded: boolean;
  loadFromWeightMap(map: tf.NamedTensorMap): void;
}
const nets: Record<NetName, Loadable> = {
  ssd_mobilenetv1_model: faceapi.nets.ssdMobilenetv1 as unknown as Loadable,
  face_recognition_model: faceapi.nets.faceRecognitionNet as unknown as Loadable,
};

/** A job's failure, shown to the user as it is. */
class JobError extends Error {}

function post(msg: FromFaceWorker, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

let weightsBase = '';
let ready: Promise<void> = Promise.resolve();

function setEnvironment(): void {
  const none = class {} as never;
  faceapi.env.setEnv({
    Canvas: OffscreenCanvas as never,
    CanvasRenderingContext2D: OffscreenCanvasRenderingContext2D as never,
    Image: none,
    ImageData,
    Video: none,
    createCanvasElement: () => new OffscreenCanvas(1, 1) as never,
    createImageElement: () => {
      throw new Error('face-api worker: no <img> in a worker');
    },
    createVideoElement: () => {
      throw new Error('face-api worker: no <video> in a worker');
    },
    fetch: (url: string, init?: RequestInit) => fetch(url, init),
    readFile: () => {
      throw new Error('face-api worker: no file system');
    },
  });
}

/** Fetches a file, counting its bytes into `progress` as they arrive. */
async function fetchBytes(url: string, progress: (n: number) => void): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`);
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    length += value.length;
    progress(value.length);
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Loads the nets a job needs that are not loaded yet, reporting bytes fetched of the total. */
async function loadNets(names: NetName[]): Promise<void> {
  const todo = names.filter((n) => !nets[n].isLoaded);
  if (todo.length === 0) return;
  const index = (await (await fetch(new URL('index.json', weightsBase))).json()) as { files: Record<string, number> };
  const files = todo.flatMap((n) => [`${n}-weights_manifest.json`, `${n}.bin`]);
  const total = files.reduce((s, f) => s + (index.files[f] ?? 0), 0);
  let loaded = 0;
  let last = 0;
  const progress = (n: number) => {
    loaded += n;
    const now = performance.now();
    if (now - last > 50) {
      last = now;
      post({ type: 'weights', loaded, total, done: false });
    }
  };
  post({ type: 'weights', loaded, total, done: false });
  for (const name of todo) {
    const manifestBytes = await fetchBytes(new URL(`${name}-weights_manifest.json`, weightsBase).href, progress);
    const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as tf.io.WeightsManifestConfig;
    const map: tf.NamedTensorMap = {};
    for (const group of manifest) {
      const shards = await Promise.all(group.paths.map((p) => fetchBytes(new URL(p, weightsBase).href, progress)));
      const bytes = new Uint8Array(shards.reduce((s, b) => s + b.length, 0));
      let at = 0;
      for (const b of shards) {
        bytes.set(b, at);
        at += b.length;
      }
      Object.assign(map, tf.io.decodeWeights(bytes.buffer, group.weights));
    }
    nets[name].loadFromWeightMap(map);
  }
  post({ type: 'weights', loaded: total, total, done: true });
}

const recognizer = (): FaceRecognizer => ({ tf, nets: { faceRecognitionNet: faceapi.nets.faceRecognitionNet as unknown as FaceRecognizer['nets']['faceRecognitionNet'] } });

/** RGB bytes of a canvas. */
function rgbOf(ctx: OffscreenCanvasRenderingContext2D, size: number): Uint8Array {
  return rgbaToRgb(ctx.getImageData(0, 0, size, size).data, size * size);
}

async function photo(file: Blob, name: string): Promise<PhotoFace> {
  if (file.size > MAX_PHOTO_BYTES) throw new JobError(`${name}: the photo is over ${MAX_PHOTO_BYTES >> 20} MB`);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new JobError(`${name}: the browser cannot decode this image`);
  }
  try {
    const { width, height } = bitmap;
    await loadNets(['ssd_mobilenetv1_model', 'face_recognition_model']);
    // the detector reads a scaled copy; its boxes are scaled back to the photo
    const scale = detectorScale(width, height, DETECT_MAX);
    const dw = Math.max(1, Math.round(width * scale));
    const dh = Math.max(1, Math.round(height * scale));
    const small = new OffscreenCanvas(dw, dh).getContext('2d')!;
    small.drawImage(bitmap, 0, 0, dw, dh);
    const input = tf.browser.fromPixels(small.getImageData(0, 0, dw, dh)); // [dh, dw, 3] int32
    let found: faceapi.FaceDetection[];
    try {
      found = await faceapi.detectAllFaces(input as never, new faceapi.SsdMobilenetv1Options({ minConfidence: MIN_CONFIDENCE }));
    } finally {
      input.dispose();
    }
    if (found.length === 0) throw new JobError(`${name}: no face found in the photo`);
    const boxes = found.map((d) => ({ x: d.box.x / (dw / width), y: d.box.y / (dh / height), width: d.box.width / (dw / width), height: d.box.height / (dh / height) }));
    const best = largestFace(boxes);
    const part = visiblePart(cropSquare(boxes[best]), width, height, PREVIEW_SIZE);
    if (!part) throw new JobError(`${name}: the face found lies outside the photo`);
    // the crop, framed as the cartoons are, on the data set's background where it runs past the photo
    const big = new OffscreenCanvas(PREVIEW_SIZE, PREVIEW_SIZE);
    const bctx = big.getContext('2d')!;
    bctx.fillStyle = CROP_BACKGROUND;
    bctx.fillRect(0, 0, PREVIEW_SIZE, PREVIEW_SIZE);
    bctx.imageSmoothingQuality = 'high';
    bctx.drawImage(bitmap, part.sx, part.sy, part.sw, part.sh, part.dx, part.dy, part.dw, part.dh);
    const preview = rgbOf(bctx, PREVIEW_SIZE);
    // the model's size: an area-averaging resize, as resvg's anti-aliased 32x32 renders are
    const smallCrop = await createImageBitmap(big, { resizeWidth: CROP_SIZE, resizeHeight: CROP_SIZE, resizeQuality: 'high' });
    const cctx = new OffscreenCanvas(CROP_SIZE, CROP_SIZE).getContext('2d')!;
    cctx.drawImage(smallCrop, 0, 0);
    smallCrop.close();
    const crop = rgbOf(cctx, CROP_SIZE);
    const descriptor = await faceDescriptors(recognizer(), crop, 1, CROP_SIZE);
    return { crop, preview, descriptor, faces: found.length, box: boxes[best], score: found[best].score, width, height };
  } finally {
    bitmap.close();
  }
}

// one job at a time, in the order asked
let queue: Promise<void> = Promise.resolve();

self.onmessage = (ev: MessageEvent<ToFaceWorker>) => {
  const msg = ev.data;
  if (msg.type === 'init') {
    weightsBase = msg.weightsBase;
    ready = (async () => {
      try {
        setEnvironment();
        const backend = await selectBackend(msg.wasmBase, 'wasm', ['wasm', 'cpu'], msg.threads);
        // face-api must run on this very tfjs: one engine, one backend
        if ((faceapi.tf as unknown as typeof tf).engine() !== tf.engine()) throw new Error('face-api is bundled with a second copy of tfjs');
        post({ type: 'ready', backend });
      } catch (e) {
        post({ type: 'init-error', message: `face-api worker: ${errorText(e)}` });
        throw e;
      }
    })();
    return;
  }
  queue = queue.then(async () => {
    const t0 = performance.now();
    try {
      await ready;
      if (msg.type === 'photo') {
        const face = await photo(msg.file, msg.name);
        post({ type: 'photo', reqId: msg.reqId, face, ms: performance.now() - t0, numTensors: tf.memory().numTensors }, [face.crop.buffer, face.preview.buffer, face.descriptor.buffer] as ArrayBuffer[]);
      } else {
        await loadNets(['face_recognition_model']);
        const descriptors = await faceDescriptors(recognizer(), msg.images, msg.count, msg.size);
        post({ type: 'descriptors', reqId: msg.reqId, descriptors, count: msg.count, ms: performance.now() - t0, numTensors: tf.memory().numTensors }, [descriptors.buffer]);
      }
    } catch (e) {
      const message = e instanceof JobError ? e.message : `face-api: ${errorText(e)}`;
      post({ type: 'job-error', reqId: msg.reqId, message, numTensors: tf.memory().numTensors });
    }
  });
};
