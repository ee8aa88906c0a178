import { beforeEach, describe, expect, it } from 'vitest';
import { makeConfig } from '../model/config';
import type { ToWorker } from '../worker/protocol';
import { connect, useStore } from './store';
import { readUrl } from './url';

const config = makeConfig({ height: 2, width: 3, levels: 4, hidden: 4, layers: 1, headHidden: 4, conditioning: { type: 'class', classes: 10 } });
let sent: ToWorker[] = [];
const initial = useStore.getState();

beforeEach(() => {
  useStore.setState(initial, true);
  sent = [];
  connect({ sampler: (m) => sent.push(m), receptive: (m) => sent.push(m) });
  useStore.getState().receive({
    type: 'ready',
    role: 'sampler',
    backend: { name: 'cpu', skipped: [{ name: 'webgpu', reason: 'none here' }] },
    model: { source: 'test', random: true, note: '', config, paramCount: 1 },
  });
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
    useStore.setState({ settings: { label: null, count: 4, seed: 9, temperature: 0.5, speed: 0 } });
    useStore.getState().pick(3);
    const gen = sent.filter((m) => m.type === 'generate');
    expect(gen).toEqual([{ type: 'generate', runId: 1, label: 3, count: 4, seed: 9, temperature: 0.5, delayMs: 0 }]);
    expect(useStore.getState().status).toBe('running');
  });

  it('writes pixels of the current run into the grid and drops those of a replaced run', () => {
    useStore.setState({ settings: { label: null, count: 4, seed: 1, temperature: 1, speed: 0 } });
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
    expect(sent.at(-1)).toMatchObject({ type: 'generate', runId: 2, label: 5, temperature: 0.8 });
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

describe('readUrl', () => {
  it('reads valid settings and replaces invalid ones by defaults', () => {
    const ok = readUrl('?class=7&n=16&seed=123&temp=0.7&speed=2&model=random-tiny&backend=wasm');
    expect(ok.settings).toEqual({ label: 7, count: 16, seed: 123, temperature: 0.7, speed: 2 });
    expect(ok.page).toEqual({ model: 'random-tiny', backend: 'wasm' });
    const bad = readUrl('?class=12&n=5&seed=x&temp=9&speed=-1&backend=tpu');
    expect(bad.settings.label).toBeNull();
    expect(bad.settings.count).toBe(4);
    expect(bad.settings.temperature).toBe(1);
    expect(bad.settings.speed).toBe(1);
    expect(Number.isInteger(bad.settings.seed)).toBe(true);
    expect(bad.page.backend).toBeUndefined();
  });
});
