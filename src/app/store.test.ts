import { beforeEach, describe, expect, it } from 'vitest';
import { makeConfig } from '../model/config';
import type { ToWorker } from '../worker/protocol';
import type { ToReceptive } from '../worker/receptiveProtocol';
import { connect, useStore } from './store';
import { readUrl } from './url';
import { statusWord } from './components/Progress';

const config = makeConfig({ height: 2, width: 3, levels: 4, hidden: 4, layers: 1, headHidden: 4, conditioning: { type: 'class', classes: 10 } });
let sent: (ToWorker | ToReceptive)[] = [];
const initial = useStore.getState();

beforeEach(() => {
  useStore.setState(initial, true);
  sent = [];
  connect({ sampler: (m) => sent.push(m), receptive: (m) => sent.push(m), scorer: (m) => sent.push(m) });
  useStore.getState().receive({
    type: 'ready',
    role: 'sampler',
    backend: { name: 'cpu', skipped: [{ name: 'webgpu', reason: 'none here' }] },
    model: { source: 'test', random: true, note: '', config, paramCount: 1, recommendedGuidance: 1.5, recommendedTemperature: 1 },
  });
  useStore.getState().receive({ type: 'ready', role: 'scorer', backend: { name: 'wasm', skipped: [] } });
});

const pixels = (runId: number, start: number, values: number[], count: number) =>
  useStore.getState().receive({
    type: 'pixels',
    runId,
    start,
    values: Uint8Array.from(values),
    probs: new Float32Array(count * 4),
    done: start + values.length / count,
    total: 6,
    elapsedMs: 1,
  });

describe('store', () => {
  it('picking a class asks the worker for a run with the current settings', () => {
    useStore.setState({ settings: { label: null, count: 4, seed: 9, temperature: 0.5, guidance: 2, speed: 0 } });
    useStore.getState().pick(3);
    const gen = sent.filter((m) => m.type === 'generate');
    expect(gen).toEqual([{ type: 'generate', runId: 1, condition: { kind: 'class', label: 3 }, guidance: 2, count: 4, seed: 9, temperature: 0.5, delayMs: 0 }]);
    expect(useStore.getState().status).toBe('running');
  });

  it('writes pixels of the current run into the grid and drops those of a replaced run', () => {
    useStore.setState({ settings: { label: null, count: 4, seed: 1, temperature: 1, guidance: 0, speed: 0 } });
    useStore.getState().pick(1); // run 1
    useStore.getState().pick(2); // run 2 replaces it
    pixels(1, 0, [3, 3, 3, 3], 4); // a late message of run 1
    pixels(2, 0, [1, 2, 0, 3, 3, 2, 1, 0], 4); // sub-pixels 0 and 1 of the 4 images
    const live = useStore.getState().live!;
    expect(live.runId).toBe(2);
    // [image][sub-pixel]: image i holds values[0 * 4 + i], values[1 * 4 + i], then undecided zeros
    expect(Array.from(live.image)).toEqual([1, 3, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0]);
    expect(live.done).toBe(2);
    useStore.getState().receive({ type: 'done', runId: 1, elapsedMs: 5, numTensors: 7 });
    expect(useStore.getState().status).toBe('running');
    useStore.getState().receive({ type: 'done', runId: 2, elapsedMs: 5, numTensors: 7 });
    expect(useStore.getState().status).toBe('done');
    expect(useStore.getState().numTensors).toBe(7);
  });

  it('changing a setting restarts a finished picture; speed goes to the running one', () => {
    useStore.getState().pick(5);
    useStore.getState().setSpeed(3);
    expect(sent.at(-1)).toEqual({ type: 'speed', runId: 1, delayMs: 40 });
    useStore.getState().receive({ type: 'done', runId: 1, elapsedMs: 5, numTensors: 0 });
    useStore.getState().update({ temperature: 0.8 });
    expect(sent.at(-1)).toMatchObject({ type: 'generate', runId: 2, condition: { kind: 'class', label: 5 }, temperature: 0.8 });
  });

  it('pause, resume and stop address the current run only while it runs', () => {
    const { pause, resume, stop, pick, receive } = useStore.getState();
    pause();
    expect(sent.filter((m) => m.type === 'pause')).toEqual([]);
    pick(0);
    pause();
    receive({ type: 'paused', runId: 1 });
    expect(useStore.getState().status).toBe('paused');
    resume();
    stop();
    expect(sent.slice(-3).map((m) => m.type)).toEqual(['pause', 'resume', 'stop']);
  });

  it('an init error is shown with its message', () => {
    useStore.getState().receive({ type: 'init-error', message: 'model "x": model.json is not valid JSON' });
    expect(useStore.getState().phase).toBe('init-error');
    expect(useStore.getState().initError).toContain('not valid JSON');
  });
});

