// The training loop: data order, learning-rate schedule, Adam, validation, checkpoints,
// the log. Gradients come from a GradientEngine (worker threads or this thread); the
// weights and Adam state live here as flat Float32Arrays.
import fs from 'node:fs';
import path from 'node:path';
import type { ImageSet } from '../data/mnist.ts';
import { dims, initParams, disposeParams, type ModelConfig } from '../model/index.ts';
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

export async function train(data: { train: ImageSet; val: ImageSet }, opts: TrainOptions): Promise<TrainResult> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const ckptFile = path.join(opts.stateDir, CHECKPOINT_FILE);
  const logFile = path.join(opts.stateDir, LOG_FILE);
  fs.mkdirSync(opts.stateDir, { recursive: true });
  const log = (event: string, fields: Record<string, unknown>) =>
    fs.appendFileSync(logFile, JSON.stringify({ time: new Date().toISOString(), event, ...fields }) + '\n');

  // ---- state: fresh or from the checkpoint ----
  let config = opts.config;
  let hyper = opts.hyper;
  let adamOpts = opts.adam ?? { ...DEFAULT_ADAM, clipNorm: opts.hyper.clipNorm };
  let seed = opts.seed;
  let ckpt: Checkpoint | null = null;
  if (opts.resume) {
    if (!fs.existsSync(ckptFile)) throw new Error(`--resume: no checkpoint at ${ckptFile}`);
    ckpt = loadCheckpoint(ckptFile);
    if (!sameConfig(ckpt.header.config, opts.config)) {
      throw new Error(`--resume: ${ckptFile} holds a different model config than the one asked for`);
    }
    config = ckpt.header.config;
    hyper = ckpt.header.hyper;
    adamOpts = ckpt.header.adam;
    seed = ckpt.header.seed;
    if (ckpt.header.data.name !== opts.dataName || ckpt.header.data.trainCount !== data.train.count) {
      throw new Error(
        `--resume: checkpoint was trained on ${ckpt.header.data.name} (${ckpt.header.data.trainCount} images), not ${opts.dataName} (${data.train.count})`,
      );
    }
  } else if (fs.existsSync(ckptFile)) {
    throw new Error(`${ckptFile} exists: pass --resume to continue it, or choose another --out`);
  }
  const refusal = untrainableReason(config);
  if (refusal) throw new Error(refusal);
  const train = prepareImages(data.train, config, 'training data');
  const val = prepareImages(data.val, config, 'validation data');
  const B = hyper.batchSize;
  const D = dims(config);
  const stepsPerEpoch = Math.floor(train.count / B);
  if (stepsPerEpoch < 1) throw new Error(`batch size ${B} is larger than the ${train.count} training images`);
  if (opts.epochs === undefined && opts.minutes === undefined && !opts.resume) {
    throw new Error('give --epochs E or --minutes M');
  }

  const engine: GradientEngine =
    opts.workers > 0 ? await WorkerEngine.create(config, opts.workers, opts.backend) : new LocalEngine(config, 1);
  try {
    const layout = engine.layout;
    const adam = new Adam(layout.total, adamOpts);
    let progress: TrainProgress;
    if (ckpt) {
      const names = ckpt.header.tensors.map((t) => t.name).join(',');
      if (names !== layout.names.join(',')) throw new Error(`--resume: checkpoint tensors do not match the model's`);
      engine.params.set(ckpt.params);
      adam.m.set(ckpt.m);
      adam.v.set(ckpt.v);
      adam.t = ckpt.header.progress.step;
      progress = { ...ckpt.header.progress };
      ckpt = null;
    } else {
      const p = initParams(config, seed);
      engine.params.set(flattenParams(layout, p));
      disposeParams(p);
      progress = {
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
    if (opts.epochs !== undefined) progress.totalSteps = Math.round(opts.epochs * stepsPerEpoch);
    const params = engine.params; // updated in place; workers read it between requests
    const grad = new Float32Array(layout.total);

    let savedAtStep = -1;
    const saveState = async (reason: string) => {
      savedAtStep = progress.step;
      const header: CheckpointHeader = {
        config,
        hyper,
        adam: adamOpts,
        seed,
        data: { name: opts.dataName, trainCount: train.count },
        progress,
        tensors: layout.names.map((name, i) => ({ name, shape: layout.shapes[i] })),
        savedAt: new Date().toISOString(),
      };
      saveCheckpoint(ckptFile, { header, params, m: adam.m, v: adam.v });
      if (opts.modelDir) {
        const tensors = unflattenParams(layout, params);
        try {
          await saveModel(opts.modelDir, { config, params: tensors }, {
            dtype: opts.weightsDtype ?? 'float32',
            metadata: {
              trainedSteps: progress.step,
              trainedImages: progress.imagesSeen,
              trainedSeconds: Math.round(progress.elapsedSeconds),
              epochs: progress.step / stepsPerEpoch,
              valBitsPerDim: progress.lastValBitsPerDim,
              data: opts.dataName,
              seed,
            },
          });
        } finally {
          disposeParams(tensors);
        }
      }
      log('checkpoint', { reason, step: progress.step, file: ckptFile });
    };

    const evalBatch = opts.evalBatch ?? 100;
    const validate = async (limit: number) => {
      const t0 = performance.now();
      const bpd = await evaluate(engine, config, val, limit, evalBatch);
      const n = Math.min(limit, val.count);
      progress.lastValBitsPerDim = bpd;
      if (n === val.count && (progress.bestValBitsPerDim === null || bpd < progress.bestValBitsPerDim)) progress.bestValBitsPerDim = bpd;
      const seconds = (performance.now() - t0) / 1000;
      log('val', { step: progress.step, epoch: progress.epoch, images: n, bitsPerDim: bpd, seconds });
      print(`  val (${n} images) ${bpd.toFixed(4)} bits/dim  [${seconds.toFixed(1)} s]`);
      return bpd;
    };

    log(opts.resume ? 'resume' : 'start', {
      config,
      hyper,
      adam: adamOpts,
      seed,
      workers: opts.workers,
      backend: opts.backend,
      stepsPerEpoch,
      params: layout.total,
      progress,
    });
    print(
      `${opts.resume ? 'resuming' : 'training'}: ${layout.total} weights, batch ${B}, ${stepsPerEpoch} steps/epoch, ` +
        `${opts.workers > 0 ? `${opts.workers} workers (${opts.backend})` : 'this thread'}` +
        (opts.resume ? `, from step ${progress.step}` : ''),
    );

    let order = epochOrder(seed, progress.epoch, train.count);
    let orderEpoch = progress.epoch;
    const batchImages = new Uint8Array(B * D);
    const batchLabels = new Uint8Array(B);
    const scale = 1 / (B * D); // gradient of the mean nats per sub-pixel
    const runStart = performance.now();
    const elapsedAtStart = progress.elapsedSeconds;
    const elapsedNow = () => elapsedAtStart + (performance.now() - runStart) / 1000;
    let lastCkpt = performance.now();
    let lastVal = performance.now();
    let lastPrint = performance.now();
    let window = { nats: 0, images: 0, t0: performance.now(), gradNorm: 0, steps: 0 };
    let imagesThisRun = 0;
    let stoppedBy: TrainResult['stoppedBy'] = 'done';
    const minutesLeft = () => (opts.minutes === undefined ? Infinity : opts.minutes - elapsedNow() / 60);
    // --epochs (or a resume without --minutes) stops at totalSteps; --minutes stops by time
    // only, totalSteps then just sets the length of the learning-rate decay.
    const stopAtSteps = opts.minutes === undefined;
    if (stopAtSteps && progress.totalSteps === null) throw new Error('give --epochs E or --minutes M');
    const stepsLeft = () => (!stopAtSteps || progress.totalSteps === null ? Infinity : progress.totalSteps - progress.step);
    let planFixedAt = -1;

    while (stepsLeft() > 0 && minutesLeft() > 0) {
      if (opts.signal?.aborted) {
        stoppedBy = 'signal';
        break;
      }
      if (orderEpoch !== progress.epoch) {
        order = epochOrder(seed, progress.epoch, train.count);
        orderEpoch = progress.epoch;
      }
      const first = progress.batchInEpoch * B;
      for (let i = 0; i < B; i++) {
        const idx = order[first + i];
        batchImages.set(train.images.subarray(idx * D, (idx + 1) * D), i * D);
        batchLabels[i] = train.labels[idx];
      }
      const lr = learningRate(hyper, progress.step, progress.totalSteps, progress.scheduleStart);
      const nats = await engine.gradient(batchImages, batchLabels, scale, grad);
      if (!Number.isFinite(nats)) throw new Error(`training loss is ${nats} at step ${progress.step}`);
      const norm = adam.step(params, grad, lr);
      progress.step += 1;
      progress.batchInEpoch += 1;
      progress.imagesSeen += B;
      progress.elapsedSeconds = elapsedNow();
      imagesThisRun += B;
      window.nats += nats;
      window.images += B;
      window.gradNorm += norm;
      window.steps += 1;

      // --minutes without --epochs: after 30 timed steps fix the schedule's length from the speed
      if (opts.epochs === undefined && opts.minutes !== undefined && progress.totalSteps === null) {
        if (planFixedAt < 0) planFixedAt = performance.now();
        else if (imagesThisRun >= 31 * B) {
          // 5% margin for validation and checkpoints
          const secPerStep = ((performance.now() - planFixedAt) / 1000 / 30) * 1.05;
          progress.totalSteps = progress.step + Math.max(1, Math.floor((minutesLeft() * 60) / secPerStep));
          log('plan', { totalSteps: progress.totalSteps, secondsPerStep: secPerStep });
        }
      }

      const now = performance.now();
      if (opts.progressSeconds === 0 || now - lastPrint >= opts.progressSeconds * 1000) {
        const secs = (now - window.t0) / 1000;
        const ips = window.images / secs;
        const bpd = window.nats / (window.images * D * Math.LN2);
        const eta = Math.min((stepsLeft() * secs) / window.steps, minutesLeft() * 60);
        const totalEpochs = progress.totalSteps === null ? '?' : (progress.totalSteps / stepsPerEpoch).toFixed(1);
        print(
          `epoch ${progress.epoch + 1}/${totalEpochs} step ${progress.step}${progress.totalSteps ? `/${progress.totalSteps}` : ''} ` +
            `| ${ips.toFixed(1)} img/s | loss ${bpd.toFixed(4)} bits/dim | lr ${lr.toExponential(2)} ` +
            `| val ${progress.lastValBitsPerDim === null ? '-' : progress.lastValBitsPerDim.toFixed(4)} | ETA ${formatDuration(eta)}`,
        );
        log('progress', {
          step: progress.step,
          epoch: progress.epoch,
          batchInEpoch: progress.batchInEpoch,
          imagesPerSecond: ips,
          trainBitsPerDim: bpd,
          lr,
          gradNorm: window.gradNorm / window.steps,
          elapsedSeconds: progress.elapsedSeconds,
          etaSeconds: eta,
        });
        window = { nats: 0, images: 0, t0: now, gradNorm: 0, steps: 0 };
        lastPrint = now;
      }

      let validatedFull = false;
      if (progress.batchInEpoch >= stepsPerEpoch) {
        progress.epoch += 1;
        progress.batchInEpoch = 0;
        await validate(val.count);
        validatedFull = true;
        lastVal = performance.now();
      } else if (opts.valMinutes > 0 && performance.now() - lastVal >= opts.valMinutes * 60_000) {
        await validate(opts.valSubset);
        lastVal = performance.now();
      }
      opts.onStep?.({ ...progress });
      const byTime = performance.now() - lastCkpt >= opts.checkpointMinutes * 60_000;
      const bySteps = !!opts.checkpointSteps && progress.step % opts.checkpointSteps === 0;
      if (byTime || bySteps || validatedFull) {
        await saveState(byTime ? 'time' : bySteps ? 'steps' : 'epoch');
        lastCkpt = performance.now();
      }
    }
    if (opts.signal?.aborted) stoppedBy = 'signal';
    if (savedAtStep !== progress.step) await saveState(stoppedBy === 'signal' ? 'signal' : 'end');
    const seconds = (performance.now() - runStart) / 1000;
    const result: TrainResult = {
      params: Float32Array.from(params),
      progress: { ...progress },
      stoppedBy,
      imagesPerSecond: imagesThisRun / Math.max(seconds, 1e-9),
    };
    log(stoppedBy === 'signal' ? 'stopped' : 'end', { progress, imagesPerSecondThisRun: result.imagesPerSecond });
    print(
      `${stoppedBy === 'signal' ? 'stopped' : 'finished'} at step ${progress.step} (epoch ${(progress.step / stepsPerEpoch).toFixed(2)}); ` +
        `checkpoint ${ckptFile}${opts.modelDir ? `, weights ${opts.modelDir}` : ''}`,
    );
    return result;
  } finally {
    await engine.close();
  }
}
