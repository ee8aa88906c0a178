// Sampling: decide sub-pixels in raster order (R, G, B inside a pixel), streaming each
// decision so a UI can draw it. Each image draws from its own seeded stream, one uniform
// per drawn sub-pixel (uniforms.ts), so every mode and any split of the batch gives the
// same images. Options: a prefix (sub-pixels given, not drawn) and guidance.
import * as tf from '@tensorflow/tfjs';
import type { Condition, PixelCNN } from '../model';
import { guidePlan, prefixLogPost, type GuidePlan } from './guidance';
import { CachedStepper, GuidedStepper, NaiveStepper, type PortableStepper, type Stepper } from './steppers';
import { canShareKernel, CpuStepper } from './cpu';
import type { PixelEvent, SampleOptions, SamplerMode } from './types';
import { FusedSampler, isWebGPUBackend } from './webgpu';
import { runStreams } from './uniforms';
import { abortError, checkFinite, drawPixels } from './loop';
import { boardPixels, READY_WAIT_MS, RING_BYTES } from './kernelThreads';
import { Board, ImageRows, slotLayout } from './rowBoard';

export type { PixelEvent, SampleOptions, SamplePrefix, SamplerMode, UnconditionalSource } from './types';
export { CachedStepper, GuidedStepper, NaiveStepper, type PortableStepper, type Stepper } from './steppers';
export { guidePlan, type GuidePlan } from './guidance';
export { FusedSampler, GPUFault, fusedCounts, type FusedStats, type RowResult } from './webgpu';
export { CpuStepper } from './cpu';
export { KernelCache } from './kernelCache';
export { imageSeed, imageStream, runStreams, runUniforms } from './uniforms';
export { shares, chunks, shareOptions, type Share } from './split';
export { drawLevel } from './loop';

/**
 * The stepper for a run: it gives the (guided) distribution of every image's next
 * sub-pixel. With guidance it runs S streams per image (guidance.ts): the portable modes
 * wrap the stepper of the whole stream batch, the fused kernels run the streams inside
 * their own dispatches.
 */
export async function makeStepper(model: PixelCNN, opts: SampleOptions): Promise<Stepper> {
  const mode = opts.mode ?? bestMode(model);
  if (mode !== 'cached' && mode !== 'naive' && mode !== 'fused' && mode !== 'cpu') {
    throw new Error(`sampler: unknown mode "${mode}" (expected cached, cpu, fused or naive)`);
  }
  const plan = guidePlan(model, opts);
  if (mode === 'fused') throw new Error('sampler: the fused sampler draws whole rows on the GPU; run it through samplePixels or sample');
  if (mode === 'cpu' && !isCpuBackend()) throw new Error(`sampler: mode "cpu" runs on the wasm or cpu backend (current: ${tf.getBackend()})`);
  const B = plan.N * plan.S;
  const make: Record<'cached' | 'cpu' | 'naive', () => PortableStepper> = {
    cached: () => new CachedStepper(model, B, plan.condition),
    cpu: () => {
      const { stepper, release } = packedMemory(model, opts, B, plan.condition, false);
      return stepper.view(0, B, release);
    },
    naive: () => new NaiveStepper(model, B, plan.condition),
  };
  const inner = make[mode]();
  return guided(inner, model, plan);
}

/**
 * A CPU kernel memory of at least `rows` rows packed for a run: the kept one of
 * opts.kernelCache (kernelCache.ts), or a new one; `release` gives it back (with the
 * board its run's helpers leave) or frees it.
 */
function packedMemory(model: PixelCNN, opts: SampleOptions, rows: number, condition: Condition | undefined, shared: boolean): { stepper: CpuStepper; release: (board?: Board) => void } {
  const cache = opts.kernelCache;
  if (!cache) {
    const stepper = new CpuStepper(model, rows, condition, shared);
    return { stepper, release: () => stepper.dispose() };
  }
  const stepper = cache.take(model, rows, condition, shared);
  return { stepper, release: (board) => cache.give(model, stepper, board) };
}

/** The plan's guidance over `inner` (none: inner itself). */
function guided(inner: PortableStepper, model: PixelCNN, plan: GuidePlan): Stepper {
  return plan.kind === 'none' ? inner : new GuidedStepper(inner, model.config, plan, (xs, length) => prefixLogPost(model, plan, xs, length));
}

/** The backends whose tensors the CPU kernel may read back synchronously. */
function isCpuBackend(): boolean {
  const b = tf.getBackend();
  return b === 'wasm' || b === 'cpu';
}

