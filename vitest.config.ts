import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Each file gets its own tfjs instance; two at a time fits two cores.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        // the ops on every Node backend: src/backend/testSetup.ts sets the backends up, as
        // src/ops may not import src/backend (a sibling layer)
        extends: true,
        test: { name: 'ops', include: ['src/ops/**/*.test.ts'], setupFiles: ['src/backend/testSetup.ts'] },
      },
      {
        extends: true,
        test: { name: 'main', include: ['src/**/*.test.ts', 'e2e/**/*.test.ts'], exclude: [...configDefaults.exclude, 'src/ops/**'] },
      },
    ],
  },
});
