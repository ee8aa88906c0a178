import { describe, expect, it } from 'vitest';
import { BACKGROUND } from './render';
import { CHIN_MARGIN, CROP_BACKGROUND, FACE_SHARE, cropSquare, detectorScale, largestFace, visiblePart } from './crop';

describe('cropSquare', () => {
  it('frames the face as the cartoons are framed: the box FACE_SHARE of the width, centred, its bottom CHIN_MARGIN above the edge', () => {
    const face = { x: 100, y: 50, width: 55, height: 70 };
    const sq = cropSquare(face);
    expect(sq.side).toBeCloseTo(100, 9);
    expect(face.width / sq.side).toBeCloseTo(FACE_SHARE, 12);
    expect(sq.x + sq.side / 2).toBeCloseTo(face.x + face.width / 2, 9); // centred
    expect((sq.y + sq.side - (face.y + face.height)) / sq.side).toBeCloseTo(CHIN_MARGIN, 12);
    // there is room above the box for the hair
    expect(face.y - sq.y).toBeGreaterThan(0.2 * sq.side);
  });
});

it('fills what lies past the photo with the data set background', () => {
  expect(CROP_BACKGROUND).toBe(BACKGROUND);
});

describe('visiblePart', () => {
  it('maps a square inside the image one to one onto the output', () => {
    expect(visiblePart({ x: 10, y: 20, side: 64 }, 200, 100, 32)).toEqual({ sx: 10, sy: 20, sw: 64, sh: 64, dx: 0, dy: 0, dw: 32, dh: 32 });
  });
  it('clips a square reaching past the top-left and places the rest where it belongs', () => {
    // square from (-16, -32), side 64, out 32 (k = 0.5): the image part starts 8 and 16 px into the output
    expect(visiblePart({ x: -16, y: -32, side: 64 }, 100, 100, 32)).toEqual({ sx: 0, sy: 0, sw: 48, sh: 32, dx: 8, dy: 16, dw: 24, dh: 16 });
  });
  it('clips past the bottom-right', () => {
    expect(visiblePart({ x: 80, y: 90, side: 40 }, 100, 100, 40)).toEqual({ sx: 80, sy: 90, sw: 20, sh: 10, dx: 0, dy: 0, dw: 20, dh: 10 });
  });
  it('is null for a square outside the image or of no size', () => {
    expect(visiblePart({ x: 100, y: 0, side: 10 }, 100, 100, 32)).toBeNull();
    expect(visiblePart({ x: 0, y: -10, side: 10 }, 100, 100, 32)).toBeNull();
    expect(visiblePart({ x: 0, y: 0, side: 0 }, 100, 100, 32)).toBeNull();
    expect(visiblePart({ x: 0, y: 0, side: NaN }, 100, 100, 32)).toBeNull();
  });
});

describe('largestFace', () => {
  it('picks the box of largest area, the first of equals, -1 for none', () => {
    const b = (w: number, h: number) => ({ x: 0, y: 0, width: w, height: h });
    expect(largestFace([b(10, 10), b(30, 4), b(12, 12), b(3, 40)])).toBe(2);
    expect(largestFace([b(5, 5), b(5, 5)])).toBe(0);
    expect(largestFace([])).toBe(-1);
  });
});

describe('detectorScale', () => {
  it('shrinks only photos longer than the limit', () => {
    expect(detectorScale(640, 480, 640)).toBe(1);
    expect(detectorScale(1280, 2560, 640)).toBe(0.25);
    expect(detectorScale(100, 50, 640)).toBe(1);
  });
});
