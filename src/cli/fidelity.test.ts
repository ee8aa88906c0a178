// npm run fidelity as a user runs it (a child process) on a tiny random MNIST-shaped model
// with the shipped classifier, and its pieces.
import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeParams, initParams, makeConfig, type ModelConfig } from '../model';
import { saveModel } from '../io/weightsNode';
import { meanPairwiseDistance } from './fidelity';

const repo = path.resolve(__dirname, '../..');
let dir: string;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(path.join(repo, 'node_modules/.bin/tsx'), ['src/cli/main.ts', 'fidelity', ...args], { cwd: repo, timeout: 300_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function save(name: string, config: ModelConfig) {
  const params = initParams(config, 2);
  await saveModel(path.join(dir, name), { config, params });
  disposeParams(params);
}

const mnistShaped = (conditioning: ModelConfig['conditioning']) =>
  makeConfig({ height: 28, width: 28, hidden: 4, layers: 1, headHidden: 4, firstKernel: 3, kernel: 3, levels: 4, conditioning });

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fidelity-'));
  await save('null', mnistShaped({ type: 'class', classes: 10, nullable: true }));
  await save('plain', mnistShaped({ type: 'none' }));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('meanPairwiseDistance', () => {
  it('is the mean L2 distance of all pairs, pixels scaled to 0..1', () => {
    // three 2-pixel images: (0,0), (255,0), (255,255): distances 1, sqrt 2, 1
    const imgs = new Uint8Array([0, 0, 255, 0, 255, 255]);
    expect(meanPairwiseDistance(imgs, 3, 2)).toBeCloseTo((2 + Math.SQRT2) / 3, 10);
    expect(meanPairwiseDistance(new Uint8Array([9, 9, 9, 9]), 2, 2)).toBe(0);
  });
});

describe('npm run fidelity', () => {
  it('samples every class at every guidance, reads them with the classifier and reports agreement and diversity', async () => {
    const png = path.join(dir, 'grid');
    const r = await cli('--model', path.join(dir, 'null'), '--guidance', '0,2', '--per-class', '2', '--png', png, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.unconditional).toBe('null');
    expect(out.classifier.testAccuracy).toBeGreaterThan(0.99);
    expect(out.results.map((x: { guidance: number }) => x.guidance)).toEqual([0, 2]);
    for (const x of out.results) {
      expect(x.agreementPerClass).toHaveLength(10);
      expect(x.agreement).toBeGreaterThanOrEqual(0);
      expect(x.agreement).toBeLessThanOrEqual(1);
      expect(x.diversityPerClass).toHaveLength(10);
      expect(Number.isFinite(x.diversity)).toBe(true);
    }
    // guidance changes what is drawn: the two grids differ
    const [a, b] = await Promise.all(out.png.map((p: string) => fs.readFile(p)));
    expect(out.png).toEqual([`${png}-g0.png`, `${png}-g2.png`]);
    expect(Buffer.compare(a, b)).not.toBe(0);
  }, 300_000);

  it('refuses bad flags and models it cannot measure in one line', async () => {
    const bad = await cli('--model', path.join(dir, 'null'), '--guidance', '1,x');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('fidelity: bad arguments: --guidance: expected comma-separated numbers >= 0, got "1,x"');
    const plain = await cli('--model', path.join(dir, 'plain'), '--per-class', '2');
    expect(plain.code).toBe(2);
    expect(plain.stderr.trim()).toBe(`fidelity: bad arguments: --model: ${path.join(dir, 'plain')} is not a class-conditional 28x28 grey model; fidelity reads MNIST digits`);
    const noClassifier = await cli('--model', path.join(dir, 'null'), '--classifier', path.join(dir, 'nothing'));
    expect(noClassifier.code).toBe(1);
    expect(noClassifier.stderr.trim()).toMatch(/^fidelity: error: .*nothing\/model.json: cannot read the classifier \(ENOENT/);
    expect(existsSync(path.join(dir, 'grid-g1.png'))).toBe(false);
  }, 120_000);
});
