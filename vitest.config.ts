import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Each file gets its own tfjs instance; two at a time fits two cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
