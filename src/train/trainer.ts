// The training loop: data order, learning-rate schedule, Adam, validation, checkpoints,
// the log. Gradients come from a GradientEngine (worker threads or this thread); the
// weights and Adam state live here as flat Float32Arrays.
//
// Reading order: train() sets a run up (fresh or from its checkpoint); runLoop is the loop
// (getBatch, learningRate, trainStep, then progress, validation and checkpoints when due),
// each piece a function below it. training/train.py is built the same way.
import fs from 'node:fs';
import path from 'node:path';
import type { ImageSet } from '../data/mnist.ts';
import { dims, initParams, disposeParams, type ModelConfig } from '../model';
import { saveModel } from '../io/weightsNode.ts';
import { Adam, DEFAULT_ADAM, type AdamOptions } from './adam.ts';
import { loadCheckpoint, saveCheckpoint, type Checkpoint, type CheckpointHeader, type TrainProgress } from './checkpoint.ts';
import { LocalEngine, WorkerEngine, type GradientEngine } from './engine.ts';
import { flattenParams, unflattenParams } from './gradient.ts';
import type { TrainHyper } from './presets.ts';
import type { WorkerBackend } from './protocol.ts';
import { permutation, Rng } from '../util/rng.ts';

export const CHECKPOINT_FILE = 'checkpoint.bin';
export const LOG_FILE = 'train.log';

export interface TrainOptions {
  config: ModelConfig;
  hyper: TrainHyper;
  adam?: AdamOptions;
  seed: number;
  /** folder the final weights are saved to (weights format); null: do not save weights */
  modelDir: string | null;
  /** folder for checkpoint.bin and train.log */
  stateDir: string;
  /** stop after this many epochs in total (across resumes) */
  epochs?: number;
  /** stop after this many minutes of training in total (across resumes) */
  minutes?: number;
  resume: boolean;
  /** gradient worker threads; 0 computes on this thread with its current tfjs backend */
  workers: number;
  backend: WorkerBackend;
  checkpointMinutes: number;
  /** also checkpoint every this many steps (0: only by time); tests use it */
  checkpointSteps?: number;
  /** validation on the first `valSubset` images every `valMinutes` minutes, on all of it after each epoch */
  valSubset: number;
  valMinutes: number;
  /** images per evaluation request */
  evalBatch?: number;
  /** seconds between progress lines (0: every step) */
  progressSeconds: number;
  weightsDtype?: 'float32' | 'float16';
  /** stop cleanly (checkpoint + weights) at the next step boundary when aborted */
  signal?: AbortSignal;
  /** a progress line (default: console.log) */
  print?: (line: string) => void;
  /** called after every update (tests) */
  onStep?: (progress: TrainProgress) => void;
  /** data name stored in checkpoints ('mnist', 'synthetic', ...) */
  dataName: string;
}

export interface TrainResult {
  params: Float32Array;
  progress: TrainProgress;
  stoppedBy: 'done' | 'signal';
  imagesPerSecond: number;
}

/**
 * Why this trainer cannot train a config, or undefined. Condition dropout (training the null
 * condition of a nullable model) lives in the PyTorch trainer only.
 */
export function untrainableReason(config: ModelConfig): string | undefined {
  const c = config.conditioning;
  if (c.type !== 'none' && (c.dropout ?? 0) > 0) {
    return `conditioning.dropout ${c.dropout} (condition dropout) is trained by the PyTorch trainer: use npm run train:torch`;
  }
  return undefined;
}

/** Images prepared for a model: levels quantised to config.levels, sizes checked. */
export function prepareImages(set: ImageSet, config: ModelConfig, what: string): ImageSet {
  if (set.height !== config.height || set.width !== config.width || set.channels !== config.channels) {
    throw new Error(
      `${what}: images are ${set.height}x${set.width}x${set.channels}, the model expects ${config.height}x${config.width}x${config.channels}`,
    );
  }
  if (config.levels === 256) return set;
  if (config.levels > 256) throw new Error(`${what}: 8-bit images cannot fill ${config.levels} levels`);
  const images = new Uint8Array(set.images.length);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor((set.images[i] * config.levels) / 256);
  return { ...set, images };
}

