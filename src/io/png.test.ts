import { encode } from 'fast-png';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, decodePng as readPng, encodePng, imageGrid } from './png';

/** A small independent PNG reader for 8-bit, filter-0 images: checks signature, CRCs, chunks. */
function decodePng(file: Uint8Array) {
  expect(Array.from(file.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let off = 8;
  const chunks: { type: string; data: Uint8Array }[] = [];
  while (off < file.length) {
    const len = view.getUint32(off);
    const type = String.fromCharCode(...file.subarray(off + 4, off + 8));
    const data = file.subarray(off + 8, off + 8 + len);
    expect(view.getUint32(off + 8 + len), `CRC of ${type}`).toBe(crc32(file.subarray(off + 4, off + 8 + len)));
    chunks.push({ type, data });
    off += 12 + len;
  }
  expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
  const ih = new DataView(chunks[0].data.buffer, chunks[0].data.byteOffset, 13);
  const width = ih.getUint32(0);
  const height = ih.getUint32(4);
  const depth = chunks[0].data[8];
  const colorType = chunks[0].data[9];
  const channels = { 0: 1, 2: 3, 6: 4 }[colorType]!;
  const raw = inflateSync(chunks[1].data);
  expect(raw.length).toBe(height * (width * channels + 1));
  const pixels = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * channels + 1)]).toBe(0);
    pixels.set(raw.subarray(y * (width * channels + 1) + 1, (y + 1) * (width * channels + 1)), y * width * channels);
  }
  return { width, height, depth, colorType, channels, pixels };
}

describe('PNG encoder', () => {
  it('computes the standard CRC-32 check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('writes grey and RGB images that inflate back to the same pixels', () => {
    for (const channels of [1, 3, 4]) {
      const w = 7;
      const h = 5;
      const px = new Uint8Array(w * h * channels).map((_, i) => (i * 37 + 11) & 255);
      const png = decodePng(encodePng(px, w, h, channels));
      expect(png).toMatchObject({ width: w, height: h, depth: 8, channels });
      expect(png.colorType).toBe({ 1: 0, 3: 2, 4: 6 }[channels]);
      expect(Array.from(png.pixels)).toEqual(Array.from(px));
    }
  });

  it('reads only the given view of a larger buffer', () => {
    const all = new Uint8Array(40).map((_, i) => i);
    const view = all.subarray(10, 10 + 12); // 4x3 grey
    expect(Array.from(decodePng(encodePng(view, 4, 3, 1)).pixels)).toEqual(Array.from(view));
  });

  it('rejects a wrong byte count or channel count with one line', () => {
    expect(() => encodePng(new Uint8Array(0), 0, 2, 1)).toThrow(/^png: bad size 0x2$/);
    expect(() => encodePng(new Uint8Array(5), 2, 2, 1)).toThrow(/expected 4 bytes/);
    expect(() => encodePng(new Uint8Array(8), 2, 2, 2)).toThrow(/channels must be 1, 3 or 4/);
  });
});

