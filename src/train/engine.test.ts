import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initNodeBackend } from '../backend/node.ts';
import { initParams, disposeParams } from '../model';
import { LocalEngine, shardRange, WorkerEngine } from './engine.ts';
import { flattenParams } from './gradient.ts';
import { getPreset } from './presets.ts';
import { barImages } from './testdata.ts';
import { train } from './trainer.ts';

const config = getPreset('tiny').model;
const set = barImages(6, 8, 8, 4);
const images = set.images.map((v) => v >> 4); // 16 levels
let workers: WorkerEngine;
let local: LocalEngine;

beforeAll(async () => {
  await initNodeBackend('cpu');
  local = new LocalEngine(config, 1);
  const p = initParams(config, 11);
  local.params.set(flattenParams(local.layout, p));
  disposeParams(p);
  workers = await WorkerEngine.create(config, 2, 'cpu');
  workers.params.set(local.params);
});
afterAll(async () => {
  await workers?.close();
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('data-parallel gradient workers', () => {
  test('shards cut a batch into contiguous near-equal parts', () => {
    expect([0, 1, 2].map((s) => shardRange(7, 3, s))).toEqual([[0, 2], [2, 4], [4, 7]]);
    expect(shardRange(1, 2, 0)).toEqual([0, 0]);
  });

  test('two workers give the single-process gradient of the whole batch', async () => {
    const scale = 1 / (6 * 64);
    const gLocal = new Float32Array(local.layout.total);
    const gWorkers = new Float32Array(local.layout.total);
    const nLocal = await local.gradient(images, set.labels, scale, gLocal);
    const nWorkers = await workers.gradient(images, set.labels, scale, gWorkers);
    expect(nWorkers).toBeCloseTo(nLocal, 3);
    let max = 0;
    for (const v of gLocal) max = Math.max(max, Math.abs(v));
    expect(max).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(gLocal, gWorkers)).toBeLessThan(max * 1e-4);
    // with the same sharding on one thread the result is bit-identical
    const sharded = new LocalEngine(config, 2);
    sharded.params.set(local.params);
    const gSharded = new Float32Array(local.layout.total);
    await sharded.gradient(images, set.labels, scale, gSharded);
    expect(Buffer.from(gSharded.buffer).equals(Buffer.from(gWorkers.buffer))).toBe(true);
  });

  test('workers evaluate per-image nats like the single process, and leak no tensors', async () => {
    const a = await local.evalNats(images, set.labels);
    const b = await workers.evalNats(images, set.labels);
    expect(b.length).toBe(6);
    for (let i = 0; i < 6; i++) expect(b[i]).toBeCloseTo(a[i], 3);
    const g = new Float32Array(local.layout.total);
    await workers.gradient(images, set.labels, 1, g);
    const first = workers.lastTensorCounts.slice();
    expect(first.length).toBe(2);
    for (let i = 0; i < 3; i++) {
      await workers.gradient(images, set.labels, 1, g);
      await workers.evalNats(images, set.labels);
    }
    await workers.gradient(images, set.labels, 1, g);
    expect(workers.lastTensorCounts).toEqual(first);
  });

  test('an error inside a worker comes back as a one-line rejection', async () => {
    await expect(workers.gradient(images.subarray(0, 10), set.labels, 1, new Float32Array(local.layout.total))).rejects.toThrow(
      /^batch: \d+ pixel values for \d+ images, expected \d+$/,
    );
  });

  test('training with two workers follows training on one thread', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-test-'));
    try {
      const data = { train: barImages(32, 8, 8, 1), val: barImages(8, 8, 8, 2) };
      const base = {
        config,
        hyper: getPreset('tiny').train,
        seed: 1,
        modelDir: null,
        epochs: 1,
        resume: false,
        backend: 'cpu' as const,
        checkpointMinutes: 60,
        valSubset: 8,
        valMinutes: 0,
        progressSeconds: 60,
        print: () => {},
        dataName: 'bars',
      };
      const one = await train(data, { ...base, stateDir: path.join(tmp, 'a'), workers: 0 });
      const two = await train(data, { ...base, stateDir: path.join(tmp, 'b'), workers: 2 });
      expect(two.progress.step).toBe(4);
      expect(maxAbsDiff(one.params, two.params)).toBeLessThan(1e-4);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