/**
 * Learning rate of update `step` (0-based): linear warm-up, then cosine decay if the length
 * is known; both counted from `start`, the update the schedule began at.
 */
export function learningRate(hyper: TrainHyper, absStep: number, absTotal: number | null, start = 0): number {
  const step = absStep - start;
  const totalSteps = absTotal === null ? null : absTotal - start;
  if (step < hyper.warmupSteps) return (hyper.lr * (step + 1)) / hyper.warmupSteps;
  if (totalSteps === null || totalSteps <= hyper.warmupSteps) return hyper.lr;
  const t = Math.min(1, (step - hyper.warmupSteps) / (totalSteps - hyper.warmupSteps));
  const f = hyper.lrFinalFraction + (1 - hyper.lrFinalFraction) * 0.5 * (1 + Math.cos(Math.PI * t));
  return hyper.lr * f;
}

/** The order of the training images in epoch `epoch`: drawn from (seed, epoch) alone. */
export function epochOrder(seed: number, epoch: number, count: number): Uint32Array {
  return permutation(count, Rng.fromKeys(seed, epoch));
}

function sameConfig(a: ModelConfig, b: ModelConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  return `${m}m${String(s % 60).padStart(2, '0')}s`;
}

/** Mean bits/dim of `set` (first `limit` images). */
export async function evaluate(engine: GradientEngine, config: ModelConfig, set: ImageSet, limit: number, batch: number): Promise<number> {
  const n = Math.min(limit, set.count);
  const px = dims(config);
  let nats = 0;
  for (let a = 0; a < n; a += batch) {
    const b = Math.min(n, a + batch);
    const per = await engine.evalNats(set.images.subarray(a * px, b * px), set.labels.subarray(a, b));
    for (const v of per) nats += v;
  }
  return nats / (n * px * Math.LN2);
}

/** What a run starts from: the options' model, or a checkpoint's (weights and Adam state with it). */
interface Start {
  config: ModelConfig;
  hyper: TrainHyper;
  adamOpts: AdamOptions;
  seed: number;
  ckpt: Checkpoint | null;
}

/** A run as set up: the loop reads all of it and changes only `progress`, the weights and Adam's state. */
interface Run {
  opts: TrainOptions;
  config: ModelConfig;
  hyper: TrainHyper;
  adamOpts: AdamOptions;
  seed: number;
  train: ImageSet;
  val: ImageSet;
  engine: GradientEngine;
  adam: Adam;
  /** the weights, updated in place; worker threads read them between requests */
  params: Float32Array;
  progress: TrainProgress;
  stepsPerEpoch: number;
  /** sub-pixels per image */
  dims: number;
  ckptFile: string;
  /** the step's buffers, reused: the batch's images [B, D] and labels [B], the gradient */
  batch: { images: Uint8Array; labels: Uint8Array };
  grad: Float32Array;
  log: (event: string, fields: Record<string, unknown>) => void;
  print: (line: string) => void;
}

/** The steps since the last progress line, which it averages over. */
interface Window {
  nats: number;
  images: number;
  t0: number;
  gradNorm: number;
  steps: number;
}

/** This call's stretch of the run (not checkpointed): its clock and what it has done. */
interface Stretch {
  /** performance.now() at the loop's start */
  start: number;
  /** the run's training seconds before this stretch */
  elapsedAtStart: number;
  lastCkpt: number;
  lastVal: number;
  lastPrint: number;
  window: Window;
  images: number;
  /** progress.step of the last checkpoint */
  savedAtStep: number;
  /** when the steps timed for the schedule's length began (-1: not yet) */
  planT0: number;
}

