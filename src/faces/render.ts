// A face as a small RGB picture: facesjs's SVG (drawn in a 400x600 box) cropped to the
// square that holds the whole head, hair to chin, and rasterised by resvg onto a plain
// background.
import { Resvg } from '@resvg/resvg-js';
import { faceToSvgString, type FaceConfig } from 'facesjs';
import { rgbaToRgb } from './descriptor';

export const VIEWBOX = '10 90 380 380';
export const BACKGROUND = '#c8c8c8';
export const SIZE = 32;

export function faceSvg(face: FaceConfig): string {
  const svg = faceToSvgString(face);
  if (!/viewBox="[^"]*"/.test(svg)) throw new Error('render: facesjs SVG has no viewBox');
  return svg.replace(/viewBox="[^"]*"/, `viewBox="${VIEWBOX}"`);
}

/** [size, size, 3] uint8 RGB, row-major. */
export function renderFace(face: FaceConfig, size = SIZE): Uint8Array {
  const img = new Resvg(faceSvg(face), { fitTo: { mode: 'width', value: size }, background: BACKGROUND }).render();
  if (img.width !== size || img.height !== size) throw new Error(`render: expected ${size}x${size}, resvg gave ${img.width}x${img.height}`);
  return rgbaToRgb(img.pixels, size * size);
}
