// The PyTorch trainer's own tests (training/tests: forward parity with this TypeScript
// model, exact resume, DDP, the log, errors) run inside `npm test`. Without a Python that
// has torch they are skipped on a developer's machine and fail on CI (CI=true), where
// .ci/run installs python3-torch.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPython } from '../backend/python.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const python = findPython();
const onCi = process.env.CI === 'true';

describe('the PyTorch trainer (training/)', () => {
  it.runIf(python !== null || onCi)('passes its Python tests (python -m unittest discover training/tests)', () => {
    expect(python, 'no Python with torch: apt-get install python3-torch').not.toBeNull();
    const r = spawnSync(python!, ['-m', 'unittest', 'discover', '-s', 'training/tests', '-t', '.'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 900_000,
    });
    // unittest reports on stderr; show the end of it when something failed
    expect(r.status, r.stderr.slice(-6000)).toBe(0);
    expect(r.stderr).toMatch(/Ran \d+ tests/);
  }, 900_000);
});