export async function train(data: { train: ImageSet; val: ImageSet }, opts: TrainOptions): Promise<TrainResult> {
  const ckptFile = path.join(opts.stateDir, CHECKPOINT_FILE);
  const logFile = path.join(opts.stateDir, LOG_FILE);
  fs.mkdirSync(opts.stateDir, { recursive: true });
  const start = startingPoint(opts, ckptFile, data.train.count);
  const refusal = untrainableReason(start.config);
  if (refusal) throw new Error(refusal);
  const trainSet = prepareImages(data.train, start.config, 'training data');
  const val = prepareImages(data.val, start.config, 'validation data');
  const B = start.hyper.batchSize;
  const D = dims(start.config);
  const stepsPerEpoch = Math.floor(trainSet.count / B);
  if (stepsPerEpoch < 1) throw new Error(`batch size ${B} is larger than the ${trainSet.count} training images`);
  if (opts.epochs === undefined && opts.minutes === undefined && !opts.resume) {
    throw new Error('give --epochs E or --minutes M');
  }

  const engine: GradientEngine =
    opts.workers > 0 ? await WorkerEngine.create(start.config, opts.workers, opts.backend) : new LocalEngine(start.config, 1);
  try {
    const adam = new Adam(engine.layout.total, start.adamOpts);
    const progress = restore(start, engine, adam);
    if (opts.epochs !== undefined) progress.totalSteps = Math.round(opts.epochs * stepsPerEpoch);
    const run: Run = {
      opts,
      config: start.config,
      hyper: start.hyper,
      adamOpts: start.adamOpts,
      seed: start.seed,
      train: trainSet,
      val,
      engine,
      adam,
      params: engine.params,
      progress,
      stepsPerEpoch,
      dims: D,
      ckptFile,
      batch: { images: new Uint8Array(B * D), labels: new Uint8Array(B) },
      grad: new Float32Array(engine.layout.total),
      log: (event, fields) => fs.appendFileSync(logFile, JSON.stringify({ time: new Date().toISOString(), event, ...fields }) + '\n'),
      print: opts.print ?? ((l: string) => console.log(l)),
    };
    announce(run);
    return await runLoop(run);
  } finally {
    await engine.close();
  }
}

/** Steps until the run's length, its minutes or opts.signal ends it; checkpoints on the way. */
async function runLoop(run: Run): Promise<TrainResult> {
  const { opts, progress: p } = run;
  const stretch = startStretch(p);
  if (opts.minutes === undefined && p.totalSteps === null) throw new Error('give --epochs E or --minutes M');
  const orders = new EpochOrders(run.seed, run.train.count);
  let stoppedBy: TrainResult['stoppedBy'] = 'done';
  while (stepsLeft(run) > 0 && minutesLeft(run, stretch) > 0) {
    if (opts.signal?.aborted) {
      stoppedBy = 'signal';
      break;
    }
    getBatch(run, orders.of(p.epoch));
    const lr = learningRate(run.hyper, p.step, p.totalSteps, p.scheduleStart);
    const { nats, norm } = await trainStep(run, lr);
    recordStep(run, stretch, nats, norm);
    planLength(run, stretch);
    reportProgress(run, stretch, lr);
    const epochEnded = p.batchInEpoch >= run.stepsPerEpoch;
    if (epochEnded) {
      p.epoch += 1;
      p.batchInEpoch = 0;
    }
    await validateWhenDue(run, stretch, epochEnded);
    opts.onStep?.({ ...p });
    await checkpointWhenDue(run, stretch, epochEnded);
  }
  if (opts.signal?.aborted) stoppedBy = 'signal';
  if (stretch.savedAtStep !== p.step) await saveState(run, stretch, stoppedBy === 'signal' ? 'signal' : 'end');
  return finish(run, stretch, stoppedBy);
}

// ---- setting up ----

/** A resumed run's checkpoint (refusing another model or data set), or the options' fresh model. */
function startingPoint(opts: TrainOptions, ckptFile: string, trainCount: number): Start {
  if (!opts.resume) {
    if (fs.existsSync(ckptFile)) throw new Error(`${ckptFile} exists: pass --resume to continue it, or choose another --out`);
    const adamOpts = opts.adam ?? { ...DEFAULT_ADAM, clipNorm: opts.hyper.clipNorm };
    return { config: opts.config, hyper: opts.hyper, adamOpts, seed: opts.seed, ckpt: null };
  }
  if (!fs.existsSync(ckptFile)) throw new Error(`--resume: no checkpoint at ${ckptFile}`);
  const ckpt = loadCheckpoint(ckptFile);
  const { header } = ckpt;
  if (!sameConfig(header.config, opts.config)) {
    throw new Error(`--resume: ${ckptFile} holds a different model config than the one asked for`);
  }
  if (header.data.name !== opts.dataName || header.data.trainCount !== trainCount) {
    throw new Error(
      `--resume: checkpoint was trained on ${header.data.name} (${header.data.trainCount} images), not ${opts.dataName} (${trainCount})`,
    );
  }
  return { config: header.config, hyper: header.hyper, adamOpts: header.adam, seed: header.seed, ckpt };
}

