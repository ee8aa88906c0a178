// Runs in Chromium with WebGPU (see scripts/bench-webgpu.ts): ms per sub-pixel and
// kernel launches per sub-pixel for the fused kernels against the portable cached sampler
// (the same caching, written as tfjs ops) on the same backend, in one run; for a class
// model also the fused kernels with guidance (g = 1): the exact class mixture (one stream
// per class) and the null condition (2 streams, on a nullable copy of the model).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { initParams, makeConfig, type ModelConfig } from '../../src/model';
import { CachedStepper, FusedWebGPUStepper, makeStepper, type Stepper, type UnconditionalSource } from '../../src/sampler';

interface Timing {
  msPerSubPixel: number;
  /** kernel launches of one sub-pixel step, and of the once-per-row step */
  kernelsPerSubPixel: number;
  kernelsPerRow: number;
  subPixels: number;
}

/** Times `pixels` sub-pixels of row 2, its row step included (rows 0 and 1 warm the pipelines up). */
async function timeStepper(st: Stepper, config: ModelConfig, N: number, pixels: number): Promise<Timing> {
  const x = new Uint8Array(N * config.height * config.width * config.channels);
  const run = async (row: number, n: number) => {
    st.startRow(row, x);
    for (let c = 0; c < n; c++) {
      await st.probs(row, c, 0, x, 1);
      st.endPixel(row, c, x);
    }
  };
  await run(0, 2);
  // launches counted apart from the timing (profiling slows every kernel down): the
  // once-per-row work and the per-sub-pixel work separately
  const fused = st instanceof FusedWebGPUStepper ? st : null;
  let before = fused?.launches ?? 0;
  const rowInfo = await tf.profile(() => st.startRow(1, x));
  const kernelsPerRow = fused ? fused.launches - before : rowInfo.kernels.length;
  before = fused?.launches ?? 0;
  const pixInfo = await tf.profile(async () => {
    await st.probs(1, 0, 0, x, 1);
    st.endPixel(1, 0, x);
  });
  const kernelsPerSubPixel = fused ? fused.launches - before : pixInfo.kernels.length;
  const t0 = performance.now();
  await run(2, pixels);
  const ms = performance.now() - t0;
  return { msPerSubPixel: ms / pixels, kernelsPerSubPixel, kernelsPerRow, subPixels: pixels };
}

async function runFusedBench(opts: { config: Partial<ModelConfig>; batches: number[]; pixels: number; cachedPixels: number }) {
  if (!(await tf.setBackend('webgpu'))) throw new Error('no webgpu adapter');
  const config = makeConfig(opts.config);
  const model = { config, params: initParams(config, 1) };
  const conditioning = config.conditioning;
  const nullConfig = conditioning.type === 'class' ? makeConfig({ ...opts.config, conditioning: { ...conditioning, nullable: true } }) : null;
  const nullModel = nullConfig ? { config: nullConfig, params: initParams(nullConfig, 1) } : null;
  const rows = [];
  for (const N of opts.batches) {
    const condition = config.conditioning.type === 'class' ? { labels: [3] } : undefined;
    const fused = await FusedWebGPUStepper.create(model, N, condition);
    const f = await timeStepper(fused, config, N, opts.pixels);
    fused.dispose();
    const cached = new CachedStepper(model, N, condition);
    const c = await timeStepper(cached, config, N, opts.cachedPixels);
    cached.dispose();
    const guided: Partial<Record<UnconditionalSource, Timing & { vsUnguided: number }>> = {};
    if (nullModel) {
      for (const [kind, m] of [['mixture', model], ['null', nullModel]] as const) {
        const st = await makeStepper(m, { count: N, seed: 0, guidance: 1, unconditional: kind, condition, mode: 'fused' });
        const g = await timeStepper(st, config, N, opts.pixels);
        st.dispose();
        guided[kind] = { ...g, vsUnguided: g.msPerSubPixel / f.msPerSubPixel };
      }
    }
    rows.push({ batch: N, fused: f, cachedTfjsOps: c, speedup: c.msPerSubPixel / f.msPerSubPixel, guidedFused: guided });
  }
  Object.values(model.params).forEach((t) => t.dispose());
  if (nullModel) Object.values(nullModel.params).forEach((t) => t.dispose());
  const adapter = await navigator.gpu.requestAdapter();
  const info = adapter && 'info' in adapter ? (adapter as unknown as { info: { vendor: string; architecture: string } }).info : null;
  return { backend: tf.getBackend(), adapter: info ? `${info.vendor} ${info.architecture}` : 'unknown', config, rows };
}

(window as unknown as { runFusedBench: typeof runFusedBench }).runFusedBench = runFusedBench;
document.getElementById('state')!.textContent = 'ready';
