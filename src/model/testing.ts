// Helpers shared by the tests of the model and of the layers above it.
import * as tf from '@tensorflow/tfjs';
import { makeConfig } from './config';
import { initParams } from './params';
import type { PixelCNN } from './types';

/** A small 10-class model config (6x6, 4 levels). */
export const CLASS_CONFIG = makeConfig({ height: 6, width: 6, levels: 4, hidden: 8, layers: 2, firstKernel: 3, headHidden: 8, conditioning: { type: 'class', classes: 10 } });

/**
 * A random model whose classes differ clearly: its conditioning weights are scaled up, so
 * each class shifts every gate by its own large bias, and its head's weights too, so the
 * distributions are peaked rather than near uniform. Untrained, but p(x | c) differs
 * enough between classes for a sample of class c to be more likely under c than under
 * the others (on average it must be: the expected log-ratio is a KL divergence >= 0).
 * (Measured with seed 7: 7 of 30 samples guessed right as initialised, 26 so scaled.)
 */
export function distinctClasses(seed: number, condScale: number, headScale = 4): PixelCNN {
  const params = initParams(CLASS_CONFIG, seed);
  for (const name of Object.keys(params)) {
    const s = name.endsWith('_cond') ? condScale : /^head\/w/.test(name) ? headScale : 1;
    if (s !== 1) {
      const old = params[name];
      params[name] = tf.mul(old, s);
      old.dispose();
    }
  }
  return { config: CLASS_CONFIG, params };
}