/** The fastest mode for the current backend: fused kernels on WebGPU (softmax head), the CPU kernel on wasm / cpu, cached elsewhere. */
export function bestMode(model: PixelCNN): SamplerMode {
  const { arch, output } = model.config;
  if (arch !== 'gated') return 'naive';
  // the fused kernels compute a softmax head only
  if (isWebGPUBackend() && output?.type !== 'logistic') return 'fused';
  return isCpuBackend() ? 'cpu' : 'cached';
}

function checkOptions(opts: SampleOptions): number {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error(`sampler: count must be a positive integer, got ${opts.count}`);
  if (!Number.isFinite(opts.seed)) throw new Error(`sampler: seed must be a number, got ${opts.seed}`);
  const first = opts.first ?? 0;
  if (!Number.isInteger(first) || first < 0) throw new Error(`sampler: first must be an integer >= 0, got ${first}`);
  const t = opts.temperature ?? 1;
  if (!(t > 0) || !Number.isFinite(t)) throw new Error(`sampler: temperature must be > 0, got ${t}`);
  return t;
}

/** The images to start from [N, H, W, C]: the prefix's given sub-pixels, zeros elsewhere; and the prefix length. */
function startImages(model: PixelCNN, opts: SampleOptions): { x: Uint8Array; length: number } {
  const { height: H, width: Wd, channels: C, levels: K } = model.config;
  const N = opts.count;
  const size = H * Wd * C;
  const x = new Uint8Array(N * size);
  const p = opts.prefix;
  if (p === undefined) return { x, length: 0 };
  const { images, length } = p;
  if (!Number.isInteger(length) || length < 0 || length > size) {
    throw new Error(`sampler: prefix.length must be an integer from 0 to ${size} (H * W * C), got ${length}`);
  }
  if (!(images instanceof Uint8Array) || (images.length !== N * size && images.length !== size)) {
    const got = images instanceof Uint8Array ? `${images.length} values` : typeof images;
    throw new Error(`sampler: prefix.images must be a Uint8Array of ${N * size} ([${N}, ${H}, ${Wd}, ${C}]) or ${size} ([${H}, ${Wd}, ${C}]) levels, got ${got}`);
  }
  const shared = images.length === size;
  for (let n = 0; n < N; n++) {
    const src = shared ? 0 : n * size;
    for (let i = 0; i < length; i++) {
      const v = images[src + i];
      if (v >= K) {
        const [r, c, ch] = [Math.floor(i / (Wd * C)), Math.floor(i / C) % Wd, i % C];
        throw new Error(`sampler: prefix level ${v} at image ${shared ? 0 : n}, row ${r}, col ${c}, channel ${ch} is outside 0..${K - 1}`);
      }
    }
    x.set(images.subarray(src, src + length), n * size);
  }
  return { x, length };
}

/**
 * Yields every drawn sub-pixel; returns the images [N, H, W, C] (uint8 levels). With a
 * prefix the given sub-pixels come back unchanged and sampling starts at the first one
 * not given; each image's stream draws for drawn sub-pixels only, in the same order in every mode.
 */
export async function* samplePixels(model: PixelCNN, opts: SampleOptions): AsyncGenerator<PixelEvent, Uint8Array> {
  const temperature = checkOptions(opts);
  const { height: H, width: Wd, channels: C, levels: K } = model.config;
  if (K > 256) throw new Error(`sampler: ${K} levels do not fit in uint8`);
  const N = opts.count;
  const { x, length } = startImages(model, opts);
  const total = H * Wd * C;
  if (length === total) {
    guidePlan(model, opts); // nothing to draw, but bad options are still errors
    return x;
  }
  // the fused path draws from the same streams, uploaded once (rowSampler.ts)
  if ((opts.mode ?? bestMode(model)) === 'fused') return yield* fusedPixels(model, opts, x, length, temperature);
  const split = splitThreads(model, opts, length);
  if (split > 1) return yield* splitPixels(model, opts, x, length, temperature, split);
  const streams = runStreams(opts.seed, N, opts.first ?? 0);
  const stepper = await makeStepper(model, opts);
  try {
    return yield* drawPixels(stepper, model.config, x, length, streams, temperature, opts.signal, opts.stats);
  } finally {
    stepper.dispose();
  }
}

/**
 * The threads a cpu-mode run may be split over (kernelThreads.ts): one per helper and
 * this one, at most one per image; 1 where a split cannot run (another mode, a mixture
 * head, a mixture-guided prefix, whose class likelihoods need a forward pass, or no shared memory).
 */
function splitThreads(model: PixelCNN, opts: SampleOptions, length: number): number {
  const threads = opts.kernelThreads;
  if (!threads || threads.helpers === 0 || opts.count < 2) return 1;
  if ((opts.mode ?? bestMode(model)) !== 'cpu' || model.config.output?.type === 'logistic') return 1;
  if (length > 0 && guidePlan(model, opts).kind === 'mixture') return 1;
  if (!canShareKernel()) return 1;
  return Math.min(opts.count, 1 + threads.helpers);
}

