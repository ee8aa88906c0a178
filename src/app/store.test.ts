import { beforeEach, describe, expect, it } from 'vitest';
import { makeConfig } from '../model/config';
import type { GenerateRequest, ModelInfo, PixelBatch } from '../worker/protocol';
import { canDraw, drawingModel, pickedName, startError, useStore } from './store';
import { readUrl } from './url';
import { statusWord } from './components/Progress';
import { connectFakes, settle, type FakeWorker } from './fakeWorkers';

const config = makeConfig({ height: 2, width: 3, levels: 4, hidden: 4, layers: 1, headHidden: 4, conditioning: { type: 'class', classes: 10 } });
const info = (source: string, c = config, recommendedGuidance = 0, recommendedTemperature = 1): ModelInfo => ({ source, random: true, note: '', config: c, paramCount: 1, recommendedGuidance, recommendedTemperature });
const initial = useStore.getState();
let w: ReturnType<typeof connectFakes>;

/** A fresh page whose first model `model` the sampler and then the scorer have loaded. */
async function page(model = info('test', config, 1.5), settings: Partial<typeof initial.settings> = {}) {
  w?.close();
  useStore.setState({ ...initial, settings: { ...initial.settings, ...settings } }, true);
  w = connectFakes({ model: model.source });
  w.sampler.say({ type: 'backend', backend: { name: 'cpu', skipped: [{ name: 'webgpu', reason: 'none here' }] } });
  await w.loaded(w.sampler, model);
  if (w.scorerStarted()) await w.loaded(w.scorer, model);
}

const generated = () => w.sampler.of('generate');
const lastRun = () => w.sampler.last('generate');
const scores = () => w.scorer.of('score');
const st = () => useStore.getState();

beforeEach(async () => {
  await page();
});

/** A batch of sub-pixels start.. of `count` images: entropy 0.5 + slot, top levels (slot % 4, 1, 2), image `watch`'s last distribution one-hot on its level. */
const batchOf = (reqId: number, start: number, values: number[], count: number, watch = 0): PixelBatch => {
  const n = values.length / count;
  const probs = new Float32Array(4);
  probs[values[(n - 1) * count + watch]] = 1;
  return {
    type: 'pixels', reqId, start, values: Uint8Array.from(values),
    entropy: Float32Array.from(values, (_, slot) => 0.5 + slot),
    top: Uint16Array.from({ length: values.length * 3 }, (_, j) => (j % 3 === 0 ? Math.floor(j / 3) % 4 : j % 3)),
    topP: Float32Array.from({ length: values.length * 3 }, (_, j) => [0.5, 0.3, 0.1][j % 3]),
    watch, probs, done: start + n, total: 6, elapsedMs: 1,
  };
};
const pixels = (reqId: number, start: number, values: number[], count: number, watch = 0) => w.sampler.say(batchOf(reqId, start, values, count, watch));
const ended = async (worker: FakeWorker, reqId: number, type: 'done' | 'stopped', numTensors = 10) => {
  worker.say(type === 'done' ? { type, reqId, elapsedMs: 5, numTensors } : { type, reqId, numTensors });
  await settle();
};

