// Setup file of every project: records the CPU seconds a test file cost, its own process's
// and its child processes' (the CLI runs, Python, Chromium, vite), on its module's meta for
// test/timing.ts. Wall time alone misleads on two shared cores: a file that waits looks as
// long as one that works.
import fs from 'node:fs';
import { afterAll } from 'vitest';

const HZ = 100; // USER_HZ, the unit of /proc's times, is 100 on Linux

/** /proc/PID/stat's fields from the state on (field 3), or null once the process is gone */
function statOf(pid: string): string[] | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}
/** utime + stime (fields 14, 15), and + cutime + cstime (16, 17): children already waited for */
const own = (f: string[]) => Number(f[11]) + Number(f[12]);
const withWaited = (f: string[]) => own(f) + Number(f[13]) + Number(f[14]);

const canRead = statOf('self') !== null;
const me = String(process.pid);
const start = canRead ? withWaited(statOf('self')!) : 0;
const startOwn = canRead ? own(statOf('self')!) : 0;

/**
 * Every process below this one: each one's last seen own time, sampled once a second. Chromium's
 * renderers and GPU process are not waited for through to this process, so their time never
 * reaches cutime; a short child process (a CLI run) is missed by the sampling but counted in
 * cutime. The file's figure takes the larger of the two.
 */
const descendants = new Map<string, number>();
function sample(): void {
  const parent = new Map<string, string>();
  const stats = new Map<string, string[]>();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const f = statOf(pid);
    if (!f) continue;
    parent.set(pid, f[1]);
    stats.set(pid, f);
  }
  for (const [pid, f] of stats) {
    let p = parent.get(pid);
    while (p && p !== me && p !== '0' && p !== '1') p = parent.get(p);
    if (p === me) descendants.set(`${pid}:${f[19]}`, own(f)); // field 22: start time
  }
}
const timer = canRead ? setInterval(sample, 1000) : undefined;
timer?.unref();

// (vitest reads the hook's first parameter as fixtures: it must be a destructuring pattern)
afterAll(({}, suite) => {
  if (!canRead) return;
  clearInterval(timer);
  // afterAll hooks run last-registered first, so this one runs after the file's own (a
  // browser closed and its processes reaped there count)
  const f = statOf('self')!;
  const children = withWaited(f) - own(f) - (start - startOwn);
  const sampled = [...descendants.values()].reduce((s, t) => s + t, 0);
  (suite.meta as { cpuSeconds?: number }).cpuSeconds = (own(f) - startOwn + Math.max(children, sampled)) / HZ;
});
