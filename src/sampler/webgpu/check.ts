// The fused sampler against the portable cached one, run the same way in Node (Dawn) and in
// Chromium (e2e/fused): the same images from the same seed, the same distribution at every
// sub-pixel (the cached stepper replayed on the fused run's images), every GPU-drawn level
// what drawLevel picks from the read-back distribution, the GPU traffic counted, nothing leaked.
import * as tf from '@tensorflow/tfjs';
import type { PixelCNN } from '../../model';
import { drawLevel, makeStepper, samplePixels } from '../index';
import type { PixelEvent, SampleOptions } from '../types';
import { runUniforms } from '../uniforms';

/** Counts of submits, readbacks (mapAsync) and buffers alive, from the caller's instrumentation. */
export type GpuCounter = () => { submits: number; readbacks: number; liveBuffers: number };

export interface FusedCheck {
  name: string;
  /** worst |log p_fused - log p_cached| over every sub-pixel and level */
  maxLogDiff: number;
  /**
   * mean over draws (sub-pixel, image) of sum_k |CDF_fused(k) - CDF_cached(k)|: the chance a
   * uniform lands between the two CDFs' boundaries, i.e. the expected rate of draws whose
   * level float rounding between the two samplers flips
   */
  flipRate: number;
  sameImages: boolean;
  /** sub-pixels whose GPU-drawn level differs from drawLevel on the read-back distribution */
  drawMismatches: number;
  rows: number;
  readbacks: number;
  submits: number;
  leakedTensors: number;
  leakedBuffers: number;
  events: number;
}

/** Runs one fused sample on the current backend; every event is kept. */
export async function fusedEvents(model: PixelCNN, opts: SampleOptions): Promise<{ x: Uint8Array; ev: PixelEvent[] }> {
  const ev: PixelEvent[] = [];
  const it = samplePixels(model, { ...opts, mode: 'fused' });
  for (;;) {
    const step = await it.next();
    if (step.done) return { x: step.value, ev };
    ev.push(step.value);
  }
}

/** Levels the GPU drew that drawLevel would not have drawn from the same distribution and uniform. */
export function drawMismatches(ev: PixelEvent[], seed: number, N: number, K: number, first = 0): number {
  const u = runUniforms(seed, N, ev.length, first);
  let bad = 0;
  ev.forEach((e, k) => {
    for (let n = 0; n < N; n++) if (drawLevel(e.probs, n * K, K, u[k * N + n]) !== e.values[n]) bad++;
  });
  return bad;
}

/** The cached stepper's distribution at every sub-pixel the fused run drew, on its images (teacher forcing). */
async function cachedReplay(model: PixelCNN, opts: SampleOptions, x: Uint8Array, length: number): Promise<Float32Array[]> {
  const { height: H, width: Wd, channels: C } = model.config;
  const st = await makeStepper(model, { ...opts, mode: 'cached' });
  const out: Float32Array[] = [];
  try {
    const r0 = Math.floor(length / (Wd * C));
    if (length > 0) await st.warm(x, length);
    for (let r = r0; r < H; r++) {
      if (r > r0 || length === 0) st.startRow(r, x);
      for (let c = r === r0 ? Math.floor((length % (Wd * C)) / C) : 0; c < Wd; c++) {
        for (let ch = r === r0 && c === Math.floor((length % (Wd * C)) / C) ? length % C : 0; ch < C; ch++) {
          out.push(await st.probs(r, c, ch, x, opts.temperature ?? 1));
        }
        st.endPixel(r, c, x);
      }
    }
  } finally {
    st.dispose();
  }
  return out;
}

/**
 * `load` gives the model on the current backend (called once on each). The fused run is on
 * `fused`, the cached reference on `reference`; the backend is left on `fused`.
 */
export async function checkFused(
  name: string,
  load: () => Promise<PixelCNN>,
  opts: SampleOptions,
  backends: { fused: string; reference: string },
  counter: GpuCounter,
  dispose: (m: PixelCNN) => void,
): Promise<FusedCheck> {
  await tf.setBackend(backends.fused);
  const m = await load();
  const { height: H, width: Wd, channels: C, levels: K } = m.config;
  const tensors = tf.memory().numTensors;
  const c0 = counter();
  const run = await fusedEvents(m, opts);
  const c1 = counter();
  const leakedTensors = tf.memory().numTensors - tensors;
  dispose(m);
  const length = opts.prefix?.length ?? 0;
  await tf.setBackend(backends.reference);
  const ref = await load();
  let maxLogDiff = 0;
  let gap = 0;
  let same: boolean;
  try {
    const probs = await cachedReplay(ref, opts, run.x, length);
    if (probs.length !== run.ev.length) maxLogDiff = Infinity;
    probs.forEach((p, i) => p.forEach((v, j) => (maxLogDiff = Math.max(maxLogDiff, Math.abs(Math.log(v) - Math.log(run.ev[i].probs[j]))))));
    probs.forEach((p, i) => {
      for (let n = 0; n < opts.count; n++) {
        let [a, b] = [0, 0];
        for (let k = 0; k < K - 1; k++) {
          a += p[n * K + k];
          b += run.ev[i].probs[n * K + k];
          gap += Math.abs(a - b);
        }
      }
    });
    const it = samplePixels(ref, { ...opts, mode: 'cached' });
    let step = await it.next();
    while (!step.done) step = await it.next();
    same = step.value.every((v, i) => v === run.x[i]);
  } finally {
    dispose(ref);
    await tf.setBackend(backends.fused);
  }
  const rows = H - Math.floor(length / (Wd * C));
  return {
    name,
    maxLogDiff,
    flipRate: gap / Math.max(1, run.ev.length * opts.count),
    sameImages: same,
    drawMismatches: drawMismatches(run.ev, opts.seed, opts.count, K, opts.first),
    rows,
    readbacks: c1.readbacks - c0.readbacks,
    submits: c1.submits - c0.submits,
    leakedTensors,
    leakedBuffers: c1.liveBuffers - c0.liveBuffers,
    events: run.ev.length,
  };
}
