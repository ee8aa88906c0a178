/// <reference lib="webworker" />
// tfjs, the model and the sampler live here, off the page's main thread. One worker has
// one of two roles: 'sampler' (loads a model, streams pixels of one run at a time) or
// 'scorer' (loads the same model on a CPU backend and scores drawings, so it never waits
// for, nor slows, a generation on the GPU). The scorer shares this file because both
// roles hold a model and must load, swap and dispose it the same way when the page
// switches models; a separate entry would duplicate that for a score() of thirty lines.
// The order of loads, runs and scores is sequencer.ts's; this file does the work.
// Receptive fields have their own worker (receptive.worker.ts).
import * as tf from '@tensorflow/tfjs';
import { disposeParams, condTensor, subpixelLogProbs, type PixelCNN } from '../model';
import { classSubpixelLogProbs } from '../model';
import { KernelCache, samplePixels, type FusedStats } from '../sampler';
import { countGpuTraffic } from '../backend/webgpuCount';
import { startThreads, type SamplingThreads } from './samplingThreads';
import { warmUp } from './warmUp';
import { selectBackend } from './backend';
import { loadModel } from './loadModel';
import { samplerCondition } from './condition';
import { encodePicture } from './encode';
import { Sequencer, errorText, type RunResult } from './sequencer';
import { pixelStats, TOP } from '../sampler/pixelStats';
import { transferablesOf, type Answer, type FromWorker, type GenerateRequest, type GpuRunStats, type ModelFiles, type PixelBatch, type ScoreRequest, type ToWorker } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

function post(msg: FromWorker): void {
  self.postMessage(msg, transferablesOf(msg));
}

let modelsBase = '';
let wasmBase = '';
/** the sampler's threads, on wasm / cpu (samplingThreads.ts) */
let pool: SamplingThreads | undefined;
/**
 * The CPU kernel's memory packed with the loaded model's weights, from its warm-up run on
 * (a run then packs only its condition): room for a 4x4 grid's images, for the first run
 * to find it packed.
 */
const kernels = new KernelCache(16);
/** the files of a model the page gave as files, by its spec, until its load reads them */
const filesOf = new Map<string, ModelFiles>();
/** the newest model asked for, to load again on wasm when a lost GPU took its weights */
let lastLoad: { spec: string; files?: ModelFiles } | undefined;
const seq = new Sequencer<PixelCNN>({
  fetch: async (spec) => {
    const files = filesOf.get(spec);
    filesOf.delete(spec);
    lastLoad = { spec, files };
    const loaded = await loadModel(spec, modelsBase, files);
    // the threads hold no model (they step this worker's packed memory): a warm-up run sets them up with it
    await warmUp(loaded.model, pool?.helpers ?? 0, (req) => sample(loaded.model, req, new AbortController().signal, () => undefined));
    return loaded;
  },
  dispose: (m) => {
    kernels.clear(m);
    // the threads' kernel instances keep the memory alive: they drop them too
    pool?.forget();
    disposeParams(m.params);
  },
  answer: (msg) => post(withGpu(msg)),
  numTensors: () => tf.memory().numTensors,
});

// ---- sampling runs ---------------------------------------------------------------

/** a fused run's GPU traffic, by reqId, until its final answer carries it */
const gpuOf = new Map<number, GpuRunStats>();

function withGpu(msg: Answer): Answer {
  if (msg.type !== 'done' && msg.type !== 'stopped') return msg;
  const gpu = gpuOf.get(msg.reqId);
  gpuOf.delete(msg.reqId);
  return gpu ? { ...msg, gpu } : msg;
}

/** The run in progress: what pause, resume and speed change. */
interface Run {
  reqId: number;
  delayMs: number;
  /** the image whose full distributions the batches carry */
  watch: number;
  paused: boolean;
  /** resolves the wait of a paused or slowed run */
  wake: (() => void) | undefined;
}

let live: Run | undefined;

class Aborted extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortError';
  }
}

/** Resolves after ms, or when the run is woken (resume/stop/speed change). */
function wait(run: Run, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = ms > 0 ? setTimeout(done, ms) : undefined;
    function done() {
      if (timer !== undefined) clearTimeout(timer);
      run.wake = undefined;
      resolve();
    }
    run.wake = done;
  });
}

/**
 * Minimum time between two pixel messages at 'max' speed (the slower speeds post every
 * sub-pixel): four a second. At one a frame the page's drawing of them (style, paint, raster
 * on Chromium's own threads) took as much CPU as the sampling on a 2-core machine
 * (scripts/page-threads.ts), and at ten a second a 2x2 digits run still drew once or twice
 * on the way, a fifth of its time; flat out, the run comes first, and a longer one still
 * shows its progress.
 */
const FLUSH_MS = 250;