describe('drawing, completing, scoring', () => {
  // the test model is 2 x 3 with 4 levels
  const scoreOf = (reqId: number, logp: number[]) =>
    useStore.getState().receive({ type: 'score', reqId, classes: 10, logp: Float32Array.from(logp), ms: 3, numTensors: 0 });
  const scoreRequests = () => sent.filter((m) => m.type === 'score');

  it("the model's recommended guidance and temperature are the defaults, and a link's own values win", () => {
    expect(useStore.getState().settings.guidance).toBe(1.5);
    useStore.setState(initial, true);
    useStore.setState({ settings: { ...initial.settings, guidance: 0.5 } });
    useStore.getState().receive({ type: 'ready', role: 'sampler', backend: { name: 'cpu', skipped: [] }, model: { source: 't', random: true, note: '', config, paramCount: 1, recommendedGuidance: 3, recommendedTemperature: 0.8 } });
    expect(useStore.getState().settings.guidance).toBe(0.5);
    // the temperature the link did not set is the model's recommendation, and reaches the worker
    expect(useStore.getState().settings.temperature).toBe(0.8);
    useStore.setState(initial, true);
    useStore.setState({ settings: { ...initial.settings, temperature: 1.2 } });
    useStore.getState().receive({ type: 'ready', role: 'sampler', backend: { name: 'cpu', skipped: [] }, model: { source: 't', random: true, note: '', config, paramCount: 1, recommendedGuidance: 3, recommendedTemperature: 0.8 } });
    expect(useStore.getState().settings).toMatchObject({ temperature: 1.2, guidance: 3 });
  });

  it('a stroke paints the pad, asks for a score when it ends, and undo takes it back', () => {
    const st = useStore.getState();
    expect(st.draw.width).toBe(3);
    expect(st.draw.height).toBe(2);
    st.beginStroke();
    st.strokeTo({ x: 0.5, y: 0.5 }, { x: 2.5, y: 0.5 });
    expect(Array.from(useStore.getState().draw.image.subarray(0, 3))).toEqual([255, 255, 255]);
    expect(scoreRequests()).toEqual([]); // not while drawing
    useStore.getState().endStroke();
    const req = scoreRequests();
    expect(req.length).toBe(1);
    // 8-bit grey -> the model's 4 levels: 255 -> 3
    expect(Array.from((req[0] as { image: Uint8Array }).image.subarray(0, 3))).toEqual([3, 3, 3]);
    expect(useStore.getState().draw.canUndo).toBe(true);
    useStore.getState().undoDrawing();
    expect(Array.from(useStore.getState().draw.image)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(useStore.getState().draw.inked).toBe(false);
  });

  it('a drawing made before the scoring worker is ready is scored once it is; its failure is one line', () => {
    connect({ sampler: (m) => sent.push(m), receptive: (m) => sent.push(m), scorer: (m) => sent.push(m) });
    useStore.getState().loadDrawing(Uint8Array.from([0, 255, 0, 0, 0, 0]), null);
    expect(scoreRequests()).toEqual([]);
    useStore.getState().receive({ type: 'ready', role: 'scorer', backend: { name: 'wasm', skipped: [] } });
    expect(scoreRequests().length).toBe(1);
    useStore.getState().receive({ type: 'init-error', role: 'scorer', message: 'model "x": HTTP 404' });
    expect(useStore.getState().phase).toBe('ready'); // the page still samples
    expect(useStore.getState().draw.scoreError).toBe('no scores: model "x": HTTP 404');
  });

  it('a score gives bits/dim per class and p(class | drawing) summing to 1; a stale answer is dropped', () => {
    const st = useStore.getState();
    st.loadDrawing(Uint8Array.from([0, 255, 0, 0, 255, 0]), null);
    const first = (scoreRequests().at(-1) as { reqId: number }).reqId;
    // class k: every sub-pixel has log p = -(k + 1) / 6 nats, so the image has -(k+1) nats
    const logp = Array.from({ length: 10 * 6 }, (_, i) => -(Math.floor(i / 6) + 1) / 6);
    scoreOf(first, logp);
    const score = useStore.getState().draw.score!;
    expect(score.probs!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(score.probs![0] / score.probs![1]).toBeCloseTo(Math.E, 6);
    expect(score.bitsPerDim[0]).toBeCloseTo(1 / 6 / Math.LN2, 6);
    // the drawing changes while its next score is on the way: the older answer is not shown
    useStore.getState().beginStroke();
    useStore.getState().strokeTo({ x: 0.5, y: 1.5 }, { x: 0.5, y: 1.5 });
    useStore.getState().endStroke();
    const second = (scoreRequests().at(-1) as { reqId: number }).reqId;
    useStore.getState().loadDrawing(Uint8Array.from([255, 0, 0, 0, 0, 0]), null);
    scoreOf(second, logp.map((v) => v * 2));
    expect(useStore.getState().draw.score).toBe(score);
  });

  it('frame centres and scales the drawing as MNIST does, and undo takes it back', () => {
    useStore.setState(initial, true);
    const big = makeConfig({ height: 28, width: 28, levels: 4, hidden: 4, layers: 1, headHidden: 4, conditioning: { type: 'class', classes: 10 } });
    useStore.getState().receive({ type: 'ready', role: 'sampler', backend: { name: 'cpu', skipped: [] }, model: { source: 't', random: true, note: '', config: big, paramCount: 1, recommendedGuidance: 0, recommendedTemperature: 1 } });
    const st = useStore.getState();
    st.beginStroke();
    st.strokeTo({ x: 2, y: 2 }, { x: 2, y: 8 }); // a short bar in the top-left corner
    const drawn = useStore.getState().draw.image.slice();
    useStore.getState().frameDrawing();
    const framed = useStore.getState().draw.image;
    const rows = new Set<number>();
    let mx = 0, m = 0;
    framed.forEach((v, i) => {
      if (v > 0) rows.add(Math.floor(i / 28));
      mx += v * ((i % 28) + 0.5);
      m += v;
    });
    expect(rows.size).toBeGreaterThanOrEqual(19); // scaled up to the 20-pixel box
    expect(Math.abs(mx / m - 14)).toBeLessThan(1.5); // centred
    useStore.getState().undoDrawing();
    expect(useStore.getState().draw.image).toEqual(drawn);
  });

  it('a picture that fails to load leaves the drawing as it was', () => {
    const st = useStore.getState();
    st.loadDrawing(Uint8Array.from([9, 9, 9, 9, 9, 9]), 'inverted');
    useStore.getState().pictureFailed('picture "x.txt": not an image this browser can decode');
    const d = useStore.getState().draw;
    expect(Array.from(d.image)).toEqual([9, 9, 9, 9, 9, 9]);
    expect(d.pictureError).toMatch(/not an image/);
    useStore.getState().loadDrawing(new Uint8Array(5), null);
    expect(Array.from(useStore.getState().draw.image)).toEqual([9, 9, 9, 9, 9, 9]);
  });

  it('complete sends the kept rows as a prefix and starts the picture from them', () => {
    useStore.setState({ settings: { label: 4, count: 4, seed: 5, temperature: 1, guidance: 0, speed: 0 } });
    const st = useStore.getState();
    st.loadDrawing(Uint8Array.from([255, 128, 0, 64, 255, 255]), null);
    st.setKeepRows(1);
    useStore.getState().complete();
    const gen = sent.filter((m) => m.type === 'generate').at(-1) as Extract<ToWorker, { type: 'generate' }>;
    expect(gen.condition).toEqual({ kind: 'class', label: 4 });
    expect(gen.prefix!.length).toBe(3);
    expect(Array.from(gen.prefix!.values)).toEqual([3, 2, 0, 1, 3, 3]);
    const live = useStore.getState().live!;
    expect(live.kind).toBe('complete');
    expect(live.done).toBe(3);
    expect(live.given).toBe(3);
    // every image starts with the kept row; the rest is undecided
    for (let i = 0; i < 4; i++) expect(Array.from(live.image.subarray(i * 6, i * 6 + 6))).toEqual([3, 2, 0, 0, 0, 0]);
    // pixels after the prefix land after it
    pixels(live.runId, 3, [1, 1, 1, 1], 4);
    expect(Array.from(live.image.subarray(0, 6))).toEqual([3, 2, 0, 1, 0, 0]);
    // a setting change repeats the completion, not a plain sample
    useStore.getState().receive({ type: 'done', runId: live.runId, elapsedMs: 1, numTensors: 0 });
    useStore.getState().update({ temperature: 0.9 });
    expect(sent.at(-1)).toMatchObject({ type: 'generate', temperature: 0.9, prefix: { length: 3 } });
    // keepRows stays inside the picture
    useStore.getState().setKeepRows(9);
    expect(useStore.getState().draw.keepRows).toBe(2);
  });

  it('complete without a picked class uses the best guess', () => {
    const st = useStore.getState();
    st.loadDrawing(Uint8Array.from([0, 255, 0, 0, 255, 0]), null);
    const id = (scoreRequests().at(-1) as { reqId: number }).reqId;
    scoreOf(id, Array.from({ length: 60 }, (_, i) => (Math.floor(i / 6) === 7 ? -0.1 : -1)));
    useStore.getState().complete();
    expect(useStore.getState().settings.label).toBe(7);
    expect(sent.at(-1)).toMatchObject({ type: 'generate', condition: { kind: 'class', label: 7 } });
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
  const ready = (conditioning: Parameters<typeof makeConfig>[0]['conditioning']) => {
    useStore.setState(initial, true);
    sent = [];
    const c = makeConfig({ height: 2, width: 2, channels: 3, levels: 4, hidden: 6, layers: 1, headHidden: 6, conditioning });
    useStore.getState().receive({ type: 'ready', role: 'sampler', backend: { name: 'cpu', skipped: [] }, model: { source: 't', random: true, note: '', config: c, paramCount: 1, recommendedGuidance: 0, recommendedTemperature: 1 } });
  };
  const generated = () => sent.filter((m) => m.type === 'generate') as Extract<ToWorker, { type: 'generate' }>[];

  it('a vector model waits for a face, then runs on the vector it was given', () => {
    ready({ type: 'vector', dim: 3, nullable: true });
    useStore.getState().pick(2); // class buttons mean nothing to a vector model
    expect(generated()).toEqual([]);
    expect(statusWord(useStore.getState())).toBe('pick a face');
    useStore.getState().setConditionVector(Float32Array.from([0.5, -1, 2]));
    expect(generated().map((g) => g.condition)).toEqual([{ kind: 'vector', values: [0.5, -1, 2] }]);
    expect(useStore.getState().live!.condition).toEqual({ kind: 'vector', values: [0.5, -1, 2] });
    expect(statusWord(useStore.getState())).toBe('running');
    // a setting change repeats the run on the same face
    useStore.getState().update({ temperature: 0.7 });
    expect(generated().at(-1)).toMatchObject({ condition: { kind: 'vector', values: [0.5, -1, 2] }, temperature: 0.7 });
  });

  it('a vector of the wrong length is refused in one line and the previous face stays', () => {
    ready({ type: 'vector', dim: 3 });
    useStore.getState().setConditionVector(Float32Array.from([1, 2, 3]));
    const before = generated().length;
    useStore.getState().setConditionVector(Float32Array.from([1, 2]));
    expect(generated().length).toBe(before);
    expect(useStore.getState().runMessage).toBe('condition: got 2 numbers, the model reads 3');
    expect(Array.from(useStore.getState().conditionVector!)).toEqual([1, 2, 3]);
  });

  it('an unconditional model starts at once; a class model records the class it ran on', () => {
    ready({ type: 'none' });
    expect(generated().map((g) => g.condition)).toEqual([{ kind: 'none' }]);
    expect(useStore.getState().live!.condition).toEqual({ kind: 'none' });
    ready({ type: 'class', classes: 3 });
    expect(generated()).toEqual([]);
    useStore.getState().pick(2);
    expect(useStore.getState().live!.condition).toEqual({ kind: 'class', label: 2 });
  });
});

describe('switching models', () => {
  const faces = makeConfig({ height: 2, width: 2, channels: 3, levels: 4, hidden: 6, layers: 1, headHidden: 6, conditioning: { type: 'vector', dim: 3, nullable: true } });
  const info = (source: string, c: typeof config, recommendedGuidance = 0) => ({ source, random: true, note: '', config: c, paramCount: 1, recommendedGuidance, recommendedTemperature: 1 });
  const loads = () => sent.filter((m) => m.type === 'load');

  it('stops the run, loads the new model in both workers, and runs nothing until it is in', () => {
    useStore.getState().pick(3);
    const runId = useStore.getState().runId;
    useStore.getState().switchModel('faces');
    expect(sent.filter((m) => m.type === 'stop')).toEqual([{ type: 'stop', runId }]);
    expect(loads()).toEqual([{ type: 'load', loadId: 1, model: 'faces' }, { type: 'load', loadId: 1, model: 'faces' }]);
    expect(useStore.getState()).toMatchObject({ switching: 'faces', page: { model: 'faces' } });
    const before = sent.length;
    useStore.getState().pick(4); // the old model is on its way out
    expect(sent.slice(before).filter((m) => m.type === 'generate')).toEqual([]);
    useStore.getState().receive({ type: 'ready', role: 'sampler', backend: { name: 'cpu', skipped: [] }, model: info('faces', faces, 3), loadId: 1, numTensors: 42 });
    const st = useStore.getState();
    expect(st).toMatchObject({ switching: null, model: { source: 'faces' }, status: 'idle', live: null, numTensors: 42 });
    expect(st.settings.guidance).toBe(3); // the new model's recommendation
    expect(st.draw.width).toBe(2);
    expect(statusWord(st)).toBe('pick a face');
    // switching back to the model it had is a switch like any other
    useStore.getState().switchModel('test');
    expect(loads().at(-1)).toEqual({ type: 'load', loadId: 2, model: 'test' });
  });

  it('a failed load keeps the old model, says why in one line, and the old model still runs', () => {
    useStore.getState().switchModel('nope');
    useStore.getState().receive({ type: 'load-error', role: 'sampler', loadId: 1, model: 'nope', message: 'model "nope": HTTP 404', numTensors: 17 });
    const st = useStore.getState();
    expect(st).toMatchObject({ switching: null, switchError: 'model "nope": HTTP 404', model: { source: 'test' }, page: { model: 'test' }, phase: 'ready', numTensors: 17 });
    st.pick(2);
    expect(sent.at(-1)).toMatchObject({ type: 'generate', condition: { kind: 'class', label: 2 } });
  });

  it('the scorer is not asked during a switch; when both workers fail it scores the old model again', () => {
    useStore.getState().switchModel('nope');
    const scores = () => sent.filter((m) => m.type === 'score').length;
    useStore.getState().loadDrawing(Uint8Array.from([0, 255, 0, 0, 0, 0]), null);
    expect(scores()).toBe(0);
    useStore.getState().receive({ type: 'load-error', role: 'scorer', loadId: 1, model: 'nope', message: 'model "nope": HTTP 404', numTensors: 0 });
    expect(useStore.getState().draw.scoreError).toBe('no scores: model "nope": HTTP 404');
    useStore.getState().receive({ type: 'load-error', role: 'sampler', loadId: 1, model: 'nope', message: 'model "nope": HTTP 404', numTensors: 0 });
    expect(useStore.getState().draw.scoreError).toBeNull();
    // the drawing made during the switch is scored now
    expect(scores()).toBe(1);
  });

  it('an answer to a load overtaken by a newer one is dropped', () => {
    useStore.getState().switchModel('faces');
    useStore.getState().switchModel('other');
    useStore.getState().receive({ type: 'ready', role: 'sampler', backend: { name: 'cpu', skipped: [] }, model: info('faces', faces), loadId: 1 });
    expect(useStore.getState().model!.source).toBe('test');
    useStore.getState().receive({ type: 'load-error', role: 'sampler', loadId: 1, model: 'faces', message: 'late', numTensors: 0 });
    expect(useStore.getState().switchError).toBeNull();
    expect(useStore.getState().switching).toBe('other');
  });

  it('a class the new model does not have is dropped; a face of the right size is kept', () => {
    useStore.getState().pick(9);
    const three = makeConfig({ height: 2, width: 3, levels: 4, hidden: 4, layers: 1, headHidden: 4, conditioning: { type: 'class', classes: 3 } });
    useStore.getState().switchModel('three');
    useStore.getState().receive({ type: 'ready', role: 'sampler', backend: { name: 'cpu', skipped: [] }, model: info('three', three), loadId: 1 });
    expect(useStore.getState().settings.label).toBeNull();
    useStore.getState().switchModel('faces');
    useStore.getState().receive({ type: 'ready', role: 'sampler', backend: { name: 'cpu', skipped: [] }, model: info('faces', faces), loadId: 2 });
    useStore.getState().setConditionVector(Float32Array.from([1, 2, 3]));
    // through a digits model and back: the same face goes on at once on a model that reads it
    useStore.getState().switchModel('test');
    useStore.getState().receive({ type: 'ready', role: 'sampler', backend: { name: 'cpu', skipped: [] }, model: info('test', config), loadId: 3 });
    useStore.getState().switchModel('faces2');
    useStore.getState().receive({ type: 'ready', role: 'sampler', backend: { name: 'cpu', skipped: [] }, model: info('faces2', faces), loadId: 4 });
    expect(sent.at(-1)).toMatchObject({ type: 'generate', condition: { kind: 'vector', values: [1, 2, 3] } });
    // a face model of another size drops it
    const wide = makeConfig({ ...faces, conditioning: { type: 'vector', dim: 5 } });
    useStore.getState().switchModel('wide');
    useStore.getState().receive({ type: 'ready', role: 'sampler', backend: { name: 'cpu', skipped: [] }, model: info('wide', wide), loadId: 5 });
    expect(useStore.getState().conditionVector).toBeNull();
  });
});
