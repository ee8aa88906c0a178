// The bundled test digits an auto-encoder model offers as sources (models/<name>/examples.json):
// the first test-split image of each class, 8-bit grey, written by
// scripts/digit-examples.ts and read by the app's AE panel. Pure: no files, no DOM.

export const DIGIT_EXAMPLES_FORMAT = 'pixelcnn-digit-examples';

export interface DigitExample {
  /** the digit it shows (MNIST's label) */
  label: number;
  /** its index in the split it came from */
  index: number;
  /** [size * size] grey levels 0..255, white ink on black, row-major */
  pixels: Uint8Array;
}

export interface DigitExamples {
  split: string;
  size: number;
  examples: DigitExample[];
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
}

/** The first image of each class 0..9 in `images` (row-major [count, size, size]), in class order. */
export function firstOfEachClass(images: Uint8Array, labels: Uint8Array, size: number): DigitExample[] {
  const out: DigitExample[] = [];
  for (let d = 0; d < 10; d++) {
    const index = labels.indexOf(d);
    if (index < 0) throw new Error(`digit examples: no image of class ${d}`);
    out.push({ label: d, index, pixels: images.slice(index * size * size, (index + 1) * size * size) });
  }
  return out;
}

export function writeDigitExamples(set: DigitExamples): string {
  const examples = set.examples.map((e) => ({ label: e.label, index: e.index, pixels: toBase64(e.pixels) }));
  return `${JSON.stringify({ format: DIGIT_EXAMPLES_FORMAT, split: set.split, size: set.size, examples }, null, 1)}\n`;
}

/** Parses an examples.json; anything else is one line naming what is wrong. */
export function parseDigitExamples(text: string): DigitExamples {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('examples.json: not valid JSON');
  }
  const o = json as { format?: unknown; split?: unknown; size?: unknown; examples?: unknown };
  if (o === null || typeof o !== 'object' || o.format !== DIGIT_EXAMPLES_FORMAT) throw new Error(`examples.json: expected "format": "${DIGIT_EXAMPLES_FORMAT}"`);
  const size = o.size;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) throw new Error('examples.json: "size" must be a positive integer');
  if (!Array.isArray(o.examples)) throw new Error('examples.json: "examples" must be an array');
  const examples = o.examples.map((e: { label?: unknown; index?: unknown; pixels?: unknown }, i) => {
    if (typeof e?.label !== 'number' || typeof e.index !== 'number' || typeof e.pixels !== 'string') throw new Error(`examples.json: example ${i} needs a label, an index and pixels`);
    let pixels: Uint8Array;
    try {
      pixels = fromBase64(e.pixels);
    } catch {
      throw new Error(`examples.json: example ${i}'s pixels are not base64`);
    }
    if (pixels.length !== size * size) throw new Error(`examples.json: example ${i} has ${pixels.length} pixels, expected ${size * size}`);
    return { label: e.label, index: e.index, pixels };
  });
  return { split: typeof o.split === 'string' ? o.split : '', size, examples };
}
