// A picture -> a digit the model can read: grey, white ink on black, framed at the model's
// size as MNIST frames its digits. Pure pixel logic (no DOM, no files), shared by the app
// (its picture loader and the drawing pad's Frame tool) and the CLI (--png inputs of
// encode and sample): both see the same digit for the same picture.

export interface Rgba {
  /** [height * width * 4] RGBA bytes, row-major (an ImageData's data) */
  data: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
}

/** MNIST puts a digit's bounding box in 20 x 20 of its 28 x 28 and its centre of mass in the middle. */
const MNIST_BOX = 20 / 28;

/**
 * Grey levels (0..255) with the background black: transparent pixels become background,
 * and a picture whose background is light (dark ink on paper) is inverted. The
 * background is read from the picture's outer frame; when the frame is mostly transparent,
 * from the colour of the ink.
 */
export function toWhiteOnBlack(img: Rgba): { grey: Float32Array; inverted: boolean } {
  const { data, width: w, height: h } = img;
  const n = w * h;
  const lum = new Float32Array(n);
  const alpha = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    lum[i] = 0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2];
    alpha[i] = data[4 * i + 3] / 255;
  }
  const frame = (fn: (i: number) => void) => {
    for (let x = 0; x < w; x++) {
      fn(x);
      if (h > 1) fn((h - 1) * w + x);
    }
    for (let y = 1; y < h - 1; y++) {
      fn(y * w);
      if (w > 1) fn(y * w + w - 1);
    }
  };
  let sum = 0;
  let weight = 0;
  let count = 0;
  frame((i) => {
    sum += lum[i] * alpha[i];
    weight += alpha[i];
    count++;
  });
  let lightBackground: boolean;
  if (weight >= count / 2) lightBackground = sum / weight > 127.5;
  else {
    // a transparent frame: the background is whatever the ink is not
    let inkSum = 0;
    let inkWeight = 0;
    for (let i = 0; i < n; i++) {
      inkSum += lum[i] * alpha[i];
      inkWeight += alpha[i];
    }
    lightBackground = inkWeight > 0 && inkSum / inkWeight <= 127.5;
  }
  const bg = lightBackground ? 255 : 0;
  const grey = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = alpha[i] * lum[i] + (1 - alpha[i]) * bg;
    grey[i] = lightBackground ? 255 - v : v;
  }
  return { grey, inverted: lightBackground };
}

/** Box-filter resize of a grey image (each output pixel averages the area it covers). */
export function resizeArea(src: Float32Array, sw: number, sh: number, dw: number, dh: number): Float32Array {
  const out = new Float32Array(dw * dh);
  const fx = sw / dw;
  const fy = sh / dh;
  for (let oy = 0; oy < dh; oy++) {
    const y0 = oy * fy;
    const y1 = y0 + fy;
    for (let ox = 0; ox < dw; ox++) {
      const x0 = ox * fx;
      const x1 = x0 + fx;
      let acc = 0;
      for (let y = Math.floor(y0); y < Math.min(sh, Math.ceil(y1)); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(sw, Math.ceil(x1)); x++) {
          const wx = Math.min(x + 1, x1) - Math.max(x, x0);
          acc += src[y * sw + x] * wx * wy;
        }
      }
      out[oy * dw + ox] = acc / (fx * fy);
    }
  }
  return out;
}

/**
 * A white-on-black grey image of any size -> a size x size digit framed as MNIST frames
 * its digits: the ink's bounding box scaled (keeping its aspect) into the central 20/28,
 * its centre of mass at the centre, levels stretched so the background is 0 and the
 * brightest ink 255. A picture that already has the target size is taken as it is,
 * unless `reframe` (the pad's own drawing, framed on request).
 */
export function frameDigit(grey: Float32Array, w: number, h: number, size: number, reframe = false): Uint8Array {
  const out = new Uint8Array(size * size);
  if (w === size && h === size && !reframe) {
    for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.max(0, Math.min(255, grey[i])));
    return out;
  }
  // background level: the frame's median is robust to ink touching the border
  const border: number[] = [];
  for (let x = 0; x < w; x++) border.push(grey[x], grey[(h - 1) * w + x]);
  for (let y = 0; y < h; y++) border.push(grey[y * w], grey[y * w + w - 1]);
  border.sort((a, b) => a - b);
  const bg = border[Math.floor(border.length / 2)];
  let max = 0;
  for (const v of grey) max = Math.max(max, v);
  if (max - bg < 8) return out; // no ink to speak of: an empty pad
  const ink = (v: number) => Math.max(0, (v - bg) / (max - bg));
  // bounding box of pixels holding a tenth of the brightest ink or more
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink(grey[y * w + x]) >= 0.1) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const crop = new Float32Array(bw * bh);
  for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) crop[y * bw + x] = ink(grey[(y0 + y) * w + x0 + x]);
  const box = Math.max(1, Math.round(size * MNIST_BOX));
  const s = box / Math.max(bw, bh);
  const dw = Math.max(1, Math.min(box, Math.round(bw * s)));
  const dh = Math.max(1, Math.min(box, Math.round(bh * s)));
  const small = resizeArea(crop, bw, bh, dw, dh);
  let mass = 0, mx = 0, my = 0, peak = 0;
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      const v = small[y * dw + x];
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
      peak = Math.max(peak, v);
    }
  }
  const ox = Math.max(0, Math.min(size - dw, Math.round(size / 2 - mx / mass)));
  const oy = Math.max(0, Math.min(size - dh, Math.round(size / 2 - my / mass)));
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) out[(oy + y) * size + ox + x] = Math.round((255 * small[y * dw + x]) / peak);
  }
  return out;
}

/** Any decoded picture -> a size x size white-on-black digit. */
export function pictureToDigit(img: Rgba, size: number): { pixels: Uint8Array; inverted: boolean } {
  if (img.width < 1 || img.height < 1) throw new Error('picture: it has no pixels');
  const { grey, inverted } = toWhiteOnBlack(img);
  return { pixels: frameDigit(grey, img.width, img.height, size), inverted };
}

