import { configDefaults, defineConfig } from 'vitest/config';
import LongFirst from './test/sequencer.ts';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Each file gets its own tfjs instance; two at a time fits two cores.
    pool: 'forks',
    maxWorkers: 2,
    // long files first, so both cores stay busy to the end (test/sequencer.ts)
    sequence: { sequencer: LongFirst },
    // vitest's usual output, then the slowest files with their CPU seconds (test/timing.ts,
    // which reads what test/cpu.ts records)
    reporters: ['default', './test/timing.ts'],
    setupFiles: ['test/cpu.ts'],
    projects: [
      {
        // the ops on every Node backend: src/backend/testSetup.ts sets the backends up, as
        // src/ops may not import src/backend (a sibling layer)
        extends: true,
        test: { name: 'ops', include: ['src/ops/**/*.test.ts'], setupFiles: ['src/backend/testSetup.ts'] },
      },
      {
        extends: true,
        // e2e/globalSetup.ts: the browser tests share one build of the app a run
        test: { name: 'main', include: ['src/**/*.test.ts', 'e2e/**/*.test.ts'], exclude: [...configDefaults.exclude, 'src/ops/**'], globalSetup: ['e2e/globalSetup.ts'] },
      },
    ],
  },
});
