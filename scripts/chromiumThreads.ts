// Every Chromium thread's CPU so far, from /proc's schedstat, for the scripts that set the
// page's own threads against the sampling workers (page-cpu.ts, page-threads.ts), and how long
// each has waited on a run queue, ready but not running (/proc's schedstat): a sampling worker
// that waits there is held off a core by another thread.
import fs from 'node:fs';
import { execSync } from 'node:child_process';

/** CPU ms so far of every Chromium thread, keyed `process type:thread name:thread id`. */
export function chromiumThreadCpu(): Map<string, number> {
  return chromiumThreads('cpu');
}

/** Ms so far every Chromium thread has waited, runnable, for a core (same keys). */
export function chromiumThreadWait(): Map<string, number> {
  return chromiumThreads('wait');
}

function chromiumThreads(what: 'cpu' | 'wait'): Map<string, number> {
  const out = new Map<string, number>();
  const pids = execSync('pgrep -f /usr/lib/chromium/chromium || true').toString().split(/\s+/).filter(Boolean);
  for (const pid of pids) {
    try {
      const type = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').match(/--type=([a-z-]+)/)?.[1] ?? 'browser';
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const st = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
        // schedstat: ns on a core, ns waiting on a run queue, time slices (stat's utime + stime count 10 ms ticks)
        const [onCore, waiting] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
        // whole ms: a difference of two tenths printed float noise (112.70000000000002)
        const value = Math.round((what === 'cpu' ? onCore : waiting) / 1e6);
        out.set(`${type}:${name}:${tid}`, value);
      }
    } catch {
      // a process or thread that ended meanwhile
    }
  }
  return out;
}
