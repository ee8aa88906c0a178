// npx tsx scripts/fused-flips.ts: the expected rate of level flips per draw between the fused
// sampler (Dawn in Node) and the cached one (tfjs cpu) on models/mnist, 4 images drawn from
// rows 10-27 of a bundled "3" (the rows with strokes), guidance 0 and 2 (docs/webgpu.md).
import * as tf from '@tensorflow/tfjs';
import { initWebGPUNode } from '../src/backend/webgpuNode';
import { countGpuTraffic } from '../src/backend/webgpuCount';
import { loadModel } from '../src/io/weightsNode';
import { disposeParams } from '../src/model';
import { checkFused } from '../src/sampler/webgpu/check';
import { readFileSync } from 'node:fs';
import { decode } from 'fast-png';
await initWebGPUNode();
const counter = countGpuTraffic();
const png = decode(readFileSync('models/mnist-ae/examples/3.png'));
const img = Uint8Array.from({ length: 784 }, (_, i) => png.data[i * png.channels]);
const images = new Uint8Array(4 * 784);
for (let n = 0; n < 4; n++) images.set(img, n * 784);
for (const [g, seed] of [[0, 1], [2, 2]] as const) {
  const c = await checkFused(`mnist rows 10-27 g=${g}`, () => loadModel('models/mnist'), { count: 4, seed, guidance: g, condition: { labels: [3, 3, 8, 5] }, prefix: { images, length: 10 * 28 } }, { fused: 'webgpu', reference: 'cpu' }, counter, (m) => disposeParams(m.params));
  console.log(JSON.stringify({ ...c, draws: c.events * 4 }));
}
