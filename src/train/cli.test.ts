// The train command as a user runs it: a separate process, real worker threads on wasm,
// a real signal.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getPreset } from './presets.ts';

const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const main = path.join(root, 'src/cli/main.ts');
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'train-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const common = (out: string) => [
  'train', '--data', 'mnist', '--cond', 'class', '--preset', 'mnist-tiny', '--out', out,
  '--epochs', '1', '--train-limit', '48', '--val-limit', '16', '--progress-seconds', '0', '--workers', '2', '--backend', 'wasm',
];

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tsx, [main, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run train', () => {
  test('SIGTERM mid-run checkpoints; --resume ends with the weights of an uninterrupted run', async () => {
    const a = path.join(tmp, 'a');
    const child = spawn(tsx, [main, ...common(a)], { cwd: root });
    let out = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/step 2\/6/.test(out) && !child.killed) child.kill('SIGTERM');
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(0);
    const stopped = JSON.parse(out.trim().split('\n').pop()!);
    expect(stopped.stoppedBy).toBe('signal');
    expect(stopped.step).toBeGreaterThanOrEqual(2);
    expect(stopped.step).toBeLessThan(6);

    const resumed = run([...common(a), '--resume']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split('\n').pop()!).step).toBe(6);

    const b = path.join(tmp, 'b');
    const whole = run(common(b));
    expect(whole.code).toBe(0);
    const shard = 'group1-shard1of1.bin';
    expect(fs.readFileSync(path.join(a, shard)).equals(fs.readFileSync(path.join(b, shard)))).toBe(true);
    const log = fs.readFileSync(path.join(`${a}.train`, 'train.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.map((e) => e.event)).toContain('resume');
  });

  test('bad arguments: one line on stderr, exit code 2', () => {
    const r = run([...common(path.join(tmp, 'c')), '--minutes', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['train: bad arguments: give --epochs or --minutes, not both']);
    const p = run(['train', '--data', 'mnist', '--preset', 'huge', '--out', path.join(tmp, 'd'), '--epochs', '1']);
    expect(p.code).toBe(2);
    expect(p.stderr.trim()).toMatch(/^train: bad arguments: preset "huge" not found \(known: .*\)$/);
  });

  test('a config with condition dropout is refused: the PyTorch trainer trains it', () => {
    const file = path.join(tmp, 'dropout.json');
    const model = { ...getPreset('mnist-tiny').model, conditioning: { type: 'class', classes: 10, nullable: true, dropout: 0.1 } };
    fs.writeFileSync(file, JSON.stringify({ model }));
    const r = run(['train', '--data', 'mnist', '--config', file, '--out', path.join(tmp, 'e'), '--epochs', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'train: bad arguments: conditioning.dropout 0.1 (condition dropout) is trained by the PyTorch trainer: use npm run train:torch',
    ]);
    // nullable without dropout still trains here (the null slot is simply never used)
    const nullable = { ...model, conditioning: { type: 'class', classes: 10, nullable: true } };
    fs.writeFileSync(file, JSON.stringify({ model: nullable }));
    const ok = run(['train', '--data', 'mnist', '--config', file, '--out', path.join(tmp, 'f'), '--epochs', '1',
      '--train-limit', '16', '--val-limit', '8', '--progress-seconds', '0', '--workers', '0', '--batch', '8', '--backend', 'wasm']);
    expect({ code: ok.code, stderr: ok.code === 0 ? '' : ok.stderr }).toEqual({ code: 0, stderr: '' });
  });
});