describe('imageGrid', () => {
  it('tiles images row by row with padding and nearest-neighbour scaling', () => {
    // 3 images of 2x2 grey, values = image index * 10 + pixel index
    const imgs = new Uint8Array(12).map((_, i) => Math.floor(i / 4) * 10 + (i % 4));
    const g = imageGrid(imgs, 3, 2, 2, 1, { scale: 2, pad: 1, padValue: 200 });
    // 2 columns, 2 rows of 4x4 tiles, 1-pixel gaps
    expect(g).toMatchObject({ width: 2 * 4 + 3, height: 2 * 4 + 3, channels: 1 });
    const at = (x: number, y: number) => g.data[y * g.width + x];
    expect(at(0, 0)).toBe(200);
    expect(at(1, 1)).toBe(0); // image 0, pixel (0,0)
    expect(at(2, 2)).toBe(0);
    expect(at(3, 1)).toBe(1); // image 0, pixel (0,1) scaled
    expect(at(4, 4)).toBe(3); // image 0, pixel (1,1)
    expect(at(5, 1)).toBe(200); // gap
    expect(at(6, 1)).toBe(10); // image 1 starts after the gap
    expect(at(1, 6)).toBe(20); // image 2: second row
    expect(at(6, 6)).toBe(200); // empty 4th cell keeps the pad value
  });

  it('keeps RGB channels together', () => {
    const imgs = Uint8Array.of(1, 2, 3, 4, 5, 6); // 2 images of 1x1 RGB
    const g = imageGrid(imgs, 2, 1, 1, 3, { pad: 0 });
    expect(g).toMatchObject({ width: 2, height: 1, channels: 3 });
    expect(Array.from(g.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects inconsistent sizes', () => {
    expect(() => imageGrid(new Uint8Array(5), 2, 2, 2, 1)).toThrow(/expected 8 values/);
    expect(() => imageGrid(new Uint8Array(8), 2, 2, 2, 1, { scale: 0 })).toThrow(/scale/);
  });
});

/** A PNG written by hand (filter 0 rows, one IDAT): colour types and depths fast-png's encoder does not write. */
function handPng(width: number, height: number, depth: number, colorType: number, rows: number[][], extra: [string, number[]][] = []): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const body = new Uint8Array(4 + data.length);
    body.set([...type].map((c) => c.charCodeAt(0)));
    body.set(data, 4);
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    out.set(body, 4);
    v.setUint32(8 + data.length, crc32(body));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([depth, colorType, 0, 0, 0], 8);
  const raw = Uint8Array.from(rows.flatMap((r) => [0, ...r]));
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra.map(([t, d]) => chunk(t, Uint8Array.from(d))),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

describe('decodePng: any PNG -> 8-bit RGBA', () => {
  const rgba = (file: Uint8Array) => Array.from(readPng(file).data);
  it('grey, grey + alpha, RGB and RGBA at 8 bits', () => {
    expect(rgba(encodePng(Uint8Array.from([0, 128, 255]), 3, 1, 1))).toEqual([0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255]);
    expect(rgba(encode({ width: 1, height: 1, data: Uint8Array.from([9, 77]), channels: 2, depth: 8 }))).toEqual([9, 9, 9, 77]);
    expect(rgba(encodePng(Uint8Array.from([1, 2, 3]), 1, 1, 3))).toEqual([1, 2, 3, 255]);
    const d = readPng(encodePng(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 1, 2, 4));
    expect([d.width, d.height, ...d.data]).toEqual([1, 2, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
  it('16-bit grey is scaled to 8 bits', () => {
    expect(rgba(encode({ width: 2, height: 1, data: Uint16Array.from([65535, 257 * 100]), channels: 1, depth: 16 }))).toEqual([255, 255, 255, 255, 100, 100, 100, 255]);
  });
  it('1-bit grey, rows not a whole number of bytes', () => {
    // 10 pixels a row: 1011001110 -> bytes 10110011 10000000 (each row starts on a fresh byte)
    const f = handPng(10, 2, 1, 0, [[0b10110011, 0b10000000], [0b01000000, 0b01000000]]);
    const grey = rgba(f).filter((_, i) => i % 4 === 0);
    expect(grey).toEqual([1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1].map((b) => b * 255));
  });
  it('a 2-bit palette with transparency', () => {
    const plte: [string, number[]] = ['PLTE', [10, 20, 30, 200, 100, 0, 255, 255, 255]];
    const trns: [string, number[]] = ['tRNS', [0, 128, 255]];
    // indices 0, 1, 2, 1 -> 00 01 10 01
    const f = handPng(4, 1, 2, 3, [[0b00011001]], [plte, trns]);
    expect(rgba(f)).toEqual([10, 20, 30, 0, 200, 100, 0, 128, 255, 255, 255, 255, 200, 100, 0, 128]);
  });
  it('anything else is one line', () => {
    expect(() => readPng(new TextEncoder().encode('not a png'))).toThrow(/^png: not a PNG file this reader can decode \([^\n]*\)$/);
  });
});
