// A new tfjs-wasm instance, and a new sampling thread, run their first steps several times
// slower than later ones (kernels set up on first use, JavaScript and WebAssembly compiled
// as they get hot): the last rows of one image a thread, ~800 sub-pixels (a whole digit;
// with 2 rows a fresh page's first run was still slower than its later ones), drawn once when a model arrives,
// move that cost into the load.
import type { PixelCNN } from '../model';
import { bestMode, sample } from '../sampler';
import type { KernelThreads } from '../sampler/kernelThreads';

export async function warmUp(model: PixelCNN, threads?: KernelThreads): Promise<void> {
  const { height: H, width: Wd, channels: C, conditioning: c } = model.config;
  if (bestMode(model) !== 'cpu') return;
  const size = H * Wd * C;
  const rows = Math.min(H, Math.max(2, Math.ceil(800 / (Wd * C))));
  const count = 1 + (threads?.helpers ?? 0);
  const condition = c.type === 'class' ? { labels: [0] } : c.type === 'vector' ? { embeddings: [new Float32Array(c.dim)] } : undefined;
  await sample(model, { count, seed: 0, condition, kernelThreads: threads, prefix: { images: new Uint8Array(size), length: (H - rows) * Wd * C } });
}
