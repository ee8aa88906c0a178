// The pictures an auto-encoder is given (issue 23), from files: a PNG framed as the app
// frames a picture (src/io/picture.ts), or an .npy batch of uint8 images; and 8-bit pixels
// -> the model's levels. Environment-free: callers pass the file's bytes and name, and
// every problem is one line naming the file.
import type { ModelConfig } from '../model';
import { decodeNpy } from './npy';
import { pictureToDigit, type Rgba } from './picture';
import { decodePng } from './png';

/** 8-bit pixels -> the model's levels (identity for 256; 2 levels = threshold at 128). */
export function quantize(pixels: ArrayLike<number>, levels: number): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = Math.floor((pixels[i] * levels) / 256);
  return out;
}

/**
 * A picture -> the model's input pixels [H * W * C] (0..255). A grey square model frames any
 * picture as the app does (white ink on black, the ink's box in the central 20/28, its centre
 * of mass in the middle; a picture of the model's size is taken as it is, inverted when its
 * background is light). Other models take only pictures of their own size, RGB (alpha
 * dropped) for an RGB model.
 */
export function digitFromPicture(img: Rgba, name: string, config: ModelConfig): Uint8Array {
  const { height: H, width: W, channels: C } = config;
  if (img.width < 1 || img.height < 1) throw new Error(`${name}: the picture has no pixels`);
  if (C === 1 && H === W) return pictureToDigit(img, H).pixels;
  if (img.width !== W || img.height !== H) {
    throw new Error(`${name}: is ${img.width}x${img.height}; this model reads ${W}x${H} pictures (only square grey models frame other sizes)`);
  }
  const out = new Uint8Array(H * W * C);
  for (let i = 0; i < H * W; i++) {
    const [r, g, b] = [img.data[4 * i], img.data[4 * i + 1], img.data[4 * i + 2]];
    if (C === 1) out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    else out.set([r, g, b], 3 * i);
  }
  return out;
}

/** A PNG file's bytes -> the model's input pixels (digitFromPicture). */
export function digitFromPng(file: Uint8Array, name: string, config: ModelConfig): Uint8Array {
  let img: Rgba;
  try {
    img = decodePng(file);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  return digitFromPicture(img, name, config);
}

/** An .npy of uint8 images [N, H, W] (grey models) or [N, H, W, C] -> N images' pixels [N * H * W * C]. */
export function digitsFromNpy(file: Uint8Array, name: string, config: ModelConfig): { pixels: Uint8Array; count: number } {
  const { height: H, width: W, channels: C } = config;
  const wanted = C === 1 ? `uint8 [N,${H},${W}] or [N,${H},${W},1]` : `uint8 [N,${H},${W},${C}]`;
  let a: ReturnType<typeof decodeNpy>;
  try {
    a = decodeNpy(file);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  const s = a.shape;
  const shapeOk = s.length === 4 ? s[1] === H && s[2] === W && s[3] === C : s.length === 3 && C === 1 && s[1] === H && s[2] === W;
  if (a.dtype !== 'uint8' || !shapeOk) throw new Error(`${name}: expected ${wanted} images, got ${a.dtype} [${s.join(',')}]`);
  if (s[0] < 1) throw new Error(`${name}: holds no images (shape [${s.join(',')}])`);
  return { pixels: a.data as Uint8Array, count: s[0] };
}