/** Loads the start's weights and Adam state into the engine and `adam`; the progress to carry on from. */
function restore(start: Start, engine: GradientEngine, adam: Adam): TrainProgress {
  const { layout } = engine;
  const ckpt = start.ckpt;
  if (!ckpt) {
    const p = initParams(start.config, start.seed);
    engine.params.set(flattenParams(layout, p));
    disposeParams(p);
    return {
      step: 0,
      epoch: 0,
      batchInEpoch: 0,
      imagesSeen: 0,
      elapsedSeconds: 0,
      totalSteps: null,
      lastValBitsPerDim: null,
      bestValBitsPerDim: null,
    };
  }
  const names = ckpt.header.tensors.map((t) => t.name).join(',');
  if (names !== layout.names.join(',')) throw new Error(`--resume: checkpoint tensors do not match the model's`);
  engine.params.set(ckpt.params);
  adam.m.set(ckpt.m);
  adam.v.set(ckpt.v);
  adam.t = ckpt.header.progress.step;
  start.ckpt = null; // the engine and Adam hold copies: let the checkpoint's arrays go
  return { ...ckpt.header.progress };
}

function announce(run: Run) {
  const { opts, progress } = run;
  const total = run.engine.layout.total;
  run.log(opts.resume ? 'resume' : 'start', {
    config: run.config,
    hyper: run.hyper,
    adam: run.adamOpts,
    seed: run.seed,
    workers: opts.workers,
    backend: opts.backend,
    stepsPerEpoch: run.stepsPerEpoch,
    params: total,
    progress,
  });
  run.print(
    `${opts.resume ? 'resuming' : 'training'}: ${total} weights, batch ${run.hyper.batchSize}, ${run.stepsPerEpoch} steps/epoch, ` +
      `${opts.workers > 0 ? `${opts.workers} workers (${opts.backend})` : 'this thread'}` +
      (opts.resume ? `, from step ${progress.step}` : ''),
  );
}

function startStretch(progress: TrainProgress): Stretch {
  const now = performance.now();
  return {
    start: now,
    elapsedAtStart: progress.elapsedSeconds,
    lastCkpt: now,
    lastVal: now,
    lastPrint: now,
    window: { nats: 0, images: 0, t0: now, gradNorm: 0, steps: 0 },
    images: 0,
    savedAtStep: -1,
    planT0: -1,
  };
}

/** The order of an epoch's training images, drawn again when the epoch changes. */
class EpochOrders {
  private epoch = -1;
  private order: Uint32Array = new Uint32Array(0);
  constructor(
    private readonly seed: number,
    private readonly count: number,
  ) {}

  of(epoch: number): Uint32Array {
    if (epoch !== this.epoch) {
      this.order = epochOrder(this.seed, epoch, this.count);
      this.epoch = epoch;
    }
    return this.order;
  }
}

// ---- one step ----

const elapsed = (stretch: Stretch) => stretch.elapsedAtStart + (performance.now() - stretch.start) / 1000;

function minutesLeft(run: Run, stretch: Stretch): number {
  return run.opts.minutes === undefined ? Infinity : run.opts.minutes - elapsed(stretch) / 60;
}

function stepsLeft(run: Run): number {
  // --epochs (or a resume without --minutes) stops at totalSteps; --minutes stops by time
  // only, totalSteps then just sets the length of the learning-rate decay.
  const { totalSteps, step } = run.progress;
  return run.opts.minutes !== undefined || totalSteps === null ? Infinity : totalSteps - step;
}