/** Blocks of images a thread of a split run has to take rows of, on average (rowBoard.ts). */
const BLOCKS_A_THREAD = 4;

/**
 * A cpu-mode run over `threads` threads: this one packs the weights of every batch row into a
 * shared kernel memory and sends each ready helper the run; every thread takes image rows
 * from the run's board, and this one yields their sub-pixels as events (kernelThreads.ts).
 */
async function* splitPixels(model: PixelCNN, opts: SampleOptions, x: Uint8Array, length: number, temperature: number, threads: number): AsyncGenerator<PixelEvent, Uint8Array> {
  if (!isCpuBackend()) throw new Error(`sampler: mode "cpu" runs on the wasm or cpu backend (current: ${tf.getBackend()})`);
  const { height: H, width: Wd, channels: C, levels: K } = model.config;
  const N = opts.count;
  const plan = guidePlan(model, opts);
  const S = plan.S;
  const stats = opts.stats ?? false;
  const { stepper, release } = packedMemory(model, opts, N * S, plan.condition, true);
  let board: Board | undefined;
  try {
    // helpers still starting have had the packing's time; a little more is worth a thread
    const pool = opts.kernelThreads!;
    await pool.whenReady(READY_WAIT_MS);
    const helpers = Math.min(threads, 1 + pool.ready()) - 1;
    pool.lastRun = 1 + helpers;
    // the ring holds whole-batch sub-pixels: at least two rows (a row is taken only when it fits), at most RING_BYTES past that
    const slots = Math.min(H * Wd * C, Math.max(2 * Wd * C, Math.floor(RING_BYTES / slotLayout(N, K, stats).bytes)));
    // a few blocks a thread: rows of one image each for a small grid (the finest balance), a kernel call for several in a large run
    const block = Math.max(1, Math.floor(N / (BLOCKS_A_THREAD * (helpers + 1))));
    board = Board.create({ config: model.config, N, block, length, stats }, x, slots, plan.kind === 'mixture' ? S : 0);
    const sub = plan.kind === 'none' ? undefined : { kind: plan.kind, g: plan.g, S, condStream: plan.condStream };
    const first = opts.first ?? 0;
    const sMap = stepper.mapRows(0, N * S);
    for (let i = 0; i < helpers; i++) {
      pool.send(i, {
        type: 'run', ...stepper.packed, board: board.buffers, config: model.config, rows: stepper.capacity, N, block, length, stats,
        sMap, plan: sub, seed: opts.seed, first, temperature, from: Math.floor(((i + 1) * board.blocks) / (helpers + 1)),
      });
      board.sent++;
    }
    const rows = new ImageRows(board, (n0, n1) => stepper.view(n0, n1), sub, opts.seed, first, temperature);
    x.set(yield* boardPixels(board, rows, pool, opts.signal));
    return x;
  } finally {
    release(board);
  }
}

/**
 * The fused path: the GPU draws every level and sends each row back once (rowSampler.ts);
 * its sub-pixels are yielded one by one as the other modes do, with the same events.
 */
async function* fusedPixels(model: PixelCNN, opts: SampleOptions, x: Uint8Array, length: number, temperature: number): AsyncGenerator<PixelEvent, Uint8Array> {
  const { height: H, width: Wd, channels: C, levels: K } = model.config;
  const N = opts.count;
  const total = H * Wd * C;
  const plan = guidePlan(model, opts);
  const fused = await FusedSampler.create(model, plan, { x, length, seed: opts.seed, first: opts.first ?? 0, temperature }, opts.onCompile);
  try {
    opts.onStats?.(fused.stats);
    let done = length;
    for await (const row of fused.rows()) {
      for (let j = 0; j < row.count; j++) {
        if (opts.signal?.aborted) throw abortError();
        const i = row.first + j;
        const [r, c, ch] = [Math.floor(i / (Wd * C)), Math.floor(i / C) % Wd, i % C];
        const probs = row.probs.slice(j * N * K, (j + 1) * N * K);
        checkFinite(probs, r, c, ch);
        const values = row.values.slice(j * N, (j + 1) * N);
        for (let n = 0; n < N; n++) x[n * total + i] = values[n];
        done++;
        yield { row: r, col: c, channel: ch, values, probs, done, total };
      }
    }
    return x;
  } finally {
    fused.dispose();
  }
}

/** Samples to completion; onPixel sees every decided sub-pixel. */
export async function sample(
  model: PixelCNN,
  opts: SampleOptions,
  onPixel?: (e: PixelEvent) => void,
): Promise<Uint8Array> {
  const it = samplePixels(model, opts);
  for (;;) {
    const step = await it.next();
    if (step.done) return step.value;
    onPixel?.(step.value);
  }
}
