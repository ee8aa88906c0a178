import { describe, expect, it } from 'vitest';
import { makeConfig } from '../model/config';
import { cacheFigures } from '../sampler/work';
import { entropyColour, layerWindows, workText } from './inside';

describe('the look inside', () => {
  const f = cacheFigures(makeConfig({ height: 10, width: 10, layers: 3, firstKernel: 5, kernel: 3, dilations: [1, 1, 2] }))!;

  it("a layer's windows: layer 0 reads the image a row up, a dilated layer keeps more than it taps, all clipped to the image", () => {
    expect(layerWindows(f[0], 4, 5, 10, 10)).toEqual({ keptRows: [1, 2, 3], tappedRows: [3, 2, 1], keptCols: [3, 4, 5], tappedCols: [5, 4, 3] });
    expect(layerWindows(f[2], 4, 5, 10, 10)).toEqual({ keptRows: [2, 3, 4], tappedRows: [4, 2], keptCols: [3, 4, 5], tappedCols: [5, 3] });
    expect(layerWindows(f[1], 0, 0, 10, 10)).toEqual({ keptRows: [0], tappedRows: [0], keptCols: [0], tappedCols: [0] });
    expect(layerWindows(f[0], 0, 0, 10, 10).keptRows).toEqual([]); // nothing above the first row
  });

  it('the work counter reads like the issue: G multiply-adds and the ratio', () => {
    expect(workText(0.12e9, 23.4e9)).toBe('0.12 G cached · 23.4 G naive · 195x');
    expect(workText(138094592, 108266160128)).toBe('0.14 G cached · 108 G naive · 784x');
    expect(workText(0, 0)).toBe('0.00 G cached · 0.00 G naive · 0.0x');
  });

  it('entropy colours run dark to bright and leave undrawn sub-pixels black', () => {
    const lum = (b: number) => entropyColour(b, 8).reduce((s, v) => s + v, 0);
    expect(lum(0)).toBeLessThan(lum(2));
    expect(lum(2)).toBeLessThan(lum(8));
    expect(entropyColour(NaN, 8)).toEqual([0, 0, 0]);
  });
});
