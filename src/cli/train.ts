// npm run train -- --data mnist --cond class (--preset NAME | --config FILE) --out DIR
//                  (--epochs E | --minutes M) [--resume] [--workers 2] [--seed S]
// npm run bench:train -- [--preset NAME] [--batch B] [--steps N] [--json]
//
// Training writes the weights (weights format) to --out and its state (checkpoint.bin,
// train.log as JSON lines) to --state (default: <out>.train, beside the model folder,
// because saving the model replaces the model folder as a whole).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadMnist } from '../data/mnist.ts';
import { makeConfig, type ModelConfig } from '../model';
import { parseArgs, usage, UsageError, type FlagSpec } from './args.ts';
import { startBackend, stateDirOf } from './common.ts';
import { Adam } from '../train/adam.ts';
import { WorkerEngine } from '../train/engine.ts';
import { flattenParams } from '../train/gradient.ts';
import { forwardFlopsPerImage, modelConvShapes, trainFlopsPerImage } from '../train/flops.ts';
import { getPreset, presetNames, type Preset, type TrainHyper } from '../train/presets.ts';
import { train, untrainableReason } from '../train/trainer.ts';
import { initParams, disposeParams } from '../model';

const workerBackend = { type: 'enum', values: ['wasm', 'cpu'], help: 'tfjs backend of each worker (default wasm)' } as const;

const trainSpec = {
  data: { type: 'enum', values: ['mnist'], required: true, help: 'training data' },
  cond: { type: 'enum', values: ['class', 'none'], help: 'conditioning (default: as the preset/config)' },
  preset: { type: 'string', help: `named configuration: ${presetNames().join(', ')} (default mnist)` },
  config: { type: 'string', help: 'JSON file: a model config, or {"model": {...}, "train": {...}}' },
  out: { type: 'string', required: true, help: 'model folder for the weights' },
  state: { type: 'string', help: 'folder for checkpoint.bin and train.log (default <out>.train)' },
  epochs: { type: 'number', positive: true, help: 'train this many epochs in total (across resumes)' },
  minutes: { type: 'number', positive: true, help: 'train this many minutes in total (across resumes)' },
  resume: { type: 'bool', help: 'continue from the checkpoint in --state' },
  seed: { type: 'int', min: 0, help: 'seed of weight init and data order (default 0)' },
  workers: { type: 'int', min: 0, max: 16, help: 'gradient worker threads (default 2; 0 = main thread)' },
  backend: workerBackend,
  batch: { type: 'int', min: 1, help: 'batch size (default from preset)' },
  lr: { type: 'number', positive: true, help: 'peak learning rate (default from preset)' },
  'checkpoint-minutes': { type: 'number', positive: true, help: 'minutes between checkpoints (default 5)' },
  'val-minutes': { type: 'number', min: 0, help: 'minutes between validations on a subset (default 10; 0 = off)' },
  'val-subset': { type: 'int', min: 1, help: 'images in the periodic validation (default 500)' },
  'train-limit': { type: 'int', min: 1, help: 'use only the first N training images (smoke runs)' },
  'val-limit': { type: 'int', min: 1, help: 'use only the first N validation images' },
  dtype: { type: 'enum', values: ['float32', 'float16'], help: 'storage precision of the saved weights (default float32)' },
  'progress-seconds': { type: 'number', min: 0, help: 'seconds between progress lines (default 10)' },
} satisfies FlagSpec;

