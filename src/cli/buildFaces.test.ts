// npm run build-faces as a user runs it (a child process of tsx): bad flags, two worker
// threads, Ctrl-C and resume.
import { execFile, spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(__dirname, '../..');
const tsx = path.join(repo, 'node_modules/.bin/tsx');
let dir: string;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsx, ['src/cli/main.ts', 'build-faces', ...args], { cwd: repo, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);
const FILES = ['images.npy', 'descriptors.npy', 'identities.npy', 'faces.json', 'meta.json'];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'build-faces-cli-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('build-faces', () => {
  it('bad flags: one line, exit 2', async () => {
    const out = path.join(dir, 'bad');
    for (const [args, msg] of [
      [['--variants', '2', '--seed', '1', '--out', out], /--identities is required/],
      [['--identities', '2', '--variants', '2', '--seed', '1', '--out', out], /--identities: expected an integer >= 3, got 2/],
      [['--identities', '3', '--variants', '0', '--seed', '1', '--out', out], /--variants: expected an integer >= 1/],
      [['--identities', '3', '--variants', '2', '--seed', 'x', '--out', out], /--seed: expected an integer/],
      [['--identities', '3', '--variants', '2', '--seed', '1', '--out', out, '--workers', '3'], /--workers: expected an integer <= 2/],
      [['--identities', '3', '--variants', '2', '--seed', '1', '--out', out, '--size', '64'], /unknown flag --size/],
    ] as const) {
      const r = await cli(...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    expect(existsSync(out)).toBe(false);
    const missing = await cli('--identities', '3', '--variants', '1', '--seed', '1', '--out', path.join(dir, 'no/such/folder'));
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^build-faces: error: .*folder .* does not exist$/);
  });

  it('two worker threads give the same bytes as one; Ctrl-C stops after a saved chunk and the rerun resumes to the same data set', async () => {
    const flags = ['--identities', '40', '--variants', '1', '--seed', '9']; // 5 chunks of 8 people
    const two = path.join(dir, 'two');
    const r2 = await cli(...flags, '--out', two, '--workers', '2');
    expect(r2.code, r2.stderr).toBe(0);
    expect(lastJson(r2.stdout)).toMatchObject({ images: 40, builtChunks: 5, resumedChunks: 0, splits: { train: { identities: 32 }, val: { identities: 4 }, test: { identities: 4 } } });
    expect(r2.stderr).toMatch(/build-faces 100% 40\/40 [\d.]+s/);
    expect(r2.stderr).toMatch(/eta [\d.]+s/);

    const one = path.join(dir, 'one');
    const child = spawn(tsx, ['src/cli/main.ts', 'build-faces', ...flags, '--out', one], { cwd: repo });
    let stderr = '';
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    child.stderr.on('data', (b) => {
      stderr += b;
      // the first chunk is saved (20%): interrupt
      if (/ 20% 8\/40/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    const code = await exited;
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/interrupted \(finished chunks are saved; run again to continue\)/);
    const parts = (await fs.readdir(path.join(one, '.parts'))).filter((f) => f.startsWith('chunk-'));
    expect(parts.length).toBeGreaterThanOrEqual(1);
    expect(parts.length).toBeLessThan(5);

    const again = await cli(...flags, '--out', one);
    expect(again.code, again.stderr).toBe(0);
    expect(lastJson(again.stdout)).toMatchObject({ resumedChunks: parts.length, builtChunks: 5 - parts.length });
    expect(again.stderr).toMatch(/resuming: \d+ images were built before/);
    for (const sub of ['', 'train', 'val', 'test']) {
      for (const f of FILES) expect((await fs.readFile(path.join(one, sub, f))).equals(await fs.readFile(path.join(two, sub, f))), `${sub}/${f}`).toBe(true);
    }
    const done = await cli(...flags, '--out', one);
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(/already holds this build; nothing to do/);
  });
});
