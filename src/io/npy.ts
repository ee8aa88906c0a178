// NumPy .npy files: write uint8 / float32 arrays (format 1.0), read them back (formats
// 1-3). Environment-free: bytes in, bytes out. Conditioning-vector files (.npy or .json)
// are read by embedding.ts, on top of readNpyHeader.

export type NpyDtype = 'uint8' | 'float32' | 'float64';

const DESCR: Record<NpyDtype, string> = { uint8: '|u1', float32: '<f4', float64: '<f8' };
export const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Uint8Array | Float32Array | Float64Array;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises a C-order array. data's type picks the dtype. */
export function encodeNpy(data: Uint8Array | Float32Array, shape: number[]): Uint8Array {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`npy: bad shape [${shape}]`);
  if (size(shape) !== data.length) throw new Error(`npy: shape [${shape}] needs ${size(shape)} values, got ${data.length}`);
  const dtype: NpyDtype = data instanceof Uint8Array ? 'uint8' : 'float32';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // magic(6) + version(2) + header length(2) + header, padded with spaces and ended by
  // '\n' so the data starts on a 64-byte boundary (what numpy itself writes)
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(NPY_MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // float32 is stored little-endian; every platform tfjs runs on is little-endian
  out.set(bytes, total);
  return out;
}

/** A .npy file's header: what the data after it is. */
export interface NpyHeader {
  version: number;
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** byte offset of the first data byte */
  dataStart: number;
}

/** Why a .npy header could not be read; `message` is the detail, `magic` says the file is no .npy at all. */
export class NpyHeaderError extends Error {
  constructor(
    message: string,
    readonly magic = false,
  ) {
    super(message);
  }
}

/**
 * Reads a .npy header (format 1-3): magic, version, header length, and the dictionary's
 * descr / fortran_order / shape. Throws NpyHeaderError naming what is wrong; checks
 * nothing about the data (decodeNpy and embedding.ts each do their own).
 */
export function readNpyHeader(file: Uint8Array): NpyHeader {
  if (file.length < NPY_MAGIC.length || NPY_MAGIC.some((b, i) => file[i] !== b)) throw new NpyHeaderError('no \\x93NUMPY magic at the start', true);
  if (file.length < 10) throw new NpyHeaderError('truncated before the header length');
  const version = file[6];
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let headerLen: number;
  let start: number;
  if (version === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (version === 2 || version === 3) {
    if (file.length < 12) throw new NpyHeaderError('truncated before the header length');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new NpyHeaderError(`unsupported format version ${version}`);
  }
  if (file.length < start + headerLen) throw new NpyHeaderError(`truncated (header says ${headerLen} bytes, ${file.length - start} left)`);
  let text: string;
  try {
    // version 1 and 2 headers are latin-1 (ASCII in practice), version 3 UTF-8
    const bytes = file.subarray(start, start + headerLen);
    text = version === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(bytes) : new TextDecoder('latin1').decode(bytes);
  } catch {
    throw new NpyHeaderError('header is not UTF-8 text');
  }
  const dict = text.trim();
  if (!dict.startsWith('{') || !dict.endsWith('}')) throw new NpyHeaderError('header is not a {...} dictionary');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(dict)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)\b/.exec(dict)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr === undefined) throw new NpyHeaderError("no 'descr' entry");
  if (fortran === undefined) throw new NpyHeaderError("no 'fortran_order' entry");
  if (shapeText === undefined) throw new NpyHeaderError("no 'shape' entry");
  const parts = shapeText.split(',').map((s) => s.trim());
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // (128,)
  if (parts.length === 1 && parts[0] === '') parts.pop(); // ()
  if (!parts.every((s) => /^\d+$/.test(s))) {
    const shown = shapeText.replace(/\s+/g, ' ').trim();
    throw new NpyHeaderError(`bad shape (${shown.length > 30 ? `${shown.slice(0, 29)}…` : shown})`);
  }
  return { version, descr, fortranOrder: fortran === 'True', shape: parts.map(Number), dataStart: start + headerLen };
}

/** Parses a .npy file (versions 1-3, C order, uint8 / little-endian float32 / float64). */
export function decodeNpy(file: Uint8Array): NpyArray {
  let header: NpyHeader;
  try {
    header = readNpyHeader(file);
  } catch (e) {
    if (!(e instanceof NpyHeaderError)) throw e;
    throw new Error(e.magic ? 'npy: not a .npy file (bad magic)' : `npy: ${e.message}`);
  }
  const { descr, shape, dataStart } = header;
  if (header.fortranOrder) throw new Error('npy: Fortran-order arrays are not supported');
  const dtype = (Object.keys(DESCR) as NpyDtype[]).find((k) => DESCR[k] === descr || (k === 'uint8' && descr === '<u1'));
  if (!dtype) throw new Error(`npy: unsupported dtype '${descr}' (expected uint8, float32 or float64)`);
  const n = size(shape);
  const itemSize = dtype === 'uint8' ? 1 : dtype === 'float32' ? 4 : 8;
  if (file.length - dataStart !== n * itemSize) {
    throw new Error(`npy: shape (${shape.join(', ')}) needs ${n * itemSize} data bytes, file has ${file.length - dataStart}`);
  }
  // copy so the result is aligned and owns its memory (new Uint8Array, not file.slice: a
  // Node Buffer's slice is a view, and a view of the whole file read as floats)
  const bytes = new Uint8Array(file.subarray(dataStart));
  const data =
    dtype === 'uint8' ? bytes : dtype === 'float32' ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
  return { dtype, shape, data };
}
