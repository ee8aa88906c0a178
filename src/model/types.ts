import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';

/** Named weight tensors; names and shapes are given by paramShapes(config). */
export type Params = Record<string, tf.Tensor>;

/** A model is its config plus its weights: nothing else is needed to run it. */
export interface PixelCNN {
  config: ModelConfig;
  params: Params;
}

/** What a model is conditioned on, per image of a batch. */
export interface Condition {
  /** class label per image (config.conditioning.type === 'class') */
  labels?: number[];
  /** one vector of length dim per image, or one shared by all (type === 'vector') */
  embeddings?: Float32Array[];
  /**
   * true selects the null condition for that image (one flag per image, or one for all);
   * its label / embedding is then ignored and may be absent. Only for a nullable model.
   */
  unconditional?: boolean[];
}
