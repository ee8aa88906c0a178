// The worker's side of an auto-encoder's 'encode' request: a picture's code, read back
// with every tensor released (the tensors badge stays flat across encodes).
import * as tf from '@tensorflow/tfjs';
import { encodeImages } from '../model';
import type { PixelCNN } from '../model';
import type { EncodeRequest, EncodeResult } from './protocol';

export async function encodePicture(m: PixelCNN, req: EncodeRequest): Promise<EncodeResult> {
  const t0 = performance.now();
  // encodeImages names a model without an encoder and a picture of the wrong size in one line
  const [code] = await encodeImages(m, req.image, 1);
  return { type: 'encoded', reqId: req.reqId, code, ms: performance.now() - t0, numTensors: tf.memory().numTensors };
}
