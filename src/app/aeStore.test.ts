// The auto-encoder panel's store without a browser, through the same messages the page and
// the sampling worker exchange (fake workers): a source is encoded in the worker and its
// variations drawn from the code; a newer source or a model switch drops an older answer;
// a bad picture, an empty pad or a failed encode is one line and changes nothing; a morph
// draws one image per interpolated code in a strip.
import { beforeEach, describe, expect, it } from 'vitest';
import type { ModelInfo } from '../worker/protocol';
import { RANDOM_PRESETS } from '../worker/catalog';
import { frameDigit } from '../io/picture';
import { writeDigitExamples } from '../io/digitExamples';
import { interpolateCodes } from '../model/codes';
import { useStore } from './store';
import { toLevels } from './drawing';
import { gridLayout } from './paint';
import { connectFakes, settle } from './fakeWorkers';
import { MORPH_STEPS, examplesUrl, useAeStore } from './aeStore';

const config = RANDOM_PRESETS['random-ae-tiny'](); // 8x8, 16 levels, code 4
const info = (source = 'random-ae-tiny'): ModelInfo => ({ source, random: true, note: '', config, paramCount: 1, recommendedGuidance: 0, recommendedTemperature: 1 });
const initial = useStore.getState();
const initialAe = useAeStore.getState();
let w: ReturnType<typeof connectFakes>;
const ae = () => useAeStore.getState();
const generated = () => w.sampler.of('generate');
const encodes = () => w.sampler.of('encode');

/** A 28x28 test "digit": a bar, ink `v`. */
const digit28 = (v: number) => Uint8Array.from({ length: 784 }, (_, i) => (i % 28 >= 10 && i % 28 < 16 && i >= 112 && i < 672 ? v : 0));
const examplesFile = writeDigitExamples({ split: 'test', size: 28, examples: [0, 1, 2].map((label) => ({ label, index: 10 + label, pixels: digit28(100 + label * 50) })) });
const fakeFetch = (status: number, body = '') => (async () => new Response(body, { status })) as typeof fetch;

/** Answers the newest (or the given) encode with `code`. */
async function encoded(code: number[], reqId = w.sampler.last('encode').reqId) {
  w.sampler.say({ type: 'encoded', reqId, code: Float32Array.from(code), ms: 1, numTensors: 7 });
  await settle();
}

beforeEach(async () => {
  w?.close();
  useStore.setState(initial, true);
  useAeStore.setState(initialAe, true);
  w = connectFakes({ model: 'random-ae-tiny' });
  await w.loaded(w.sampler, info());
  await ae().loadExamples('random-ae-tiny', 8, 'http://test/models/', fakeFetch(200, examplesFile));
});

describe('examples', () => {
  it("are the model folder's examples.json; a random preset borrows models/mnist-ae's, framed at its size", async () => {
    expect(examplesUrl('mnist-ae', 'http://h/models/')).toBe('http://h/models/mnist-ae/examples.json');
    expect(examplesUrl('random-ae-tiny', 'http://h/models/')).toBe('http://h/models/mnist-ae/examples.json');
    const ex = ae().examples!;
    expect(ex.map((e) => e.label)).toEqual([0, 1, 2]);
    expect(Array.from(ex[1].pixels)).toEqual(Array.from(frameDigit(Float32Array.from(digit28(150)), 28, 28, 8)));
  });

  it('a missing or broken file is one line', async () => {
    await ae().loadExamples('mnist-ae', 28, 'http://test/models/', fakeFetch(404));
    expect(ae().examplesError).toBe('no bundled digits for this model (examples.json not found): use a picture or the pad');
    await ae().loadExamples('other', 28, 'http://test/models/', fakeFetch(200, '{"format": 1}'));
    expect(ae().examplesError).toBe('examples.json: expected "format": "pixelcnn-digit-examples"');
    expect(ae().examples).toBeNull();
  });
});

