import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node.ts';
import { condTensor, forward, initParams } from '../model';
import { mulberry32 } from '../util/rng.ts';
import type { Checkpoint } from './checkpoint.ts';
import { flattenParams, paramLayout, unflattenParams } from './gradient.ts';
import { growCheckpoint, growFlat, grownConfig } from './grow.ts';
import { getPreset } from './presets.ts';

const root = path.resolve(import.meta.dirname, '../..');
let tmp: string;

beforeAll(async () => {
  await initNodeBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grow-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base = () => getPreset('tiny').model; // 8x8, 3 layers, class-conditional; span 3

describe('growing a model', () => {
  it('appended layers leave the logits as they were, and their output weights get a gradient at once', () => {
    const config = base();
    const grown = grownConfig(config, [2, 3]);
    expect(grown.layers).toBe(5);
    expect(grown.dilations).toEqual([1, 1, 1, 2, 3]);
    const params = initParams(config, 3);
    const { layout, flat } = growFlat(config, grown, flattenParams(paramLayout(config), params), { init: 1 });
    const bigger = unflattenParams(layout, flat);
    const rand = mulberry32(4);
    const x = tf.tensor4d(Array.from({ length: 2 * 64 }, () => Math.floor(rand() * 16)), [2, 8, 8, 1]);
    const cond = condTensor(config, { labels: [3, 7] }, 2)!;
    const diff = tf.tidy(() =>
      tf.max(tf.abs(tf.sub(forward({ config, params }, x, cond), forward({ config: grown, params: bigger }, x, cond)))).dataSync()[0],
    );
    expect(diff).toBeLessThan(1e-5);
    // the new layers are not dead: their zero output 1x1 has a gradient, their other weights are not zero
    const names = ['l3/out', 'l4/out'];
    const grads = tf.grads((...ws: tf.Tensor[]) => {
      const p = { ...bigger };
      names.forEach((n, i) => (p[n] = ws[i]));
      return tf.sum(tf.square(forward({ config: grown, params: p }, x, cond)));
    })(names.map((n) => bigger[n]));
    for (const g of grads) expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(1e-4);
    expect(tf.max(tf.abs(bigger['l3/v_conv'])).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, cond, ...grads, ...Object.values(params), ...Object.values(bigger)]);
  });

  it('a checkpoint grows with its Adam moments and progress; the new weights start with zero moments', () => {
    const config = base();
    const layout = paramLayout(config);
    const rand = mulberry32(2);
    const fill = () => Float32Array.from({ length: layout.total }, () => rand() + 0.1);
    const progress = { step: 40, epoch: 2, batchInEpoch: 3, imagesSeen: 320, elapsedSeconds: 9, totalSteps: 80, lastValBitsPerDim: 3, bestValBitsPerDim: 3 };
    const ckpt: Checkpoint = {
      header: {
        config, hyper: getPreset('tiny').train, adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1 }, seed: 0,
        data: { name: 'mnist', trainCount: 100 }, progress,
        tensors: layout.names.map((name, i) => ({ name, shape: layout.shapes[i] })), savedAt: '',
      },
      params: fill(), m: fill(), v: fill(),
    };
    const g = growCheckpoint(ckpt, [2], 1);
    const gl = paramLayout(g.header.config);
    expect(g.header.tensors.map((t) => t.name)).toEqual(gl.names);
    expect(g.header.progress).toEqual({ ...progress, scheduleStart: 40 });
    expect(g.header.hyper.lr).toBe(ckpt.header.hyper.lr);
    expect(growCheckpoint(ckpt, [2], 1, 1e-4).header.hyper.lr).toBe(1e-4);
    gl.names.forEach((name, i) => {
      const span = (a: Float32Array) => Array.from(a.subarray(gl.offsets[i], gl.offsets[i] + gl.sizes[i]));
      const j = layout.names.indexOf(name);
      if (j >= 0) {
        const old = (a: Float32Array) => Array.from(a.subarray(layout.offsets[j], layout.offsets[j] + layout.sizes[j]));
        expect(span(g.params), name).toEqual(old(ckpt.params));
        expect(span(g.m), name).toEqual(old(ckpt.m));
        expect(span(g.v), name).toEqual(old(ckpt.v));
      } else {
        expect(name.startsWith('l3/'), name).toBe(true);
        expect(span(g.m).every((v) => v === 0) && span(g.v).every((v) => v === 0), name).toBe(true);
        if (name === 'l3/out' || name === 'l3/out_bias') expect(span(g.params).every((v) => v === 0), name).toBe(true);
      }
    });
  });

  it('growing the mnist preset by 2, 4, 8 gives the mnist-dilated preset (the shipped architecture)', () => {
    expect(grownConfig(getPreset('mnist').model, [2, 4, 8])).toEqual(getPreset('mnist-dilated').model);
  });

  it('refuses dilations that would leave holes, with one line', () => {
    expect(() => grownConfig(base(), [5])).toThrow(/layer 3 has dilation 5 but the layers below it see only 3 pixel/);
    expect(() => grownConfig(base(), [])).toThrow(/at least one new layer/);
  });

  it('npm run grow, then train --resume: same test loss right after growing, and training goes on from the same step', () => {
    const tsx = path.join(root, 'node_modules/.bin/tsx');
    const main = path.join(root, 'src/cli/main.ts');
    const run = (args: string[]) => {
      const r = spawnSync(tsx, [main, ...args], { cwd: root, encoding: 'utf8', timeout: 180_000 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, last: () => JSON.parse(r.stdout.trim().split('\n').pop()!) };
    };
    // wasm: the cpu backend took 6x as long (9 s against 1.6 s for the first run)
    const small = ['--train-limit', '48', '--val-limit', '16', '--progress-seconds', '0', '--workers', '0', '--backend', 'wasm'];
    const a = path.join(tmp, 'a');
    const first = run(['train', '--data', 'mnist', '--cond', 'class', '--preset', 'mnist-tiny', '--out', a, '--epochs', '1', ...small]);
    expect(first.code, first.stderr).toBe(0);

    const b = path.join(tmp, 'b');
    const grow = run(['grow', '--from', `${a}.train`, '--out', b, '--dilations', '2,4', '--lr', '0.002']);
    expect(grow.code, grow.stderr).toBe(0);
    expect(grow.last().dilations).toEqual([1, 1, 2, 4]);
    expect(grow.last().reach).toBe(3 + 1 + 2 + 4);
    // growing into an existing run, or with holes, is refused with one line
    const again = run(['grow', '--from', `${a}.train`, '--out', b, '--dilations', '2']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/exists: grow into a new --out/);
    const holes = run(['grow', '--from', `${a}.train`, '--out', path.join(tmp, 'c'), '--dilations', '9']);
    expect(holes.code).toBe(1);
    expect(holes.stderr).toMatch(/layer 2 has dilation 9/);
    expect(fs.existsSync(path.join(tmp, 'c'))).toBe(false);

    const evalOf = (dir: string) => run(['eval', '--model', dir, '--split', 'test', '--limit', '8', '--backend', 'wasm']).last().bitsPerDim;
    expect(Math.abs(evalOf(a) - evalOf(b))).toBeLessThan(1e-5);

    const more = run(['train', '--data', 'mnist', '--config', `${b}.train/config.json`, '--out', b, '--resume', '--epochs', '2', ...small]);
    expect(more.code, more.stderr).toBe(0);
    expect(more.last().step).toBe(12); // 48 images, batch 8: 6 steps per epoch
    const log = fs.readFileSync(`${b}.train/train.log`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log[0].event).toBe('grow');
    // the schedule restarted at step 6 with the new peak (mnist-tiny has no warm-up): the
    // first update after growing runs at 0.002, not at the old run's decayed rate
    const firstStep = log.find((e) => e.event === 'progress' && e.step >= 7);
    expect(firstStep?.lr).toBeCloseTo(0.002, 6);
    expect(log.map((e) => e.event)).toContain('resume');
  }, 240_000);
});
