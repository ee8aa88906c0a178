// Node worker threads that run a TypeScript module. A worker thread does not inherit the
// parent's tsx loader, so each starts in threadBoot.mjs, which registers tsx and then
// imports the module. Node only: the browser's workers are src/worker/.
import { Worker } from 'node:worker_threads';

/** A worker thread running the TypeScript module at `entry` (e.g. new URL('./x.ts', import.meta.url)); `data`: more workerData for it. */
export function startThread(entry: URL, data: Record<string, unknown> = {}): Worker {
  return new Worker(new URL('./threadBoot.mjs', import.meta.url), { workerData: { ...data, entry: entry.href } });
}
