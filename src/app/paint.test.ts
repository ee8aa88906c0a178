import { describe, expect, it } from 'vitest';
import { clearImage, gridLayout, paintRange, UNDECIDED } from './paint';
import type { Live } from './store';

function live(partial: Partial<Live>): Live {
  const base = { runId: 1, count: 1, height: 2, width: 2, channels: 1, levels: 4, done: 0, elapsedMs: 0, probs: new Float32Array(0) };
  const l = { ...base, ...partial } as Live;
  l.total = l.height * l.width * l.channels;
  l.image ??= new Uint8Array(l.count * l.total);
  return l;
}

const image = (w: number, h: number) => ({ data: new Uint8ClampedArray(w * h * 4), width: w, height: h }) as ImageData;

describe('paint', () => {
  it('lays 4 images out 2 x 2 and paints each sub-pixel as a grey level', () => {
    const l = live({ count: 4, image: Uint8Array.from([0, 1, 2, 3, 3, 3, 3, 3, 0, 0, 0, 0, 1, 1, 1, 1]) });
    const layout = gridLayout(l);
    expect(layout).toEqual({ cols: 2, rows: 2, width: 4, height: 4 });
    const img = image(4, 4);
    clearImage(img);
    paintRange(img, l, layout, 0, 2); // the first row of every image
    const px = (x: number, y: number) => Array.from(img.data.subarray((y * 4 + x) * 4, (y * 4 + x) * 4 + 4));
    expect(px(0, 0)).toEqual([0, 0, 0, 255]);
    expect(px(1, 0)).toEqual([85, 85, 85, 255]);
    expect(px(0, 1)).toEqual([...UNDECIDED, 255]); // not decided yet
    expect(px(2, 0)).toEqual([255, 255, 255, 255]); // image 1, top right tile
    expect(px(0, 2)).toEqual([0, 0, 0, 255]); // image 2, bottom left tile
    expect(px(3, 2)).toEqual([85, 85, 85, 255]); // image 3
  });

  it('clears every pixel of an image whose size is no power of two (the doubling copies and their tail)', () => {
    for (const [w, h] of [[1, 1], [3, 1], [5, 7], [28, 28]]) {
      const img = image(w, h);
      img.data.fill(9);
      clearImage(img);
      for (let p = 0; p < w * h; p++) expect(Array.from(img.data.subarray(p * 4, p * 4 + 4)), `${w}x${h} pixel ${p}`).toEqual([...UNDECIDED, 255]);
    }
  });

  it('paints colour sub-pixels channel by channel', () => {
    const l = live({ channels: 3, height: 1, width: 1, levels: 256, image: Uint8Array.from([200, 100, 50]) });
    const img = image(1, 1);
    clearImage(img);
    paintRange(img, l, gridLayout(l), 0, 1);
    expect(Array.from(img.data)).toEqual([200, 0, 0, 255]);
    paintRange(img, l, gridLayout(l), 1, 3);
    expect(Array.from(img.data)).toEqual([200, 100, 50, 255]);
  });
});
