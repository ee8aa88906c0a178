// A minimal 8-bit PNG encoder (grey, RGB, RGBA) and a helper that tiles a batch of
// samples into one picture. Node only: compression is node:zlib's deflate.
import { deflateSync } from 'node:zlib';

const COLOR_TYPE: Record<number, number> = { 1: 0, 3: 2, 4: 6 }; // channels -> PNG colour type

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309, the polynomial PNG uses) of bytes. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes row-major interleaved 8-bit pixels [height, width, channels] as a PNG file. */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const colorType = COLOR_TYPE[channels];
  if (colorType === undefined) throw new Error(`png: channels must be 1, 3 or 4, got ${channels}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`png: bad size ${width}x${height}`);
  }
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new Error(`png: expected ${stride * height} bytes for ${width}x${height}x${channels}, got ${pixels.length}`);
  }
  // every scanline starts with filter type 0 (none)
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);

  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = colorType;
  // compression 0, filter 0, interlace 0
  const signature = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
  const parts = [signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
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
