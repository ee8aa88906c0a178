// The face panel's "upload an embedding" parser: a pure function from a file's name and
// bytes to a conditioning vector or one line that says what is wrong with the file. No
// DOM, no React, never throws (the caller shows the line and keeps the old condition).
//
// Accepted: a JSON array of `dim` finite numbers (also [[...]] holding one such array), or
// a NumPy .npy (format 1-3) of little-endian float32 / float64, shape (dim,) or (1, dim).
// The .npy header is read by src/io/npy.ts's readNpyHeader; each of its failures becomes
// a named error here instead of an exception. Values are checked after the conversion to
// float32: a float64 or a JSON number beyond float32's range would become Infinity.

import { NPY_MAGIC, NpyHeaderError, readNpyHeader, type NpyHeader } from '../io/npy';

/** What went wrong; each kind's message starts with EMBEDDING_ERROR_PREFIX[kind]. */
export type EmbeddingErrorKind =
  | 'too-large'
  | 'unknown-format'
  | 'not-json'
  | 'not-array'
  | 'wrong-length'
  | 'not-finite'
  | 'npy-header'
  | 'npy-dtype'
  | 'npy-shape'
  | 'npy-data';

export const EMBEDDING_ERROR_PREFIX: Record<EmbeddingErrorKind, string> = {
  'too-large': 'file is over 1 MB',
  'unknown-format': 'not an embedding file',
  'not-json': 'not JSON',
  'not-array': 'not an array of numbers',
  'wrong-length': 'wrong length',
  'not-finite': 'not finite',
  'npy-header': 'broken .npy header',
  'npy-dtype': 'unsupported .npy dtype',
  'npy-shape': 'wrong .npy shape',
  'npy-data': 'wrong .npy data size',
};

export type EmbeddingParse =
  | { ok: true; vector: Float32Array; format: 'json' | 'npy' }
  | { ok: false; kind: EmbeddingErrorKind; error: string };

/** Largest file the parser reads: a 128-d vector is ~3 KB as JSON, 640 bytes as .npy. */
export const MAX_EMBEDDING_BYTES = 1024 * 1024;

class ParseError extends Error {
  constructor(
    readonly kind: EmbeddingErrorKind,
    detail: string,
  ) {
    super(detail ? `${EMBEDDING_ERROR_PREFIX[kind]}${detail}` : EMBEDDING_ERROR_PREFIX[kind]);
  }
}

function fail(kind: EmbeddingErrorKind, detail = ''): never {
  throw new ParseError(kind, detail);
}

/** The file name as it may appear in a one-line message: no control characters, not too long. */
export function displayName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = String(name).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?').trim() || 'file';
  return clean.length > 60 ? `${clean.slice(0, 28)}…${clean.slice(-28)}` : clean;
}

/** One line, at most `max` characters. */
function oneLine(s: string, max = 80): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function formatNumber(x: number): string {
  return Number.isNaN(x) ? 'NaN' : x === Infinity ? 'Infinity' : x === -Infinity ? '-Infinity' : String(x);
}

/**
 * Parses an uploaded conditioning vector. `dim` is the model's embedding size. The error
 * line is `<file name>: <prefix>[: details]`, with the prefix from EMBEDDING_ERROR_PREFIX.
 */
export function parseEmbeddingFile(name: string, bytes: Uint8Array, dim = 128): EmbeddingParse {
  const shown = displayName(name);
  try {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`embedding size must be a positive integer, got ${dim}`);
    if (!(bytes instanceof Uint8Array)) fail('unknown-format', ': no file contents');
    if (bytes.length > MAX_EMBEDDING_BYTES) fail('too-large', ` (${bytes.length} bytes; a ${dim}-number vector is a few KB)`);
    const format = detectFormat(name, bytes);
    const values = format === 'npy' ? parseNpy(bytes, dim) : parseJson(bytes, dim);
    const vector = Float32Array.from(values);
    const bad = vector.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      const v = values[bad];
      const why = Number.isFinite(v) ? `${formatNumber(v)} is beyond float32's range` : `is ${formatNumber(v)}`;
      fail('not-finite', `: element ${bad} ${why}`);
    }
    return { ok: true, vector, format };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, kind: e.kind, error: `${shown}: ${e.message}` };
    // a bug here must not take the page down either: report it as the file's problem
    // (the fuzz test fails on any 'internal error': every real case has its own message)
    return { ok: false, kind: 'unknown-format', error: `${shown}: ${EMBEDDING_ERROR_PREFIX['unknown-format']}: internal error: ${oneLine(String((e as Error)?.message ?? e))}` };
  }
}

const IMAGE_MAGIC: [string, number[]][] = [
  ['PNG', [0x89, 0x50, 0x4e, 0x47]],
  ['JPEG', [0xff, 0xd8, 0xff]],
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['WebP', [0x52, 0x49, 0x46, 0x46]],
];

const startsWith = (bytes: Uint8Array, magic: number[]) => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

