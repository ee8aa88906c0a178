// Node worker threads that run a TypeScript module. A worker thread does not inherit the
// parent's tsx loader, so each starts in threadBoot.mjs, which registers tsx and then
// imports the module. Node only: the browser's workers are src/worker/.
import { Worker } from 'node:worker_threads';

/** A worker thread running the TypeScript module at `entry` (e.g. new URL('./x.ts', import.meta.url)). */
export function startThread(entry: URL): Worker {
  return new Worker(new URL('./threadBoot.mjs', import.meta.url), { workerData: { entry: entry.href } });
}