describe('store', () => {
  it('says compiling while a WebGPU run compiles its kernels; a GPU fault ends the run stopped with its pixels, one line, and the header on wasm', async () => {
    const before = st().liveTick;
    st().pick(3);
    // a run's start draws nothing until its first pixels, or until it says it is compiling
    expect(st().liveTick).toBe(before);
    const reqId = lastRun().reqId;
    w.sampler.say({ type: 'started', reqId });
    w.sampler.say({ type: 'compiling', reqId });
    await settle();
    expect(statusWord(st())).toBe('compiling');
    expect(st().liveTick).toBe(before + 1);
    pixels(reqId, 0, [1, 2, 3, 0], 4);
    await settle();
    expect(statusWord(st())).toBe('running');
    w.sampler.say({ type: 'fault', reqId, message: 'the GPU device was lost: gone' });
    w.sampler.say({ type: 'backend', backend: { name: 'wasm', skipped: [{ name: 'webgpu', reason: 'GPU fault mid-run: the GPU device was lost: gone' }] } });
    // the run's final answer carries its GPU traffic; the store keeps it with the run
    const gpu = { readbacks: 1, submits: 3, launches: 5, compileMs: 12 };
    w.sampler.say({ type: 'stopped', reqId, numTensors: 10, gpu });
    await settle();
    expect(st().live?.gpu).toEqual(gpu);
    expect(st().status).toBe('stopped');
    expect(st().runMessage).toBe('the GPU device was lost: gone');
    expect(Array.from(st().live!.image.subarray(0, 1))).toEqual([1]);
    expect(st().backend?.name).toBe('wasm');
    expect(st().backend?.skipped[0].reason).toMatch(/^GPU fault mid-run/);
  });

  it('picking a class asks the worker for a run with the current settings, on the model it holds', async () => {
    useStore.setState({ settings: { label: null, count: 4, seed: 9, temperature: 0.5, guidance: 2, speed: 0 } });
    st().pick(3);
    const modelId = w.sampler.last('load').reqId;
    expect(generated()).toEqual([{ type: 'generate', reqId: expect.any(Number), modelId, condition: { kind: 'class', label: 3 }, guidance: 2, count: 4, seed: 9, temperature: 0.5, delayMs: 0, watch: 0 }]);
    expect(st().status).toBe('running');
  });

  it('writes pixels of the current run into the grid and drops those of a replaced run', async () => {
    useStore.setState({ settings: { label: null, count: 4, seed: 1, temperature: 1, guidance: 0, speed: 0 } });
    st().pick(1);
    const first = lastRun().reqId;
    st().pick(2); // replaces it
    const second = lastRun().reqId;
    expect(w.sampler.of('cancel')).toEqual([{ type: 'cancel', reqId: first }]);
    pixels(first, 0, [3, 3, 3, 3], 4); // a late message of the first run
    pixels(second, 0, [1, 2, 0, 3, 3, 2, 1, 0], 4); // sub-pixels 0 and 1 of the 4 images
    const live = st().live!;
    // [image][sub-pixel]: image i holds values[0 * 4 + i], values[1 * 4 + i], then undecided zeros
    expect(Array.from(live.image)).toEqual([1, 3, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0]);
    expect(live.done).toBe(2);
    // each image's entropy and top three land at its own sub-pixels; undrawn ones stay NaN
    expect(Array.from(live.entropy.subarray(6, 12))).toEqual([1.5, 5.5, NaN, NaN, NaN, NaN]);
    expect(Array.from(live.top.subarray(6 * 3, 6 * 3 + 6))).toEqual([1, 1, 2, 1, 1, 2]);
    expect(live.topP[3 * 6 * 3 + 1]).toBeCloseTo(0.3);
    // the chart holds the batch's last sub-pixel of the watched image
    expect([live.probsOf, live.probsAt, Array.from(live.probs)]).toEqual([0, 1, [0, 0, 0, 1]]);
    // selecting another image tells the running run to follow it
    st().setFocus(2);
    expect(w.sampler.sent.at(-1)).toEqual({ type: 'watch', reqId: second, image: 2 });
    pixels(second, 2, [0, 1, 2, 3], 4, 2);
    expect([live.probsOf, live.probsAt, Array.from(live.probs)]).toEqual([2, 2, [0, 0, 1, 0]]);
    await ended(w.sampler, first, 'done', 99);
    expect(st().status).toBe('running');
    await ended(w.sampler, second, 'done', 7);
    expect(st().status).toBe('done');
    expect(st().numTensors).toBe(7);
  });

  it("a run's last pixels, carried by its 'done' answer, are in the picture when the status says done", async () => {
    useStore.setState({ settings: { label: null, count: 4, seed: 1, temperature: 1, guidance: 0, speed: 0 } });
    st().pick(4);
    const reqId = lastRun().reqId;
    pixels(reqId, 0, [1, 2, 0, 3], 4);
    const seen: number[] = [];
    const unsubscribe = useStore.subscribe((s) => {
      if (s.status === 'done') seen.push(s.live!.done);
    });
    // sub-pixels 1..5 of the 4 images: image i's level at sub-pixel k is (k + i) % 4
    const rest = Array.from({ length: 5 * 4 }, (_, j) => (Math.floor(j / 4) + 1 + (j % 4)) % 4);
    w.sampler.say({ type: 'done', reqId, elapsedMs: 5, numTensors: 10, last: batchOf(reqId, 1, rest, 4) });
    await settle();
    unsubscribe();
    expect(st().status).toBe('done');
    // the first state that says done already holds all six sub-pixels
    expect(seen[0]).toBe(6);
    expect(Array.from(st().live!.image.subarray(6, 12))).toEqual([2, 2, 3, 0, 1, 2]);
  });

  it('changing a setting restarts a finished picture; speed goes to the running one', async () => {
    st().pick(5);
    const run = lastRun().reqId;
    st().setSpeed(3);
    expect(w.sampler.sent.at(-1)).toEqual({ type: 'speed', reqId: run, delayMs: 40 });
    await ended(w.sampler, run, 'done');
    st().update({ temperature: 0.8 });
    expect(w.sampler.sent.at(-1)).toMatchObject({ type: 'generate', condition: { kind: 'class', label: 5 }, temperature: 0.8 });
  });

  it('pause, resume and stop address the current run only while it runs', async () => {
    st().pause();
    expect(w.sampler.of('pause')).toEqual([]);
    st().pick(0);
    const run = lastRun().reqId;
    st().pause();
    w.sampler.say({ type: 'paused', reqId: run });
    expect(st().status).toBe('paused');
    st().resume();
    st().stop();
    expect(w.sampler.sent.slice(-3)).toEqual([{ type: 'pause', reqId: run }, { type: 'resume', reqId: run }, { type: 'cancel', reqId: run }]);
    expect(st().status).toBe('stopped');
    // the stopped run's answer still says how many tensors are left
    await ended(w.sampler, run, 'stopped', 12);
    expect(st().numTensors).toBe(12);
  });

  it('a first model that fails to load is shown with its message, and no model draws', async () => {
    w.close();
    useStore.setState(initial, true);
    w = connectFakes({ model: 'x' });
    expect(st().model).toEqual({ kind: 'loading', name: 'x' });
    expect(statusWord(st())).toBe('loading');
    await w.loadFailed(w.sampler, 'model "x": model.json is not valid JSON');
    expect(startError(st())).toContain('not valid JSON');
    expect(statusWord(st())).toBe('error');
    expect(w.scorerStarted()).toBe(false);
  });

  it('a sampling worker that dies fails its load with one line', async () => {
    w.close();
    useStore.setState(initial, true);
    w = connectFakes({ model: 'x' });
    w.sampler.crash('SyntaxError: bad');
    await settle();
    expect(startError(st())).toBe('sampling worker failed: SyntaxError: bad');
  });
});

