#!/usr/bin/env node
// Runs a module of the PyTorch trainer (training/) with a Python that has torch:
//   node scripts/torch.mjs training.train --data mnist ...   (npm run train:torch -- ...)
// The Python is findPython's (src/backend/python.mjs: $PYTHON, /usr/bin/python3, python3).
// With --find it prints the interpreter it would use and exits.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPython } from '../src/backend/python.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const [mod, ...args] = process.argv.slice(2);
const py = findPython();
if (mod === '--find') {
  if (!py) process.exit(1);
  console.log(py);
  process.exit(0);
}
if (!py) {
  console.error('torch: no Python with torch and numpy found (tried $PYTHON, /usr/bin/python3, python3); on Debian: apt-get install python3-torch');
  process.exit(1);
}
const child = spawn(py, ['-m', mod, ...args], { stdio: 'inherit', cwd: root });
// Ctrl-C reaches the whole process group; a SIGTERM sent to this process alone is passed
// on. Either way this process waits for Python, which checkpoints before it exits.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
