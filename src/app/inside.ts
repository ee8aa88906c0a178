// The arithmetic of the page's look inside the sampler, without the DOM: which rows and
// columns a layer's caches hold for a sub-pixel (the hood's small grids), the work counter's
// text, and the entropy map's colours. The figures themselves are src/sampler/work.ts's,
// the same the benchmark prints and work.test.ts checks against the sampler.
import type { LayerCache } from '../sampler/work';

/** Rows and columns of the image grid one layer's caches cover while sub-pixel (row, col) is drawn. */
export interface LayerWindows {
  /** rows of the image the vertical window holds (its input rows; layer 0's input is the image shifted down one row), clipped to the image */
  keptRows: number[];
  /** of those, the rows its kernel reads: every `dilation`-th from the newest */
  tappedRows: number[];
  /** columns of row `row` the horizontal window holds, and those its kernel reads */
  keptCols: number[];
  tappedCols: number[];
}

const within = (v: number[], n: number) => v.filter((x) => x >= 0 && x < n);

export function layerWindows(f: LayerCache, row: number, col: number, height: number, width: number): LayerWindows {
  // layer 0 reads the image shifted down a row (row r sees r-1); later layers read the
  // vertical stack below, whose row r already looks only above r
  const newest = f.layer === 0 ? row - 1 : row;
  const keptRows = within(Array.from({ length: f.vertical.rows }, (_, j) => newest - f.reach + j), height);
  const tappedRows = within(Array.from({ length: f.taps }, (_, j) => newest - j * f.dilation), height);
  const keptCols = within(Array.from({ length: f.horizontal.cols }, (_, j) => col - f.reach + j), width);
  const tappedCols = within(Array.from({ length: f.taps }, (_, j) => col - j * f.dilation), width);
  return { keptRows, tappedRows, keptCols, tappedCols };
}

/** Giga multiply-adds with about three significant figures: 0.12, 23.4, 784. */
export function giga(macs: number): string {
  const g = macs / 1e9;
  if (g >= 100) return g.toFixed(0);
  if (g >= 1) return g.toFixed(1);
  if (g >= 0.01 || g === 0) return g.toFixed(2);
  return g.toPrecision(2);
}

/** The work counter: "0.12 G cached · 23.4 G naive · 195x". */
export function workText(cached: number, naive: number): string {
  const ratio = cached > 0 ? naive / cached : 0;
  return `${giga(cached)} G cached · ${giga(naive)} G naive · ${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}x`;
}

// a dark-to-bright ramp (blue, violet, orange, yellow): low entropy recedes, doubt stands out
const RAMP: [number, number, number][] = [
  [13, 17, 34],
  [59, 44, 130],
  [177, 61, 120],
  [246, 133, 50],
  [252, 240, 120],
];

/** The entropy map's colour for `bits` on a scale of 0..maxBits (NaN: nothing drawn there yet),
 * written into `out` (a map draws hundreds a frame; a new array each was its garbage). */
export function entropyColour(bits: number, maxBits: number, out: [number, number, number] = [0, 0, 0]): [number, number, number] {
  if (Number.isNaN(bits)) {
    out[0] = out[1] = out[2] = 0;
    return out;
  }
  const t = Math.min(1, Math.max(0, bits / maxBits)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(t));
  const f = t - i;
  const a = RAMP[i];
  const b = RAMP[i + 1];
  for (let k = 0; k < 3; k++) out[k] = Math.round(a[k] + (b[k] - a[k]) * f);
  return out;
}

/** The CSS gradient of the same ramp, for the map's legend. */
export const ENTROPY_GRADIENT = `linear-gradient(90deg, ${RAMP.map((c) => `rgb(${c.join(',')})`).join(', ')})`;
