// The weights format: a folder with model.json and binary shards, laid out as
// TensorFlow.js lays out its own weights (a weightsManifest of groups; each group's
// tensors are concatenated little-endian and cut into shards of at most 4 MB; float16
// storage is tfjs's `dtype: 'float32', quantization: {dtype: 'float16'}`).
//
// This file is environment-free (no node:*): the browser app fetches model.json and the
// shards and calls parseModelArtifacts; Node reads them from disk (weightsNode.ts).
// Every problem in a file is reported as a one-line Error naming the file and tensor,
// before any tensor is created.
import * as tf from '@tensorflow/tfjs';
import { paramShapes, validateConfig, type ModelConfig, type Params, type PixelCNN } from '../model';
import { float16ToFloat32, float32ToFloat16 } from './float16';

export const MODEL_FORMAT = 'gated-pixelcnn';
export const MODEL_JSON = 'model.json';
/** tfjs's own shard size */
export const SHARD_BYTES = 4 * 1024 * 1024;

export type StorageDtype = 'float32' | 'float16';

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'float16' };
}

export interface WeightsGroup {
  paths: string[];
  weights: WeightEntry[];
}

export interface ModelJson {
  format: typeof MODEL_FORMAT;
  generatedBy: string;
  config: ModelConfig;
  weightsManifest: WeightsGroup[];
  /** free-form notes from whoever saved the model (training run, metrics) */
  metadata?: Record<string, unknown>;
}

export interface SerializeOptions {
  /** storage precision of the weights (default float32) */
  dtype?: StorageDtype;
  metadata?: Record<string, unknown>;
  /** maximum shard size in bytes (default 4 MB) */
  shardBytes?: number;
}

export interface ModelArtifacts {
  modelJson: ModelJson;
  shards: { path: string; data: ArrayBuffer }[];
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const fmt = (shape: number[]) => `[${shape.join(',')}]`;

/** Turns a model into model.json + shard bytes. Reads every tensor with data() (safe on WebGPU). */
export async function serializeModel(model: PixelCNN, opts: SerializeOptions = {}): Promise<ModelArtifacts> {
  const dtype = opts.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') throw new Error(`serializeModel: dtype must be float32 or float16, got ${dtype}`);
  const shardBytes = opts.shardBytes ?? SHARD_BYTES;
  validateConfig(model.config);
  const specs = paramShapes(model.config);
  const entries: WeightEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const { name, shape } of specs) {
    const t = model.params[name];
    if (!t) throw new Error(`serializeModel: the model has no tensor '${name}'`);
    if (t.shape.join(',') !== shape.join(',')) {
      throw new Error(`serializeModel: tensor '${name}' has shape ${fmt(t.shape)}, config expects ${fmt(shape)}`);
    }
    const values = (await t.data()) as Float32Array;
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`serializeModel: tensor '${name}' holds ${values[bad]} at index ${bad}`);
    if (dtype === 'float16') {
      const half = float32ToFloat16(values);
      const inf = half.findIndex((h) => (h & 0x7fff) === 0x7c00);
      if (inf >= 0) throw new Error(`serializeModel: tensor '${name}' value ${values[inf]} at index ${inf} overflows float16`);
      entries.push({ name, shape, dtype: 'float32', quantization: { dtype: 'float16' } });
      chunks.push(new Uint8Array(half.buffer));
    } else {
      entries.push({ name, shape, dtype: 'float32' });
      chunks.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice());
    }
  }
  const extra = Object.keys(model.params).filter((k) => !specs.some((s) => s.name === k));
  if (extra.length > 0) throw new Error(`serializeModel: tensor '${extra[0]}' is not part of the config's parameters`);

  const total = chunks.reduce((s, c) => s + c.length, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  const count = Math.max(1, Math.ceil(total / shardBytes));
  const shards: { path: string; data: ArrayBuffer }[] = [];
  for (let i = 0; i < count; i++) {
    const data = all.slice(i * shardBytes, Math.min(total, (i + 1) * shardBytes)).buffer;
    shards.push({ path: `group1-shard${i + 1}of${count}.bin`, data });
  }
  const modelJson: ModelJson = {
    format: MODEL_FORMAT,
    generatedBy: 'gated-pixelcnn-web',
    config: model.config,
    weightsManifest: [{ paths: shards.map((s) => s.path), weights: entries }],
  };
  if (opts.metadata) modelJson.metadata = opts.metadata;
  return { modelJson, shards };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Shard paths are relative file names inside the model folder, never outside it. */
function checkShardPath(p: unknown, where: string): string {
  if (typeof p !== 'string' || p.length === 0) throw new Error(`${MODEL_JSON}: ${where}: shard path must be a non-empty string`);
  const parts = p.split(/[\\/]/);
  if (p.startsWith('/') || /^[a-zA-Z]:/.test(p) || parts.some((s) => s === '..' || s === '')) {
    throw new Error(`${MODEL_JSON}: ${where}: shard path ${JSON.stringify(p)} must be a relative path inside the model folder`);
  }
  return p;
}

interface CheckedEntry {
  name: string;
  shape: number[];
  half: boolean;
}

function checkEntry(e: unknown, where: string): CheckedEntry {
  if (!isObject(e)) throw new Error(`${MODEL_JSON}: ${where}: expected an object`);
  if (typeof e.name !== 'string') throw new Error(`${MODEL_JSON}: ${where}: name must be a string`);
  const name = e.name;
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    throw new Error(`${MODEL_JSON}: tensor '${name}': shape must be an array of non-negative integers`);
  }
  if (e.dtype !== 'float32') throw new Error(`${MODEL_JSON}: tensor '${name}': dtype ${JSON.stringify(e.dtype)} is not supported (expected "float32")`);
  let half = false;
  if (e.quantization !== undefined) {
    const q = e.quantization;
    if (!isObject(q) || q.dtype !== 'float16') {
      throw new Error(`${MODEL_JSON}: tensor '${name}': quantization ${JSON.stringify(q)} is not supported (only {"dtype":"float16"})`);
    }
    half = true;
  }
  return { name, shape: shape as number[], half };
}

