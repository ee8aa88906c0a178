// eval --classify as a user runs it (a child process of `tsx src/cli/main.ts`), against a
// tiny random 28 x 28 class model saved to a temp folder: its accuracy equals the Bayes
// classifier run here on the same digits.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../backend/node';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { disposeParams, initParams, makeConfig } from '../model';
import { classify } from '../model';
import { loadMnist } from '../data/mnist';
import { saveModel } from '../io/weightsNode';
import { quantize } from './eval';

const repo = path.resolve(__dirname, '../..');
const tsx = path.join(repo, 'node_modules/.bin/tsx');
let dir: string;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsx, ['src/cli/main.ts', ...args], { cwd: repo, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const small = (conditioning: { type: 'class'; classes: number } | { type: 'none' }) =>
  makeConfig({ height: 28, width: 28, hidden: 4, layers: 2, headHidden: 4, firstKernel: 3, kernel: 3, levels: 4, conditioning });
const config = small({ type: 'class', classes: 10 });
/** digits classified, and the accuracy the classifier gets on them in this process */
const N = 5;
let expected = -1;

beforeAll(async () => {
  await initNodeBackend('wasm');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'classify-cli-'));
  // class-dependent enough that the guesses are not all one class
  const params = initParams(config, 9);
  for (const name of Object.keys(params)) {
    if (name.endsWith('_cond')) {
      const old = params[name];
      params[name] = tf.mul(old, 4);
      old.dispose();
    }
  }
  await saveModel(path.join(dir, 'mnist'), { config, params });
  const plain = small({ type: 'none' });
  const p2 = initParams(plain, 1);
  await saveModel(path.join(dir, 'plain'), { config: plain, params: p2 });
  disposeParams(p2);
  // the expected figure, computed here with the same weights
  const test = loadMnist('test');
  const { predicted } = await classify({ config, params }, quantize(test.images.subarray(0, N * 784), 4), N);
  expected = predicted.filter((p, i) => p === test.labels[i]).length / N;
  disposeParams(params);
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

it('eval --classify adds classifyAccuracy (and per class) to the JSON: the Bayes classifier on the same digits, on two threads', async () => {
  const r = await cli('eval', '--model', path.join(dir, 'mnist'), '--split', 'test', '--limit', String(N), '--batch', '3', '--classify', '--threads', '2');
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  expect(out.images).toBe(N);
  expect(out.classifyAccuracy).toBeCloseTo(expected, 9);
  expect(out.classifyAccuracyByClass).toHaveLength(10);
  // two threads, each its share of every batch: the same figures as one classify call
  expect(out.classifyThreads).toBe(2);
  expect(out.leakedTensors).toBe(0);
  expect(r.stderr).toMatch(/classified 5 images by Bayes from the class likelihoods: \d+\.\d% right/);
}, 180_000);

it('eval --classify refuses a model without classes in one line', async () => {
  const r = await cli('eval', '--model', path.join(dir, 'plain'), '--limit', '2', '--classify');
  expect(r.code).toBe(2);
  expect(r.stderr.trim()).toMatch(/--classify needs a class-conditional model$/);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}, 120_000);