/** .npy by its magic or its name; JSON by its name or a leading '[' / '{'; else unknown. */
function detectFormat(name: string, bytes: Uint8Array): 'json' | 'npy' {
  const ext = /\.([^./\\]*)$/.exec(String(name))?.[1]?.toLowerCase() ?? '';
  if (startsWith(bytes, NPY_MAGIC) || ext === 'npy') return 'npy';
  if (ext === 'json') return 'json';
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  if (bytes[i] === 0x5b || bytes[i] === 0x7b) return 'json'; // '[' or '{'
  const image = IMAGE_MAGIC.find(([, m]) => startsWith(bytes, m))?.[0];
  if (image) return fail('unknown-format', `: a ${image} picture (use the photo input for pictures); expected .json or .npy`);
  return fail('unknown-format', `: expected a .json array or a .npy file${ext ? `, got .${oneLine(ext, 12)}` : ''}`);
}

// ---- JSON ----

const SENTINEL = '\u0000nonfinite:';

function parseJson(bytes: Uint8Array, dim: number): number[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('not-json', ': not UTF-8 text');
  }
  if (text.trim() === '') fail('not-json', ': the file is empty');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // Python's json.dump writes NaN / Infinity, which JSON has no words for: name them.
    const marked = text.replace(/(?<![\w.$"])(-?)(NaN|Infinity)(?![\w.$"])/g, (_m, sign: string, word: string) => `"\\u0000nonfinite:${sign}${word}"`);
    let reparsed: unknown = undefined;
    if (marked !== text) {
      try {
        reparsed = JSON.parse(marked);
      } catch {
        // still not JSON: report the original error
      }
    }
    if (reparsed === undefined) return fail('not-json', `: ${oneLine((e as Error).message)}`);
    json = reparsed;
  }
  let row: unknown = json;
  if (Array.isArray(json) && json.length >= 1 && json.every(Array.isArray)) {
    if (json.length !== 1) fail('not-array', `: the JSON holds ${json.length} vectors; upload one array of ${dim} numbers`);
    row = json[0];
  }
  if (!Array.isArray(row)) fail('not-array', `: the JSON is ${row === null ? 'null' : typeof row === 'object' ? 'an object' : `a ${typeof row}`}, expected an array of ${dim} numbers`);
  const arr = row as unknown[];
  const out: number[] = new Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (typeof v === 'string' && v.startsWith(SENTINEL)) fail('not-finite', `: element ${i} is ${v.slice(SENTINEL.length)}`);
    if (typeof v !== 'number') fail('not-array', `: element ${i} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`}`);
    out[i] = v as number;
  }
  if (out.length !== dim) fail('wrong-length', `: ${out.length} numbers, expected ${dim}`);
  return out;
}

// ---- .npy ----

function parseNpy(file: Uint8Array, dim: number): Float64Array | Float32Array {
  let header: NpyHeader;
  try {
    header = readNpyHeader(file);
  } catch (e) {
    if (e instanceof NpyHeaderError) return fail('npy-header', `: ${e.message}`);
    throw e;
  }
  const { descr, shape, dataStart } = header;
  let itemSize: number;
  if (descr === '<f4') itemSize = 4;
  else if (descr === '<f8') itemSize = 8;
  else {
    const known: Record<string, string> = { '>f4': 'big-endian float32', '>f8': 'big-endian float64', '<f2': 'float16', '|u1': 'uint8', '|i1': 'int8', '<i4': 'int32', '<i8': 'int64', '|b1': 'bool' };
    return fail('npy-dtype', ` '${oneLine(descr, 20)}'${known[descr] ? ` (${known[descr]})` : ''}, expected float32 or float64 (little-endian)`);
  }
  const shown = `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  const okShape = (shape.length === 1 && shape[0] === dim) || (shape.length === 2 && shape[0] === 1 && shape[1] === dim);
  if (!okShape) fail('npy-shape', ` ${shown}, expected (${dim},) or (1, ${dim})`);
  // Fortran order is the same byte layout as C order for (dim,) and (1, dim): accepted.
  const need = dim * itemSize;
  if (file.length - dataStart !== need) {
    fail('npy-data', `: shape ${shown} of ${itemSize === 4 ? 'float32' : 'float64'} needs ${need} data bytes, the file has ${file.length - dataStart}`);
  }
  const copy = file.slice(dataStart, dataStart + need); // aligned, owns its memory
  return itemSize === 4 ? new Float32Array(copy.buffer, copy.byteOffset, dim) : new Float64Array(copy.buffer, copy.byteOffset, dim);
}

// ---- download ----

/** The shortest decimal that reads back as exactly this float32 (no 0.10000000149011612). */
function float32Text(x: number): string {
  if (Object.is(x, -0)) return '-0';
  for (let p = 1; p <= 9; p++) {
    const s = Number(x.toPrecision(p));
    if (Math.fround(s) === x) return String(s);
  }
  return String(x); // unreachable: 9 significant digits always round-trip a float32
}

/**
 * The condition as the JSON file the app offers for download: one array of numbers that
 * parseEmbeddingFile reads back to exactly the same float32 values. Throws on a value
 * that is not finite (JSON cannot hold it; the app never conditions on one).
 */
export function downloadConditionJson(vector: ArrayLike<number>): string {
  const parts: string[] = [];
  for (let i = 0; i < vector.length; i++) {
    const x = Math.fround(vector[i]);
    if (!Number.isFinite(x)) throw new Error(`condition: element ${i} is ${formatNumber(x)}, not a finite float32`);
    parts.push(float32Text(x));
  }
  return `[${parts.join(', ')}]\n`;
}
