// The drawing pad's ink: a soft round brush painted along each pointer segment onto a
// small grey image (0 = black background, 255 = white ink, as in MNIST). A pixel's ink
// falls off linearly with its centre's distance from the stroke, so a stroke's edges come
// out grey the way MNIST's anti-aliased digits do, not as a hard 0/255 stencil. Ink is
// combined with max, so going over a stroke again never saturates its grey edges.

export interface Brush {
  /** distance (in pixels, from the stroke's centre line) up to which ink is full */
  core: number;
  /** distance at which ink has fallen to nothing */
  edge: number;
}

/** About MNIST's stroke: a pixel or two of white fading through grey over a pixel on each side. */
export const MNIST_BRUSH: Brush = { core: 0.4, edge: 1.9 };

/** Ink (0..255) a brush leaves at distance d from the stroke's centre line. */
export function inkAt(brush: Brush, d: number): number {
  if (d <= brush.core) return 255;
  if (d >= brush.edge) return 0;
  return Math.round((255 * (brush.edge - d)) / (brush.edge - brush.core));
}

/** Distance from point (px, py) to the segment (x0, y0)-(x1, y1). */
function segmentDistance(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len2));
  return Math.hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}

/**
 * Paints one segment of a stroke into img ([height * width] grey, row-major), in place.
 * Coordinates are in pixels of the image (pixel (r, c) covers x in [c, c+1), y in [r, r+1));
 * a dot is a segment whose ends coincide. Returns whether any pixel changed.
 */
export function paintSegment(
  img: Uint8Array,
  width: number,
  height: number,
  from: { x: number; y: number },
  to: { x: number; y: number },
  brush: Brush = MNIST_BRUSH,
): boolean {
  const r = brush.edge;
  const c0 = Math.max(0, Math.floor(Math.min(from.x, to.x) - r));
  const c1 = Math.min(width - 1, Math.ceil(Math.max(from.x, to.x) + r));
  const r0 = Math.max(0, Math.floor(Math.min(from.y, to.y) - r));
  const r1 = Math.min(height - 1, Math.ceil(Math.max(from.y, to.y) + r));
  let changed = false;
  for (let row = r0; row <= r1; row++) {
    for (let col = c0; col <= c1; col++) {
      const ink = inkAt(brush, segmentDistance(col + 0.5, row + 0.5, from.x, from.y, to.x, to.y));
      const i = row * width + col;
      if (ink > img[i]) {
        img[i] = ink;
        changed = true;
      }
    }
  }
  return changed;
}

/** A bounded history of pictures for undo: push the picture before each change. */
export class UndoStack {
  private items: Uint8Array[] = [];
  constructor(private readonly limit = 50) {}

  push(img: Uint8Array): void {
    this.items.push(img.slice());
    if (this.items.length > this.limit) this.items.shift();
  }

  /** the picture before the last change, or undefined when there is none */
  pop(): Uint8Array | undefined {
    return this.items.pop();
  }

  get size(): number {
    return this.items.length;
  }

  clear(): void {
    this.items = [];
  }
}
