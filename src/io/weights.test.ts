import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeParams, initParams, makeConfig, paramShapes, type ModelConfig, type PixelCNN } from '../model';
import { fromHalfBits, toHalfBits } from './float16';
import { parseModelArtifacts, serializeModel, type ModelJson } from './weights';
import { loadModel, saveModel } from './weightsNode';

const config: ModelConfig = makeConfig({
  height: 5,
  width: 4,
  hidden: 4,
  layers: 2,
  headHidden: 6,
  levels: 4,
  firstKernel: 3,
  kernel: 3,
  conditioning: { type: 'class', classes: 3 },
});

let root: string;
let model: PixelCNN;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'weights-test-'));
  model = { config, params: initParams(config, 3) };
});
afterAll(async () => {
  disposeParams(model.params);
  await fs.rm(root, { recursive: true, force: true });
});

const values = (m: PixelCNN) => Object.fromEntries(Object.entries(m.params).map(([k, t]) => [k, Array.from(t.dataSync())]));

/** An in-memory folder: shards by path, for parseModelArtifacts. */
function reader(shards: { path: string; data: ArrayBuffer }[]) {
  const byPath = new Map(shards.map((s) => [s.path, s.data]));
  return async (p: string) => {
    const d = byPath.get(p);
    if (!d) throw new Error(`ENOENT: no such file '${p}'`);
    return d;
  };
}

/** Expects the promise to reject with a single-line message matching all patterns. */
async function expectOneLineError(p: Promise<unknown>, ...patterns: RegExp[]) {
  let err: Error | undefined;
  try {
    await p;
  } catch (e) {
    err = e as Error;
  }
  expect(err, 'expected an error').toBeInstanceOf(Error);
  expect(err!.message).not.toContain('\n');
  for (const re of patterns) expect(err!.message).toMatch(re);
}

