import { describe, expect, it } from 'vitest';
import { MNIST_BRUSH, UndoStack, inkAt, paintSegment } from './brush';

const W = 28;

describe('brush', () => {
  it('a stroke is white along its centre and grey at its edges, black away from it', () => {
    const img = new Uint8Array(W * W);
    expect(paintSegment(img, W, W, { x: 5, y: 14.5 }, { x: 22, y: 14.5 })).toBe(true);
    const row = (r: number) => Array.from(img.subarray(r * W, r * W + W));
    // on the line and well inside the stroke
    expect(row(14)[14]).toBe(255);
    // one row off the centre line (distance 1): grey, neither ink nor background
    expect(row(13)[14]).toBeGreaterThan(0);
    expect(row(13)[14]).toBeLessThan(255);
    expect(row(15)[14]).toBe(row(13)[14]);
    // two rows off (distance 2 > edge): untouched
    expect(row(12)[14]).toBe(0);
    expect(row(16)[14]).toBe(0);
    // greys exist: not a hard 0/255 stencil
    const greys = Array.from(img).filter((v) => v > 0 && v < 255).length;
    expect(greys).toBeGreaterThan(20);
  });

  it('ink falls off monotonically with distance', () => {
    let prev = 256;
    for (let d = 0; d <= 2.5; d += 0.1) {
      const v = inkAt(MNIST_BRUSH, d);
      expect(v).toBeLessThanOrEqual(prev);
      prev = v;
    }
    expect(inkAt(MNIST_BRUSH, 0)).toBe(255);
    expect(inkAt(MNIST_BRUSH, MNIST_BRUSH.edge)).toBe(0);
  });

  it('going over a stroke again changes nothing (max, not sum)', () => {
    const img = new Uint8Array(W * W);
    paintSegment(img, W, W, { x: 3, y: 3 }, { x: 20, y: 20 });
    const once = img.slice();
    expect(paintSegment(img, W, W, { x: 3, y: 3 }, { x: 20, y: 20 })).toBe(false);
    expect(img).toEqual(once);
  });

  it('a dot paints a small disc; strokes at the border stay inside the image', () => {
    const img = new Uint8Array(W * W);
    paintSegment(img, W, W, { x: 10.5, y: 10.5 }, { x: 10.5, y: 10.5 });
    expect(img[10 * W + 10]).toBe(255);
    expect(img[10 * W + 13]).toBe(0);
    const edge = new Uint8Array(W * W);
    paintSegment(edge, W, W, { x: -3, y: 0 }, { x: 40, y: 27.9 });
    expect(edge[0]).toBeGreaterThan(0);
    expect(edge.length).toBe(W * W);
  });

  it('undo gives back the pictures in reverse order, at most `limit` of them', () => {
    const u = new UndoStack(2);
    u.push(Uint8Array.of(1));
    u.push(Uint8Array.of(2));
    u.push(Uint8Array.of(3));
    expect(u.size).toBe(2);
    expect(u.pop()).toEqual(Uint8Array.of(3));
    expect(u.pop()).toEqual(Uint8Array.of(2));
    expect(u.pop()).toBeUndefined();
  });
});
