// Reading a build-faces folder (the whole set or one split) back, checked: every file
// there, the shapes agreeing, descriptors finite. Bad folders end in one line naming
// the file and what is wrong. Node only (reads files).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { decodeNpy, encodeNpy } from '../io/npy';
import { DESCRIPTOR_DIM } from './descriptor';

export const FORMAT = 'build-faces/1';

/** int32 .npy: io/npy.ts writes uint8 and float32 only; the header differs in the dtype text alone ('<i4' for '<f4', same length). */
export function encodeNpyInt32(data: Int32Array, shape: number[]): Uint8Array {
  const bytes = encodeNpy(new Float32Array(data.buffer, data.byteOffset, data.length), shape); // raw bytes are copied, not converted
  swapDescr(bytes, "'<f4'", "'<i4'");
  return bytes;
}

/** Reads an int32 .npy (the inverse of encodeNpyInt32). */
export function decodeNpyInt32(file: Uint8Array): { shape: number[]; data: Int32Array } {
  const bytes = Uint8Array.from(file); // a copy: the header is patched, and a Node Buffer's .buffer is a shared pool
  if (!swapDescr(bytes, "'<i4'", "'<f4'")) throw new Error("npy: expected dtype int32 ('<i4')");
  const a = decodeNpy(bytes);
  return { shape: a.shape, data: new Int32Array(a.data.buffer, a.data.byteOffset, a.data.length) };
}

function swapDescr(bytes: Uint8Array, from: string, to: string): boolean {
  const headerLen = bytes.length >= 10 ? bytes[8] | (bytes[9] << 8) : 0;
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
  const at = header.indexOf(`'descr': ${from}`);
  if (at < 0) return false;
  bytes.set(new TextEncoder().encode(to), 10 + at + "'descr': ".length);
  return true;
}

export interface FacesData {
  dir: string;
  meta: Record<string, unknown> & { format: string; seed: number; variants: number };
  count: number;
  /** uint8 [count, 32, 32, 3] */
  images: Uint8Array;
  /** float32 [count, 128] */
  descriptors: Float32Array;
  /** int32 [count] */
  identities: Int32Array;
}

const shapeText = (s: number[]) => `[${s.join(', ')}]`;

/** Reads DIR (a build-faces folder or one of its train/val/test folders). */
export async function readFacesDir(dir: string): Promise<FacesData> {
  const file = (f: string) => path.join(dir, f);
  const read = async (f: string) => {
    try {
      return new Uint8Array(await fs.readFile(file(f)));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? `${dir}: no ${f} (not a finished build-faces folder)` : `${file(f)}: cannot be read (${code ?? (e as Error).message})`);
    }
  };
  const npy = async (f: string) => {
    const bytes = await read(f);
    try {
      return decodeNpy(bytes);
    } catch (e) {
      throw new Error(`${file(f)}: ${(e as Error).message}`);
    }
  };
  let meta: FacesData['meta'];
  try {
    meta = JSON.parse(new TextDecoder().decode(await read('meta.json')));
  } catch (e) {
    throw (e as Error).message.includes(dir) ? e : new Error(`${file('meta.json')}: not valid JSON`);
  }
  if (meta.format !== FORMAT) throw new Error(`${file('meta.json')}: format ${JSON.stringify(meta.format)}, expected ${FORMAT}`);
  const images = await npy('images.npy');
  if (images.dtype !== 'uint8' || images.shape.length !== 4 || images.shape[3] !== 3) {
    throw new Error(`${file('images.npy')}: expected uint8 [N, H, W, 3], got ${images.dtype} ${shapeText(images.shape)}`);
  }
  const count = images.shape[0];
  const desc = await npy('descriptors.npy');
  if (desc.dtype !== 'float32' || desc.shape.length !== 2 || desc.shape[1] !== DESCRIPTOR_DIM) {
    throw new Error(`${file('descriptors.npy')}: expected float32 [N, ${DESCRIPTOR_DIM}], got ${desc.dtype} ${shapeText(desc.shape)}`);
  }
  if (desc.shape[0] !== count) throw new Error(`${dir}: descriptors.npy holds ${desc.shape[0]} rows, images.npy ${count} images`);
  const bad = (desc.data as Float32Array).findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`${file('descriptors.npy')}: row ${Math.floor(bad / DESCRIPTOR_DIM)} element ${bad % DESCRIPTOR_DIM} is not a finite number`);
  let ids: { shape: number[]; data: Int32Array };
  try {
    ids = decodeNpyInt32(await read('identities.npy'));
  } catch (e) {
    throw (e as Error).message.includes(dir) ? e : new Error(`${file('identities.npy')}: ${(e as Error).message}`);
  }
  if (ids.shape.length !== 1 || ids.shape[0] !== count) throw new Error(`${file('identities.npy')}: expected int32 [${count}], got ${shapeText(ids.shape)}`);
  if (ids.data.some((id) => id < 0)) throw new Error(`${file('identities.npy')}: negative identity`);
  return { dir, meta, count, images: images.data as Uint8Array, descriptors: desc.data as Float32Array, identities: ids.data };
}
