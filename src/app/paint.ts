// Turning sampled levels into pixels: a native-resolution image of the whole grid, which
// the visible canvas and the PNG export scale up with nearest-neighbour (crisp pixels).
import type { Live } from './store';

/** Colour of sub-pixels not decided yet (r, g, b). */
export const UNDECIDED: [number, number, number] = [30, 38, 54];

export interface GridLayout {
  cols: number;
  rows: number;
  /** native size of the whole grid, tiles side by side without gaps */
  width: number;
  height: number;
}

export function gridLayout(live: Pick<Live, 'count' | 'height' | 'width'> & { kind?: Live['kind'] }): GridLayout {
  // a morph is a strip, A to B left to right; anything else a square-ish grid
  const cols = live.kind === 'morph' ? live.count : Math.ceil(Math.sqrt(live.count));
  const rows = Math.ceil(live.count / cols);
  return { cols, rows, width: cols * live.width, height: rows * live.height };
}

/** Fills img (layout.width x layout.height RGBA) with the undecided colour. */
export function clearImage(img: ImageData): void {
  // one pixel, then doubling copies: a run's first frame runs this cold, where a loop a byte is interpreted
  const d = img.data;
  if (d.length === 0) return;
  d.set([...UNDECIDED, 255]);
  for (let n = 4; n < d.length; n *= 2) d.copyWithin(n, 0, Math.min(n, d.length - n));
}

/** Writes sub-pixels [from, to) of every image of `live` into img. */
export function paintRange(img: ImageData, live: Live, layout: GridLayout, from: number, to: number): void {
  const { width: W, channels: C, levels, count, total } = live;
  const d = img.data;
  const scale = 255 / (levels - 1);
  for (let i = 0; i < count; i++) {
    const ox = (i % layout.cols) * W;
    const oy = Math.floor(i / layout.cols) * live.height;
    for (let idx = from; idx < to; idx++) {
      const v = Math.round(live.image[i * total + idx] * scale);
      const p = Math.floor(idx / C);
      const c = idx % C;
      const y = oy + Math.floor(p / W);
      const x = ox + (p % W);
      const o = (y * layout.width + x) * 4;
      if (C === 1) {
        d[o] = d[o + 1] = d[o + 2] = v;
      } else {
        // the first decided channel of a colour pixel clears the undecided tint
        if (c === 0) d[o] = d[o + 1] = d[o + 2] = 0;
        d[o + c] = v;
      }
    }
  }
}

/** The finished grid as a PNG, `scale` screen pixels per sample pixel, `gap` between tiles. */
export function gridPng(live: Live, scale: number, gap: number): Promise<Blob> {
  const layout = gridLayout(live);
  const native = document.createElement('canvas');
  native.width = layout.width;
  native.height = layout.height;
  const nctx = native.getContext('2d')!;
  const img = nctx.createImageData(layout.width, layout.height);
  clearImage(img);
  paintRange(img, live, layout, 0, live.done);
  nctx.putImageData(img, 0, 0);

  const out = document.createElement('canvas');
  out.width = layout.cols * live.width * scale + (layout.cols - 1) * gap;
  out.height = layout.rows * live.height * scale + (layout.rows - 1) * gap;
  const ctx = out.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  for (let i = 0; i < live.count; i++) {
    const tx = i % layout.cols;
    const ty = Math.floor(i / layout.cols);
    ctx.drawImage(
      native,
      tx * live.width,
      ty * live.height,
      live.width,
      live.height,
      tx * (live.width * scale + gap),
      ty * (live.height * scale + gap),
      live.width * scale,
      live.height * scale,
    );
  }
  return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
}