/** The next batch of the epoch's order, copied into run.batch. */
function getBatch(run: Run, order: Uint32Array) {
  const { images, labels } = run.batch;
  const B = run.hyper.batchSize;
  const D = run.dims;
  const first = run.progress.batchInEpoch * B;
  for (let i = 0; i < B; i++) {
    const idx = order[first + i];
    images.set(run.train.images.subarray(idx * D, (idx + 1) * D), i * D);
    labels[i] = run.train.labels[idx];
  }
}

/** One Adam update at rate lr on run.batch: the batch's summed nats and the gradient norm before clipping. */
async function trainStep(run: Run, lr: number): Promise<{ nats: number; norm: number }> {
  const scale = 1 / (run.hyper.batchSize * run.dims); // gradient of the mean nats per sub-pixel
  const nats = await run.engine.gradient(run.batch.images, run.batch.labels, scale, run.grad);
  if (!Number.isFinite(nats)) throw new Error(`training loss is ${nats} at step ${run.progress.step}`);
  const norm = run.adam.step(run.params, run.grad, lr);
  return { nats, norm };
}

function recordStep(run: Run, stretch: Stretch, nats: number, norm: number) {
  const p = run.progress;
  const B = run.hyper.batchSize;
  p.step += 1;
  p.batchInEpoch += 1;
  p.imagesSeen += B;
  p.elapsedSeconds = elapsed(stretch);
  stretch.images += B;
  stretch.window.nats += nats;
  stretch.window.images += B;
  stretch.window.gradNorm += norm;
  stretch.window.steps += 1;
}

/** --minutes without --epochs: after 30 timed steps, fix the schedule's length from the speed. */
function planLength(run: Run, stretch: Stretch) {
  const { opts, progress: p } = run;
  if (!(opts.epochs === undefined && opts.minutes !== undefined && p.totalSteps === null)) return;
  if (stretch.planT0 < 0) stretch.planT0 = performance.now();
  else if (stretch.images >= 31 * run.hyper.batchSize) {
    // 5% margin for validation and checkpoints
    const secPerStep = ((performance.now() - stretch.planT0) / 1000 / 30) * 1.05;
    p.totalSteps = p.step + Math.max(1, Math.floor((minutesLeft(run, stretch) * 60) / secPerStep));
    run.log('plan', { totalSteps: p.totalSteps, secondsPerStep: secPerStep });
  }
}

// ---- progress, validation, checkpoints ----

/** A progress line and log event every opts.progressSeconds, averaged over the steps since the last. */
function reportProgress(run: Run, stretch: Stretch, lr: number) {
  const now = performance.now();
  if (!(run.opts.progressSeconds === 0 || now - stretch.lastPrint >= run.opts.progressSeconds * 1000)) return;
  const p = run.progress;
  const w = stretch.window;
  const secs = (now - w.t0) / 1000;
  const ips = w.images / secs;
  const bpd = w.nats / (w.images * run.dims * Math.LN2);
  const eta = Math.min((stepsLeft(run) * secs) / w.steps, minutesLeft(run, stretch) * 60);
  const totalEpochs = p.totalSteps === null ? '?' : (p.totalSteps / run.stepsPerEpoch).toFixed(1);
  run.print(
    `epoch ${p.epoch + 1}/${totalEpochs} step ${p.step}${p.totalSteps ? `/${p.totalSteps}` : ''} ` +
      `| ${ips.toFixed(1)} img/s | loss ${bpd.toFixed(4)} bits/dim | lr ${lr.toExponential(2)} ` +
      `| val ${p.lastValBitsPerDim === null ? '-' : p.lastValBitsPerDim.toFixed(4)} | ETA ${formatDuration(eta)}`,
  );
  run.log('progress', {
    step: p.step,
    epoch: p.epoch,
    batchInEpoch: p.batchInEpoch,
    imagesPerSecond: ips,
    trainBitsPerDim: bpd,
    lr,
    gradNorm: w.gradNorm / w.steps,
    elapsedSeconds: p.elapsedSeconds,
    etaSeconds: eta,
  });
  stretch.window = { nats: 0, images: 0, t0: now, gradNorm: 0, steps: 0 };
  stretch.lastPrint = now;
}

