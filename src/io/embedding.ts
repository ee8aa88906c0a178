// Conditioning-vector files, for the app's face panel and the CLI's --embedding /
// --embeddings: a pure function from a file's name and bytes to its vectors or one line
// that says what is wrong with the file. No DOM, no Node; never throws (the app shows the
// line and keeps the old condition; the CLI throws it, through embeddingRowsOrThrow).
//
// Accepted: JSON holding an array of finite numbers or an array of such arrays, or a NumPy
// .npy (format 1-3) of little-endian float32 / float64, shape (D,) or (N, D). The app reads
// one vector of the model's size (N = 1, at most 1 MB); the CLI reads N rows of any one
// length and checks it against the model itself. The .npy header is read by npy.ts's
// readNpyHeader. Values are checked after the conversion to float32: a float64 or a JSON
// number beyond float32's range would become Infinity.

import { NPY_MAGIC, NpyHeaderError, readNpyHeader, type NpyHeader } from './npy';

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

export type EmbeddingFormat = 'json' | 'npy';

/** A file's problem: `error` is `<file name>: <prefix>[: details]`, one line. */
export type EmbeddingError = { ok: false; kind: EmbeddingErrorKind; error: string };

/** The app's answer: one vector of the model's size. */
export type EmbeddingParse = { ok: true; vector: Float32Array; format: EmbeddingFormat } | EmbeddingError;

/** The CLI's answer: one or more rows, all of one length. */
export type EmbeddingRowsParse = { ok: true; rows: Float32Array[]; format: EmbeddingFormat } | EmbeddingError;

/** Largest file the app reads: a 128-d vector is ~3 KB as JSON, 640 bytes as .npy. */
export const MAX_EMBEDDING_BYTES = 1024 * 1024;

/** What the caller takes: one vector of `dim` (the app), or rows (the CLI; `dim` undefined: any length). */
interface Want {
  rows: boolean;
  dim: number | undefined;
}

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

/** Runs a parse, turning its ParseError (or a bug: the fuzz test fails on any 'internal error') into the one-line answer. */
function answer<T extends { ok: true }>(shown: string, parse: () => T): T | EmbeddingError {
  try {
    return parse();
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, kind: e.kind, error: `${shown}: ${e.message}` };
    return { ok: false, kind: 'unknown-format', error: `${shown}: ${EMBEDDING_ERROR_PREFIX['unknown-format']}: internal error: ${oneLine(String((e as Error)?.message ?? e))}` };
  }
}

/**
 * The face panel's upload: one vector of `dim` (the model's embedding size) from JSON
 * [x, ...] or [[x, ...]], or a .npy of shape (dim,) or (1, dim); at most 1 MB. The error
 * line is `<file name>: <prefix>[: details]`, the name as displayName shows it.
 */
export function parseEmbeddingFile(name: string, bytes: Uint8Array, dim = 128): EmbeddingParse {
  return answer(displayName(name), () => {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`embedding size must be a positive integer, got ${dim}`);
    if (bytes instanceof Uint8Array && bytes.length > MAX_EMBEDDING_BYTES) fail('too-large', ` (${bytes.length} bytes; a ${dim}-number vector is a few KB)`);
    const { rows, format } = parseRows(name, bytes, { rows: false, dim });
    return { ok: true as const, vector: rows[0], format };
  });
}

/**
 * The CLI's --embedding / --embeddings file: one row per vector, from JSON [x, ...] or
 * [[x, ...], ...] or a .npy of shape (D,) or (N, D), every row of one length D >= 1 (the
 * caller checks D against its model). No size limit. The error line names the file as given.
 */
export function parseEmbeddingRows(name: string, bytes: Uint8Array): EmbeddingRowsParse {
  return answer(String(name), () => ({ ok: true as const, ...parseRows(name, bytes, { rows: true, dim: undefined }) }));
}

/** parseEmbeddingRows for the CLI, which reports a bad file by throwing its one line. */
export function embeddingRowsOrThrow(name: string, bytes: Uint8Array): Float32Array[] {
  const r = parseEmbeddingRows(name, bytes);
  if (!r.ok) throw new Error(r.error);
  return r.rows;
}

/** The file's rows as float32, each checked finite; throws ParseError. */
function parseRows(name: string, bytes: Uint8Array, want: Want): { rows: Float32Array[]; format: EmbeddingFormat } {
  if (!(bytes instanceof Uint8Array)) fail('unknown-format', ': no file contents');
  const format = detectFormat(name, bytes);
  const { values, twoD } = format === 'npy' ? parseNpy(bytes, want) : parseJson(bytes, want);
  const rows = values.map((row, i) => {
    const vector = Float32Array.from(row);
    const bad = vector.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      const v = row[bad];
      const why = Number.isFinite(v) ? `${formatNumber(v)} is beyond float32's range` : `is ${formatNumber(v)}`;
      fail('not-finite', `: ${place(want, twoD, i, bad)} ${why}`);
    }
    return vector;
  });
  return { rows, format };
}

const IMAGE_MAGIC: [string, number[]][] = [
  ['PNG', [0x89, 0x50, 0x4e, 0x47]],
  ['JPEG', [0xff, 0xd8, 0xff]],
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['WebP', [0x52, 0x49, 0x46, 0x46]],
];