/** Samples one run, posting its pixels (`send`: where to; the warm-up's go nowhere); resolves with its active ms and last pixels, throws Aborted when stopped. */
async function sample(m: PixelCNN, req: GenerateRequest, signal: AbortSignal, send: (msg: FromWorker) => void = post): Promise<RunResult> {
  const run: Run = { reqId: req.reqId, delayMs: req.delayMs, watch: Math.min(Math.max(0, req.watch ?? 0), req.count - 1), paused: false, wake: undefined };
  live = run;
  const onAbort = () => run.wake?.();
  signal.addEventListener('abort', onAbort);
  const { count } = req;
  const levels = m.config.levels;
  // on WebGPU the run's mapAsync and submit calls are counted around it (the page shows them, e2e checks them)
  let fused: FusedStats | undefined;
  const traffic = tf.getBackend() === 'webgpu' ? countGpuTraffic() : undefined;
  const before = traffic?.();
  const gen = samplePixels(m, {
    count,
    seed: req.seed,
    temperature: req.temperature,
    condition: samplerCondition(m, req.condition, count),
    guidance: req.guidance,
    prefix: req.prefix ? { images: req.prefix.values, length: req.prefix.length } : undefined,
    signal,
    kernelThreads: pool,
    kernelCache: kernels,
    stats: true,
    // WebGPU only
    onCompile: () => send({ type: 'compiling', reqId: run.reqId }),
    onStats: (s: FusedStats) => (fused = s),
  });

  // sub-pixels decided but not yet posted (a prefix's sub-pixels are given, never posted)
  const given = req.prefix?.length ?? 0;
  // per pending sub-pixel: its levels, each image's entropy and top three
  let pending: { values: Uint8Array; entropy: Float32Array; top: Uint16Array; topP: Float32Array }[] = [];
  // the last one's distributions and where the watched image's starts: a batch carries only that one (the chart's)
  let lastProbs: Float32Array = new Float32Array(levels);
  let lastAt = 0;
  let pendingStart = given;
  let done = given;
  let total = m.config.height * m.config.width * m.config.channels;
  let lastFlush = performance.now();
  let activeMs = 0;
  let since = performance.now();
  const elapsed = () => activeMs + (performance.now() - since);

  /** the pending sub-pixels as one batch (none pending: none) */
  const batch = (): PixelBatch | undefined => {
    if (pending.length === 0) return undefined;
    const n = pending.length;
    const values = new Uint8Array(n * count);
    const entropy = new Float32Array(n * count);
    const top = new Uint16Array(n * count * TOP);
    const topP = new Float32Array(n * count * TOP);
    pending.forEach((p, k) => {
      values.set(p.values, k * count);
      entropy.set(p.entropy, k * count);
      top.set(p.top, k * count * TOP);
      topP.set(p.topP, k * count * TOP);
    });
    const probs = lastProbs.slice(lastAt, lastAt + levels);
    const b: PixelBatch = { type: 'pixels', reqId: run.reqId, start: pendingStart, values, entropy, top, topP, watch: run.watch, probs, done, total, elapsedMs: elapsed() };
    pending = [];
    pendingStart = done;
    lastFlush = performance.now();
    return b;
  };
  const flush = () => {
    const b = batch();
    if (b) send(b);
  };

  let pendingWatch = run.watch;
  let finished = false;
  send({ type: 'started', reqId: run.reqId });
  try {
    for (;;) {
      if (signal.aborted) throw new Aborted();
      const step = await gen.next();
      if (step.done) {
        finished = true;
        break;
      }
      const e = step.value;
      // a change of the watched image starts a new batch, so each batch follows one image
      run.watch = Math.min(run.watch, count - 1);
      if (pending.length > 0 && pendingWatch !== run.watch) flush();
      pendingWatch = run.watch;
      // each image's figures, from the thread that drew it (the fused path's events have none: here)
      const stats = e.stats ?? pixelStats(e.probs, count, levels);
      // the sampler hands each event fresh arrays: held, not copied, until the flush
      pending.push({ values: e.values, ...stats });
      lastProbs = e.probs;
      lastAt = run.watch * levels;
      done = e.done;
      total = e.total;
      if (run.delayMs > 0 || performance.now() - lastFlush >= FLUSH_MS) flush();
      if (run.delayMs > 0) await wait(run, run.delayMs);
      while (run.paused && !signal.aborted) {
        activeMs += performance.now() - since;
        await wait(run, 0);
        since = performance.now();
      }
    }
    // the last batch goes with the answer: the page draws it and hears 'done' in one task
    return { elapsedMs: elapsed(), last: batch() };
  } catch (e) {
    if (!(e instanceof Error) || e.name !== 'GPUFault') throw e;
    // the GPU failed: keep what was drawn, say why in one line, go on on wasm, end as stopped
    flush();
    send({ type: 'fault', reqId: run.reqId, message: errorText(e) });
    await fallBackToWasm(m, errorText(e));
    throw new Aborted();
  } finally {
    // the generator's tensors are released before the answer says how many are left
    if (!finished) await gen.return(new Uint8Array(0)).catch(() => undefined);
    if (fused && traffic && before) {
      const now = traffic();
      gpuOf.set(run.reqId, { readbacks: now.readbacks - before.readbacks, submits: now.submits - before.submits, launches: fused.launches, compileMs: fused.compileMs });
    }
    signal.removeEventListener('abort', onAbort);
    if (live === run) live = undefined;
  }
}