describe('serializeModel / parseModelArtifacts', () => {
  it('round-trips float32 weights bit for bit, with tfjs manifest conventions', async () => {
    const { modelJson, shards } = await serializeModel(model);
    expect(modelJson.format).toBe('gated-pixelcnn');
    expect(modelJson.weightsManifest[0].weights.map((w) => w.name)).toEqual(paramShapes(config).map((s) => s.name));
    expect(shards).toHaveLength(1);
    expect(shards[0].path).toBe('group1-shard1of1.bin');
    const loaded = await parseModelArtifacts(JSON.parse(JSON.stringify(modelJson)), reader(shards));
    expect(loaded.config).toEqual(config);
    expect(values(loaded)).toEqual(values(model));
    disposeParams(loaded.params);
  });

  it('tfjs own decodeWeights reads our shards (float32 and float16)', async () => {
    for (const dtype of ['float32', 'float16'] as const) {
      const { modelJson, shards } = await serializeModel(model, { dtype });
      const decoded = tf.io.decodeWeights(shards[0].data, modelJson.weightsManifest[0].weights);
      const ours = await parseModelArtifacts(modelJson, reader(shards));
      for (const [name, t] of Object.entries(ours.params)) {
        expect(Array.from(decoded[name].dataSync()), name).toEqual(Array.from(t.dataSync()));
      }
      tf.dispose(Object.values(decoded));
      disposeParams(ours.params);
    }
  });

  it('float16 storage halves the bytes and rounds each weight to the nearest half', async () => {
    const f32 = await serializeModel(model);
    const f16 = await serializeModel(model, { dtype: 'float16' });
    expect(f16.shards[0].data.byteLength * 2).toBe(f32.shards[0].data.byteLength);
    expect(f16.modelJson.weightsManifest[0].weights[0]).toMatchObject({ dtype: 'float32', quantization: { dtype: 'float16' } });
    const loaded = await parseModelArtifacts(f16.modelJson, reader(f16.shards));
    const a = values(model);
    const b = values(loaded);
    for (const k of Object.keys(a)) {
      a[k].forEach((x, i) => expect(b[k][i]).toBe(fromHalfBits(toHalfBits(x))));
    }
    disposeParams(loaded.params);
  });

  it('splits into several shards, tensors spanning shard borders', async () => {
    const { modelJson, shards } = await serializeModel(model, { shardBytes: 100 });
    const total = shards.reduce((s, x) => s + x.data.byteLength, 0);
    expect(shards.length).toBe(Math.ceil(total / 100));
    expect(shards.every((s, i) => s.path === `group1-shard${i + 1}of${shards.length}.bin`)).toBe(true);
    expect(shards.slice(0, -1).every((s) => s.data.byteLength === 100)).toBe(true);
    const loaded = await parseModelArtifacts(modelJson, reader(shards));
    expect(values(loaded)).toEqual(values(model));
    disposeParams(loaded.params);
  });

  it('creates no tensors when a file is bad, and no leaks when it is good', async () => {
    const { modelJson, shards } = await serializeModel(model);
    const before = tf.memory().numTensors;
    const bad = structuredClone(modelJson) as ModelJson;
    bad.weightsManifest[0].weights.pop();
    await expect(parseModelArtifacts(bad, reader(shards))).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
    const ok = await parseModelArtifacts(modelJson, reader(shards));
    expect(tf.memory().numTensors).toBe(before + paramShapes(config).length);
    disposeParams(ok.params);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('bad model files give one-line errors naming the file and tensor', () => {
  type Art = Awaited<ReturnType<typeof serializeModel>>;
  let art: Art;
  beforeAll(async () => {
    art = await serializeModel(model, { shardBytes: 256 });
  });
  const json = () => structuredClone(art.modelJson) as ModelJson & Record<string, unknown>;
  const weights = (j: ModelJson) => j.weightsManifest[0].weights;

  it('not an object / wrong format / bad config', async () => {
    await expectOneLineError(parseModelArtifacts([1, 2], reader(art.shards)), /model\.json/, /object/);
    const j = json();
    j.format = 'layers-model' as never;
    await expectOneLineError(parseModelArtifacts(j, reader(art.shards)), /model\.json/, /format/, /gated-pixelcnn/);
    const k = json();
    (k.config as unknown as Record<string, unknown>).hidden = -3;
    await expectOneLineError(parseModelArtifacts(k, reader(art.shards)), /model\.json/, /config\.hidden/);
  });

  it('a missing tensor', async () => {
    const j = json();
    const gone = weights(j).splice(3, 1)[0];
    // its bytes would now be excess: drop them too so only the name is wrong
    await expectOneLineError(parseModelArtifacts(j, reader(art.shards)), new RegExp(`'${gone.name}'|bytes more`));
    const full = art.shards.map((s) => new Uint8Array(s.data));
    const all = new Uint8Array(full.reduce((s, b) => s + b.length, 0));
    let off = 0;
    for (const b of full) {
      all.set(b, off);
      off += b.length;
    }
    const sizeOf = (w: { shape: number[] }) => w.shape.reduce((a, b) => a * b, 1) * 4;
    const start = weights(art.modelJson).slice(0, 3).reduce((s, w) => s + sizeOf(w), 0);
    const cut = new Uint8Array(all.length - sizeOf(gone));
    cut.set(all.subarray(0, start));
    cut.set(all.subarray(start + sizeOf(gone)), start);
    j.weightsManifest[0].paths = ['one.bin'];
    await expectOneLineError(
      parseModelArtifacts(j, reader([{ path: 'one.bin', data: cut.buffer }])),
      /model\.json/,
      new RegExp(`tensor '${gone.name}' is missing`),
    );
  });

  it('an unknown, duplicated or wrongly shaped tensor', async () => {
    const a = json();
    weights(a)[0].name = 'l9/nonsense';
    await expectOneLineError(parseModelArtifacts(a, reader(art.shards)), /model\.json/, /'l9\/nonsense' is not a parameter/);
    const b = json();
    weights(b)[1].name = weights(b)[0].name;
    await expectOneLineError(parseModelArtifacts(b, reader(art.shards)), new RegExp(`'${weights(b)[0].name}' is listed twice`));
    const c = json();
    const w = weights(c)[2];
    w.shape = [...w.shape].reverse().concat([1]);
    await expectOneLineError(parseModelArtifacts(c, reader(art.shards)), new RegExp(`'${w.name}' has shape`), /config expects/);
  });

  it('an unsupported dtype or quantization', async () => {
    const a = json();
    (weights(a)[0] as unknown as Record<string, unknown>).dtype = 'int32';
    await expectOneLineError(parseModelArtifacts(a, reader(art.shards)), new RegExp(`'${weights(a)[0].name}'`), /int32/);
    const b = json();
    (weights(b)[0] as unknown as Record<string, unknown>).quantization = { dtype: 'uint8', scale: 1, min: 0 };
    await expectOneLineError(parseModelArtifacts(b, reader(art.shards)), /quantization/, /uint8/);
  });

  it('a missing shard file', async () => {
    const last = art.shards[art.shards.length - 1].path;
    await expectOneLineError(parseModelArtifacts(json(), reader(art.shards.slice(0, -1))), new RegExp(last), /cannot be read/);
  });

  it('a truncated shard, and one with extra bytes', async () => {
    const shards = art.shards.map((s) => ({ ...s }));
    const last = shards[shards.length - 1];
    last.data = last.data.slice(0, last.data.byteLength - 3);
    const lastName = weights(art.modelJson).at(-1)!.name;
    await expectOneLineError(parseModelArtifacts(json(), reader(shards)), new RegExp(last.path), /truncated/, new RegExp(`'${lastName}'`));
    const longer = art.shards.map((s) => ({ ...s }));
    const l2 = longer[longer.length - 1];
    l2.data = new Uint8Array([...new Uint8Array(l2.data), 1, 2, 3, 4]).buffer;
    await expectOneLineError(parseModelArtifacts(json(), reader(longer)), new RegExp(l2.path), /4 bytes more/);
  });

  it('NaN or Infinity inside a tensor names the shard, tensor and index', async () => {
    for (const bad of [NaN, Infinity]) {
      // put the bad value into the 3rd element of tensor #4
      const ws = weights(art.modelJson);
      const sizeOf = (w: { shape: number[] }) => w.shape.reduce((a, b) => a * b, 1) * 4;
      const byte = ws.slice(0, 4).reduce((s, w) => s + sizeOf(w), 0) + 2 * 4;
      const shards = art.shards.map((s) => ({ path: s.path, data: s.data.slice(0) }));
      const shard = Math.floor(byte / 256);
      new DataView(shards[shard].data).setFloat32(byte % 256, bad, true);
      await expectOneLineError(
        parseModelArtifacts(json(), reader(shards)),
        new RegExp(`^${shards[shard].path}:`),
        new RegExp(`'${ws[4].name}' holds ${bad} at index 2`),
      );
    }
  });

  it('shard paths that leave the model folder', async () => {
    const j = json();
    j.weightsManifest[0].paths[0] = '../../etc/passwd';
    await expectOneLineError(parseModelArtifacts(j, reader(art.shards)), /model\.json/, /inside the model folder/);
  });

  it('serializeModel refuses NaN weights and float16 overflow', async () => {
    const name = paramShapes(config)[0].name;
    const orig = model.params[name];
    const shape = orig.shape;
    const n = orig.size;
    try {
      model.params[name] = tf.fill(shape, NaN);
      await expectOneLineError(serializeModel(model), new RegExp(`'${name}' holds NaN`));
      model.params[name].dispose();
      model.params[name] = tf.fill(shape, 1e6);
      await expectOneLineError(serializeModel(model, { dtype: 'float16' }), /overflows float16/);
      expect(n).toBeGreaterThan(0);
    } finally {
      model.params[name].dispose();
      model.params[name] = orig;
    }
  });
});

describe('saveModel / loadModel on disk', () => {
  it('round-trips through a folder and replaces an older model in place', async () => {
    const dir = path.join(root, 'm1');
    await saveModel(dir, model);
    expect((await fs.readdir(dir)).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    const a = await loadModel(dir);
    expect(values(a)).toEqual(values(model));
    disposeParams(a.params);

    await saveModel(dir, model, { dtype: 'float16', shardBytes: 200 });
    const files = await fs.readdir(dir);
    expect(files).toContain('model.json');
    expect(files.some((f) => f.startsWith('group1-shard1of1'))).toBe(false); // old shard gone
    const b = await loadModel(dir);
    expect(b.config).toEqual(config);
    disposeParams(b.params);
    // no temp folders left next to it
    expect((await fs.readdir(root)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('keeps the files beside a model (its card, pictures) when replacing it', async () => {
    const dir = path.join(root, 'carded');
    await saveModel(dir, model, { dtype: 'float16', shardBytes: 200 });
    await fs.writeFile(path.join(dir, 'README.md'), '# card');
    await fs.mkdir(path.join(dir, 'pictures'));
    await fs.writeFile(path.join(dir, 'pictures', 'a.png'), 'png');
    await saveModel(dir, model);
    expect((await fs.readdir(dir)).sort()).toEqual(['README.md', 'group1-shard1of1.bin', 'model.json', 'pictures']);
    expect(await fs.readFile(path.join(dir, 'README.md'), 'utf8')).toBe('# card');
    expect(await fs.readFile(path.join(dir, 'pictures', 'a.png'), 'utf8')).toBe('png');
    const m = await loadModel(dir);
    expect(values(m)).toEqual(values(model));
    disposeParams(m.params);
  });

  it('a failed save leaves the previous model intact', async () => {
    const dir = path.join(root, 'keep');
    await saveModel(dir, model);
    const before = await fs.readFile(path.join(dir, 'group1-shard1of1.bin'));
    const name = paramShapes(config)[0].name;
    const orig = model.params[name];
    model.params[name] = tf.fill(orig.shape, NaN);
    try {
      await expectOneLineError(saveModel(dir, model), /holds NaN/);
    } finally {
      model.params[name].dispose();
      model.params[name] = orig;
    }
    expect(await fs.readFile(path.join(dir, 'group1-shard1of1.bin'))).toEqual(before);
    const m = await loadModel(dir);
    expect(values(m)).toEqual(values(model));
    disposeParams(m.params);
  });

  it('refuses to replace a folder that is not a model folder', async () => {
    const dir = path.join(root, 'precious');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'notes.txt'), 'keep me');
    await expectOneLineError(saveModel(dir, model), /refusing/);
    expect(await fs.readFile(path.join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('names the folder and file for a missing folder, missing shard, bad JSON', async () => {
    await expectOneLineError(loadModel(path.join(root, 'nope')), /nope\/model\.json: not found/);
    const dir = path.join(root, 'm2');
    await saveModel(dir, model);
    await fs.rm(path.join(dir, 'group1-shard1of1.bin'));
    await expectOneLineError(loadModel(dir), new RegExp(`${dir}/group1-shard1of1\\.bin: cannot be read`));
    await fs.writeFile(path.join(dir, 'model.json'), '{"format": "gated-pixelcnn", ');
    await expectOneLineError(loadModel(dir), /m2\/model\.json: not valid JSON/);
  });
});

describe("an auto-encoder's folder: the encoder's tensors as strictly checked as the decoder's", () => {
  const aeConfig = makeConfig({
    ...config,
    conditioning: { type: 'vector', dim: 3, nullable: true },
    encoder: { type: 'conv', channels: [2, 3], code: 3 },
  });
  let ae: PixelCNN;
  let art: Awaited<ReturnType<typeof serializeModel>>;
  beforeAll(async () => {
    ae = { config: aeConfig, params: initParams(aeConfig, 4) };
    art = await serializeModel(ae);
  });
  afterAll(() => disposeParams(ae.params));
  const json = () => structuredClone(art.modelJson) as ModelJson;
  const entries = (j: ModelJson) => j.weightsManifest[0].weights;
  const sizeOf = (w: { shape: number[] }) => w.shape.reduce((a, b) => a * b, 1) * 4;

  it('round-trips through a folder, encoder and all', async () => {
    const dir = path.join(root, 'ae');
    await saveModel(dir, ae, { dtype: 'float32' });
    const back = await loadModel(dir);
    expect(back.config).toEqual(aeConfig);
    expect(Object.keys(back.params).filter((k) => k.startsWith('enc/'))).toEqual(['enc/conv0', 'enc/conv0_bias', 'enc/conv1', 'enc/conv1_bias', 'enc/dense', 'enc/dense_bias']);
    expect(values(back)).toEqual(values(ae));
    disposeParams(back.params);
  });

  it('a missing encoder tensor', async () => {
    const j = json();
    const gone = entries(j).pop()!; // enc/dense_bias, the last: its bytes cut too, so only the name is wrong
    expect(gone.name).toBe('enc/dense_bias');
    const shard = art.shards[0];
    const cut = [{ path: shard.path, data: shard.data.slice(0, shard.data.byteLength - sizeOf(gone)) }];
    await expectOneLineError(parseModelArtifacts(j, reader(cut)), /^model\.json: tensor 'enc\/dense_bias' is missing from weightsManifest$/);
  });

  it('an encoder tensor in a folder whose config has no encoder', async () => {
    const j = json();
    delete (j.config as Partial<ModelConfig>).encoder;
    await expectOneLineError(parseModelArtifacts(j, reader(art.shards)), /^model\.json: tensor 'enc\/conv0' is not a parameter of this config$/);
  });

  it('a wrongly shaped encoder tensor, and a bad encoder config', async () => {
    const j = json();
    const dense = entries(j).find((w) => w.name === 'enc/dense')!;
    dense.shape = [dense.shape[1], dense.shape[0]]; // [2 * 1 * 3, 3]: 5x4 -> 3x2 -> 2x1 under the two convs
    await expectOneLineError(parseModelArtifacts(j, reader(art.shards)), /^model\.json: tensor 'enc\/dense' has shape \[3,6\], config expects \[6,3\]$/);
    const k = json();
    (k.config.encoder as { code: unknown }).code = 0;
    await expectOneLineError(parseModelArtifacts(k, reader(art.shards)), /^model\.json: config\.encoder\.code: expected an integer >= 1, got 0$/);
  });

  it('every shipped model folder (made before encoders existed) loads unchanged: its manifest is its config\'s tensors, in order', async () => {
    const models = path.resolve(__dirname, '../../models');
    const shipped = [];
    for (const name of await fs.readdir(models)) {
      const file = path.join(models, name, 'model.json');
      const text = await fs.readFile(file, 'utf8').catch(() => null);
      if (text === null || JSON.parse(text).format !== 'gated-pixelcnn' || JSON.parse(text).config.encoder) continue;
      shipped.push(name);
      const listed = (JSON.parse(text) as ModelJson).weightsManifest.flatMap((g) => g.weights.map((w) => ({ name: w.name, shape: w.shape })));
      const m = await loadModel(path.join(models, name));
      expect(paramShapes(m.config), name).toEqual(listed);
      expect(Object.keys(m.params).some((k) => k.startsWith('enc/')), name).toBe(false);
      disposeParams(m.params);
    }
    expect(shipped).toEqual(expect.arrayContaining(['mnist', 'faces']));
  });
});