describe('a source', () => {
  it("is encoded in the worker (the model's levels), then its variations are drawn from its code", async () => {
    const pick = ae().pickExample(2);
    expect(ae().encoding).toBe('test digit 2 (#12)');
    const sent = w.sampler.last('encode');
    expect(sent.modelId).toBe(w.sampler.last('load').reqId);
    expect(Array.from(sent.image)).toEqual(Array.from(toLevels(ae().examples![2].pixels, 16, 1)));
    expect(generated()).toHaveLength(0); // nothing runs before the code is in
    await encoded([0.5, -0.5, 0.25, 0]);
    await pick;
    expect(ae().source).toMatchObject({ kind: 'example', label: 'test digit 2 (#12)' });
    expect(Array.from(ae().source!.code)).toEqual([0.5, -0.5, 0.25, 0]);
    expect(generated().at(-1)).toMatchObject({ condition: { kind: 'vector', values: [0.5, -0.5, 0.25, 0] }, count: 4 });
    expect(useStore.getState().live!.kind).toBe('sample');
  });

  it("a newer source replaces an older one still encoding: the older answer is dropped", async () => {
    void ae().pickExample(0);
    const first = w.sampler.last('encode').reqId;
    void ae().pickExample(1);
    expect(w.sampler.of('cancel').map((c) => c.reqId)).toContain(first);
    await encoded([1, 1, 1, 1], first); // late
    expect(ae().source).toBeNull();
    expect(generated()).toHaveLength(0);
    await encoded([0, 0, 0, 0.5]);
    expect(ae().source!.label).toBe('test digit 1 (#11)');
    expect(generated()).toHaveLength(1);
  });

  it('an answer for the model before a switch is dropped', async () => {
    void ae().pickExample(0);
    const asked = w.sampler.last('encode').reqId;
    useStore.getState().switchModel('random-tiny');
    await w.loaded(w.sampler, { ...info('random-tiny'), config: RANDOM_PRESETS['random-tiny']() });
    await encoded([1, 1, 1, 1], asked);
    expect(ae().source).toBeNull();
    expect(generated().filter((g) => g.condition.kind === 'vector')).toHaveLength(0);
  });

  it("a code is drawn again on the model that made it, never on another auto-encoder of the same code size", async () => {
    void ae().pickExample(0);
    await encoded([0.5, 0.5, 0.5, 0.5]);
    const runs = () => generated().filter((g) => g.condition.kind === 'vector').length;
    expect(runs()).toBe(1);
    useStore.getState().switchModel('other-ae');
    await w.loaded(w.sampler, info('other-ae')); // the same config, other weights
    expect(runs()).toBe(1);
    expect(useStore.getState().conditionVector).toBeNull();
    useStore.getState().switchModel('random-tiny');
    await w.loaded(w.sampler, { ...info('random-tiny'), config: RANDOM_PRESETS['random-tiny']() });
    useStore.getState().switchModel('random-ae-tiny');
    await w.loaded(w.sampler, info());
    expect(runs()).toBe(1); // the code was dropped on other-ae
    void ae().pickExample(1);
    await encoded([0, 0, 0, 0.5]);
    useStore.getState().switchModel('random-tiny');
    await w.loaded(w.sampler, { ...info('random-tiny'), config: RANDOM_PRESETS['random-tiny']() });
    useStore.getState().switchModel('random-ae-tiny');
    await w.loaded(w.sampler, info());
    expect(generated().at(-1)!.condition).toEqual({ kind: 'vector', values: [0, 0, 0, 0.5] }); // back on its own model: drawn again
  });

  it('a picture file is framed at the model size and encoded', async () => {
    const decode = async () => ({ data: Uint8ClampedArray.from({ length: 16 * 16 * 4 }, (_, i) => (i % 4 === 3 ? 255 : Math.floor(i / 4) % 16 === 7 ? 255 : 0)), width: 16, height: 16 });
    const up = ae().uploadPicture(new File(['x'], 'seven.png'), decode);
    await settle();
    expect(encodes()).toHaveLength(1);
    expect(encodes()[0].image).toHaveLength(64);
    await encoded([0.1, 0.2, 0.3, 0.4]);
    await up;
    expect(ae().source).toMatchObject({ kind: 'file', label: 'seven.png' });
  });

  it("a bad picture, a blank one, an empty pad and a failed encode are one line each and change nothing", async () => {
    void ae().pickExample(0);
    await encoded([0.5, 0.5, 0.5, 0.5]);
    const before = ae().source;
    const runs = generated().length;
    const broken = async () => {
      throw new Error('cannot decode');
    };
    await ae().uploadPicture(new File(['junk'], 'junk.png'), broken);
    expect(ae().error).toBe('picture "junk.png": not an image this browser can decode');
    const blank = async () => ({ data: new Uint8ClampedArray(8 * 8 * 4).fill(255), width: 8, height: 8 });
    await ae().uploadPicture(new File(['x'], 'white.png'), blank);
    expect(ae().error).toBe('picture "white.png": no ink found (a blank picture has no digit to encode)');
    await ae().useDrawing();
    expect(ae().error).toBe('the pad is empty: draw a digit first');
    expect(encodes()).toHaveLength(1);
    // the worker refuses an encode
    void ae().pickExample(1);
    w.sampler.say({ type: 'failed', reqId: w.sampler.last('encode').reqId, message: 'encode: the model has no encoder (config.encoder)', numTensors: 7 });
    await settle();
    expect(ae().error).toBe('test digit 1 (#11): encode: the model has no encoder (config.encoder)');
    expect(ae().source).toBe(before);
    expect(generated()).toHaveLength(runs);
    expect(useStore.getState().numTensors).toBe(10); // the load's count; a job's does not move the badge
  });

  it("the pad's drawing is framed as MNIST frames a digit, then encoded", async () => {
    const s = useStore.getState();
    s.beginStroke();
    s.strokeTo({ x: 1, y: 1 }, { x: 1, y: 3 });
    s.endStroke();
    const drawing = useStore.getState().draw.image.slice();
    const use = ae().useDrawing();
    await settle();
    const want = toLevels(frameDigit(Float32Array.from(drawing), 8, 8, 8, true), 16, 1);
    expect(Array.from(w.sampler.last('encode').image)).toEqual(Array.from(want));
    await encoded([0, 0.1, 0, 0.1]);
    await use;
    expect(ae().source).toMatchObject({ kind: 'drawing', label: 'your drawing' });
  });
});

