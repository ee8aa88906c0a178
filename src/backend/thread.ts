// Node worker threads that run a TypeScript module. A worker thread does not inherit the
// parent's tsx loader, and registering it in each thread costs ~1 s of the thread's start
// (measured: a sampling thread took 1.3 s to read its first message), which a short run
// waits for. So the module is bundled with esbuild (tsx's own dependency; packages stay
// external) and started as plain JavaScript; where that fails, threadBoot.mjs registers tsx
// and imports the module as before. Node only: the browser's workers are src/worker/.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);
/** In the node_modules that holds esbuild (the project's), so the bundle's packages resolve from it. */
const cacheDir = () => path.join(path.dirname(require.resolve('esbuild/package.json')), '..', '.cache', 'pixelcnn-threads');
const bundled = new Map<string, string | null>();

/** The module at `entry` as one JavaScript file (named by its content, so processes share it), or null when esbuild cannot make it. */
function bundle(entry: URL): string | null {
  if (!bundled.has(entry.href)) {
    let file: string | null = null;
    try {
      const esbuild = require('esbuild') as typeof import('esbuild');
      const out = esbuild.buildSync({ entryPoints: [fileURLToPath(entry)], bundle: true, packages: 'external', format: 'esm', platform: 'node', target: 'node20', write: false, logLevel: 'silent' });
      const code = out.outputFiles[0].text;
      const name = `${path.basename(entry.pathname).replace(/\.\w+$/, '')}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
      const cache = cacheDir();
      file = path.join(cache, name);
      if (!fs.existsSync(file)) {
        fs.mkdirSync(cache, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, code);
        fs.renameSync(tmp, file); // atomic: another process never reads half a file
      }
    } catch {
      file = null;
    }
    bundled.set(entry.href, file);
  }
  return bundled.get(entry.href)!;
}

/** A worker thread running the TypeScript module at `entry` (e.g. new URL('./x.ts', import.meta.url)). */
export function startThread(entry: URL): Worker {
  const file = bundle(entry);
  if (file) return new Worker(file);
  return new Worker(new URL('./threadBoot.mjs', import.meta.url), { workerData: { entry: entry.href } });
}
