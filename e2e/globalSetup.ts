// vitest globalSetup: a folder for the run's one build of the app (e2e/harness.ts's
// buildApp builds it when the first browser test asks, and copies it for each), removed when
// the run ends. Test files reach it through the environment their processes inherit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SHARED_BUILD_ENV } from './harness';

export default function setup(): () => void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixelcnn-e2e-run-'));
  process.env[SHARED_BUILD_ENV] = dir;
  return () => {
    fs.rmSync(dir, { recursive: true, force: true });
    delete process.env[SHARED_BUILD_ENV];
  };
}