const startsWith = (bytes: Uint8Array, magic: number[]) => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

/** .npy by its magic or its name; JSON by its name or a leading '[' / '{'; else unknown. */
function detectFormat(name: string, bytes: Uint8Array): EmbeddingFormat {
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

/** The values as read, a row each; `twoD`: the file is laid out as rows ([[...]] or (N, D)). */
type Values = { values: ArrayLike<number>[]; twoD: boolean };

/** A value's place in a message: "element j", or "row i element j" where the CLI reads a file of rows. */
function place(want: Want, twoD: boolean, i: number, j: number): string {
  return want.rows && twoD ? `row ${i} element ${j}` : `element ${j}`;
}

// ---- JSON ----

const SENTINEL = '\u0000nonfinite:';

function parseJson(bytes: Uint8Array, want: Want): Values {
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
  const numbers = want.dim === undefined ? 'numbers' : `${want.dim} numbers`;
  let rows: unknown[] = [json];
  let twoD = false;
  if (Array.isArray(json) && json.length >= 1 && json.every(Array.isArray)) {
    twoD = true;
    if (!want.rows && json.length !== 1) fail('not-array', `: the JSON holds ${json.length} vectors; upload one array of ${numbers}`);
    rows = json;
  }
  if (!Array.isArray(json)) {
    const what = json === null ? 'null' : typeof json === 'object' ? 'an object' : `a ${typeof json}`;
    fail('not-array', `: the JSON is ${what}, expected an array of ${numbers}${want.rows ? ' or an array of such arrays' : ''}`);
  }
  const values = rows.map((row, i) => {
    const arr = row as unknown[];
    const out: number[] = new Array(arr.length);
    for (let j = 0; j < arr.length; j++) {
      const v = arr[j];
      if (typeof v === 'string' && v.startsWith(SENTINEL)) fail('not-finite', `: ${place(want, twoD, i, j)} is ${v.slice(SENTINEL.length)}`);
      if (typeof v !== 'number') fail('not-array', `: ${place(want, twoD, i, j)} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`}`);
      out[j] = v as number;
    }
    return out;
  });
  for (let i = 0; i < values.length; i++) {
    const n = values[i].length;
    const row = want.rows && twoD ? `row ${i}: ` : '';
    if (want.dim !== undefined && n !== want.dim) fail('wrong-length', `: ${row}${n} numbers, expected ${want.dim}`);
    if (n === 0) fail('wrong-length', `: ${row}no numbers`);
    if (n !== values[0].length) fail('wrong-length', `: row ${i} has ${n} numbers, row 0 has ${values[0].length}`);
  }
  return { values, twoD };
}

// ---- .npy ----

function parseNpy(file: Uint8Array, want: Want): Values {
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
  let n: number;
  let d: number;
  if (!want.rows) {
    const dim = want.dim!;
    const okShape = (shape.length === 1 && shape[0] === dim) || (shape.length === 2 && shape[0] === 1 && shape[1] === dim);
    if (!okShape) fail('npy-shape', ` ${shown}, expected (${dim},) or (1, ${dim})`);
    [n, d] = [1, dim];
  } else {
    if (shape.length === 1) [n, d] = [1, shape[0]];
    else if (shape.length === 2) [n, d] = shape;
    else return fail('npy-shape', ` ${shown}, expected (D,) or (N, D)`);
    if (n * d === 0) fail('npy-shape', ` ${shown} holds no numbers`);
  }
  // Fortran order is the same byte layout as C order for (D,) and (1, D): accepted.
  if (header.fortranOrder && n > 1 && d > 1) fail('npy-shape', ` ${shown} in Fortran order, expected C order`);
  const need = n * d * itemSize;
  if (file.length - dataStart !== need) {
    fail('npy-data', `: shape ${shown} of ${itemSize === 4 ? 'float32' : 'float64'} needs ${need} data bytes, the file has ${file.length - dataStart}`);
  }
  // a copy: aligned and its own memory (not file.slice, which for a Node Buffer is a view)
  const copy = new Uint8Array(file.subarray(dataStart, dataStart + need));
  const all = itemSize === 4 ? new Float32Array(copy.buffer, copy.byteOffset, n * d) : new Float64Array(copy.buffer, copy.byteOffset, n * d);
  return { values: Array.from({ length: n }, (_, i) => all.subarray(i * d, (i + 1) * d)), twoD: shape.length === 2 };
}

// ---- writing ----

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
 * A condition as JSON text (what the app offers for download, and the examples file
 * holds): one array of numbers that parseEmbeddingFile reads back to exactly the same
 * float32 values. Throws on a value that is not finite (JSON cannot hold it; the app
 * never conditions on one).
 */
export function formatEmbeddingJson(vector: ArrayLike<number>): string {
  const parts: string[] = [];
  for (let i = 0; i < vector.length; i++) {
    const x = Math.fround(vector[i]);
    if (!Number.isFinite(x)) throw new Error(`condition: element ${i} is ${formatNumber(x)}, not a finite float32`);
    parts.push(float32Text(x));
  }
  return `[${parts.join(', ')}]\n`;
}
