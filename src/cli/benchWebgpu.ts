// npm run bench -- --backend webgpu [--json] [--preset mnist | --model DIR] [--batches 1,16] [--rows R]
// The fused WebGPU sampler in Node (Dawn on the machine's Vulkan driver), per batch size:
// the first run's compile ms, ms per batch after compile, the readbacks, submits and kernel
// launches per batch, and where the time goes: the GPU's own time over the rows' passes
// (timestamp queries, where the adapter has them) against the wall clock. The last line of
// stdout is one JSON object.
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import type { Condition, ModelConfig, PixelCNN } from '../model';
import { samplePixels, type FusedStats } from '../sampler';
import { webgpuAdapterInfo } from '../backend/webgpuNode';
import { countGpuTraffic } from '../backend/webgpuCount';

export interface WebgpuBenchOptions {
  model: PixelCNN;
  source: string;
  batches: number[];
  /** rows timed per batch (the rest extrapolated); default all */
  rows?: number;
  condition: (config: ModelConfig, n: number) => Condition | undefined;
  log: (s: string) => void;
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

interface Timed {
  /** ms until the first row's sub-pixels came back (setup, upload, the first row) */
  firstRowMs: number;
  /** ms per further row, from the arrivals of rows 1..rows-1 (null when one row was timed) */
  rowMs: number | null;
  wallMs: number;
  stats: FusedStats;
  /** submits and readbacks on the device during the run (tfjs's setup ops included), counted by wrapping WebGPU */
  submits: number;
  readbacks: number;
}

/**
 * One fused run, left after `rows` rows (the rows submitted ahead of them finish on the GPU,
 * untimed, before the next run). Times the first row's arrival and each later one's.
 */
async function timedRun(model: PixelCNN, count: number, seed: number, rows: number, condition: Condition | undefined, traffic: () => { submits: number; readbacks: number }): Promise<Timed> {
  const { width: W, channels: C } = model.config;
  let stats: FusedStats | null = null;
  const before = traffic();
  const t0 = performance.now();
  const arrivals: number[] = [];
  for await (const e of samplePixels(model, { count, seed, mode: 'fused', condition, onStats: (s) => (stats = s) })) {
    if ((e.done - 1) % (W * C) === 0) arrivals.push(performance.now() - t0);
    if (e.done >= rows * W * C) break;
  }
  const wallMs = performance.now() - t0;
  const after = traffic();
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  await device.queue.onSubmittedWorkDone();
  const rowMs = arrivals.length > 1 ? (arrivals[arrivals.length - 1] - arrivals[0]) / (arrivals.length - 1) : null;
  return { firstRowMs: arrivals[0], rowMs, wallMs, stats: stats!, submits: after.submits - before.submits, readbacks: after.readbacks - before.readbacks };
}

export async function benchWebgpu(o: WebgpuBenchOptions): Promise<object> {
  const { model } = o;
  const { config } = model;
  const H = config.height;
  const rows = Math.min(o.rows ?? H, H);
  const adapter = webgpuAdapterInfo();
  const traffic = countGpuTraffic();
  const tensors = tf.memory().numTensors;
  o.log(`bench (webgpu): ${adapter?.vendor} ${adapter?.architecture} "${adapter?.description}"; ${config.height}x${config.width}x${config.channels}, K=${config.levels}, hidden ${config.hidden}, layers ${config.layers}; ${o.source}`);
  const results = [];
  for (const B of o.batches) {
    const condition = o.condition(config, B);
    // the first run at this batch size compiles its kernels (the batch is baked into them)
    const first = await timedRun(model, B, 1, 1, condition, traffic);
    const run = await timedRun(model, B, 2, rows, condition, traffic);
    const st = run.stats;
    // rows the sampler submitted (the timed ones and those ahead): its launches, submits and readbacks are per row
    const submitted = st.readbacks;
    const setupSubmits = run.submits - st.submits;
    const msPerBatch = rows >= H ? run.wallMs : run.firstRowMs + (run.rowMs ?? run.firstRowMs) * (H - 1);
    const r = {
      batch: B,
      compileMs: round(first.stats.compileMs, 0),
      msPerBatch: round(msPerBatch, 0),
      rowsTimed: rows,
      extrapolated: rows < H,
      firstRowMs: round(run.firstRowMs, 0),
      msPerRow: run.rowMs === null ? null : round(run.rowMs, 1),
      // a whole batch: one readback and one submit per row, plus tfjs's submits computing and copying the weights and conditioning terms
      perBatch: {
        readbacks: H + (run.readbacks - st.readbacks),
        submits: H + setupSubmits,
        launches: Math.round((st.launches / submitted) * H),
      },
      // the GPU's own time in the rows' passes (timestamp queries) against the wall clock of the rows timed
      time: st.gpuMs === null ? null : { rows: submitted, gpuKernelsMsPerRow: round(st.gpuMs / submitted, 1), wallMsPerRow: run.rowMs === null ? null : round(run.rowMs, 1) },
    };
    results.push(r);
    o.log(
      `batch ${String(B).padStart(3)}: compile ${r.compileMs} ms | ${r.msPerBatch} ms/batch${r.extrapolated ? ` (from ${rows} rows)` : ''}` +
        ` | ${r.perBatch.readbacks} readbacks, ${r.perBatch.submits} submits, ${r.perBatch.launches} launches` +
        (r.time ? ` | per row: GPU kernels ${r.time.gpuKernelsMsPerRow} ms, wall ${r.time.wallMsPerRow ?? '-'} ms` : ' | no timestamp queries on this adapter'),
    );
  }
  return {
    backend: 'webgpu',
    adapter,
    source: o.source,
    config: { height: config.height, width: config.width, channels: config.channels, levels: config.levels, hidden: config.hidden, layers: config.layers },
    batches: results,
    leakedTensors: tf.memory().numTensors - tensors,
    loadAverage: round(os.loadavg()[0], 2),
  };
}
