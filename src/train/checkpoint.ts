// A training checkpoint: everything needed to continue a run exactly, in ONE file so that
// it can be replaced atomically (write a temp file, fsync, rename).
//
// Layout: "PCNNCKPT" | uint32 version | uint32 header bytes | header JSON (utf-8) |
// zero padding to a multiple of 4 | float32 params | float32 Adam m | float32 Adam v.
// All numbers little-endian.
import fs from 'node:fs';
import path from 'node:path';
import { validateConfig, type ModelConfig } from '../model';
import type { AdamOptions } from './adam.ts';
import type { TrainHyper } from './presets.ts';

const MAGIC = 'PCNNCKPT';
const VERSION = 1;

export interface TrainProgress {
  /** optimizer updates done */
  step: number;
  /** current epoch (0-based) and the next batch within it */
  epoch: number;
  batchInEpoch: number;
  imagesSeen: number;
  /** training time so far (excludes time spent stopped) */
  elapsedSeconds: number;
  /** total updates of the learning-rate schedule, or null for a constant rate after warm-up */
  totalSteps: number | null;
  /**
   * the update the current schedule (warm-up, then cosine decay to totalSteps) started at:
   * 0 unless the run was grown (npm run grow starts a new schedule for the new layers)
   */
  scheduleStart?: number;
  /** last validation results */
  lastValBitsPerDim: number | null;
  bestValBitsPerDim: number | null;
}

export interface CheckpointHeader {
  config: ModelConfig;
  hyper: TrainHyper;
  adam: AdamOptions;
  seed: number;
  /** what the data order depends on: the permutation of epoch e is drawn from (seed, e) */
  data: { name: string; trainCount: number };
  progress: TrainProgress;
  /** tensors in the order they are stored */
  tensors: { name: string; shape: number[] }[];
  savedAt: string;
}

export interface Checkpoint {
  header: CheckpointHeader;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const total = c.params.length;
  if (c.m.length !== total || c.v.length !== total) throw new Error('checkpoint: params, m and v differ in length');
  const json = new TextEncoder().encode(JSON.stringify(c.header));
  const headerEnd = 16 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const out = new Uint8Array(dataStart + 3 * total * 4);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, 16);
  const floats = new Float32Array(out.buffer, dataStart, 3 * total);
  floats.set(c.params, 0);
  floats.set(c.m, total);
  floats.set(c.v, 2 * total);
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, name = 'checkpoint'): Checkpoint {
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error(`${name}: not a training checkpoint (bad magic)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) throw new Error(`${name}: checkpoint version ${version}, this code reads ${VERSION}`);
  const jsonLen = view.getUint32(12, true);
  if (16 + jsonLen > bytes.length) throw new Error(`${name}: truncated header`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + jsonLen)));
  } catch (e) {
    throw new Error(`${name}: header is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  try {
    validateConfig(header.config);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  const total = header.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  const dataStart = Math.ceil((16 + jsonLen) / 4) * 4;
  const want = dataStart + 3 * total * 4;
  if (bytes.length !== want) throw new Error(`${name}: ${bytes.length} bytes, header implies ${want}`);
  // copy into an aligned buffer of our own
  const floats = new Float32Array(bytes.slice(dataStart).buffer);
  return {
    header,
    params: floats.slice(0, total),
    m: floats.slice(total, 2 * total),
    v: floats.slice(2 * total, 3 * total),
  };
}

/** Writes `bytes` to `file` so that `file` is always either the old or the new content. */
export function writeFileAtomic(file: string, bytes: Uint8Array | string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}`);
  const fd = fs.openSync(tmp, 'w');
  try {
    if (typeof bytes === 'string') fs.writeSync(fd, bytes);
    else fs.writeSync(fd, bytes, 0, bytes.length);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // some file systems do not allow fsync on a directory; the rename is still atomic
  }
}

export function saveCheckpoint(file: string, c: Checkpoint): void {
  writeFileAtomic(file, encodeCheckpoint(c));
}

export function loadCheckpoint(file: string): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw new Error(`${file}: cannot read checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeCheckpoint(bytes, file);
}
