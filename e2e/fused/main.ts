// Runs in Chromium with WebGPU: the fused kernels against the portable cached sampler on
// the same backend, at every sub-pixel. Exposes window.runFusedCheck for e2e/fused.test.ts.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { initParams, makeConfig, mulberry32, type Conditioning } from '../../src/model';
import { CachedStepper, FusedWebGPUStepper, sample, type Stepper } from '../../src/sampler';

interface CaseResult {
  name: string;
  maxLogDiff: number;
  sameImages: boolean;
  launchesPerSubpixel: number;
  leakedTensors: number;
}

const cases: [string, number, Conditioning, number[]?][] = [
  ['grey, class', 1, { type: 'class', classes: 3 }],
  ['RGB, class, dilations 1, 2, 3', 3, { type: 'class', classes: 3 }, [1, 2, 3]],
  ['RGB, vector', 3, { type: 'vector', dim: 4 }],
  ['grey, spatial class', 1, { type: 'class', classes: 3, spatial: true }],
];

/** Runs a stepper over every sub-pixel with a fixed sequence of levels; returns all probabilities. */
async function replay(st: Stepper, H: number, W: number, C: number, N: number): Promise<Float32Array[]> {
  const x = new Uint8Array(N * H * W * C);
  const rand = mulberry32(9);
  const out: Float32Array[] = [];
  for (let r = 0; r < H; r++) {
    st.startRow(r, x);
    for (let c = 0; c < W; c++) {
      for (let ch = 0; ch < C; ch++) {
        const p = await st.probs(r, c, ch, x, 0.8);
        out.push(p);
        for (let n = 0; n < N; n++) x[((n * H + r) * W + c) * C + ch] = Math.floor(rand() * (p.length / N));
      }
      st.endPixel(r, c, x);
    }
  }
  return out;
}

async function runFusedCheck(): Promise<{ backend: string; cases: CaseResult[] }> {
  const results: CaseResult[] = [];
  let fusedBackend = '';
  for (const [name, channels, conditioning, dilations] of cases) {
    const config = makeConfig({
      height: 5, width: 6, channels, levels: 16, hidden: 12, layers: 3, firstKernel: 5, kernel: 3,
      headHidden: 12, conditioning, spatialChannels: 3, dilations,
    });
    const N = 2;
    const condition = conditioning.type === 'vector' ? { embeddings: [new Float32Array([0.5, -1, 2, 0])] } : { labels: [2, 1] };
    const opts = { count: N, seed: 5, temperature: 1, condition };
    // the fused kernels on WebGPU ...
    if (!(await tf.setBackend('webgpu'))) throw new Error('no webgpu adapter');
    fusedBackend = tf.getBackend();
    let model = { config, params: initParams(config, 3) };
    const before = tf.memory().numTensors;
    const fused = await FusedWebGPUStepper.create(model, N, condition);
    const fusedProbs = await replay(fused, config.height, config.width, channels, N);
    const launchesPerSubpixel = fused.launches / (config.height * config.width * channels);
    fused.dispose();
    const a = await sample(model, { ...opts, mode: 'fused' });
    const leakedTensors = tf.memory().numTensors - before;
    Object.values(model.params).forEach((t) => t.dispose());
    // ... against the portable cached sampler on the cpu backend (the same seeded weights)
    await tf.setBackend('cpu');
    model = { config, params: initParams(config, 3) };
    const cached = new CachedStepper(model, N, condition);
    const refProbs = await replay(cached, config.height, config.width, channels, N);
    cached.dispose();
    const b = await sample(model, { ...opts, mode: 'cached' });
    Object.values(model.params).forEach((t) => t.dispose());
    let maxLogDiff = 0;
    refProbs.forEach((p, i) => p.forEach((v, j) => (maxLogDiff = Math.max(maxLogDiff, Math.abs(Math.log(v) - Math.log(fusedProbs[i][j]))))));
    results.push({ name, maxLogDiff, sameImages: a.every((v, i) => v === b[i]), launchesPerSubpixel, leakedTensors });
  }
  return { backend: fusedBackend, cases: results };
}

(window as unknown as { runFusedCheck: typeof runFusedCheck }).runFusedCheck = runFusedCheck;
document.getElementById('state')!.textContent = 'ready';
