// The Python that runs the PyTorch trainer (training/). Plain JavaScript, typed in
// python.d.mts, because scripts/torch.mjs (behind `npm run train:torch`) runs it under
// bare node, without tsx.
import { spawnSync } from 'node:child_process';

/**
 * $PYTHON, then Debian's /usr/bin/python3 (where apt's python3-torch installs), then
 * python3 on PATH: the first that imports torch and numpy, or null.
 */
export function findPython() {
  const candidates = [process.env.PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}
