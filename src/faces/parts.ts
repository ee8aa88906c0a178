// The resumable parts of a build-faces run: each finished chunk saved at once as
// DIR/.parts/chunk-NNNNNN.json, read back (checked against its chunk) when the run is
// continued or assembled.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Chunk, ChunkResult, ChunkTiming, FaceRecord } from './chunk';
import { DESCRIPTOR_DIM } from './descriptor';
import { SIZE } from './render';

export const partsDir = (out: string) => path.join(out, '.parts');
export const partFile = (out: string, index: number) => path.join(partsDir(out), `chunk-${String(index).padStart(6, '0')}.json`);

interface PartFile {
  index: number;
  images: string; // base64
  descriptors: string; // base64 of little-endian float32
  faces: FaceRecord[];
  timing: ChunkTiming;
}

export function encodePart(r: ChunkResult): string {
  const b64 = (a: Uint8Array | Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  return JSON.stringify({ index: r.index, images: b64(r.images), descriptors: b64(r.descriptors), faces: r.faces, timing: r.timing } satisfies PartFile);
}

export async function readPart(file: string, chunk: Chunk, variants: number): Promise<ChunkResult> {
  let p: PartFile;
  try {
    p = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: unreadable part of an earlier run (${(e as Error).message.split('\n')[0]}); delete it to rebuild that chunk`);
  }
  const images = new Uint8Array(Buffer.from(p.images, 'base64'));
  const dbytes = Buffer.from(p.descriptors, 'base64');
  const n = chunk.count * variants;
  if (p.index !== chunk.index || images.length !== n * SIZE * SIZE * 3 || dbytes.length !== n * DESCRIPTOR_DIM * 4 || p.faces.length !== n) {
    throw new Error(`${file}: does not match chunk ${chunk.index} (${n} images); delete it to rebuild that chunk`);
  }
  const descriptors = new Float32Array(new Uint8Array(dbytes).buffer);
  return { index: p.index, images, descriptors, faces: p.faces, timing: p.timing };
}
