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
    const cases = [
      [['--variants', '2', '--seed', '1', '--out', out], /--identities is required/],
      [['--identities', '2', '--variants', '2', '--seed', '1', '--out', out], /--identities: expected an integer >= 3, got 2/],
      [['--identities', '3', '--variants', '2', '--seed', '1', '--out', out, '--workers', '3'], /--workers: expected an integer <= 2/],
      [['--identities', '3', '--variants', '2', '--seed', '1', '--out', out, '--size', '64'], /unknown flag --size/],
    ] as const;
    const runs = await Promise.all(cases.map(([args]) => cli(...args)));
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(cases[i][1]);
    });
    expect(existsSync(out)).toBe(false);
    const missing = await cli('--identities', '3', '--variants', '1', '--seed', '1', '--out', path.join(dir, 'no/such/folder'));
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^build-faces: error: .*folder .* does not exist$/);
  }, 300_000); // child processes: slow when training starves the cores

  // Few images (the cores are shared with training): 3 chunks of 2 people.
  it('two worker threads give the same bytes as one; Ctrl-C stops after the chunk in progress is saved and the rerun resumes to the same data set', async () => {
    const flags = ['--identities', '6', '--variants', '1', '--seed', '9', '--chunk', '2'];
    const two = path.join(dir, 'two');
    const r2 = await cli(...flags, '--out', two, '--workers', '2');
    expect(r2.code, r2.stderr).toBe(0);
    expect(lastJson(r2.stdout)).toMatchObject({ images: 6, builtChunks: 3, resumedChunks: 0, splits: { train: { identities: 4 }, val: { identities: 1 }, test: { identities: 1 } } });
    expect(r2.stderr).toMatch(/build-faces 33% 2\/6 [\d.]+s, eta [\d.]+s/);
    expect(r2.stderr).toMatch(/build-faces 100% 6\/6 [\d.]+s/);

    // Interrupted as soon as it starts: the one worker thread already holds chunk 0 (it
    // is still loading face-api), draws and saves it, and takes no other.
    const one = path.join(dir, 'one');
    const child = spawn(tsx, ['src/cli/main.ts', 'build-faces', ...flags, '--out', one], { cwd: repo });
    let stderr = '';
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    child.stderr.on('data', (b) => {
      stderr += b;
      if (/build-faces 0% 0\/6/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    const code = await exited;
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/stopping once the chunks in progress are saved/);
    expect(stderr).toMatch(/interrupted \(finished chunks are saved; run again to continue\)/);
    expect((await fs.readdir(path.join(one, '.parts'))).sort()).toEqual(['chunk-000000.json', 'plan.json']);

    const again = await cli(...flags, '--out', one);
    expect(again.code, again.stderr).toBe(0);
    expect(lastJson(again.stdout)).toMatchObject({ resumedChunks: 1, builtChunks: 2 });
    expect(again.stderr).toMatch(/resuming: 2 images were built before/);
    for (const sub of ['', 'train', 'val', 'test']) {
      for (const f of FILES) expect((await fs.readFile(path.join(one, sub, f))).equals(await fs.readFile(path.join(two, sub, f))), `${sub}/${f}`).toBe(true);
    }
    const done = await cli(...flags, '--out', one);
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(/already holds this build; nothing to do/);
  }, 300_000);
});
