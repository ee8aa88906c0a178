// Where the face panel crops a photo, so the crop is framed as the data set's cartoons
// are: facesjs's head drawn in the `10 90 380 380` square of its 400x600 box (hair to
// chin, src/faces/render.ts; on the 32x32 renders of data/faces the face spans ~0.69 of
// the width, centred, with the chin ~0.03 above the bottom edge). face-api's SSD box is
// tighter than that face outline: on the package's six demo photos, a square 1/0.69 of the
// box's width cut off the hair and filled the frame with the face; 1/0.55 of it, with the
// box's bottom 0.04 of the side above the crop's edge, shows the whole head, hair to chin,
// as the cartoons do (a contact sheet of the candidates was looked at). Pure geometry.

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** the data set's background (src/faces/render.ts BACKGROUND, which needs Node): where a crop runs past the photo */
export const CROP_BACKGROUND = '#c8c8c8';
/** share of the crop's width the detector's box takes */
export const FACE_SHARE = 0.55;
/** gap between the box's bottom (about the chin) and the crop's bottom, as a share of the crop */
export const CHIN_MARGIN = 0.04;

/** The square (in image pixels, possibly reaching past the image's edges) framing a detected face as the data set frames its faces. */
export function cropSquare(face: Box): { x: number; y: number; side: number } {
  const side = face.width / FACE_SHARE;
  const bottom = face.y + face.height + CHIN_MARGIN * side;
  return { x: face.x + face.width / 2 - side / 2, y: bottom - side, side };
}

/**
 * The part of a square crop that lies inside a width x height image, and where it lands in
 * an out x out picture of the crop (the rest is filled with the data set's background):
 * drawImage(img, sx, sy, sw, sh, dx, dy, dw, dh). Null when the square misses the image.
 */
export function visiblePart(
  square: { x: number; y: number; side: number },
  width: number,
  height: number,
  out: number,
): { sx: number; sy: number; sw: number; sh: number; dx: number; dy: number; dw: number; dh: number } | null {
  const x0 = Math.max(0, square.x);
  const y0 = Math.max(0, square.y);
  const x1 = Math.min(width, square.x + square.side);
  const y1 = Math.min(height, square.y + square.side);
  if (!(square.side > 0) || x1 <= x0 || y1 <= y0) return null;
  const k = out / square.side;
  return { sx: x0, sy: y0, sw: x1 - x0, sh: y1 - y0, dx: (x0 - square.x) * k, dy: (y0 - square.y) * k, dw: (x1 - x0) * k, dh: (y1 - y0) * k };
}

/** The index of the largest box (by area; the first of equals), or -1 for none. */
export function largestFace(boxes: readonly Box[]): number {
  let best = -1;
  let area = -Infinity;
  boxes.forEach((b, i) => {
    const a = b.width * b.height;
    if (a > area) {
      area = a;
      best = i;
    }
  });
  return best;
}

/** A large photo is scaled so its longer side is at most `max` for the detector (which reads 512x512 anyway). */
export function detectorScale(width: number, height: number, max: number): number {
  const long = Math.max(width, height);
  return long > max ? max / long : 1;
}
