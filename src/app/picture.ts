// A picture the user brings -> a digit the model can read. The pixel logic (grey, white ink
// on black, framed as MNIST) is src/io/picture.ts, shared with the CLI; here is what needs a
// browser: readPicture, which decodes a file with whatever decoder the browser has
// (injected, so tests can stand in for it).
import { pictureToDigit, type Rgba } from '../io/picture';

export { frameDigit, pictureToDigit, resizeArea, toWhiteOnBlack, type Rgba } from '../io/picture';

/** Files larger than this are refused before decoding (a phone photo is a few MB). */
export const MAX_PICTURE_BYTES = 25 * 1024 * 1024;

/** Decodes an image file into RGBA pixels (in the browser: createImageBitmap + a canvas). */
export type Decoder = (file: Blob) => Promise<Rgba>;

/**
 * Reads a picture file into a size x size digit. Every failure is one line naming the
 * file: too large, empty, or not an image this browser can decode.
 */
export async function readPicture(file: File, size: number, decode: Decoder): Promise<{ pixels: Uint8Array; inverted: boolean }> {
  const name = `picture "${file.name}"`;
  if (file.size === 0) throw new Error(`${name}: the file is empty`);
  if (file.size > MAX_PICTURE_BYTES) throw new Error(`${name}: ${(file.size / 1024 / 1024).toFixed(0)} MB is more than the ${MAX_PICTURE_BYTES / 1024 / 1024} MB allowed`);
  let img: Rgba;
  try {
    img = await decode(file);
  } catch {
    throw new Error(`${name}: not an image this browser can decode`);
  }
  if (img.width < 1 || img.height < 1) throw new Error(`${name}: the image has no pixels`);
  return pictureToDigit(img, size);
}

/** The browser's decoder: at most `maxSide` pixels a side (the browser scales larger pictures down). */
export function browserDecoder(maxSide = 512): Decoder {
  return async (file) => {
    const bitmap = await createImageBitmap(file);
    try {
      const s = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
      const width = Math.max(1, Math.round(bitmap.width * s));
      const height = Math.max(1, Math.round(bitmap.height * s));
      const canvas = new OffscreenCanvas(width, height);
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(bitmap, 0, 0, width, height);
      return { data: ctx.getImageData(0, 0, width, height).data, width, height };
    } finally {
      bitmap.close();
    }
  };
}