function readConfigFile(file: string): { model: ModelConfig; train: Partial<TrainHyper> } {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read a JSON config (${(e as Error).message.split('\n')[0]})`);
  }
  const o = json as Record<string, unknown>;
  const modelPart = (o && typeof o === 'object' && 'model' in o ? o.model : o) as Partial<ModelConfig>;
  const trainPart = (o && typeof o === 'object' && 'train' in o ? o.train : {}) as Partial<TrainHyper>;
  try {
    return { model: makeConfig(modelPart), train: trainPart };
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

const HYPER_KEYS: (keyof TrainHyper)[] = ['batchSize', 'lr', 'warmupSteps', 'lrFinalFraction', 'clipNorm'];

function checkHyper(h: TrainHyper): TrainHyper {
  for (const k of HYPER_KEYS) {
    const v = h[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new UsageError(`train.${k}: expected a number >= 0, got ${JSON.stringify(v)}`);
  }
  if (!Number.isInteger(h.batchSize) || h.batchSize < 1) throw new UsageError(`train.batchSize: expected an integer >= 1, got ${h.batchSize}`);
  return h;
}

function choosePreset(a: { preset?: string; config?: string }): Preset {
  if (a.preset !== undefined && a.config !== undefined) throw new UsageError('give --preset or --config, not both');
  if (a.config !== undefined) {
    const { model, train } = readConfigFile(a.config);
    const base = getPreset('mnist').train;
    return { model, train: { ...base, ...train } };
  }
  try {
    return getPreset(a.preset ?? 'mnist');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export async function runTrain(argv: string[]): Promise<void> {
  const a = parseArgs(argv, trainSpec);
  if (a.help) {
    process.stdout.write(
      usage('train', '--data mnist --cond class (--preset NAME | --config FILE) --out DIR (--epochs E | --minutes M) [--resume]', trainSpec) + '\n',
    );
    return;
  }
  if (a.epochs !== undefined && a.minutes !== undefined) throw new UsageError('give --epochs or --minutes, not both');
  if (a.epochs === undefined && a.minutes === undefined && !a.resume) throw new UsageError('give --epochs E or --minutes M');
  const preset = choosePreset(a);
  let model = preset.model;
  if (a.cond === 'none') model = makeConfig({ ...model, conditioning: { type: 'none' } });
  if (a.cond === 'class' && model.conditioning.type !== 'class') model = makeConfig({ ...model, conditioning: { type: 'class', classes: 10 } });
  if (model.conditioning.type === 'class' && model.conditioning.classes < 10) throw new UsageError(`the model knows ${model.conditioning.classes} classes; MNIST has 10`);
  if (model.conditioning.type === 'vector') throw new UsageError('MNIST training needs --cond class or --cond none');
  const refusal = untrainableReason(model);
  if (refusal) throw new UsageError(refusal);
  const hyper = checkHyper({ ...preset.train, ...(a.batch ? { batchSize: a.batch } : {}), ...(a.lr ? { lr: a.lr } : {}) });
  const workers = a.workers ?? 2;
  const backend = (a.backend ?? 'wasm') as 'wasm' | 'cpu';

  // this thread only initialises weights and saves them unless --workers 0
  await startBackend(workers === 0 ? backend : 'cpu');

  const limit = <T extends { images: Uint8Array; labels: Uint8Array; count: number }>(set: T, n: number | undefined): T => {
    if (n === undefined || n >= set.count) return set;
    const px = set.images.length / set.count;
    return { ...set, images: set.images.subarray(0, n * px), labels: set.labels.subarray(0, n), count: n };
  };
  const trainSet = limit(loadMnist('train'), a['train-limit']);
  const valSet = limit(loadMnist('val'), a['val-limit']);

  const outDir = path.resolve(a.out!);
  const stateDir = a.state === undefined ? stateDirOf(a.out!) : path.resolve(a.state);
  const controller = new AbortController();
  // Ctrl-C reaches this process more than once (the terminal signals the whole process
  // group, and npm and tsx each pass it on), so repeats within 3 s count as one.
  let firstSignal = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    const now = Date.now();
    if (firstSignal === 0) {
      firstSignal = now;
      process.stderr.write(`\n${sig}: finishing this step, then writing the checkpoint and weights (again to quit at once)\n`);
      controller.abort();
    } else if (now - firstSignal > 3000) {
      process.stderr.write(`${sig}: quitting now; the last complete checkpoint is kept\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await train(
      { train: trainSet, val: valSet },
      {
        config: model,
        hyper,
        seed: a.seed ?? 0,
        modelDir: outDir,
        stateDir,
        epochs: a.epochs,
        minutes: a.minutes,
        resume: a.resume ?? false,
        workers,
        backend,
        checkpointMinutes: a['checkpoint-minutes'] ?? 5,
        valMinutes: a['val-minutes'] ?? 10,
        valSubset: a['val-subset'] ?? 500,
        progressSeconds: a['progress-seconds'] ?? 10,
        weightsDtype: (a.dtype ?? 'float32') as 'float32' | 'float16',
        signal: controller.signal,
        dataName: `mnist${a['train-limit'] ? `[:${a['train-limit']}]` : ''}`,
      },
    );
    console.log(
      JSON.stringify({
        stoppedBy: result.stoppedBy,
        step: result.progress.step,
        epochs: result.progress.epoch + result.progress.batchInEpoch / Math.floor(trainSet.count / hyper.batchSize),
        valBitsPerDim: result.progress.lastValBitsPerDim,
        imagesPerSecond: Math.round(result.imagesPerSecond * 10) / 10,
        model: outDir,
        state: stateDir,
      }),
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const benchSpec = {
  preset: { type: 'string', help: `named configuration (default mnist): ${presetNames().join(', ')}` },
  config: { type: 'string', help: 'JSON model config file instead of a preset' },
  batch: { type: 'int', min: 1, help: 'batch size (default from preset)' },
  workers: { type: 'int', min: 1, max: 16, help: 'worker threads (default 2)' },
  backend: workerBackend,
  steps: { type: 'int', min: 1, help: 'timed training steps per round (default 5)' },
  rounds: { type: 'int', min: 1, help: 'rounds of (training steps, conv2d yardstick); the best counts (default 3)' },
  'conv-seconds': { type: 'number', positive: true, help: 'seconds of the plain conv2d yardstick per round (default 3)' },
  trainer: {
    type: 'enum',
    values: ['wasm', 'torch', 'both'],
    help: 'what to time (default wasm): torch = the PyTorch trainer (training/), both = both, in alternating rounds',
  },
  json: { type: 'bool', help: 'print only the JSON result line' },
} satisfies FlagSpec;

const PYTHON_BENCH_HINT = 'apt-get install python3-torch (or set $PYTHON to a Python with torch)';

/** One round of the PyTorch trainer's step timing (python -m training.bench), images/s and what it ran on. */
function torchRound(python: string, configFile: string, batch: number, steps: number): { imagesPerSecond: number; threads: number; device: string; torch: string } {
  const root = path.resolve(import.meta.dirname, '../..');
  const r = spawnSync(python, ['-m', 'training.bench', '--config', configFile, '--batch', String(batch), '--steps', String(steps), '--json'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`bench:train --trainer torch: ${(r.stderr || r.error?.message || 'failed').trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export async function runBenchTrain(argv: string[]): Promise<void> {
  const a = parseArgs(argv, benchSpec);
  if (a.help) {
    process.stdout.write(usage('bench:train', '[--preset NAME | --config FILE] [--batch B] [--workers 2] [--steps N] [--rounds R] [--json]', benchSpec) + '\n');
    return;
  }
  const preset = choosePreset(a);
  const config = preset.model;
  const batch = a.batch ?? preset.train.batchSize;
  const workers = a.workers ?? 2;
  const steps = a.steps ?? 5;
  const rounds = a.rounds ?? 3;
  const trainer = a.trainer ?? 'wasm';
  const say = (s: string) => {
    if (!a.json) console.log(s);
  };
  const round2 = (v: number) => Math.round(v * 100) / 100;
  const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
  if (config.height !== 28 || config.width !== 28 || config.channels !== 1) {
    throw new UsageError(`bench:train runs on MNIST batches: the model must be 28x28x1 (it is ${config.height}x${config.width}x${config.channels})`);
  }
  // the PyTorch side: the same config and batch, each round a fresh process (its start-up and warm-up not timed)
  let torchBench: ((round: number) => void) | null = null;
  const torchIps: number[] = [];
  let torchInfo: Record<string, unknown> = {};
  if (trainer !== 'wasm') {
    const { findPython } = await import('../backend/python.mjs');
    const python = findPython();
    if (!python) throw new Error(`bench:train --trainer ${trainer}: no Python with torch found; ${PYTHON_BENCH_HINT}`);
    const configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-train-')), 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(config));
    torchBench = (r: number) => {
      const res = torchRound(python, configFile, batch, steps);
      torchIps.push(res.imagesPerSecond);
      torchInfo = { threads: res.threads, device: res.device, torch: res.torch };
      say(`  round ${r + 1}/${rounds}: PyTorch ${res.imagesPerSecond.toFixed(2)} images/s (${res.threads} threads, ${res.device})`);
    };
  }
  const torchResult = () => {
    const best = Math.max(...torchIps);
    return {
      trainer: 'torch',
      ...torchInfo,
      imagesPerSecondRounds: torchIps.map(round2),
      imagesPerSecond: round2(best),
      trainGflops: round2((best * trainFlopsPerImage(config)) / 1e9),
    };
  };
  if (trainer === 'torch') {
    say(`bench:train: PyTorch trainer, batch ${batch}, ${rounds} rounds of ${steps} steps`);
    for (let r = 0; r < rounds; r++) torchBench!(r);
    console.log(JSON.stringify({ config, batch, rounds, stepsPerRound: steps, forwardGflopPerImage: forwardFlopsPerImage(config) / 1e9, ...torchResult() }));
    return;
  }
  await startBackend('cpu');
  const engine = await WorkerEngine.create(config, workers, (a.backend ?? 'wasm') as 'wasm' | 'cpu');
  try {
    const p = initParams(config, 0);
    engine.params.set(flattenParams(engine.layout, p));
    disposeParams(p);
    const adam = new Adam(engine.layout.total);
    const grad = new Float32Array(engine.layout.total);
    const train = loadMnist('train');
    const D = config.height * config.width * config.channels;
    const images = new Uint8Array(batch * D);
    for (let i = 0; i < images.length; i++) images[i] = Math.floor((train.images[i % train.images.length] * config.levels) / 256);
    const labels = train.labels.slice(0, batch);
    const step = async () => {
      await engine.gradient(images, labels, 1 / (batch * D), grad);
      adam.step(engine.params, grad, 1e-4);
    };
    say(`bench:train: ${engine.layout.total} weights, batch ${batch}, ${workers} workers (${engine.backend}); warm-up...`);
    await step();
    await step();
    // Rounds of (timed training steps, then the conv2d yardstick on the same workers). Other
    // processes on the machine slow both down at random, so each figure is the best round.
    // With --trainer both, each round also times the PyTorch trainer right after.
    const shapes = modelConvShapes(config, Math.ceil(batch / workers));
    const ips: number[] = [];
    const conv: number[][] = [];
    const shardMs: number[][] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) {
        await step();
        shardMs.push(engine.lastShardMs);
      }
      ips.push((steps * batch) / ((performance.now() - t0) / 1000));
      conv.push(await engine.convBench(shapes, a['conv-seconds'] ?? 3));
      const sum = conv[r].reduce((x, y) => x + y, 0);
      say(`  round ${r + 1}/${rounds}: ${ips[r].toFixed(2)} images/s; plain conv2d ${sum.toFixed(1)} GFLOP/s over ${workers} workers`);
      torchBench?.(r);
    }
    const best = Math.max(...ips);
    const convSums = conv.map((c) => c.reduce((x, y) => x + y, 0));
    const bestConv = Math.max(...convSums);
    const trainGflops = (best * trainFlopsPerImage(config)) / 1e9;
    const meanShard = shardMs[0].map((_, w) => shardMs.reduce((acc, r) => acc + r[w], 0) / shardMs.length);
    const result = {
      config,
      batch,
      workers,
      backend: engine.backend,
      params: engine.layout.total,
      weightsMB: round2((engine.layout.total * 4) / 2 ** 20),
      forwardGflopPerImage: forwardFlopsPerImage(config) / 1e9,
      rounds,
      stepsPerRound: steps,
      imagesPerSecondRounds: ips.map(round2),
      forwardConvGflopsRounds: convSums.map(round2),
      workerMsPerStep: meanShard.map((v) => Math.round(v)),
      imagesPerSecond: round2(best),
      trainGflops: round2(trainGflops),
      forwardConvGflops: round2(bestConv),
      efficiency: Math.round((trainGflops / bestConv) * 1000) / 1000,
      medianEfficiency: Math.round((((median(ips) * trainFlopsPerImage(config)) / 1e9) / median(convSums)) * 1000) / 1000,
      ...(torchBench
        ? {
            torch: torchResult(),
            // PyTorch / TypeScript images/s, best round against best round and median against median
            torchSpeedup: round2(Math.max(...torchIps) / best),
            torchSpeedupMedian: round2(median(torchIps) / median(ips)),
          }
        : {}),
    };
    console.log(JSON.stringify(result));
  } finally {
    await engine.close();
  }
}
