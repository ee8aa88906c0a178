// The bench's threaded figures (issue 33): wall-clock ms of a whole batch sampled on one
// thread and on one a core (sampleThreads.ts: the images split across threads that share
// one CPU-kernel memory), checked to give the same bytes; and what a spatial code costs
// against a class bias, on the same architecture, one thread.
import { disposeParams, initParams, makeConfig, type Condition, type ModelConfig, type PixelCNN } from '../model';
import { sample } from '../sampler';
import { cores, SampleThreads } from './sampleThreads';

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

function conditionFor(config: ModelConfig, n: number): Condition | undefined {
  const c = config.conditioning;
  if (c.type === 'class') return { labels: Array.from({ length: n }, (_, i) => i % c.classes) };
  if (c.type === 'vector') return { embeddings: Array.from({ length: n }, (_, i) => new Float32Array(c.dim).map((_, j) => Math.sin(i + j))) };
  return undefined;
}

export interface ThreadedFigures {
  threads: number;
  batches: { batch: number; oneThreadMs: number; threadsMs: number; speedup: number; sameBytes: boolean }[];
}

/**
 * Each batch on one thread and on `threads` (wall-clock: threads run side by side), back to
 * back, on a pool started and warmed first (a command starts its pool beside its own loading).
 */
export async function threadedFigures(model: PixelCNN, batches: number[], threads = cores()): Promise<ThreadedFigures> {
  const pool = SampleThreads.start(threads);
  try {
    const optsFor = (count: number) => ({ count, seed: 3, mode: 'cpu' as const, condition: conditionFor(model.config, count) });
    await pool.whenReady();
    await pool.run(model, optsFor(threads)); // warms every thread
    const out: ThreadedFigures['batches'] = [];
    for (const batch of batches) {
      let t = performance.now();
      const one = await sample(model, optsFor(batch));
      const oneMs = performance.now() - t;
      t = performance.now();
      const many = await pool.run(model, optsFor(batch));
      const manyMs = performance.now() - t;
      out.push({ batch, oneThreadMs: round(oneMs, 0), threadsMs: round(manyMs, 0), speedup: round(oneMs / manyMs), sameBytes: Buffer.compare(Buffer.from(one), Buffer.from(many.images)) === 0 });
    }
    return { threads, batches: out };
  } finally {
    await pool.close();
  }
}

/**
 * One batch of `config`'s architecture with a class bias and with a spatial code (16
 * channels from a 16-d vector, as models/mnist-ae), random weights, CPU ms each (one
 * thread, the cpu sampler): the spatial code should cost about what the class bias does.
 */
export async function spatialFigures(config: ModelConfig, batch: number): Promise<{ batch: number; classMs: number; spatialMs: number; ratio: number }> {
  const cpuMs = async (c: ModelConfig) => {
    const m: PixelCNN = { config: c, params: initParams(c, 0) };
    try {
      const opts = { count: batch, seed: 1, mode: 'cpu' as const, condition: conditionFor(c, batch) };
      await sample(m, { ...opts, count: 1, condition: conditionFor(c, 1) }); // warm-up
      const u = process.cpuUsage();
      await sample(m, opts);
      const d = process.cpuUsage(u);
      return (d.user + d.system) / 1000;
    } finally {
      disposeParams(m.params);
    }
  };
  const base = { ...config, spatialChannels: undefined };
  const classMs = await cpuMs(makeConfig({ ...base, conditioning: { type: 'class', classes: 10 } }));
  const spatialMs = await cpuMs(makeConfig({ ...base, conditioning: { type: 'vector', dim: 16, spatial: true }, spatialChannels: 16 }));
  return { batch, classMs: round(classMs, 0), spatialMs: round(spatialMs, 0), ratio: round(spatialMs / classMs) };
}
