// npm run bench -- --json
// Sampler benchmark on one backend (wasm by default), for each batch size: ms per batch
// for the naive sampler (one full forward pass per sub-pixel), the cached sampler
// (Ramachandran et al. 2017) as tfjs ops and the same with its per-sub-pixel step in the
// WebAssembly SIMD kernel (mode 'cpu', src/sampler/cpu.ts), the time of one full forward
// pass, how many tfjs kernels each generated sub-pixel costs, where the cpu path's time
// goes (row step, kernel step, window advance, the rest), and one layer's step as packed
// tfjs ops against the kernel. The last line of stdout is one JSON object.
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { condTensor, disposeParams, forward, initParams, makeConfig, type Condition, type ModelConfig, type PixelCNN } from '../model';
import { CpuStepper, drawLevel, samplePixels, type SamplerMode } from '../sampler';
import { samplerWork, workSoFar } from '../sampler/work';
import { kernelMacs } from '../sampler/measureWork';
import { gate, pointwise } from '../ops/conv';
import { kernelOf } from '../model';
import { mulberry32 } from '../util/rng';
import { loadModel } from '../io/weightsNode';
import { parseArgs, usage, UsageError, type FlagSpec } from './args';
import { samplerBackendFlag, startBackend } from './common';
import { spatialFigures, threadedFigures } from './benchThreads';

const spec = {
  preset: { type: 'string', help: 'model size from src/train/presets.ts (default mnist)' },
  model: { type: 'string', help: 'benchmark this model folder instead of a random model of --preset' },
  batches: { type: 'string', help: 'comma-separated batch sizes (default 1,16)' },
  'naive-pixels': { type: 'int', min: 1, help: 'sub-pixels timed for the naive sampler, then extrapolated (default: one row)' },
  'count-rows': { type: 'int', min: 1, help: 'rows of cached sampling over which kernels are counted (default 2)' },
  json: { type: 'bool', help: 'print only the JSON object (no table on stderr)' },
  backend: samplerBackendFlag,
  rows: { type: 'int', min: 1, help: 'webgpu: rows timed per batch, the rest extrapolated (default all)' },
} satisfies FlagSpec;

const FALLBACK: Partial<ModelConfig> = { height: 28, width: 28, channels: 1, levels: 256, hidden: 32, layers: 8 };

async function presetConfig(name: string): Promise<{ config: ModelConfig; source: string }> {
  try {
    const presets = await import('../train/presets');
    return { config: presets.getPreset(name).model, source: `preset "${name}" (src/train/presets.ts)` };
  } catch (e) {
    if (name !== 'mnist') throw new UsageError(`--preset: ${(e as Error).message}`);
    return { config: makeConfig(FALLBACK), source: 'fallback: hidden 32, layers 8 (presets not available)' };
  }
}

function conditionFor(config: ModelConfig, n: number): Condition | undefined {
  const c = config.conditioning;
  if (c.type === 'class') return { labels: Array.from({ length: n }, (_, i) => i % c.classes) };
  if (c.type === 'vector') {
    const v = new Float32Array(c.dim).map((_, i) => Math.sin(i));
    return { embeddings: [v] };
  }
  return undefined;
}

interface Elapsed {
  /** CPU time of this process (user + system), ms: what the work cost, even on a busy machine */
  cpu: number;
  /** wall-clock ms: what a user waits, inflated when other processes share the cores */
  wall: number;
}

function stopwatch(): () => Elapsed {
  const w = performance.now();
  const c = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(c);
    return { cpu: (d.user + d.system) / 1000, wall: performance.now() - w };
  };
}

/** Runs the sampler for `pixels` sub-pixels (all when undefined); returns the time taken and sub-pixels done. */
async function runSampler(model: PixelCNN, mode: SamplerMode, count: number, pixels?: number): Promise<Elapsed & { done: number }> {
  const opts = { count, seed: 1, temperature: 1, mode, condition: conditionFor(model.config, count) };
  const stop = stopwatch();
  let done = 0;
  for await (const e of samplePixels(model, opts)) {
    done = e.done;
    if (pixels !== undefined && done >= pixels) break; // the generator's finally frees its tensors
  }
  return { ...stop(), done };
}

