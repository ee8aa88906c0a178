// The face descriptor of a small picture: face-api's face-recognition net (a 128-d
// descriptor, dlib's ResNet) run on the picture itself, no detector (it finds no faces in
// cartoons). One function for every caller (build-faces, the identity check, the app), so
// all of them preprocess alike: uint8 RGB -> float 0..255 -> bilinear resize to the net's
// 150x150 (tf.image.resizeBilinear, no corner alignment, as face-api resizes itself) ->
// the net's own mean subtraction and scaling.
// No Node APIs here: the caller hands in a loaded face-api (faceapiNode.ts in Node, the
// esm-nobundle build in a browser).
import type * as TF from '@tensorflow/tfjs';

export const DESCRIPTOR_DIM = 128;

/** [pixels, 3] RGB bytes of [pixels, 4] RGBA (a canvas's or resvg's), alpha dropped: how both the data set and the app's photos reach faceDescriptors. */
export function rgbaToRgb(rgba: ArrayLike<number>, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    rgb[i * 3] = rgba[i * 4];
    rgb[i * 3 + 1] = rgba[i * 4 + 1];
    rgb[i * 3 + 2] = rgba[i * 4 + 2];
  }
  return rgb;
}

/** the face-recognition net's input side */
export const NET_INPUT = 150;
/** images per forward pass; fixed so that a build's descriptors do not depend on how many images a call gets */
export const DESCRIPTOR_BATCH = 16;

/** The parts of a face-api module used here (its own tfjs instance: tensors must come from it). */
export interface FaceRecognizer {
  tf: typeof TF;
  nets: {
    faceRecognitionNet: {
      isLoaded: boolean;
      computeFaceDescriptor(input: TF.Tensor3D[]): Promise<Float32Array | Float32Array[]>;
    };
  };
}

/**
 * Descriptors of `count` images, uint8 RGB [count, size, size, 3] -> float32 [count, 128],
 * in forward passes of DESCRIPTOR_BATCH images.
 */
export async function faceDescriptors(api: FaceRecognizer, images: Uint8Array, count: number, size: number): Promise<Float32Array> {
  const net = api.nets.faceRecognitionNet;
  if (!net.isLoaded) throw new Error('faceDescriptors: the face-recognition net has no weights loaded');
  const px = size * size * 3;
  if (images.length !== count * px) throw new Error(`faceDescriptors: ${count} images of ${size}x${size}x3 need ${count * px} bytes, got ${images.length}`);
  const tf = api.tf;
  const out = new Float32Array(count * DESCRIPTOR_DIM);
  for (let start = 0; start < count; start += DESCRIPTOR_BATCH) {
    const n = Math.min(DESCRIPTOR_BATCH, count - start);
    const inputs = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(images.subarray(start * px, (start + n) * px)), [n, size, size, 3]); // [n, s, s, 3] 0..255
      return tf.unstack(tf.image.resizeBilinear(x, [NET_INPUT, NET_INPUT], false, false)) as TF.Tensor3D[]; // n x [150, 150, 3]
    });
    try {
      const d = await net.computeFaceDescriptor(inputs);
      const rows = Array.isArray(d) ? d : [d];
      if (rows.length !== n) throw new Error(`faceDescriptors: the net returned ${rows.length} descriptors for ${n} images`);
      rows.forEach((r, i) => out.set(r, (start + i) * DESCRIPTOR_DIM));
    } finally {
      inputs.forEach((t) => t.dispose());
    }
  }
  return out;
}

/** Euclidean distance between descriptors i and j of a [N, 128] array (dlib: "same person" below ~0.6). */
export function descriptorDistance(d: Float32Array, i: number, j: number): number {
  let s = 0;
  for (let k = 0; k < DESCRIPTOR_DIM; k++) {
    const t = d[i * DESCRIPTOR_DIM + k] - d[j * DESCRIPTOR_DIM + k];
    s += t * t;
  }
  return Math.sqrt(s);
}