describe('morph', () => {
  it("draws one image per step of the interpolated code, A to B, in a strip", async () => {
    ae().morph();
    expect(ae().error).toBe('morph: choose A and B first (each takes the current source)');
    void ae().pickExample(0);
    await encoded([1, 0, -1, 0]);
    ae().setMorphEnd('a');
    void ae().pickExample(1);
    await encoded([-1, 0, 1, 0.5]);
    ae().setMorphEnd('b');
    ae().morph();
    expect(ae().error).toBeNull();
    const run = generated().at(-1)!;
    const want = interpolateCodes(Float32Array.from([1, 0, -1, 0]), Float32Array.from([-1, 0, 1, 0.5]), MORPH_STEPS).map((c) => Array.from(c));
    expect(run.count).toBe(MORPH_STEPS);
    expect(run.condition).toEqual({ kind: 'vectors', values: want });
    const live = useStore.getState().live!;
    expect(live.kind).toBe('morph');
    expect(gridLayout(live)).toMatchObject({ cols: MORPH_STEPS, rows: 1 });
    // a setting changed repeats the morph, not the grid
    useStore.getState().update({ seed: 5 });
    expect(generated().at(-1)).toMatchObject({ count: MORPH_STEPS, seed: 5, condition: { kind: 'vectors' } });
  });
});
