// 8-bit PNG files (grey, RGB, RGBA) through fast-png, any PNG read back as RGBA, and a
// helper that tiles a batch of samples into one picture. Node only (crc32 is node:zlib's).
import { convertIndexedToRgb, decode, encode } from 'fast-png';
import { crc32 as zlibCrc32 } from 'node:zlib';
import type { Rgba } from './picture';

/** CRC-32 (ISO 3309, the polynomial PNG uses) of bytes, continuing from crc. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return zlibCrc32(bytes, crc);
}

/** Encodes row-major interleaved 8-bit pixels [height, width, channels] as a PNG file. */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new Error(`png: channels must be 1, 3 or 4, got ${channels}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`png: bad size ${width}x${height}`);
  }
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new Error(`png: expected ${stride * height} bytes for ${width}x${height}x${channels}, got ${pixels.length}`);
  }
  try {
    return encode({ width, height, data: pixels, channels, depth: 8 });
  } catch (e) {
    throw new Error(`png: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * Any PNG (grey, grey + alpha, RGB, RGBA, palette; 1 to 16 bits) -> 8-bit RGBA, the form a
 * browser's canvas gives, so src/io/picture.ts reads a file as the app reads it. Throws one
 * line starting with 'png:'.
 */
export function decodePng(file: Uint8Array): Rgba {
  let png: ReturnType<typeof decode>;
  try {
    png = decode(file);
  } catch (e) {
    throw new Error(`png: not a PNG file this reader can decode (${(e as Error).message.split('\n')[0]})`);
  }
  const { width, height, depth } = png;
  const n = width * height;
  let channels = png.channels;
  let values: ArrayLike<number> = png.data;
  let max = depth === 16 ? 65535 : 255;
  if (png.palette) {
    values = convertIndexedToRgb(png);
    channels = png.palette[0].length; // 3, or 4 with a tRNS chunk
    max = 255;
  } else if (depth < 8) {
    // grey packed several pixels a byte, each row starting on a fresh byte
    const packed = png.data;
    const rowBytes = Math.ceil((depth * width) / 8);
    const unpacked = new Uint8Array(n);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bit = x * depth;
        unpacked[y * width + x] = (packed[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
      }
    }
    values = unpacked;
    max = (1 << depth) - 1;
  }
  if (values.length !== n * channels) throw new Error(`png: ${values.length} values for ${width}x${height}x${channels}`);
  const data = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const at = (k: number) => Math.round((values[i * channels + k] * 255) / max);
    const grey = channels <= 2;
    data[4 * i] = at(0);
    data[4 * i + 1] = grey ? at(0) : at(1);
    data[4 * i + 2] = grey ? at(0) : at(2);
    data[4 * i + 3] = channels === 2 ? at(1) : channels === 4 ? at(3) : 255;
  }
  return { data, width, height };
}

export interface GridOptions {
  /** each image pixel becomes scale x scale output pixels (default 1) */
  scale?: number;
  /** gap between tiles and around the border, in output pixels (default 1) */
  pad?: number;
  /** value of the gap pixels (default 128) */
  padValue?: number;
  /** tiles per row (default ceil(sqrt(n))) */
  cols?: number;
}

export interface Picture {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** A model's levels 0..K-1 as 0..255 pixels, so low-level models (e.g. binarised) are visible; 8-bit levels as they are. */
export function levelsToPixels(levels: Uint8Array, K: number): Uint8Array {
  return K === 256 ? levels : levels.map((v) => Math.round((v * 255) / (K - 1)));
}

/** Tiles images [n, h, w, c] (uint8, row-major) into one picture, row by row. */
export function imageGrid(images: Uint8Array, n: number, h: number, w: number, c: number, opts: GridOptions = {}): Picture {
  const scale = opts.scale ?? 1;
  const pad = opts.pad ?? 1;
  const padValue = opts.padValue ?? 128;
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  for (const [k, val, min] of [['n', n, 1], ['h', h, 1], ['w', w, 1], ['c', c, 1], ['scale', scale, 1], ['pad', pad, 0], ['cols', cols, 1]] as const) {
    if (!Number.isInteger(val) || val < min) throw new Error(`imageGrid: ${k} must be an integer >= ${min}, got ${val}`);
  }
  if (images.length !== n * h * w * c) {
    throw new Error(`imageGrid: expected ${n * h * w * c} values for [${n},${h},${w},${c}], got ${images.length}`);
  }
  const rows = Math.ceil(n / cols);
  const tileW = w * scale;
  const tileH = h * scale;
  const width = cols * tileW + (cols + 1) * pad;
  const height = rows * tileH + (rows + 1) * pad;
  const data = new Uint8Array(width * height * c).fill(padValue);
  for (let i = 0; i < n; i++) {
    const x0 = pad + (i % cols) * (tileW + pad);
    const y0 = pad + Math.floor(i / cols) * (tileH + pad);
    for (let y = 0; y < tileH; y++) {
      const src = (i * h + Math.floor(y / scale)) * w * c;
      const dst = ((y0 + y) * width + x0) * c;
      for (let x = 0; x < tileW; x++) {
        const s = src + Math.floor(x / scale) * c;
        for (let k = 0; k < c; k++) data[dst + x * c + k] = images[s + k];
      }
    }
  }
  return { data, width, height, channels: c };
}