/** One full forward pass of a batch (logits read back): the median of `repeats` runs after a warm-up. */
async function forwardTime(model: PixelCNN, count: number, repeats = 5): Promise<Elapsed> {
  const { height: H, width: W, channels: C, levels: K } = model.config;
  const x = tf.tidy(() => tf.floor(tf.mul(tf.randomUniform([count, H, W, C], 0, 1, 'float32', 7), K)) as tf.Tensor4D);
  const cond = condTensor(model.config, conditionFor(model.config, count), count);
  const times: Elapsed[] = [];
  try {
    for (let i = 0; i <= repeats; i++) {
      const stop = stopwatch();
      const y = forward(model, x, cond);
      await y.data();
      y.dispose();
      if (i > 0) times.push(stop()); // the first run is a warm-up
    }
  } finally {
    tf.dispose([x, ...(cond ? [cond] : [])]);
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  return { cpu: median(times.map((t) => t.cpu)), wall: median(times.map((t) => t.wall)) };
}

/** CPU ms of the cpu path's stages over one whole batch, driven as samplePixels drives it. */
async function cpuStages(model: PixelCNN, count: number): Promise<{ rowMs: number; stepMs: number; advanceMs: number; totalMs: number }> {
  const { height: H, width: W, channels: C, levels: K } = model.config;
  const st = new CpuStepper(model, count, conditionFor(model.config, count));
  const x = new Uint8Array(count * H * W * C);
  const rand = mulberry32(1);
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let rowMs = 0;
  let stepMs = 0;
  let advanceMs = 0;
  const t0 = cpu();
  try {
    for (let r = 0; r < H; r++) {
      let t = cpu();
      st.startRow(r, x);
      rowMs += cpu() - t;
      for (let c = 0; c < W; c++) {
        for (let ch = 0; ch < C; ch++) {
          t = cpu();
          const p = await st.probs(r, c, ch, x, 1);
          stepMs += cpu() - t;
          for (let n = 0; n < count; n++) x[((n * H + r) * W + c) * C + ch] = drawLevel(p, n * K, K, rand());
        }
        t = cpu();
        st.endPixel();
        advanceMs += cpu() - t;
      }
    }
  } finally {
    st.dispose();
  }
  return { rowMs, stepMs, advanceMs, totalMs: cpu() - t0 };
}

/**
 * One layer's horizontal step (layer 1: a full hidden-width layer), median µs over `repeats`:
 * as restructured tfjs ops (the window's taps packed into one [(half+1) p, 2p] matrix at
 * load, one matMul for all gate products, the gate, the 1x1 and the residual: 6 kernels)
 * against the WebAssembly kernel's one call for the same layer.
 */
async function oneLayer(model: PixelCNN, count: number, repeats = 200): Promise<{ tfjsOpsUs: number; tfjsKernels: number; wasmKernelUs: number }> {
  const { hidden: P } = model.config;
  const l = 1;
  const half = kernelOf(model.config, l) >> 1;
  const st = new CpuStepper(model, count, conditionFor(model.config, count));
  const weights = st.weights();
  const hc = tf.reshape(weights[`l${l}/h_conv`], [(half + 1) * P, 2 * P]) as tf.Tensor2D; // packed at load
  const win = tf.randomNormal([count, (half + 1) * P], 0, 1, 'float32', 3);
  const h = tf.randomNormal([count, P], 0, 1, 'float32', 4);
  const link = tf.randomNormal([count, 2 * P], 0, 1, 'float32', 5);
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const tfjsStep = () =>
    tf.tidy(() => tf.add(h, tf.add(pointwise(gate(tf.add(pointwise(win, hc), link)), weights[`l${l}/out`] as tf.Tensor2D), weights[`l${l}/out_bias`])));
  try {
    const ops: number[] = [];
    const kern: number[] = [];
    for (let i = 0; i < repeats + 10; i++) {
      let t = performance.now();
      const y = tfjsStep();
      y.dataSync();
      y.dispose();
      if (i >= 10) ops.push((performance.now() - t) * 1000);
      t = performance.now();
      st.layerStep(l, 0);
      if (i >= 10) kern.push((performance.now() - t) * 1000);
    }
    const kernels = (await tf.profile(async () => void tfjsStep().dispose())).kernels.length;
    return { tfjsOpsUs: round(median(ops), 1), tfjsKernels: kernels, wasmKernelUs: round(median(kern), 1) };
  } finally {
    tf.dispose([hc, win, h, link]);
    st.dispose();
  }
}

/** tfjs kernels launched while `f` runs, and their multiply-adds (counted by tf.profile). */
async function countKernels(f: () => Promise<unknown>): Promise<{ kernels: number; macs: number }> {
  const info = await tf.profile(async () => {
    await f();
  });
  return { kernels: info.kernels.length, macs: info.kernels.reduce((s, k) => s + kernelMacs(k), 0) };
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

export async function runBench(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('bench', '[--json] [--preset mnist] [--batches 1,16] [--naive-pixels N]', spec) + '\n');
    return;
  }
  if (a.model && a.preset) throw new UsageError('give --model or --preset, not both');
  const batches = (a.batches ?? '1,16').split(',').map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1 || v > 256) throw new UsageError(`--batches: ${JSON.stringify(s)} is not a batch size 1..256`);
    return v;
  });
  const log = (s: string) => {
    if (!a.json) process.stderr.write(s + '\n');
  };
  const backend = await startBackend(a.backend ?? 'wasm');
  let model: PixelCNN;
  let source: string;
  if (a.model) {
    model = await loadModel(a.model);
    source = `model folder ${a.model}`;
  } else {
    const p = await presetConfig(a.preset ?? 'mnist');
    model = { config: p.config, params: initParams(p.config, 0) };
    source = `${p.source}, random weights (timing does not depend on their values)`;
  }
  const { config } = model;
  if (backend === 'webgpu') {
    // the fused sampler's own figures (benchWebgpu.ts); the CPU samplers' comparison does not apply
    try {
      const { benchWebgpu } = await import('./benchWebgpu');
      const out = await benchWebgpu({ model, source, batches, rows: a.rows, condition: conditionFor, log });
      process.stdout.write(JSON.stringify(out) + '\n');
    } finally {
      disposeParams(model.params);
    }
    return;
  }
  const subPixels = config.height * config.width * config.channels;
  const naivePixels = Math.min(a['naive-pixels'] ?? config.width * config.channels, subPixels);
  const countRows = Math.min(a['count-rows'] ?? 2, config.height);
  const hasCached = config.arch === 'gated';
  const tensorsAtStart = tf.memory().numTensors;
  const loadBefore = os.loadavg()[0];
  log(`bench: ${backend}, ${config.height}x${config.width}x${config.channels}, K=${config.levels}, hidden ${config.hidden}, layers ${config.layers}; ${source}`);

  try {
    // warm-up of the whole path (wasm compiles and allocates on first use)
    await forwardTime(model, 1, 2);
    await runSampler(model, 'naive', 1, 2);
    if (hasCached) await runSampler(model, 'cached', 1, config.width * config.channels);
    if (hasCached) await runSampler(model, 'cpu', 1, config.width * config.channels);
    const results = [];
    for (const B of batches) {
      // warm-up at this batch size, so first-call allocation is not timed
      await runSampler(model, 'naive', B, 3);
      if (hasCached) await runSampler(model, 'cached', B, config.width * config.channels);
      if (hasCached) await runSampler(model, 'cpu', B, config.width * config.channels);
      const fwd = await forwardTime(model, B);
      const naive = await runSampler(model, 'naive', B, naivePixels);
      const naiveMsPerPixel = naive.cpu / naive.done;
      const cached = hasCached ? await runSampler(model, 'cached', B) : null;
      const cpu = hasCached ? await runSampler(model, 'cpu', B) : null;
      const stages = hasCached ? await cpuStages(model, B) : null;
      const layer = hasCached ? await oneLayer(model, B) : null;
      const r = {
        batch: B,
        forwardMs: round(fwd.cpu),
        naive: {
          msPerBatch: round(naiveMsPerPixel * subPixels, 0),
          msPerSubPixel: round(naiveMsPerPixel),
          measuredSubPixels: naive.done,
          extrapolated: naive.done < subPixels,
        },
        cached: cached && {
          msPerBatch: round(cached.cpu, 0),
          msPerSubPixel: round(cached.cpu / cached.done, 3),
          measuredSubPixels: cached.done,
        },
        speedup: cached ? round((naiveMsPerPixel * subPixels) / cached.cpu, 1) : null,
        overheadFactor: cached ? round(cached.cpu / fwd.cpu, 1) : null,
        cpu: cpu && {
          msPerBatch: round(cpu.cpu, 0),
          msPerSubPixel: round(cpu.cpu / cpu.done, 3),
          measuredSubPixels: cpu.done,
          speedup: round((naiveMsPerPixel * subPixels) / cpu.cpu, 1),
          overheadFactor: round(cpu.cpu / fwd.cpu, 2),
          // where one batch's CPU time goes, ms (a second run, driven stage by stage)
          stages: stages && {
            rowStepTfjs: round(stages.rowMs, 1),
            kernelStep: round(stages.stepMs, 1),
            advance: round(stages.advanceMs, 1),
            rest: round(stages.totalMs - stages.rowMs - stages.stepMs - stages.advanceMs, 1),
            total: round(stages.totalMs, 1),
          },
        },
        oneLayer: layer,
        wall: {
          forwardMs: round(fwd.wall),
          naiveMsPerBatch: round((naive.wall / naive.done) * subPixels, 0),
          cachedMsPerBatch: cached ? round(cached.wall, 0) : null,
          cpuMsPerBatch: cpu ? round(cpu.wall, 0) : null,
        },
      };
      results.push(r);
      log(
        `batch ${String(B).padStart(3)}: forward ${r.forwardMs} ms | naive ${r.naive.msPerBatch} ms/batch` +
          `${r.naive.extrapolated ? ` (from ${naive.done} sub-pixels)` : ''} | cached ${r.cached?.msPerBatch ?? '-'} ms/batch` +
          ` | speedup ${r.speedup ?? '-'}x | cached/forward ${r.overheadFactor ?? '-'}` +
          ` | cpu ${r.cpu?.msPerBatch ?? '-'} ms/batch, speedup ${r.cpu?.speedup ?? '-'}x, cpu/forward ${r.cpu?.overheadFactor ?? '-'}` +
          (layer ? ` | one layer: tfjs ops ${layer.tfjsOpsUs} µs (${layer.tfjsKernels} kernels), wasm kernel ${layer.wasmKernelUs} µs` : ''),
      );
    }

    // kernels per generated sub-pixel (independent of batch size): whole rows, so the
    // cached sampler's once-per-row vertical-stack work is included
    const countPixels = countRows * config.width * config.channels;
    const cachedKernels = hasCached ? await countKernels(() => runSampler(model, 'cached', 1, countPixels)) : null;
    // the cpu path: tfjs kernels of the row step only (the sub-pixel step is one WebAssembly call)
    const cpuKernels = hasCached ? await countKernels(() => runSampler(model, 'cpu', 1, countPixels)) : null;
    const naiveKernels = await countKernels(() => runSampler(model, 'naive', 1, 2));
    const kernelsPerSubPixel = {
      cached: cachedKernels === null ? null : round(cachedKernels.kernels / countPixels, 1),
      cpu: cpuKernels === null ? null : round(cpuKernels.kernels / countPixels, 1),
      cpuWasmCallsPerSubPixel: hasCached ? round((countPixels + countRows * config.width) / countPixels, 2) : null,
      naive: round(naiveKernels.kernels / 2, 1),
      countedOver: { cachedSubPixels: hasCached ? countPixels : 0, naiveSubPixels: 2 },
    };
    // multiply-adds of one image from the config (src/sampler/work.ts, the app's "under the
    // hood" counter), beside those tf.profile saw the samplers run over the sub-pixels counted above
    const whole = workSoFar(config, subPixels);
    const work = {
      cachedMacsPerImage: whole.cached,
      naiveMacsPerImage: whole.naive,
      naiveOverCached: round(whole.naive / whole.cached, 1),
      cachedCounted: cachedKernels && { profiled: cachedKernels.macs, fromConfig: workSoFar(config, countPixels).cached },
      naivePerSubPixel: { profiled: naiveKernels.macs / 2, fromConfig: samplerWork(config).forward },
    };
    log(`multiply-adds per image: cached ${(whole.cached / 1e9).toFixed(3)} G, naive ${(whole.naive / 1e9).toFixed(1)} G (${work.naiveOverCached}x)`);
    log(`kernels per sub-pixel: cached ${kernelsPerSubPixel.cached ?? '-'}, cpu ${kernelsPerSubPixel.cpu ?? '-'} tfjs (row step) + ${kernelsPerSubPixel.cpuWasmCallsPerSubPixel ?? '-'} WebAssembly calls, naive ${kernelsPerSubPixel.naive}`);

    // whole batches on one thread and on one a core (wall-clock), and a spatial code against a class bias (issue 33)
    const threaded = hasCached && backend === 'wasm' ? await threadedFigures(model, batches) : null;
    const spatialCode = hasCached ? await spatialFigures(config, 16) : null;
    for (const t of threaded?.batches ?? []) log(`batch ${String(t.batch).padStart(3)}: 1 thread ${t.oneThreadMs} ms, ${threaded!.threads} threads ${t.threadsMs} ms (x${t.speedup}, same bytes: ${t.sameBytes})`);
    if (spatialCode) log(`spatial code (16 channels) against a class bias, batch 16: ${spatialCode.spatialMs} ms against ${spatialCode.classMs} ms (x${spatialCode.ratio})`);

    const last = results.find((r) => r.batch === 16) ?? results[results.length - 1];
    const out = {
      backend,
      threads: 1,
      config: {
        arch: config.arch,
        height: config.height,
        width: config.width,
        channels: config.channels,
        levels: config.levels,
        hidden: config.hidden,
        layers: config.layers,
        headHidden: config.headHidden,
        conditioning: config.conditioning.type,
      },
      weights: source,
      batches: results,
      speedup: last.speedup,
      overheadFactor: last.overheadFactor,
      summaryBatch: last.batch,
      // the cpu path (the default on wasm / cpu), beside the cached one above
      cpu: {
        speedup: last.cpu?.speedup ?? null,
        overheadFactor: last.cpu?.overheadFactor ?? null,
        overheadFactorBatch1: results.find((r) => r.batch === 1)?.cpu?.overheadFactor ?? null,
      },
      kernelsPerSubPixel,
      work,
      threaded,
      spatialCode,
      leakedTensors: tf.memory().numTensors - tensorsAtStart,
      // other processes on this machine's cores distort every time above: check these
      cpus: os.cpus().length,
      loadAverage1m: { before: round(loadBefore), after: round(os.loadavg()[0]) },
      notes: [
        `naive sampling runs one full forward pass per sub-pixel, so its cost per sub-pixel is constant: it is timed over the first ${naivePixels} sub-pixels and extrapolated to all ${subPixels}`,
        'cached sampling is timed over the whole image',
        "cpu = the cached sampler with its per-sub-pixel step in one WebAssembly SIMD call (mode 'cpu', the default on wasm); its row step stays tfjs ops; stages: CPU ms of a second run driven stage by stage (rest = the loop, reading the distribution, drawing)",
        'oneLayer: layer 1 alone, median µs a step: packed tfjs ops (one matMul for every gate product) against the WebAssembly kernel',
        'times are CPU time of this (single-threaded) process, robust to other load on the machine; `wall` holds wall-clock times of the same runs',
        'speedup = naive ms per batch / cached ms per batch; overheadFactor = cached ms per batch / one forward pass of the same batch',
        'kernels counted with tf.profile',
        'threaded: wall-clock ms of a whole batch on 1 thread and on one a core (the images split evenly across threads sharing one CPU-kernel memory), back to back; spatialCode: CPU ms of a batch of 16 with a 16-channel spatial code against a class bias, same architecture, random weights',
      ],
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    disposeParams(model.params);
  }
}
