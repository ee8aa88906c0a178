// The wire's conditions as the worker hands them to the sampler: a morph's one vector per
// image draws, for each image, what a run of that image's vector alone draws at the same
// seed; the one-line refusals; and the 'encode' request's code and tensors.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node';
import { initParams, type PixelCNN } from '../model';
import { makeConfig } from '../model';
import { encodeImages } from '../model';
import { sample } from '../sampler';
import { RANDOM_PRESETS } from './catalog';
import { samplerCondition } from './condition';
import { encodePicture } from './encode';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const ae: PixelCNN = (() => {
  const config = RANDOM_PRESETS['random-ae-tiny']();
  return { config, params: initParams(config, 3) };
})();
const D = 4;
const a = [0.9, -0.9, 0.9, -0.9];
const b = [-0.9, 0.9, -0.9, 0.9];

async function draw(m: PixelCNN, values: number[][]): Promise<Uint8Array> {
  const condition = samplerCondition(m, { kind: 'vectors', values }, values.length);
  return sample(m, { count: values.length, seed: 11, condition, mode: 'cached' });
}

describe('samplerCondition', () => {
  it('one vector per image: image i is drawn from vector i (the same pixels as a run of that vector alone)', async () => {
    const per = ae.config.height * ae.config.width;
    const ab = await draw(ae, [a, b]);
    const aa = await draw(ae, [a, a]);
    const bb = await draw(ae, [b, b]);
    expect(Array.from(ab.subarray(0, per))).toEqual(Array.from(aa.subarray(0, per)));
    expect(Array.from(ab.subarray(per))).toEqual(Array.from(bb.subarray(per)));
    // and the two codes draw different images, so the check above can fail
    expect(Array.from(aa.subarray(per))).not.toEqual(Array.from(bb.subarray(per)));
  });

  it('passes the vectors through in order and refuses a count or kind that does not fit, in one line', () => {
    expect(samplerCondition(ae, { kind: 'vectors', values: [a, b] }, 2)).toEqual({ embeddings: [Float32Array.from(a), Float32Array.from(b)] });
    expect(() => samplerCondition(ae, { kind: 'vectors', values: [a, b] }, 3)).toThrow('condition: got 2 vectors for 3 images');
    const classModel = { config: makeConfig({ height: 2, width: 2, levels: 4, hidden: 4, layers: 1, headHidden: 4, conditioning: { type: 'class', classes: 3 } }), params: {} };
    expect(() => samplerCondition(classModel, { kind: 'vectors', values: [a] }, 1)).toThrow('this model is conditioned on a class, not a vector');
    // a vector of the wrong length is the model's own one-line refusal when the run starts
    const bad = draw(ae, [a, [1, 2]]);
    return expect(bad).rejects.toThrow(`condition: embedding has length 2, expected ${D}`);
  });
});

describe('encodePicture', () => {
  it("answers the encoder's code of the picture and leaves no tensor behind", async () => {
    const image = Uint8Array.from({ length: 64 }, (_, i) => (i * 7) % 16);
    const before = tf.memory().numTensors;
    const answer = await encodePicture(ae, { type: 'encode', reqId: 5, modelId: 1, image });
    expect(answer.numTensors).toBe(before);
    expect(tf.memory().numTensors).toBe(before);
    expect(answer).toMatchObject({ type: 'encoded', reqId: 5 });
    const [want] = await encodeImages(ae, image, 1);
    expect(Array.from(answer.code)).toEqual(Array.from(want));
    expect(answer.code).toHaveLength(D);
  });

  it('a picture of the wrong size, or a model without an encoder, is one line', async () => {
    await expect(encodePicture(ae, { type: 'encode', reqId: 1, modelId: 1, image: new Uint8Array(10) })).rejects.toThrow('encode: 1 image(s) of 8x8x1 need 64 values, got 10');
    const plain = RANDOM_PRESETS['random-tiny']();
    const m = { config: plain, params: initParams(plain, 1) };
    await expect(encodePicture(m, { type: 'encode', reqId: 1, modelId: 1, image: new Uint8Array(64) })).rejects.toThrow('encode: the model has no encoder (config.encoder)');
  });
});
