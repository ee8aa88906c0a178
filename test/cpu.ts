// Setup file of every project: records the CPU seconds a test file cost, its own process's
// and its child processes' (the CLI runs, Python, Chromium, vite), on its module's meta for
// test/timing.ts. Wall time alone misleads on two shared cores: a file that waits looks as
// long as one that works.
import fs from 'node:fs';
import { afterAll } from 'vitest';

/** utime + stime + cutime + cstime of this process (children: those already waited for), s */
function cpuSeconds(): number {
  // /proc/self/stat: the fields after the command's ")" start at field 3; 14..17 are the times
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = fields.slice(11, 15).reduce((s, f) => s + Number(f), 0);
  return ticks / 100; // USER_HZ is 100 on Linux
}

const canRead = fs.existsSync('/proc/self/stat');
const start = canRead ? cpuSeconds() : 0;

// (vitest reads the hook's first parameter as fixtures: it must be a destructuring pattern)
afterAll(({}, suite) => {
  if (!canRead) return;
  // afterAll hooks run last-registered first, so this one runs after the file's own (a
  // browser closed and its processes reaped there count)
  (suite.meta as { cpuSeconds?: number }).cpuSeconds = cpuSeconds() - start;
});
