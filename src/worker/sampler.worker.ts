/// <reference lib="webworker" />
// tfjs, the model and the sampler live here, off the page's main thread. One worker has
// one of two roles: 'sampler' (loads a model, streams pixels of one run at a time) or
// 'scorer' (loads the same model on a CPU backend and scores drawings, so it never waits
// for, nor slows, a generation on the GPU). The scorer shares this file because both
// roles hold a model and must load, swap and dispose it the same way when the page
// switches models (see 'load' below); a separate entry would duplicate that code for a
// score() of thirty lines. Receptive fields have their own worker (receptive.worker.ts).
import * as tf from '@tensorflow/tfjs';
import { disposeParams, condTensor, subpixelLogProbs, type PixelCNN } from '../model';
import { classSubpixelLogProbs } from '../model/classify';
import { samplePixels } from '../sampler';
import { selectBackend } from './backend';
import { loadModel, DEFAULT_MODEL } from './loadModel';
import { samplerCondition } from './condition';
import { transferablesOf, type BackendReport, type FromWorker, type GenerateRequest, type LoadRequest, type ScoreRequest, type ToWorker, type WorkerRole } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

function post(msg: FromWorker): void {
  self.postMessage(msg, transferablesOf(msg));
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

let model: PixelCNN | undefined;

// ---- sampling runs ---------------------------------------------------------------

interface Run {
  runId: number;
  abort: AbortController;
  delayMs: number;
  paused: boolean;
  /** resolves the wait of a paused run */
  wake: (() => void) | undefined;
  /** settles when the run's loop has exited and its tensors are released */
  finished: Promise<void>;
}

let current: Run | undefined;
/** the newest run the page asked for; older requests still waiting to start are dropped */
let latest = 0;

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

async function stopCurrent(): Promise<void> {
  const run = current;
  if (!run) return;
  run.abort.abort();
  run.wake?.();
  await run.finished;
}

/** Minimum time between two pixel messages when running flat out: ~one per frame. */
const FLUSH_MS = 16;

async function generate(req: GenerateRequest): Promise<void> {
  await stopCurrent();
  // requests that arrived while the old run was stopping: only the newest may start
  if (req.runId !== latest) {
    post({ type: 'stopped', runId: req.runId, numTensors: tf.memory().numTensors });
    return;
  }
  if (!model) throw new Error('no model loaded');
  const m = model;
  let finish!: () => void;
  const run: Run = {
    runId: req.runId,
    abort: new AbortController(),
    delayMs: req.delayMs,
    paused: false,
    wake: undefined,
    finished: new Promise((r) => (finish = r)),
  };
  current = run;
  const { count } = req;
  const levels = m.config.levels;
  const gen = samplePixels(m, {
    count,
    seed: req.seed,
    temperature: req.temperature,
    condition: samplerCondition(m, req.condition, count),
    guidance: req.guidance,
    prefix: req.prefix ? { images: req.prefix.values, length: req.prefix.length } : undefined,
    signal: run.abort.signal,
  });

  // sub-pixels decided but not yet posted (a prefix's sub-pixels are given, never posted)
  const given = req.prefix?.length ?? 0;
  let pending: Uint8Array[] = [];
  let pendingStart = given;
  let lastProbs = new Float32Array(count * levels);
  let done = given;
  let total = m.config.height * m.config.width * m.config.channels;
  let lastFlush = performance.now();
  let activeMs = 0;
  let since = performance.now();
  const elapsed = () => activeMs + (performance.now() - since);

  const flush = () => {
    if (pending.length === 0) return;
    const values = new Uint8Array(pending.length * count);
    pending.forEach((v, k) => values.set(v, k * count));
    post({ type: 'pixels', runId: run.runId, start: pendingStart, values, probs: lastProbs, done, total, elapsedMs: elapsed() });
    pending = [];
    pendingStart = done;
    lastProbs = new Float32Array(count * levels);
    lastFlush = performance.now();
  };

  let finished = false;
  post({ type: 'started', runId: run.runId });
  try {
    for (;;) {
      if (run.abort.signal.aborted) throw new Aborted();
      const step = await gen.next();
      if (step.done) {
        finished = true;
        break;
      }
      const e = step.value;
      pending.push(e.values.slice());
      lastProbs.set(e.probs);
      done = e.done;
      total = e.total;
      if (run.delayMs > 0 || performance.now() - lastFlush >= FLUSH_MS) flush();
      if (run.delayMs > 0) await wait(run, run.delayMs);
      while (run.paused && !run.abort.signal.aborted) {
        activeMs += performance.now() - since;
        await wait(run, 0);
        since = performance.now();
      }
    }
    flush();
    post({ type: 'done', runId: run.runId, elapsedMs: elapsed(), numTensors: tf.memory().numTensors });
  } catch (e) {
    const aborted = run.abort.signal.aborted || (e instanceof Error && e.name === 'AbortError');
    if (!finished) await gen.return(new Uint8Array(0)).catch(() => undefined);
    if (aborted) post({ type: 'stopped', runId: run.runId, numTensors: tf.memory().numTensors });
    else post({ type: 'error', runId: run.runId, message: errorText(e), numTensors: tf.memory().numTensors });
  } finally {
    if (current === run) current = undefined;
    finish();
  }
}

// ---- scoring a drawing ---------------------------------------------------------------

// A stroke ends, a picture loads, a class is picked: only the newest waiting picture counts.
let scoreQueued: ScoreRequest | undefined;
let scoreBusy = false;

/** log p of every sub-pixel of one picture: under each class (one batched pass), or as is. */
async function score(req: ScoreRequest): Promise<FromWorker> {
  if (!model) throw new Error('no model loaded');
  const m = model;
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

async function drainScore(): Promise<void> {
  if (scoreBusy) return;
  scoreBusy = true;
  try {
    while (scoreQueued) {
      const req = scoreQueued;
      scoreQueued = undefined;
      try {
        post(await score(req));
      } catch (e) {
        post({ type: 'score-error', reqId: req.reqId, message: errorText(e) });
      }
    }
  } finally {
    scoreBusy = false;
  }
}

// ---- switching models ----------------------------------------------------------------

let role: WorkerRole = 'sampler';
let backendReport: BackendReport | undefined;
let modelsBase = '';
/** the newest load the page asked for; older ones still waiting are skipped */
let latestLoad = 0;
/** loads run one after another: each waits for the one before */
let loads: Promise<void> = Promise.resolve();

/**
 * Loads another model in place of this one. The run in progress stops; the old weights
 * are disposed only once the new ones have loaded (and any run started meanwhile on the
 * old ones has stopped), so a failed load leaves the old model usable.
 */
async function load(req: LoadRequest): Promise<void> {
  if (req.loadId !== latestLoad) return; // overtaken by a newer switch
  latest = -1; // generate requests still waiting never start on the old model
  await stopCurrent();
  let loaded: Awaited<ReturnType<typeof loadModel>>;
  try {
    loaded = await loadModel(req.model, modelsBase);
  } catch (e) {
    post({ type: 'load-error', role, loadId: req.loadId, model: req.model, message: errorText(e), numTensors: tf.memory().numTensors });
    return;
  }
  if (req.loadId !== latestLoad) {
    disposeParams(loaded.model.params); // a newer switch is waiting behind this one
    return;
  }
  latest = -1;
  // nothing may run on the old weights when they go (the loop ends with no await before the swap)
  while (current) await stopCurrent();
  const old = model;
  model = loaded.model;
  if (old) disposeParams(old.params);
  post({ type: 'ready', role, backend: backendReport!, model: loaded.info, loadId: req.loadId, numTensors: tf.memory().numTensors });
}

// ---- messages ----------------------------------------------------------------------

self.onmessage = async (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  switch (msg.type) {
    case 'init': {
      let backend: BackendReport | undefined;
      role = msg.role;
      modelsBase = msg.modelsBase;
      const initLoad = msg.loadId ?? 0;
      latestLoad = initLoad;
      const init = async () => {
        try {
          backend =
            msg.role === 'scorer'
              ? await selectBackend(msg.wasmBase, msg.backend === 'cpu' ? 'cpu' : undefined, ['wasm', 'cpu'])
              : await selectBackend(msg.wasmBase, msg.backend);
          backendReport = backend;
          const loaded = await loadModel(msg.model ?? DEFAULT_MODEL, msg.modelsBase);
          if (latestLoad !== initLoad) {
            disposeParams(loaded.model.params); // the page switched models before this one arrived
            return;
          }
          model = loaded.model;
          post({ type: 'ready', role: msg.role, backend, model: loaded.info, loadId: initLoad, numTensors: tf.memory().numTensors });
        } catch (e) {
          post({ type: 'init-error', message: errorText(e), backend, role: msg.role });
        }
      };
      loads = loads.then(init);
      return;
    }
    case 'load':
      latestLoad = msg.loadId;
      loads = loads.then(async () => {
        // a worker whose backend failed at init cannot load anything
        if (!backendReport) post({ type: 'load-error', role, loadId: msg.loadId, model: msg.model, message: 'no tfjs backend started in this worker', numTensors: 0 });
        else await load(msg);
      });
      return;
    case 'generate':
      latest = msg.runId;
      generate(msg).catch((e) => post({ type: 'error', runId: msg.runId, message: errorText(e), numTensors: tf.memory().numTensors }));
      return;
    case 'stop':
      if (msg.runId === latest) latest = -1; // not started yet: never start
      if (current?.runId === msg.runId) await stopCurrent();
      return;
    case 'pause':
      if (current?.runId === msg.runId && !current.paused) {
        current.paused = true;
        post({ type: 'paused', runId: msg.runId });
      }
      return;
    case 'resume':
      if (current?.runId === msg.runId && current.paused) {
        current.paused = false;
        current.wake?.();
        post({ type: 'resumed', runId: msg.runId });
      }
      return;
    case 'speed':
      if (current?.runId === msg.runId) {
        current.delayMs = msg.delayMs;
        current.wake?.();
      }
      return;
    case 'score':
      scoreQueued = msg;
      void drainScore();
      return;
  }
};