/** A weightsManifest group whose paths, names, shapes and dtypes are checked; no bytes read yet. */
interface CheckedGroup {
  /** e.g. weightsManifest[0], for messages */
  where: string;
  paths: string[];
  entries: CheckedEntry[];
}

const bytesOf = (e: CheckedEntry) => size(e.shape) * (e.half ? 2 : 4);

/** model.json's top level: the format tag, a valid config and a non-empty weightsManifest. */
function checkHeader(modelJson: unknown): { config: ModelConfig; manifest: unknown[] } {
  if (!isObject(modelJson)) throw new Error(`${MODEL_JSON}: expected a JSON object`);
  if (modelJson.format !== MODEL_FORMAT) {
    throw new Error(`${MODEL_JSON}: format is ${JSON.stringify(modelJson.format)}, expected "${MODEL_FORMAT}"`);
  }
  const config = modelJson.config;
  try {
    validateConfig(config);
  } catch (e) {
    throw new Error(`${MODEL_JSON}: ${(e as Error).message}`);
  }
  const manifest = modelJson.weightsManifest;
  if (!Array.isArray(manifest) || manifest.length === 0) throw new Error(`${MODEL_JSON}: weightsManifest must be a non-empty array`);
  return { config, manifest };
}

/**
 * Group g of the manifest against the config's parameters (`expected`: name -> shape):
 * every name a parameter, listed once (`seen`: the names of earlier groups), with its shape.
 */
function checkGroup(group: unknown, g: number, expected: Map<string, number[]>, seen: ReadonlySet<string>): CheckedGroup {
  const where = `weightsManifest[${g}]`;
  if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
    throw new Error(`${MODEL_JSON}: ${where}: expected {paths: [...], weights: [...]}`);
  }
  const paths = group.paths.map((p, i) => checkShardPath(p, `${where}.paths[${i}]`));
  const entries = group.weights.map((e, i) => checkEntry(e, `${where}.weights[${i}]`));
  for (const e of entries) {
    const want = expected.get(e.name);
    if (!want) throw new Error(`${MODEL_JSON}: tensor '${e.name}' is not a parameter of this config`);
    if (seen.has(e.name) || entries.filter((x) => x.name === e.name).length > 1) {
      throw new Error(`${MODEL_JSON}: tensor '${e.name}' is listed twice`);
    }
    if (want.join(',') !== e.shape.join(',')) {
      throw new Error(`${MODEL_JSON}: tensor '${e.name}' has shape ${fmt(e.shape)}, config expects ${fmt(want)}`);
    }
  }
  return { where, paths, entries };
}

