// Bits per pixel of a scored drawing and the colours of the surprise heat map. Pure.

/** Bits where the colour scale tops out: a pixel the model gave 1/256 or less. */
export const SURPRISE_MAX_BITS = 8;

/**
 * Bits each pixel cost, [H * W] (a colour pixel's channels added), from one row of a
 * score's log p (nats) per sub-pixel, [H * W * C].
 */
export function bitsPerPixel(logp: Float32Array, row: number, pixels: number, channels: number): Float32Array {
  const out = new Float32Array(pixels);
  const base = row * pixels * channels;
  for (let p = 0; p < pixels; p++) {
    let nats = 0;
    for (let c = 0; c < channels; c++) nats -= logp[base + p * channels + c];
    out[p] = nats / Math.LN2;
  }
  return out;
}

// an inferno-like scale: black (no surprise) through purple and red to pale yellow
const STOPS: [number, [number, number, number]][] = [
  [0, [0, 0, 4]],
  [0.25, [66, 10, 104]],
  [0.5, [147, 38, 103]],
  [0.75, [221, 81, 58]],
  [0.9, [252, 165, 10]],
  [1, [252, 255, 164]],
];

/** Colour of `bits` on the heat map's scale (0 .. SURPRISE_MAX_BITS, clipped). */
export function surpriseColour(bits: number): [number, number, number] {
  const t = Math.max(0, Math.min(1, bits / SURPRISE_MAX_BITS));
  for (let i = 1; i < STOPS.length; i++) {
    const [t1, c1] = STOPS[i];
    if (t <= t1) {
      const [t0, c0] = STOPS[i - 1];
      const f = (t - t0) / (t1 - t0);
      return [0, 1, 2].map((k) => Math.round(c0[k] + f * (c1[k] - c0[k]))) as [number, number, number];
    }
  }
  return STOPS[STOPS.length - 1][1];
}

/** CSS gradient of the same scale, for the legend. */
export function surpriseGradient(): string {
  return `linear-gradient(to right, ${STOPS.map(([t, c]) => `rgb(${c.join(',')}) ${(t * 100).toFixed(0)}%`).join(', ')})`;
}
