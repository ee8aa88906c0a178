// A new tfjs-wasm instance runs its first row steps several times slower than later ones
// (it sets up each kernel on first use): one image's last two rows, drawn once when a model
// arrives, move that cost into the load, for every thread alike.
import type { PixelCNN } from '../model';
import { bestMode, sample } from '../sampler';

export async function warmUp(model: PixelCNN): Promise<void> {
  const { height: H, width: Wd, channels: C, conditioning: c } = model.config;
  if (bestMode(model) !== 'cpu') return;
  const size = H * Wd * C;
  const rows = Math.min(2, H);
  const condition = c.type === 'class' ? { labels: [0] } : c.type === 'vector' ? { embeddings: [new Float32Array(c.dim)] } : undefined;
  await sample(model, { count: 1, seed: 0, condition, prefix: { images: new Uint8Array(size), length: (H - rows) * Wd * C } });
}
