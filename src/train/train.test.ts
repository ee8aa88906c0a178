import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../backend/node.ts';
import { initParams, disposeParams } from '../model';
import { loadModel } from '../io/weightsNode.ts';
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint } from './checkpoint.ts';
import { LocalEngine } from './engine.ts';
import { flattenParams } from './gradient.ts';
import { getPreset } from './presets.ts';
import { barImages } from './testdata.ts';
import { CHECKPOINT_FILE, epochOrder, learningRate, LOG_FILE, train, type TrainOptions } from './trainer.ts';

const tiny = getPreset('tiny');
const data = { train: barImages(64, 8, 8, 1), val: barImages(16, 8, 8, 2) };
let tmp: string;

beforeAll(async () => {
  await initNodeBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'train-test-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function options(dir: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    config: tiny.model,
    hyper: tiny.train,
    seed: 3,
    modelDir: null,
    stateDir: dir,
    epochs: 2,
    resume: false,
    workers: 0,
    backend: 'cpu',
    checkpointMinutes: 60,
    valSubset: 8,
    valMinutes: 0,
    evalBatch: 8,
    progressSeconds: 60,
    print: () => {},
    dataName: 'bars',
    ...extra,
  };
}

describe('training loop', () => {
  test('the loss goes down on a tiny set', async () => {
    const dir = path.join(tmp, 'loss');
    const losses: number[] = [];
    await train(data, options(dir, { epochs: 3, progressSeconds: 0, print: (l) => {
      const m = /loss ([\d.]+) bits\/dim/.exec(l);
      if (m) losses.push(Number(m[1]));
    } }));
    expect(losses.length).toBe(24); // 3 epochs x 64/8 steps, one line per step
    const first = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
    const last = losses.slice(-3).reduce((a, b) => a + b) / 3;
    expect(last).toBeLessThan(first * 0.8);
    // the log holds JSON lines with the per-epoch validation
    const events = fs.readFileSync(path.join(dir, LOG_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const vals = events.filter((e) => e.event === 'val');
    expect(vals.length).toBe(3);
    expect(vals[2].bitsPerDim).toBeLessThan(vals[0].bitsPerDim);
  });

  test('stopped by a signal and resumed, a run ends with the same weights as an uninterrupted one', async () => {
    const whole = await train(data, options(path.join(tmp, 'whole'), { modelDir: path.join(tmp, 'whole-model') }));
    expect(whole.progress.step).toBe(16);

    const dir = path.join(tmp, 'parts');
    const controller = new AbortController();
    const first = await train(data, options(dir, {
      signal: controller.signal,
      onStep: (p) => { if (p.step === 5) controller.abort(); },
    }));
    expect(first.stoppedBy).toBe('signal');
    expect(first.progress.step).toBe(5);
    expect(loadCheckpoint(path.join(dir, CHECKPOINT_FILE)).header.progress.step).toBe(5);
    // a fresh start on top of an existing checkpoint is refused
    await expect(train(data, options(dir))).rejects.toThrow(/pass --resume/);
    const second = await train(data, options(dir, { resume: true, modelDir: path.join(tmp, 'parts-model') }));
    expect(second.stoppedBy).toBe('done');
    expect(second.progress.step).toBe(16);
    expect(Buffer.from(second.params.buffer).equals(Buffer.from(whole.params.buffer))).toBe(true);

    // the saved weights are the trained weights
    const model = await loadModel(path.join(tmp, 'parts-model'));
    const names = Object.keys(model.params);
    const engine = new LocalEngine(tiny.model);
    expect(Buffer.from(flattenParams(engine.layout, model.params).buffer).equals(Buffer.from(whole.params.buffer))).toBe(true);
    expect(names.length).toBe(engine.layout.names.length);
    disposeParams(model.params);
  });

  test('--minutes stops by time and fixes the length of the decay from the measured speed', async () => {
    const dir = path.join(tmp, 'minutes');
    const t0 = performance.now();
    const r = await train(data, options(dir, { epochs: undefined, minutes: 0.08, hyper: { ...tiny.train, batchSize: 2 } }));
    const seconds = (performance.now() - t0) / 1000;
    // it ran until the 4.8 s limit: the clock is read after each step, so the last step
    // ends within a step of the limit (logging and checkpoints between steps count too)
    expect(seconds).toBeGreaterThanOrEqual(4.8);
    expect(r.progress.elapsedSeconds).toBeGreaterThan(3.8);
    expect(seconds).toBeLessThan(30);
    const events = fs.readFileSync(path.join(dir, LOG_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const plan = events.find((e) => e.event === 'plan');
    expect(plan).toBeDefined();
    expect(r.progress.totalSteps).toBe(plan.totalSteps);
    expect(r.progress.step).toBeGreaterThan(31);
  });

  test('resume refuses a different model', async () => {
    const dir = path.join(tmp, 'parts');
    const other = { ...tiny.model, hidden: 16 };
    await expect(train(data, options(dir, { resume: true, config: other }))).rejects.toThrow(/different model config/);
    await expect(train(data, options(path.join(tmp, 'nothing'), { resume: true }))).rejects.toThrow(/no checkpoint/);
  });

  test('no tensors leak across training steps', async () => {
    const engine = new LocalEngine(tiny.model);
    const p = initParams(tiny.model, 0);
    engine.params.set(flattenParams(engine.layout, p));
    disposeParams(p);
    const grad = new Float32Array(engine.layout.total);
    const imgs = data.train.images.subarray(0, 4 * 64).map((v) => v >> 4);
    await engine.gradient(imgs, data.train.labels.subarray(0, 4), 1, grad);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await engine.gradient(imgs, data.train.labels.subarray(0, 4), 1, grad);
      await engine.evalNats(imgs, data.train.labels.subarray(0, 4));
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('checkpoint file', () => {
  test('round trip, and one-line errors for damaged files', () => {
    const c = loadCheckpoint(path.join(tmp, 'parts', CHECKPOINT_FILE));
    const bytes = encodeCheckpoint(c);
    const back = decodeCheckpoint(bytes);
    expect(back.header).toEqual(c.header);
    expect(Array.from(back.v)).toEqual(Array.from(c.v));
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), 'x')).toThrow(/^x: \d+ bytes, header implies \d+$/);
    const bad = bytes.slice();
    bad[0] = 0;
    expect(() => decodeCheckpoint(bad, 'x')).toThrow(/not a training checkpoint/);
    // no temp files left beside it
    expect(fs.readdirSync(path.join(tmp, 'parts')).sort()).toEqual([CHECKPOINT_FILE, LOG_FILE].sort());
  });
});

describe('schedule and data order', () => {
  test('learning rate: warm-up, then cosine to the final fraction', () => {
    const h = { ...tiny.train, lr: 1, warmupSteps: 10, lrFinalFraction: 0.1 };
    expect(learningRate(h, 0, 110)).toBeCloseTo(0.1);
    expect(learningRate(h, 9, 110)).toBeCloseTo(1);
    expect(learningRate(h, 60, 110)).toBeCloseTo(0.55);
    expect(learningRate(h, 110, 110)).toBeCloseTo(0.1);
    expect(learningRate(h, 500, null)).toBe(1);
    // a schedule restarted at update 1000 (a grown run): warm-up and decay counted from there
    expect(learningRate(h, 1000, 1110, 1000)).toBeCloseTo(0.1);
    expect(learningRate(h, 1060, 1110, 1000)).toBeCloseTo(0.55);
    expect(learningRate(h, 1110, 1110, 1000)).toBeCloseTo(0.1);
  });
  test('each epoch has its own fixed permutation of the images', () => {
    const a = epochOrder(5, 0, 100);
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(epochOrder(5, 0, 100))).toEqual(Array.from(a));
    expect(Array.from(epochOrder(5, 1, 100))).not.toEqual(Array.from(a));
    expect(Array.from(epochOrder(6, 0, 100))).not.toEqual(Array.from(a));
  });
});
