// npm run grow -- --from STATE_DIR --out DIR --dilations 2,4,8 [--lr PEAK] [--seed S] [--dtype float16]
//
// Appends layers (one per dilation) to a training run's checkpoint without changing what
// the model computes (src/train/grow.ts), and writes a new run beside DIR:
//   DIR/              the grown model's weights (same logits as the old model)
//   DIR.train/        checkpoint.bin, train.log, config.json
// Training continues with
//   npm run train -- --data mnist --config DIR.train/config.json --out DIR --resume --epochs E
import fs from 'node:fs';
import path from 'node:path';
import { saveModel } from '../io/weightsNode.ts';
import { parseArgs, parseIntList, usage, type FlagSpec } from './args.ts';
import { startBackend, stateDirOf } from './common.ts';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from '../train/checkpoint.ts';
import { CHECKPOINT_FILE, LOG_FILE } from '../train/trainer.ts';
import { paramLayout, unflattenParams } from '../train/gradient.ts';
import { growCheckpoint } from '../train/grow.ts';
import { disposeParams, reachOf } from '../model';

const spec = {
  from: { type: 'string', required: true, help: 'training state folder holding checkpoint.bin (e.g. models/mnist.train)' },
  out: { type: 'string', required: true, help: 'model folder of the grown run (its state goes to <out>.train)' },
  dilations: { type: 'string', required: true, help: 'dilation of each new layer, comma-separated, e.g. 2,4,8' },
  seed: { type: 'int', min: 0, help: 'seed of the new layers\' initial weights (default 1)' },
  lr: { type: 'number', positive: true, help: 'peak learning rate of the restarted schedule (default: the run\'s own)' },
  dtype: { type: 'enum', values: ['float32', 'float16'], help: 'storage precision of the saved weights (default float32)' },
} satisfies FlagSpec;

export async function runGrow(argv: string[]): Promise<void> {
  const a = parseArgs(argv, spec);
  if (a.help) {
    process.stdout.write(usage('grow', '--from STATE_DIR --out DIR --dilations 2,4,8 [--lr PEAK] [--seed S] [--dtype float16]', spec) + '\n');
    return;
  }
  const dilations = parseIntList('dilations', a.dilations!, 1);
  const fromFile = path.join(path.resolve(a.from!), CHECKPOINT_FILE);
  if (!fs.existsSync(fromFile)) throw new Error(`--from: no checkpoint at ${fromFile}`);
  const outDir = path.resolve(a.out!);
  const stateDir = stateDirOf(outDir);
  const ckptFile = path.join(stateDir, CHECKPOINT_FILE);
  if (fs.existsSync(ckptFile)) throw new Error(`${ckptFile} exists: grow into a new --out`);

  await startBackend('cpu');
  const old = loadCheckpoint(fromFile);
  const grown = growCheckpoint(old, dilations, a.seed ?? 1, a.lr);
  const config = grown.header.config;

  // weights first (saveModel refuses odd folders before anything is written), then state
  const layout = paramLayout(config);
  const tensors = unflattenParams(layout, grown.params);
  try {
    await saveModel(outDir, { config, params: tensors }, {
      dtype: (a.dtype ?? 'float32') as 'float32' | 'float16',
      metadata: { grownFrom: fromFile, trainedSteps: grown.header.progress.step, seed: grown.header.seed },
    });
  } finally {
    disposeParams(tensors);
  }
  fs.mkdirSync(stateDir, { recursive: true });
  saveCheckpoint(ckptFile, grown);
  writeFileAtomic(path.join(stateDir, 'config.json'), JSON.stringify({ model: config, train: grown.header.hyper }, null, 1) + '\n');
  const reach = Array.from({ length: config.layers }, (_, l) => reachOf(config, l)).reduce((x, y) => x + y, 0);
  const event = {
    time: new Date().toISOString(),
    event: 'grow',
    from: fromFile,
    step: grown.header.progress.step,
    addedLayers: dilations.length,
    dilations: config.dilations,
    weights: { before: old.params.length, after: grown.params.length },
    lr: grown.header.hyper.lr,
    reach,
  };
  fs.appendFileSync(path.join(stateDir, LOG_FILE), JSON.stringify(event) + '\n');
  process.stderr.write(
    `grown: ${config.layers - dilations.length} -> ${config.layers} layers (dilations ${config.dilations!.join(',')}), ` +
      `${old.params.length} -> ${grown.params.length} weights, reach ${reach} pixels; continue with\n` +
      `  npm run train -- --data mnist --config ${path.join(stateDir, 'config.json')} --out ${outDir} --resume --epochs E\n`,
  );
  process.stdout.write(JSON.stringify(event) + '\n');
}
