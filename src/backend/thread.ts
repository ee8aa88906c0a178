// Node worker threads that run a TypeScript module. A worker thread does not inherit the
// parent's tsx loader, so each starts in threadBoot.mjs, which registers tsx and then
// imports the module (~0.15 s before the module runs). A small module with no packages
// can instead be bundled by esbuild (tsx's own dependency) and run as plain JavaScript,
// up in ~0.03 s: startBundledThread. Its bundling is asynchronous (esbuild's own process),
// so this thread never blocks on it (a blocked main thread misses tsx's relayed Ctrl-C).
// Node only: the browser's workers are src/worker/.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** A worker thread running the TypeScript module at `entry` (e.g. new URL('./x.ts', import.meta.url)); `data`: more workerData for it. */
export function startThread(entry: URL, data: Record<string, unknown> = {}): Worker {
  return new Worker(new URL('./threadBoot.mjs', import.meta.url), { workerData: { ...data, entry: entry.href } });
}

/**
 * A worker thread running the module at `entry` bundled into one CommonJS script (every
 * import of it from the project: no packages); where esbuild is missing or fails, startThread's.
 */
export async function startBundledThread(entry: URL, data: Record<string, unknown> = {}): Promise<Worker> {
  try {
    const esbuild = await import('esbuild');
    const out = await esbuild.build({ entryPoints: [fileURLToPath(entry)], bundle: true, format: 'cjs', platform: 'node', target: 'node20', write: false, logLevel: 'silent' });
    return new Worker(out.outputFiles[0].text, { eval: true, workerData: { ...data, entry: entry.href } });
  } catch {
    return startThread(entry, data);
  }
}
