// vitest setup of the ops tests (the "ops" project in vitest.config.ts): they check each
// op on every Node backend, and src/ops may not import src/backend (a sibling layer), so
// the backends are set up here: wasm registered with its binary's path and loaded once.
// The tests switch between backends with src/ops/testing.ts's useBackend.
import { initNodeBackend } from './node.ts';

await initNodeBackend('wasm');