/**
 * After a GPU fault: tfjs goes to wasm (the header says why) and the model's weights follow
 * it, read from the GPU while it still answers (a lost device leaves the next run's load to fail in one line).
 */
async function fallBackToWasm(m: PixelCNN, why: string): Promise<void> {
  const values = await Promise.all(Object.entries(m.params).map(async ([name, t]) => [name, await t.data().catch(() => null), t.shape] as const));
  const report = await selectBackend(wasmBase, 'wasm', ['wasm', 'cpu'], 1);
  // a lost device answers no reads: the model's files are read again, on wasm
  const fresh = values.some(([, v]) => v === null) && lastLoad ? (await loadModel(lastLoad.spec, modelsBase, lastLoad.files).catch(() => null))?.model.params : undefined;
  for (const [name, v, shape] of values) {
    const next = fresh?.[name] ?? (v ? tf.tensor(v as Float32Array, shape, 'float32') : undefined);
    if (!next) continue;
    try {
      m.params[name].dispose();
    } catch {
      // its GPU buffer went with the device
    }
    m.params[name] = next;
  }
  post({ type: 'backend', backend: { ...report, skipped: [{ name: 'webgpu', reason: `GPU fault mid-run: ${why}` }, ...report.skipped.filter((s) => s.name !== 'webgpu')] } });
}

// ---- scoring a drawing ---------------------------------------------------------------

/** log p of every sub-pixel of one picture: under each class (one batched pass), or as is. */
async function score(m: PixelCNN, req: ScoreRequest): Promise<Answer> {
  const { height: H, width: W, channels: C } = m.config;
  if (req.image.length !== H * W * C) throw new Error(`score: the picture has ${req.image.length} values, the model reads ${H}x${W}x${C}`);
  const t0 = performance.now();
  const x = tf.tensor4d(Float32Array.from(req.image), [1, H, W, C]);
  const c = m.config.conditioning;
  let classes = 1;
  let out: tf.Tensor;
  try {
    if (c.type === 'class') {
      classes = c.classes;
      out = classSubpixelLogProbs(m, x);
    } else {
      // a vector model scores under its null condition; an unconditional one as it is
      const cond = c.type === 'vector' ? condTensor(m.config, samplerCondition(m, { kind: 'none' }, 1), 1) : undefined;
      out = subpixelLogProbs(m, x, cond);
      cond?.dispose();
    }
  } finally {
    x.dispose();
  }
  const logp = new Float32Array(await out.data());
  out.dispose();
  return { type: 'score', reqId: req.reqId, classes, logp, ms: performance.now() - t0, numTensors: tf.memory().numTensors };
}

// ---- messages ----------------------------------------------------------------------

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  switch (msg.type) {
    case 'init': {
      modelsBase = msg.modelsBase;
      wasmBase = msg.wasmBase;
      // the scorer runs on a CPU backend: it never waits for, nor slows, a generation on the GPU
      const start = async () => {
        try {
          const backend =
            msg.role === 'scorer'
              ? await selectBackend(msg.wasmBase, msg.backend === 'cpu' ? 'cpu' : undefined, ['wasm', 'cpu'], msg.threads)
              : await selectBackend(msg.wasmBase, msg.backend, undefined, 1).then((b) => {
                  const started = startThreads(b, msg.threads);
                  pool = started.threads;
                  return started.report;
                });
          post({ type: 'backend', backend });
        } catch (e) {
          post({ type: 'init-error', message: errorText(e) });
          throw e;
        }
      };
      void seq.init(start);
      return;
    }
    case 'load':
      // only the newest folder of files is kept: an older one's load is replaced anyway
      if (msg.files) {
        filesOf.clear();
        filesOf.set(msg.model, msg.files);
      }
      void seq.load(msg.reqId, msg.model);
      return;
    case 'generate':
      void seq.run(msg.reqId, msg.modelId, (m, signal) => sample(m, msg, signal));
      return;
    case 'score':
      void seq.job('score', msg.reqId, msg.modelId, (m) => score(m, msg));
      return;
    case 'encode':
      void seq.job('encode', msg.reqId, msg.modelId, (m) => encodePicture(m, msg));
      return;
    case 'cancel':
      seq.cancel(msg.reqId);
      return;
    case 'pause':
      if (live?.reqId === msg.reqId && !live.paused) {
        // the threads stop too once the sub-pixels they are ahead by fill their ring
        live.paused = true;
        post({ type: 'paused', reqId: msg.reqId });
      }
      return;
    case 'resume':
      if (live?.reqId === msg.reqId && live.paused) {
        live.paused = false;
        live.wake?.();
        post({ type: 'resumed', reqId: msg.reqId });
      }
      return;
    case 'speed':
      if (live?.reqId === msg.reqId) {
        live.delayMs = msg.delayMs;
        live.wake?.();
      }
      return;
    case 'watch':
      if (live?.reqId === msg.reqId && Number.isInteger(msg.image) && msg.image >= 0) live.watch = msg.image;
      return;
  }
};
