// Named model + training configurations. `mnist` is the shipped model; `tiny` and
// `mnist-tiny` keep tests and smoke runs to seconds.
import { DEFAULT_CONFIG, makeConfig, type ModelConfig } from '../model';

export interface TrainHyper {
  batchSize: number;
  /** peak learning rate (Adam) */
  lr: number;
  /** linear warm-up from 0 over this many updates */
  warmupSteps: number;
  /** final learning rate as a fraction of lr at the end of a cosine decay (when the run length is known) */
  lrFinalFraction: number;
  /** global gradient-norm clip (0: none) */
  clipNorm: number;
}

export interface Preset {
  model: ModelConfig;
  train: TrainHyper;
}

const DEFAULT_TRAIN: TrainHyper = { batchSize: 32, lr: 1e-3, warmupSteps: 200, lrFinalFraction: 0.05, clipNorm: 1 };

export const PRESETS: Record<string, () => Preset> = {
  /** tests: 8x8, 3 layers, 16 levels; a training step takes milliseconds */
  tiny: () => ({
    model: makeConfig({
      height: 8,
      width: 8,
      channels: 1,
      levels: 16,
      hidden: 8,
      layers: 3,
      firstKernel: 3,
      kernel: 3,
      headHidden: 16,
      conditioning: { type: 'class', classes: 10 },
    }),
    train: { ...DEFAULT_TRAIN, batchSize: 8, lr: 3e-3, warmupSteps: 0 },
  }),
  /** CLI smoke runs and tests on real MNIST: 28x28, 256 levels, but only 2 narrow layers */
  'mnist-tiny': () => ({
    model: makeConfig({
      height: 28,
      width: 28,
      channels: 1,
      levels: 256,
      hidden: 8,
      layers: 2,
      firstKernel: 7,
      kernel: 3,
      headHidden: 16,
      conditioning: { type: 'class', classes: 10 },
    }),
    train: { ...DEFAULT_TRAIN, batchSize: 8, lr: 3e-3, warmupSteps: 0 },
  }),
  /**
   * The shipped model's base: class-conditional Gated PixelCNN on 28x28 8-bit MNIST, 188k
   * weights (0.72 MB float32); models/mnist was trained as this and then grown by three
   * dilated layers (`mnist-dilated`, `npm run grow`; its card has the commands). `npm run bench:train` on the shared 2-core machine (other jobs
   * running): 10-22 images/s with 2 workers at batch 32 (batch 64 was no faster per image);
   * hidden 48 (2.2x the FLOPs) measured 0.56x the speed back to back; 12 layers has 1.5x the
   * FLOPs (its measurement was lost in the noise). A two-hour run sees only ~1-2 epochs,
   * so the cheaper model was kept.
   */
  mnist: () => ({
    model: makeConfig({ ...DEFAULT_CONFIG, conditioning: { type: 'class', classes: 10 } }),
    train: { ...DEFAULT_TRAIN },
  }),
  /**
   * The shipped model's architecture: `mnist` plus three layers dilated 2, 4 and 8, so a
   * pixel's field reaches 24 pixels up and aside instead of 10 (the whole digit) for 1.37x
   * the weights. For training it from scratch; models/mnist itself was grown into it from
   * a trained `mnist` run.
   */
  'mnist-dilated': () => {
    const base = PRESETS.mnist();
    return { ...base, model: makeConfig({ ...base.model, layers: 11, dilations: [1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8] }) };
  },
  /** the mnist trunk with a 5-component discretized logistic mixture output (PixelCNN++) instead of the 256-way softmax */
  'mnist-logistic': () => {
    const base = PRESETS.mnist();
    return { ...base, model: makeConfig({ ...base.model, output: { type: 'logistic', mixtures: 5 } }) };
  },
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

export function getPreset(name: string): Preset {
  const make = PRESETS[name];
  if (!make) throw new Error(`preset "${name}" not found (known: ${presetNames().join(', ')})`);
  return make();
}
