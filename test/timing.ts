// A reporter that ends `npm test` with the slowest files (wall and CPU seconds) and how busy
// the two cores were, so a file that grew shows in the next run. Figures: docs/testing.md.
// TEST_TIMING_JSON=FILE also writes every file's figures there.
import fs from 'node:fs';
import os from 'node:os';
import type { Reporter, TestModule, Vitest } from 'vitest/node';

const SHOWN = 12;

/** total and idle CPU ticks of the machine (all cores), from os.cpus() */
function ticks(): { total: number; idle: number } {
  let total = 0;
  let idle = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
    idle += t.idle;
  }
  return { total, idle };
}

export default class Timing implements Reporter {
  private started = Date.now();
  private cpu0 = ticks();
  private root = '';

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
    this.started = Date.now();
    this.cpu0 = ticks();
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const wall = (Date.now() - this.started) / 1000;
    const cpu1 = ticks();
    const busy = 1 - (cpu1.idle - this.cpu0.idle) / Math.max(1, cpu1.total - this.cpu0.total);
    const rows = modules.map((m) => {
      const d = m.diagnostic();
      return {
        file: m.moduleId.startsWith(this.root) ? m.moduleId.slice(this.root.length + 1) : m.moduleId,
        wall: (d.environmentSetupDuration + d.prepareDuration + d.setupDuration + d.collectDuration + d.duration) / 1000,
        cpu: (m.meta() as { cpuSeconds?: number }).cpuSeconds,
      };
    });
    const cpuSum = rows.reduce((s, r) => s + (r.cpu ?? 0), 0);
    // every file's figures, for docs/testing.md's tables
    if (process.env.TEST_TIMING_JSON) fs.writeFileSync(process.env.TEST_TIMING_JSON, JSON.stringify({ wall, busy, rows }, null, 1));
    if (modules.length < 2) return; // one file: vitest's own lines say it all
    const lines = rows
      .sort((a, b) => b.wall - a.wall)
      .slice(0, SHOWN)
      .map((r) => `  ${r.wall.toFixed(1).padStart(6)} s  ${r.cpu === undefined ? '     -' : r.cpu.toFixed(1).padStart(6)} s  ${r.file}`);
    const out = [
      '',
      `Slowest ${Math.min(SHOWN, rows.length)} of ${rows.length} files (wall, CPU incl. child processes):`,
      ...lines,
      `Run: ${wall.toFixed(0)} s wall, the files' CPU ${cpuSum.toFixed(0)} s, cores ${(busy * 100).toFixed(0)}% busy (${os.cpus().length} cores, the whole machine)`,
      '',
    ];
    process.stdout.write(out.join('\n') + '\n');
  }
}
