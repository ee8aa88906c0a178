// The conditioning terms, packed into the flat buffer the kernels read (condIndex).
import * as tf from '@tensorflow/tfjs';
import { condTensor, condTerms, maskedWeights } from '../../model';
import type { Condition, PixelCNN } from '../../model';
import type { CondInfo } from './layout';

/** Conditioning terms as [N, (H, W,)? L, 2, 2p]: v_cond then h_cond per layer (condIndex reads it). */
export function packCond(model: PixelCNN, count: number, condition: Condition | undefined): { info: CondInfo; t: tf.Tensor1D } {
  const { config } = model;
  if (config.conditioning.type === 'none') return { info: { kind: 'none' }, t: tf.zeros([1]) };
  const kind = config.conditioning.spatial === true ? 'spatial' : 'global';
  const t = tf.tidy(() => {
    const masked = maskedWeights(config, model.params);
    const h = condTensor(config, condition, count);
    const terms = condTerms(config, masked, h);
    const perLayer: tf.Tensor[] = [];
    for (let l = 0; l < config.layers; l++) {
      perLayer.push(tf.stack([terms[`l${l}/v_cond`], terms[`l${l}/h_cond`]], 3)); // [N, h, w, 2, 2p]
    }
    const all = tf.stack(perLayer, 3); // [N, h, w, L, 2, 2p]
    return tf.reshape(all, [-1]) as tf.Tensor1D;
  });
  return { info: { kind }, t };
}