describe('drawing, completing, scoring', () => {
  // the test model is 2 x 3 with 4 levels
  const scoreOf = async (reqId: number, logp: number[]) => {
    w.scorer.say({ type: 'score', reqId, classes: 10, logp: Float32Array.from(logp), ms: 3, numTensors: 0 });
    await settle();
  };

  it("the model's recommended guidance and temperature are the defaults, and a link's own values win", async () => {
    expect(st().settings.guidance).toBe(1.5);
    await page(info('t', config, 3, 0.8), { guidance: 0.5 });
    expect(st().settings.guidance).toBe(0.5);
    // the temperature the link did not set is the model's recommendation, and reaches the worker
    expect(st().settings.temperature).toBe(0.8);
    await page(info('t', config, 3, 0.8), { temperature: 1.2 });
    expect(st().settings).toMatchObject({ temperature: 1.2, guidance: 3 });
  });

  it('a stroke paints the pad, asks for a score when it ends, and undo takes it back', () => {
    expect(st().draw.width).toBe(3);
    expect(st().draw.height).toBe(2);
    st().beginStroke();
    st().strokeTo({ x: 0.5, y: 0.5 }, { x: 2.5, y: 0.5 });
    expect(Array.from(st().draw.image.subarray(0, 3))).toEqual([255, 255, 255]);
    expect(scores()).toEqual([]); // not while drawing
    st().endStroke();
    expect(scores().length).toBe(1);
    // 8-bit grey -> the model's 4 levels: 255 -> 3; asked of the model the scorer loaded
    expect(Array.from(scores()[0].image.subarray(0, 3))).toEqual([3, 3, 3]);
    expect(scores()[0].modelId).toBe(w.scorer.last('load').reqId);
    expect(st().draw.canUndo).toBe(true);
    st().undoDrawing();
    expect(Array.from(st().draw.image)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(st().draw.inked).toBe(false);
  });

  it('the scorer loads once the sampler has the model; a drawing made before is scored then; its failure is one line', async () => {
    w.close();
    useStore.setState(initial, true);
    w = connectFakes({ model: 'test' });
    await w.loaded(w.sampler, info('test'));
    expect(w.scorer.of('load').map((m) => m.model)).toEqual(['test']);
    st().loadDrawing(Uint8Array.from([0, 255, 0, 0, 0, 0]), null);
    expect(scores()).toEqual([]);
    await w.loaded(w.scorer, info('test'));
    expect(scores().length).toBe(1);
    // a scorer with no backend: every load fails with why
    w.close();
    useStore.setState(initial, true);
    w = connectFakes({ model: 'test' });
    await w.loaded(w.sampler, info('test'));
    await w.loadFailed(w.scorer, 'no tfjs backend started in this worker: wasm failed');
    expect(canDraw(st())).toBe(true); // the page still samples
    expect(st().draw.scoreError).toBe('no scores: no tfjs backend started in this worker: wasm failed');
  });

  it('a score gives bits/dim per class and p(class | drawing) summing to 1; a stale answer is dropped', async () => {
    st().loadDrawing(Uint8Array.from([0, 255, 0, 0, 255, 0]), null);
    const first = scores().at(-1)!.reqId;
    // class k: every sub-pixel has log p = -(k + 1) / 6 nats, so the image has -(k+1) nats
    const logp = Array.from({ length: 10 * 6 }, (_, i) => -(Math.floor(i / 6) + 1) / 6);
    await scoreOf(first, logp);
    const score = st().draw.score!;
    expect(score.probs!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(score.probs![0] / score.probs![1]).toBeCloseTo(Math.E, 6);
    expect(score.bitsPerDim[0]).toBeCloseTo(1 / 6 / Math.LN2, 6);
    // the drawing changes while its next score is on the way: the older answer is not shown
    st().beginStroke();
    st().strokeTo({ x: 0.5, y: 1.5 }, { x: 0.5, y: 1.5 });
    st().endStroke();
    const second = scores().at(-1)!.reqId;
    st().loadDrawing(Uint8Array.from([255, 0, 0, 0, 0, 0]), null);
    await scoreOf(second, logp.map((v) => v * 2));
    expect(st().draw.score).toBe(score);
  });

  it('frame centres and scales the drawing as MNIST does, and undo takes it back', async () => {
    const big = makeConfig({ height: 28, width: 28, levels: 4, hidden: 4, layers: 1, headHidden: 4, conditioning: { type: 'class', classes: 10 } });
    await page(info('t', big));
    st().beginStroke();
    st().strokeTo({ x: 2, y: 2 }, { x: 2, y: 8 }); // a short bar in the top-left corner
    const drawn = st().draw.image.slice();
    st().frameDrawing();
    const framed = st().draw.image;
    const rows = new Set<number>();
    let mx = 0, m = 0;
    framed.forEach((v, i) => {
      if (v > 0) rows.add(Math.floor(i / 28));
      mx += v * ((i % 28) + 0.5);
      m += v;
    });
    expect(rows.size).toBeGreaterThanOrEqual(19); // scaled up to the 20-pixel box
    expect(Math.abs(mx / m - 14)).toBeLessThan(1.5); // centred
    st().undoDrawing();
    expect(st().draw.image).toEqual(drawn);
  });

  it('a picture that fails to load leaves the drawing as it was', () => {
    st().loadDrawing(Uint8Array.from([9, 9, 9, 9, 9, 9]), 'inverted');
    st().pictureFailed('picture "x.txt": not an image this browser can decode');
    const d = st().draw;
    expect(Array.from(d.image)).toEqual([9, 9, 9, 9, 9, 9]);
    expect(d.pictureError).toMatch(/not an image/);
    st().loadDrawing(new Uint8Array(5), null);
    expect(Array.from(st().draw.image)).toEqual([9, 9, 9, 9, 9, 9]);
  });

  it('complete sends the kept rows as a prefix and starts the picture from them', async () => {
    useStore.setState({ settings: { label: 4, count: 4, seed: 5, temperature: 1, guidance: 0, speed: 0 } });
    st().loadDrawing(Uint8Array.from([255, 128, 0, 64, 255, 255]), null);
    st().setKeepRows(1);
    st().complete();
    const gen = lastRun();
    expect(gen.condition).toEqual({ kind: 'class', label: 4 });
    expect(gen.prefix!.length).toBe(3);
    expect(Array.from(gen.prefix!.values)).toEqual([3, 2, 0, 1, 3, 3]);
    const live = st().live!;
    expect(live.kind).toBe('complete');
    expect(live.done).toBe(3);
    expect(live.given).toBe(3);
    // every image starts with the kept row; the rest is undecided
    for (let i = 0; i < 4; i++) expect(Array.from(live.image.subarray(i * 6, i * 6 + 6))).toEqual([3, 2, 0, 0, 0, 0]);
    // pixels after the prefix land after it
    pixels(gen.reqId, 3, [1, 1, 1, 1], 4);
    expect(Array.from(live.image.subarray(0, 6))).toEqual([3, 2, 0, 1, 0, 0]);
    // a setting change repeats the completion, not a plain sample
    await ended(w.sampler, gen.reqId, 'done');
    st().update({ temperature: 0.9 });
    expect(w.sampler.sent.at(-1)).toMatchObject({ type: 'generate', temperature: 0.9, prefix: { length: 3 } });
    // keepRows stays inside the picture
    st().setKeepRows(9);
    expect(st().draw.keepRows).toBe(2);
  });

  it('complete without a picked class uses the best guess', async () => {
    st().loadDrawing(Uint8Array.from([0, 255, 0, 0, 255, 0]), null);
    await scoreOf(scores().at(-1)!.reqId, Array.from({ length: 60 }, (_, i) => (Math.floor(i / 6) === 7 ? -0.1 : -1)));
    st().complete();
    expect(st().settings.label).toBe(7);
    expect(w.sampler.sent.at(-1)).toMatchObject({ type: 'generate', condition: { kind: 'class', label: 7 } });
  });
});

describe('readUrl', () => {
  it('reads valid settings and replaces invalid ones by defaults', () => {
    const ok = readUrl('?class=7&n=16&seed=123&temp=0.7&guidance=2.5&speed=2&model=random-tiny&backend=wasm');
    expect(ok.settings).toEqual({ label: 7, count: 16, seed: 123, temperature: 0.7, guidance: 2.5, speed: 2 });
    expect(ok.page).toEqual({ model: 'random-tiny', backend: 'wasm' });
    const bad = readUrl('?class=x2&n=5&seed=x&temp=9&guidance=-1&speed=-1&backend=tpu');
    expect(bad.settings.guidance).toBeNull(); // the model's recommendation, once known
    expect(readUrl('?guidance=11').settings.guidance).toBeNull();
    expect(readUrl('?guidance=').settings.guidance).toBeNull();
    expect(readUrl('?guidance=0').settings.guidance).toBe(0);
    expect(bad.settings.label).toBeNull();
    expect(bad.settings.count).toBe(4);
    expect(bad.settings.temperature).toBeNull(); // the model's recommendation, once known
    expect(bad.settings.speed).toBe(1);
    expect(Number.isInteger(bad.settings.seed)).toBe(true);
    expect(bad.page.backend).toBeUndefined();
  });
});

describe('the condition follows the model', () => {
  const ready = (conditioning: Parameters<typeof makeConfig>[0]['conditioning']) =>
    page(info('t', makeConfig({ height: 2, width: 2, channels: 3, levels: 4, hidden: 6, layers: 1, headHidden: 6, conditioning })));

  it('a vector model waits for a face, then runs on the vector it was given', async () => {
    await ready({ type: 'vector', dim: 3, nullable: true });
    st().pick(2); // class buttons mean nothing to a vector model
    expect(generated()).toEqual([]);
    expect(statusWord(st())).toBe('pick a face');
    st().setConditionVector(Float32Array.from([0.5, -1, 2]));
    expect(generated().map((g) => g.condition)).toEqual([{ kind: 'vector', values: [0.5, -1, 2] }]);
    expect(st().live!.condition).toEqual({ kind: 'vector', values: [0.5, -1, 2] });
    expect(statusWord(st())).toBe('running');
    // a setting change repeats the run on the same face
    st().update({ temperature: 0.7 });
    expect(lastRun()).toMatchObject({ condition: { kind: 'vector', values: [0.5, -1, 2] }, temperature: 0.7 });
  });

  it('a vector of the wrong length is refused in one line and the previous face stays', async () => {
    await ready({ type: 'vector', dim: 3 });
    st().setConditionVector(Float32Array.from([1, 2, 3]));
    const before = generated().length;
    st().setConditionVector(Float32Array.from([1, 2]));
    expect(generated().length).toBe(before);
    expect(st().runMessage).toBe('condition: got 2 numbers, the model reads 3');
    expect(Array.from(st().conditionVector!)).toEqual([1, 2, 3]);
  });

  it('an unconditional model starts at once; a class model records the class it ran on', async () => {
    await ready({ type: 'none' });
    expect(generated().map((g) => g.condition)).toEqual([{ kind: 'none' }]);
    expect(st().live!.condition).toEqual({ kind: 'none' });
    await ready({ type: 'class', classes: 3 });
    expect(generated()).toEqual([]);
    st().pick(2);
    expect(st().live!.condition).toEqual({ kind: 'class', label: 2 });
  });
});

describe('switching models', () => {
  const faces = makeConfig({ height: 2, width: 2, channels: 3, levels: 4, hidden: 6, layers: 1, headHidden: 6, conditioning: { type: 'vector', dim: 3, nullable: true } });
  const loads = (fw: FakeWorker) => fw.of('load').map((m) => m.model);

  it('stops the run, loads the new model in the sampler, then in the scorer, and runs nothing until it is in', async () => {
    st().pick(3);
    const run = lastRun().reqId;
    st().switchModel('faces');
    expect(w.sampler.of('cancel')).toEqual([{ type: 'cancel', reqId: run }]);
    expect(loads(w.sampler)).toEqual(['test', 'faces']);
    expect(loads(w.scorer)).toEqual(['test']); // the scorer follows once the sampler has it
    expect(st().model).toMatchObject({ kind: 'switching', from: { source: 'test' }, to: 'faces' });
    expect(pickedName(st())).toBe('faces');
    const before = generated().length;
    st().pick(4); // the old model is on its way out
    expect(generated().length).toBe(before);
    await w.loaded(w.sampler, info('faces', faces, 3), 42);
    expect(st()).toMatchObject({ model: { kind: 'ready', model: { source: 'faces' } }, status: 'idle', live: null, numTensors: 42 });
    expect(loads(w.scorer)).toEqual(['test', 'faces']);
    expect(st().settings.guidance).toBe(3); // the new model's recommendation
    expect(st().draw.width).toBe(2);
    expect(statusWord(st())).toBe('pick a face');
    // switching back to the model it had is a switch like any other
    st().switchModel('test');
    expect(loads(w.sampler).at(-1)).toBe('test');
  });

  it('a failed load keeps the old model, says why in one line, and the old model still runs', async () => {
    st().switchModel('nope');
    await w.loadFailed(w.sampler, 'model "nope": HTTP 404', 17);
    expect(st().model).toMatchObject({ kind: 'failed', name: 'nope', message: 'model "nope": HTTP 404', model: { source: 'test' } });
    expect(pickedName(st())).toBe('test');
    expect(st().numTensors).toBe(17);
    expect(loads(w.scorer)).toEqual(['test']); // never asked for a model the sampler could not load
    st().pick(2);
    expect(lastRun()).toMatchObject({ condition: { kind: 'class', label: 2 }, modelId: w.sampler.of('load')[0].reqId });
  });

  it('a model given as files goes to the sampler and then the scorer with its files; a refused one is forgotten and the old model draws on', async () => {
    const files = { 'model.json': new Uint8Array([123, 125]).buffer, 'group1-shard1of1.bin': new ArrayBuffer(8) };
    st().loadModelFiles('my run', files);
    expect(w.sampler.last('load')).toMatchObject({ model: 'files:my run', files });
    expect(st().userModels).toEqual({ 'files:my run': files });
    await w.loaded(w.sampler, info('files:my run'));
    expect(w.scorer.last('load')).toMatchObject({ model: 'files:my run', files });
    // a served model's load carries no files; switching back sends them again
    st().switchModel('test');
    expect(w.sampler.last('load')).toEqual({ type: 'load', reqId: expect.any(Number), model: 'test' });
    await w.loaded(w.sampler, info('test'));
    st().switchModel('files:my run');
    expect(w.sampler.last('load')).toMatchObject({ model: 'files:my run', files });
    await w.loaded(w.sampler, info('files:my run'));
    // a broken folder of the same name: one line, the model that drew still draws, and the picker no longer offers the broken one
    st().loadModelFiles('my run', { 'x.bin': new ArrayBuffer(1) });
    expect(w.sampler.last('load').model).toBe('files:my run (2)');
    await w.loadFailed(w.sampler, 'your model "my run (2)": no model.json among the 1 file(s) given (x.bin): give the folder the trainer wrote');
    expect(st().model).toMatchObject({ kind: 'failed', name: 'files:my run (2)', model: { source: 'files:my run' } });
    expect(Object.keys(st().userModels)).toEqual(['files:my run']);
    expect(pickedName(st())).toBe('files:my run');
  });

  it('a drawing made during a switch that fails is scored on the model that stays', async () => {
    st().switchModel('nope');
    st().loadDrawing(Uint8Array.from([0, 255, 0, 0, 0, 0]), null);
    expect(scores()).toEqual([]);
    await w.loadFailed(w.sampler, 'model "nope": HTTP 404');
    expect(scores().length).toBe(1);
    expect(st().draw.scoreError).toBeNull();
  });

  it('an answer to a load overtaken by a newer one is dropped', async () => {
    st().switchModel('faces');
    const overtaken = w.sampler.last('load').reqId;
    st().switchModel('other');
    w.sampler.say({ type: 'loaded', reqId: overtaken, model: info('faces', faces), numTensors: 1 });
    await settle();
    expect(drawingModel(st())!.source).toBe('test');
    w.sampler.say({ type: 'failed', reqId: overtaken, message: 'late', numTensors: 0 });
    await settle();
    expect(st().model).toMatchObject({ kind: 'switching', to: 'other' });
  });

  it('a class the new model does not have is dropped; a face of the right size is kept', async () => {
    st().pick(9);
    const three = makeConfig({ height: 2, width: 3, levels: 4, hidden: 4, layers: 1, headHidden: 4, conditioning: { type: 'class', classes: 3 } });
    const to = async (name: string, c: typeof config) => {
      st().switchModel(name);
      await w.loaded(w.sampler, info(name, c));
    };
    await to('three', three);
    expect(st().settings.label).toBeNull();
    await to('faces', faces);
    st().setConditionVector(Float32Array.from([1, 2, 3]));
    // through a digits model and back: the same face goes on at once on a model that reads it
    await to('test', config);
    await to('faces2', faces);
    expect(w.sampler.sent.at(-1)).toMatchObject({ type: 'generate', condition: { kind: 'vector', values: [1, 2, 3] } });
    // a face model of another size drops it
    await to('wide', makeConfig({ ...faces, conditioning: { type: 'vector', dim: 5 } }));
    expect(st().conditionVector).toBeNull();
  });
});

// The page's races: a late answer for an old model, drawing or run must never land on the
// new one. Each case plays one interleaving through the clients' connect/receive API.
describe('races between the sampler, the scorer and the page', () => {
  const big = makeConfig({ height: 4, width: 4, levels: 4, hidden: 4, layers: 1, headHidden: 4, conditioning: { type: 'class', classes: 10 } });

  it('R1: a scorer ready before the sampler is never asked about the old drawing, and a late score-error does not land on the new pad', async () => {
    st().loadDrawing(Uint8Array.from([0, 255, 0, 0, 0, 0]), null);
    const old = scores().at(-1)!;
    st().switchModel('big');
    // the scorer cannot be ready for 'big' first: it is asked only once the sampler has it
    expect(w.scorer.of('load').map((m) => m.model)).toEqual(['test']);
    const before = scores().length;
    await w.loaded(w.sampler, info('big', big));
    // the worker's answer about the old drawing arrives now: it is not the new pad's
    w.scorer.say({ type: 'failed', reqId: old.reqId, message: 'score: the picture has 6 values, the model reads 4x4x1', numTensors: 0 });
    await settle();
    expect(st().draw.scoreError).toBeNull();
    await w.loaded(w.scorer, info('big', big));
    st().loadDrawing(new Uint8Array(16).fill(255), null);
    const asked = scores().slice(before);
    expect(asked.map((m) => m.image.length)).toEqual([16]);
    expect(asked[0].modelId).toBe(w.scorer.last('load').reqId);
  });

  it('R2: a scorer that failed to load says so on the new pad, also after the pad is cleared and drawn again', async () => {
    st().switchModel('b');
    await w.loaded(w.sampler, info('b'));
    await w.loadFailed(w.scorer, 'model "b": HTTP 500');
    expect(st().draw.scoreError).toBe('no scores: model "b": HTTP 500');
    st().loadDrawing(Uint8Array.from([0, 255, 0, 0, 0, 0]), null);
    st().clearDrawing();
    st().loadDrawing(Uint8Array.from([255, 0, 0, 0, 0, 0]), null);
    expect(st().draw.scoreError).toBe('no scores: model "b": HTTP 500');
  });

  it('R3: when the sampler fails a switch, the scorer keeps the model the page shows', async () => {
    st().switchModel('b');
    await w.loadFailed(w.sampler, 'model "b": HTTP 404');
    expect(w.scorer.of('load').map((m) => m.model)).toEqual(['test']);
    st().loadDrawing(Uint8Array.from([0, 255, 0, 0, 0, 0]), null);
    expect(scores().at(-1)!.modelId).toBe(w.scorer.of('load')[0].reqId);
  });

  it('R4: a first load that fails while a newer switch is queued is not fatal', async () => {
    w.close();
    useStore.setState(initial, true);
    w = connectFakes({ model: 'nope' });
    const first = w.sampler.last('load').reqId;
    st().switchModel('random-tiny');
    w.sampler.say({ type: 'failed', reqId: first, message: 'model "nope": HTTP 404', numTensors: 0 });
    await settle();
    expect(startError(st())).toBeNull();
    expect(st().model).toEqual({ kind: 'loading', name: 'random-tiny' });
    await w.loaded(w.sampler, info('random-tiny'));
    expect(st().model).toMatchObject({ kind: 'ready', model: { source: 'random-tiny' } });
  });

  it('R5: done, stopped and failed of replaced runs leave the tensor count alone', async () => {
    st().pick(1);
    const a = lastRun().reqId;
    st().pick(2);
    const b = lastRun().reqId;
    st().pick(3);
    const c = lastRun().reqId;
    await ended(w.sampler, c, 'done', 7);
    await ended(w.sampler, a, 'stopped', 99);
    w.sampler.say({ type: 'failed', reqId: b, message: 'boom', numTensors: 98 });
    await ended(w.sampler, b, 'done', 97);
    expect(st().numTensors).toBe(7);
    expect(st().status).toBe('done');
    expect(st().runMessage).toBeNull();
  });
});
