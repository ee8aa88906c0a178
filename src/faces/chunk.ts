// One unit of build-faces work: a run of consecutive identities, all their variants,
// rendered and described. A chunk depends only on (seed, variants, its identities), so
// it can be drawn by any worker, in any order, in an earlier run that was interrupted.
import { faceDescriptors, type FaceRecognizer } from './descriptor';
import { personOf, variantOf, type FaceConfig } from './generate';
import { renderFace, SIZE } from './render';

export interface Chunk {
  index: number;
  /** identities [first, first + count) */
  first: number;
  count: number;
}

export interface FaceRecord {
  identity: number;
  variant: number;
  gender: string;
  face: FaceConfig;
}

export interface ChunkResult {
  index: number;
  /** uint8 [count * variants, 32, 32, 3] */
  images: Uint8Array;
  /** float32 [count * variants, 128] */
  descriptors: Float32Array;
  faces: FaceRecord[];
  timing: ChunkTiming;
}

/** Wall and CPU milliseconds of the two steps. CPU is the whole process's (process.cpuUsage): one thread's own only while the other threads idle (--workers 1). */
export interface ChunkTiming {
  renderMs: number;
  descriptorMs: number;
  renderCpuMs: number;
  descriptorCpuMs: number;
}

export function chunksOf(identities: number, chunkIdentities: number): Chunk[] {
  const out: Chunk[] = [];
  for (let first = 0, index = 0; first < identities; first += chunkIdentities, index++) {
    out.push({ index, first, count: Math.min(chunkIdentities, identities - first) });
  }
  return out;
}

export async function buildChunk(api: FaceRecognizer, seed: number, variants: number, chunk: Chunk): Promise<ChunkResult> {
  const n = chunk.count * variants;
  const px = SIZE * SIZE * 3;
  const images = new Uint8Array(n * px);
  const faces: FaceRecord[] = [];
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const t0 = performance.now();
  const c0 = cpu();
  for (let id = chunk.first; id < chunk.first + chunk.count; id++) {
    const person = personOf(seed, id);
    for (let v = 0; v < variants; v++) {
      const face = variantOf(seed, id, v, person);
      images.set(renderFace(face), faces.length * px);
      faces.push({ identity: id, variant: v, gender: person.gender, face });
    }
  }
  const t1 = performance.now();
  const c1 = cpu();
  const descriptors = await faceDescriptors(api, images, n, SIZE);
  const t2 = performance.now();
  const c2 = cpu();
  for (let i = 0; i < descriptors.length; i++) {
    if (!Number.isFinite(descriptors[i])) throw new Error(`descriptor of image ${chunk.first * variants + Math.floor(i / 128)} is not finite`);
  }
  return { index: chunk.index, images, descriptors, faces, timing: { renderMs: t1 - t0, descriptorMs: t2 - t1, renderCpuMs: c1 - c0, descriptorCpuMs: c2 - c1 } };
}
