// Training-step profiler: this process's CPU ms per gradient step (accumulateGradient, as a
// worker runs it) of the mnist preset on one wasm thread, or with --profile a per-kernel
// table of CPU ms (tf.profile with the backend's timer swapped for process.cpuUsage).
// CPU time, not wall time: the build machines are shared, so compare variants by running
// them interleaved and reading medians.
//   npx tsx src/train/profstep.ts [--batch 16] [--steps 5] [--label NAME] [--profile]
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../backend/node.ts';
import { initParams, disposeParams } from '../model';
import { getPreset } from './presets.ts';
import { accumulateGradient, flattenParams, paramLayout } from './gradient.ts';
import { loadMnist } from '../data/mnist.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main() {
  await initNodeBackend('wasm');
  const config = getPreset('mnist').model;
  const batch = Number(arg('batch', '16'));
  const steps = Number(arg('steps', '5'));
  const layout = paramLayout(config);
  const p = initParams(config, 0);
  const flat = flattenParams(layout, p);
  disposeParams(p);
  const train = loadMnist('train');
  const D = 784;
  const images = new Uint8Array(batch * D);
  for (let i = 0; i < images.length; i++) images[i] = train.images[i];
  const labels = train.labels.slice(0, batch);
  const grad = new Float32Array(layout.total);
  const run = () => { grad.fill(0); return accumulateGradient(config, layout, flat, images, labels, 1 / (batch * D), grad); };
  run(); run();
  if (process.argv.includes('--profile')) {
    const be = tf.backend() as unknown as { time: (f: () => void) => Promise<{ kernelMs: number }> };
    be.time = async (f) => { const t0 = process.cpuUsage(); f(); const d = process.cpuUsage(t0); return { kernelMs: (d.user + d.system) / 1000 }; };
    const info = await tf.profile(() => { run(); });
    const agg = new Map<string, { ms: number; n: number }>();
    for (const k of info.kernels) {
      const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
      const a = agg.get(key) ?? { ms: 0, n: 0 };
      a.ms += k.kernelTimeMs as number; a.n++;
      agg.set(key, a);
    }
    const byName = new Map<string, { ms: number; n: number }>();
    for (const k of info.kernels) { const a = byName.get(k.name) ?? { ms: 0, n: 0 }; a.ms += k.kernelTimeMs as number; a.n++; byName.set(k.name, a); }
    const total = info.kernels.reduce((s, k) => s + (k.kernelTimeMs as number), 0);
    console.log('total kernel ms', total.toFixed(0));
    for (const [k, v] of [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log(v.ms.toFixed(1).padStart(8), String(v.n).padStart(5), k);
    console.log('---');
    for (const [k, v] of [...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)) console.log(v.ms.toFixed(1).padStart(8), String(v.n).padStart(5), k);
    return;
  }
  const times: number[] = [];
  let nats = 0;
  for (let s = 0; s < steps; s++) {
    const t0 = process.cpuUsage();
    nats = run();
    const d = process.cpuUsage(t0);
    times.push((d.user + d.system) / 1000);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ label: arg('label', ''), medianCpuMs: Math.round(times[times.length >> 1]), min: Math.round(times[0]), times: times.map(Math.round), nats: nats.toFixed(3), tensors: tf.memory().numTensors }));
}
main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
