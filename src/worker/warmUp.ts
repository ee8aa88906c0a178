// A new tfjs-wasm instance, and a new sampling thread, run their first steps several times
// slower than later ones (kernels set up on first use, JavaScript and WebAssembly compiled
// as they get hot, V8 compiling on the page's thread pool meanwhile): ~800 sub-pixels a thread
// (a whole digit; with 2 rows a fresh page's first run was still slower than its later ones),
// drawn once when a model arrives through the worker's own run loop (its events posted
// nowhere), move that cost into the load. With threads, two images a thread, the last rows of
// each: a split run's threads take rows of several images in turn, as a 2x2 grid's do (one
// image a thread left the first split run x1.18-1.36 faster than threads=1, against x1.39-1.42
// so, in scripts/app-threads.ts's first runs, builds taking turns).
import type { PixelCNN } from '../model';
import { bestMode } from '../sampler';
import type { GenerateRequest, WireCondition } from './protocol';

/** The warm-up run of `model` on this worker and `helpers` threads; `run`: the worker's own run loop. */
export async function warmUp(model: PixelCNN, helpers: number, run: (req: GenerateRequest) => Promise<unknown>): Promise<void> {
  const { height: H, width: Wd, channels: C, conditioning: c } = model.config;
  if (bestMode(model) !== 'cpu') return;
  const size = H * Wd * C;
  const count = helpers > 0 ? 2 * (1 + helpers) : 1;
  const rows = Math.min(H, Math.max(2, Math.ceil((800 * (1 + helpers)) / count / (Wd * C))));
  const condition: WireCondition = c.type === 'class' ? { kind: 'class', label: 0 } : c.type === 'vector' ? { kind: 'vector', values: new Array<number>(c.dim).fill(0) } : { kind: 'none' };
  const prefix = { values: new Uint8Array(size), length: (H - rows) * Wd * C };
  await run({ type: 'generate', reqId: -1, modelId: -1, condition, guidance: 0, prefix, count, seed: 0, temperature: 1, delayMs: 0 });
}
