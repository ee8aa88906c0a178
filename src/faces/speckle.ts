// The colour-speckle figure of issue 25: how much of a portrait is saturated colour noise
// (the rainbow band a face model draws for a condition it has not learnt), not cartoon.
// A pixel counts when it is saturated (max - min of its RGB above 0.4, on 0..1) and far
// (Euclidean RGB distance above 0.3) from the per-channel median of its 3x3 neighbourhood
// (itself included; edge pixels repeat the border, so every pixel has 9 neighbours). A
// cartoon's flat regions and clean edges pass: a median follows an edge, an isolated
// pixel of another colour does not. Environment-free: pixels in, shares out.

export const SATURATION = 0.4;
export const FAR = 0.3;

/** Share of speckled pixels in each of `count` uint8 RGB images [count, size, size, 3]. */
export function speckleShares(rgb: Uint8Array, count: number, size: number): number[] {
  const px = size * size * 3;
  if (!Number.isInteger(count) || count < 0 || !Number.isInteger(size) || size < 1) throw new Error(`speckleShares: bad count ${count} or size ${size}`);
  if (rgb.length !== count * px) throw new Error(`speckleShares: ${count} images of ${size}x${size}x3 need ${count * px} bytes, got ${rgb.length}`);
  const sat = SATURATION * 255;
  const far2 = (FAR * 255) ** 2;
  const shares: number[] = [];
  const win = new Uint8Array(9);
  const median = new Float64Array(3);
  for (let n = 0; n < count; n++) {
    const img = rgb.subarray(n * px, (n + 1) * px);
    let hits = 0;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const at = (y * size + x) * 3;
        const r = img[at];
        const g = img[at + 1];
        const b = img[at + 2];
        if (Math.max(r, g, b) - Math.min(r, g, b) <= sat) continue; // cheap test first
        for (let c = 0; c < 3; c++) {
          let k = 0;
          for (let dy = -1; dy <= 1; dy++) {
            const yy = Math.min(size - 1, Math.max(0, y + dy));
            for (let dx = -1; dx <= 1; dx++) {
              const xx = Math.min(size - 1, Math.max(0, x + dx));
              win[k++] = img[(yy * size + xx) * 3 + c];
            }
          }
          win.sort();
          median[c] = win[4];
        }
        const d2 = (r - median[0]) ** 2 + (g - median[1]) ** 2 + (b - median[2]) ** 2;
        if (d2 > far2) hits++;
      }
    }
    shares.push(hits / (size * size));
  }
  return shares;
}
