// Example faces bundled with a face model (models/<name>/examples.json): a few people of
// the data set's test split, each as its 32x32 thumbnail (a PNG data URL) and the 128-d
// descriptor the model was trained to draw from. `npm run face-examples` writes the file;
// the app's face panel reads it and offers one button per example.
// No Node APIs here: the app parses the same file in the browser.
import { decode } from 'fast-png';

export const EXAMPLES_FORMAT = 'face-examples/1';
export const EXAMPLES_FILE = 'examples.json';
/** a file larger than this is refused unread (8 examples are ~40 KB) */
export const MAX_EXAMPLES_BYTES = 1024 * 1024;

export interface FaceExample {
  /** the person's identity number in the data set */
  identity: number;
  /** which of the person's variants the thumbnail and descriptor are */
  variant: number;
  /** the thumbnail, `data:image/png;base64,...`, size x size RGB */
  png: string;
  /** the face descriptor, `dim` finite numbers */
  descriptor: Float32Array;
}

export interface FaceExamples {
  size: number;
  dim: number;
  examples: FaceExample[];
}

export type ExamplesParse = { ok: true; value: FaceExamples } | { ok: false; error: string };

const PNG_PREFIX = 'data:image/png;base64,';

/** A PNG file as the data URL an <img> shows. */
export function pngDataUrl(png: Uint8Array): string {
  let s = '';
  for (let i = 0; i < png.length; i += 0x8000) s += String.fromCharCode(...png.subarray(i, i + 0x8000));
  return PNG_PREFIX + btoa(s);
}

/** The pixels of a PNG data URL, or why it is not a `size` x `size` RGB(A) picture. */
export function decodePngDataUrl(url: string, size: number): { ok: true; rgb: Uint8Array } | { ok: false; error: string } {
  if (typeof url !== 'string' || !url.startsWith(PNG_PREFIX)) return { ok: false, error: `not a ${PNG_PREFIX}... URL` };
  let bytes: Uint8Array;
  try {
    const bin = atob(url.slice(PNG_PREFIX.length));
    bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return { ok: false, error: 'broken base64' };
  }
  let img: ReturnType<typeof decode>;
  try {
    img = decode(bytes);
  } catch (e) {
    return { ok: false, error: `not a PNG (${String((e as Error).message).split('\n')[0]})` };
  }
  if (img.width !== size || img.height !== size) return { ok: false, error: `${img.width}x${img.height}, expected ${size}x${size}` };
  if (img.depth !== 8 || (img.channels !== 3 && img.channels !== 4)) return { ok: false, error: `${img.channels} channels of ${img.depth} bits, expected 8-bit RGB` };
  const rgb = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = img.data[i * img.channels + c];
  return { ok: true, rgb };
}

/**
 * Checks an examples file (already JSON-parsed) against the model it comes with: the
 * format tag, thumbnails of `size` x `size`, descriptors of `dim` finite numbers. One line
 * naming the first bad example on failure; never throws.
 */
export function parseFaceExamples(json: unknown, size: number, dim: number): ExamplesParse {
  const bad = (error: string): ExamplesParse => ({ ok: false, error: `${EXAMPLES_FILE}: ${error}` });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad('not a JSON object');
  const o = json as Record<string, unknown>;
  if (o.format !== EXAMPLES_FORMAT) return bad(`format ${JSON.stringify(o.format) ?? 'missing'}, expected ${EXAMPLES_FORMAT}`);
  if (o.size !== size) return bad(`thumbnails of ${JSON.stringify(o.size)} px, the model draws ${size}x${size}`);
  if (o.dim !== dim) return bad(`descriptors of ${JSON.stringify(o.dim)} numbers, the model takes ${dim}`);
  if (!Array.isArray(o.examples) || o.examples.length === 0) return bad('no examples');
  const examples: FaceExample[] = [];
  for (let i = 0; i < o.examples.length; i++) {
    const e = o.examples[i] as Record<string, unknown> | null;
    const at = `example ${i}`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return bad(`${at}: not an object`);
    for (const k of ['identity', 'variant'] as const) {
      if (!Number.isInteger(e[k]) || (e[k] as number) < 0) return bad(`${at}: ${k} ${JSON.stringify(e[k])} is not an integer >= 0`);
    }
    const png = decodePngDataUrl(e.png as string, size);
    if (!png.ok) return bad(`${at}: png: ${png.error}`);
    const d = e.descriptor;
    if (!Array.isArray(d) || d.length !== dim) return bad(`${at}: descriptor is not an array of ${dim} numbers`);
    const descriptor = Float32Array.from(d as number[]);
    const k = d.findIndex((x, j) => typeof x !== 'number' || !Number.isFinite(descriptor[j]));
    if (k >= 0) return bad(`${at}: descriptor element ${k} is not a finite number`);
    examples.push({ identity: e.identity as number, variant: e.variant as number, png: e.png as string, descriptor });
  }
  return { ok: true, value: { size, dim, examples } };
}