/** The whole validation set at an epoch's end; its first opts.valSubset images every opts.valMinutes. */
async function validateWhenDue(run: Run, stretch: Stretch, epochEnded: boolean) {
  const { opts } = run;
  if (epochEnded) await validate(run, run.val.count);
  else if (opts.valMinutes > 0 && performance.now() - stretch.lastVal >= opts.valMinutes * 60_000) await validate(run, opts.valSubset);
  else return;
  stretch.lastVal = performance.now();
}

async function validate(run: Run, limit: number) {
  const p = run.progress;
  const t0 = performance.now();
  const bpd = await evaluate(run.engine, run.config, run.val, limit, run.opts.evalBatch ?? 100);
  const n = Math.min(limit, run.val.count);
  p.lastValBitsPerDim = bpd;
  if (n === run.val.count && (p.bestValBitsPerDim === null || bpd < p.bestValBitsPerDim)) p.bestValBitsPerDim = bpd;
  const seconds = (performance.now() - t0) / 1000;
  run.log('val', { step: p.step, epoch: p.epoch, images: n, bitsPerDim: bpd, seconds });
  run.print(`  val (${n} images) ${bpd.toFixed(4)} bits/dim  [${seconds.toFixed(1)} s]`);
}

/** A checkpoint every opts.checkpointMinutes, every opts.checkpointSteps steps and at each epoch's end. */
async function checkpointWhenDue(run: Run, stretch: Stretch, epochEnded: boolean) {
  const { opts } = run;
  const byTime = performance.now() - stretch.lastCkpt >= opts.checkpointMinutes * 60_000;
  const bySteps = !!opts.checkpointSteps && run.progress.step % opts.checkpointSteps === 0;
  if (byTime || bySteps || epochEnded) {
    await saveState(run, stretch, byTime ? 'time' : bySteps ? 'steps' : 'epoch');
    stretch.lastCkpt = performance.now();
  }
}

/** checkpoint.bin (everything --resume needs) and, when opts.modelDir is set, the model folder. */
async function saveState(run: Run, stretch: Stretch, reason: string) {
  const { opts, progress, engine } = run;
  const { layout } = engine;
  stretch.savedAtStep = progress.step;
  const header: CheckpointHeader = {
    config: run.config,
    hyper: run.hyper,
    adam: run.adamOpts,
    seed: run.seed,
    data: { name: opts.dataName, trainCount: run.train.count },
    progress,
    tensors: layout.names.map((name, i) => ({ name, shape: layout.shapes[i] })),
    savedAt: new Date().toISOString(),
  };
  saveCheckpoint(run.ckptFile, { header, params: run.params, m: run.adam.m, v: run.adam.v });
  if (opts.modelDir) {
    const tensors = unflattenParams(layout, run.params);
    try {
      await saveModel(opts.modelDir, { config: run.config, params: tensors }, {
        dtype: opts.weightsDtype ?? 'float32',
        metadata: {
          trainedSteps: progress.step,
          trainedImages: progress.imagesSeen,
          trainedSeconds: Math.round(progress.elapsedSeconds),
          epochs: progress.step / run.stepsPerEpoch,
          valBitsPerDim: progress.lastValBitsPerDim,
          data: opts.dataName,
          seed: run.seed,
        },
      });
    } finally {
      disposeParams(tensors);
    }
  }
  run.log('checkpoint', { reason, step: progress.step, file: run.ckptFile });
}

function finish(run: Run, stretch: Stretch, stoppedBy: TrainResult['stoppedBy']): TrainResult {
  const { opts, progress } = run;
  const seconds = (performance.now() - stretch.start) / 1000;
  const result: TrainResult = {
    params: Float32Array.from(run.params),
    progress: { ...progress },
    stoppedBy,
    imagesPerSecond: stretch.images / Math.max(seconds, 1e-9),
  };
  run.log(stoppedBy === 'signal' ? 'stopped' : 'end', { progress, imagesPerSecondThisRun: result.imagesPerSecond });
  run.print(
    `${stoppedBy === 'signal' ? 'stopped' : 'finished'} at step ${progress.step} (epoch ${(progress.step / run.stepsPerEpoch).toFixed(2)}); ` +
      `checkpoint ${run.ckptFile}${opts.modelDir ? `, weights ${opts.modelDir}` : ''}`,
  );
  return result;
}
