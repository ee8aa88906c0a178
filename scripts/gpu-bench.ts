// The entry scripts/gpu-pack.sh bundles into one file for a GPU machine (no npm there): the
// fused sampler's bench (src/cli/benchWebgpu.ts) on the machine's Vulkan driver, for the
// mnist preset (random weights) at batches 1 and 16 and for the shipped faces model.
// node bench.mjs [--rows R] [--models DIR]: prints one JSON object per model.
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { initWebGPUNode } from '../src/backend/webgpuNode';
import { loadModel } from '../src/io/weightsNode';
import { initParams, type Condition, type ModelConfig } from '../src/model';
import { getPreset } from '../src/train/presets';
import { benchWebgpu } from '../src/cli/benchWebgpu';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

function conditionFor(config: ModelConfig, n: number): Condition | undefined {
  const c = config.conditioning;
  if (c.type === 'class') return { labels: Array.from({ length: n }, (_, i) => i % c.classes) };
  if (c.type === 'vector') return { embeddings: [new Float32Array(c.dim).map((_, i) => Math.sin(i))] };
  return undefined;
}

async function main(): Promise<void> {
  tf.enableProdMode();
  await initWebGPUNode();
  const rows = flag('rows') === undefined ? undefined : Number(flag('rows'));
  const models = flag('models') ?? path.join(path.dirname(process.argv[1]), 'models');
  const log = (s: string) => process.stderr.write(s + '\n');
  const mnist = getPreset('mnist').model;
  const runs = [
    { model: { config: mnist, params: initParams(mnist, 0) }, source: 'preset "mnist", random weights', batches: [1, 16] },
    { model: await loadModel(path.join(models, 'faces')), source: 'models/faces', batches: [1, 16] },
  ];
  for (const r of runs) console.log(JSON.stringify(await benchWebgpu({ ...r, rows, condition: conditionFor, log })));
}

main().catch((e) => {
  console.error(`gpu-bench: ${(e as Error).message.split('\n')[0]}`);
  process.exit(1);
});
