import { describe, expect, it } from 'vitest';
import { frameDigit, pictureToDigit, readPicture, resizeArea, toWhiteOnBlack, type Rgba } from './picture';

/** An RGBA picture from a grey function. */
function picture(w: number, h: number, grey: (x: number, y: number) => number, alpha: (x: number, y: number) => number = () => 255): Rgba {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      data[o] = data[o + 1] = data[o + 2] = grey(x, y);
      data[o + 3] = alpha(x, y);
    }
  }
  return { data, width: w, height: h };
}

/** a bar (a "1") in the middle third of the columns */
const bar = (w: number) => (x: number) => (x >= w / 3 && x < (2 * w) / 3 ? 1 : 0);

describe('picture loader', () => {
  it('white on black stays; dark on light is inverted', () => {
    const b = bar(30);
    const light = toWhiteOnBlack(picture(30, 30, (x) => (b(x) ? 255 : 0)));
    expect(light.inverted).toBe(false);
    const dark = toWhiteOnBlack(picture(30, 30, (x) => (b(x) ? 10 : 240)));
    expect(dark.inverted).toBe(true);
    expect(dark.grey[15 * 30 + 15]).toBeCloseTo(245, 0); // ink became bright
    expect(dark.grey[0]).toBeCloseTo(15, 0); // paper became dark
  });

  it('a transparent background is background, whatever colour its ink', () => {
    const b = bar(30);
    const black = toWhiteOnBlack(picture(30, 30, () => 0, (x) => (b(x) ? 255 : 0)));
    expect(black.inverted).toBe(true);
    expect(black.grey[15 * 30 + 15]).toBe(255);
    expect(black.grey[0]).toBe(0);
    const white = toWhiteOnBlack(picture(30, 30, () => 255, (x) => (b(x) ? 255 : 0)));
    expect(white.inverted).toBe(false);
    expect(white.grey[15 * 30 + 15]).toBe(255);
    expect(white.grey[0]).toBe(0);
  });

  it('any size comes out at the model size, the ink framed in the middle as MNIST does', () => {
    for (const [w, h] of [[300, 200], [57, 91], [29, 28], [5, 5]]) {
      // a light picture with a dark blob off-centre
      const img = picture(w, h, (x, y) => (Math.abs(x - w / 4) < w / 10 + 1 && Math.abs(y - h / 3) < h / 5 + 1 ? 20 : 230));
      const { pixels, inverted } = pictureToDigit(img, 28);
      expect(inverted).toBe(true);
      expect(pixels.length).toBe(28 * 28);
      expect(Math.max(...pixels)).toBe(255);
      // the corners are background, and the ink's centre of mass is near the middle
      expect(pixels[0]).toBe(0);
      expect(pixels[27 * 28 + 27]).toBe(0);
      let m = 0, mx = 0, my = 0;
      pixels.forEach((v, i) => {
        m += v;
        mx += v * ((i % 28) + 0.5);
        my += v * (Math.floor(i / 28) + 0.5);
      });
      expect(Math.abs(mx / m - 14)).toBeLessThan(1.5);
      expect(Math.abs(my / m - 14)).toBeLessThan(1.5);
      // the longer side of the ink spans about 20 of the 28 pixels
      const rows = new Set<number>();
      pixels.forEach((v, i) => v > 0 && rows.add(Math.floor(i / 28)));
      const cols = new Set<number>();
      pixels.forEach((v, i) => v > 0 && cols.add(i % 28));
      expect(Math.max(rows.size, cols.size)).toBeGreaterThanOrEqual(19);
      expect(Math.max(rows.size, cols.size)).toBeLessThanOrEqual(21);
    }
  });

  it('a picture already at the model size is taken pixel for pixel', () => {
    const img = picture(28, 28, (x, y) => (x * 7 + y * 3) % 256);
    const { pixels } = pictureToDigit(img, 28);
    expect(pixels[5 * 28 + 9]).toBe((9 * 7 + 5 * 3) % 256);
    expect(pixels[27 * 28 + 27]).toBe((27 * 7 + 27 * 3) % 256);
  });

  it('an empty picture gives an empty pad', () => {
    expect(Math.max(...frameDigit(new Float32Array(40 * 40).fill(3), 40, 40, 28))).toBe(0);
  });

  it('area resize keeps the mean', () => {
    const src = Float32Array.from({ length: 12 * 9 }, (_, i) => (i * 37) % 11);
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(resizeArea(src, 12, 9, 4, 3))).toBeCloseTo(mean(src), 4);
    expect(mean(resizeArea(src, 12, 9, 5, 7))).toBeCloseTo(mean(src), 4);
  });

  it('bad files get one line naming the file and what is wrong', async () => {
    const ok = async () => picture(10, 10, () => 0);
    const fails = async () => {
      throw new DOMException('The source image could not be decoded.', 'InvalidStateError');
    };
    const text = new File(['hello, not an image'], 'notes.txt', { type: 'text/plain' });
    await expect(readPicture(text, 28, fails)).rejects.toThrow(/^picture "notes\.txt": not an image this browser can decode$/);
    await expect(readPicture(new File([], 'empty.png'), 28, ok)).rejects.toThrow(/^picture "empty\.png": the file is empty$/);
    const none = async () => ({ data: new Uint8ClampedArray(0), width: 0, height: 0 });
    await expect(readPicture(text, 28, none)).rejects.toThrow(/^picture "notes\.txt": the image has no pixels$/);
    const huge = { name: 'huge.jpg', size: 100 * 1024 * 1024 } as File;
    await expect(readPicture(huge, 28, ok)).rejects.toThrow(/^picture "huge\.jpg": 100 MB is more than the 25 MB allowed$/);
    for (const bad of [fails, none]) {
      const e = await readPicture(text, 28, bad).catch((err: Error) => err);
      expect((e as Error).message).not.toContain('\n');
    }
    await expect(readPicture(text, 28, ok)).resolves.toMatchObject({ inverted: false });
  });
});
