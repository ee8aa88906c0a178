import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, encodePng, imageGrid } from './png';

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