/** A group's shards as one byte array, and which shard holds a given byte (for messages). */
async function readShards(
  group: CheckedGroup,
  readShard: (path: string) => Promise<ArrayBuffer>,
): Promise<{ bytes: Uint8Array; shardAt: (byte: number) => string }> {
  const { paths } = group;
  const buffers: Uint8Array[] = [];
  for (const p of paths) {
    let buf: ArrayBuffer;
    try {
      buf = await readShard(p);
    } catch (e) {
      throw new Error(`${p}: cannot be read (${String((e as Error).message ?? e).split('\n')[0]})`);
    }
    buffers.push(new Uint8Array(buf));
  }
  const starts: number[] = [];
  let total = 0;
  for (const b of buffers) {
    starts.push(total);
    total += b.length;
  }
  checkShardLength(group, total);
  const bytes = new Uint8Array(total);
  buffers.forEach((b, i) => bytes.set(b, starts[i]));
  const shardAt = (byte: number) => {
    let i = 0;
    while (i + 1 < starts.length && starts[i + 1] <= byte) i++;
    return paths[i] ?? '(no shard)';
  };
  return { bytes, shardAt };
}

/** The shards must hold exactly the group's tensors; otherwise name the first that does not fit. */
function checkShardLength({ where, paths, entries }: CheckedGroup, total: number): void {
  const needed = entries.reduce((s, e) => s + bytesOf(e), 0);
  if (total === needed) return;
  let off = 0;
  for (const e of entries) {
    const n = bytesOf(e);
    if (off + n > total) {
      const last = paths[paths.length - 1] ?? '(no shard)';
      throw new Error(`${last}: truncated: tensor '${e.name}' needs bytes ${off}..${off + n} of ${where}, but its shards hold only ${total}`);
    }
    off += n;
  }
  throw new Error(`${paths[paths.length - 1]}: ${total - needed} bytes more than ${where} describes (wrong or corrupt shard)`);
}

/** Each tensor's values (float16 widened to float32), in manifest order; every value finite. */
function decodeTensors(group: CheckedGroup, bytes: Uint8Array, shardAt: (byte: number) => string): [string, Float32Array][] {
  const out: [string, Float32Array][] = [];
  let off = 0;
  for (const e of group.entries) {
    const chunk = bytes.slice(off, off + bytesOf(e));
    const v = e.half ? float16ToFloat32(new Uint16Array(chunk.buffer)) : new Float32Array(chunk.buffer);
    const bad = v.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new Error(`${shardAt(off + bad * (e.half ? 2 : 4))}: tensor '${e.name}' holds ${v[bad]} at index ${bad}`);
    out.push([e.name, v]);
    off += bytesOf(e);
  }
  return out;
}

/**
 * Builds a model from a parsed model.json and a way to read its shards (fetch in the
 * browser, fs in Node). Validates the config, every tensor's name, shape and dtype
 * against paramShapes(config), every shard's length and every value (no NaN/Inf). An
 * auto-encoder's enc/* tensors are in paramShapes too (after the head), so they are
 * checked as strictly as the decoder's; a folder without config.encoder has none.
 * Each group is checked before its shards are read.
 */
export async function parseModelArtifacts(
  modelJson: unknown,
  readShard: (path: string) => Promise<ArrayBuffer>,
): Promise<PixelCNN> {
  const { config, manifest } = checkHeader(modelJson);
  const expected = new Map(paramShapes(config).map((s) => [s.name, s.shape]));
  const values = new Map<string, Float32Array>();
  for (let g = 0; g < manifest.length; g++) {
    const group = checkGroup(manifest[g], g, expected, new Set(values.keys()));
    const { bytes, shardAt } = await readShards(group, readShard);
    for (const [name, v] of decodeTensors(group, bytes, shardAt)) values.set(name, v);
  }
  for (const name of expected.keys()) {
    if (!values.has(name)) throw new Error(`${MODEL_JSON}: tensor '${name}' is missing from weightsManifest`);
  }
  // everything checked: only now create tensors
  const params: Params = {};
  for (const [name, shape] of expected) params[name] = tf.tensor(values.get(name)!, shape, 'float32');
  return { config, params };
}
