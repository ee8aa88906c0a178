// The worker's order of loads, runs and scores, with fake work whose promises the test
// settles by hand, so each interleaving the page can cause is played out exactly.
import { describe, expect, it } from 'vitest';
import { Sequencer, type RunResult, type Work } from './sequencer';
import type { Answer, ModelInfo } from './protocol';
import { makeConfig } from '../model';

interface Fake {
  name: string;
  disposed: boolean;
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const config = makeConfig({ height: 2, width: 2, levels: 4, hidden: 4, layers: 1, headHidden: 4 });
const info = (source: string): ModelInfo => ({ source, random: true, note: '', config, paramCount: 1, recommendedGuidance: 0, recommendedTemperature: 1 });
const tick = () => new Promise((r) => setTimeout(r, 0));

function setup() {
  const answers: Answer[] = [];
  const fetches = new Map<string, ReturnType<typeof deferred<{ model: Fake; info: ModelInfo }>>>();
  const fetched: string[] = [];
  const work: Work<Fake> = {
    fetch(spec) {
      fetched.push(spec);
      const d = deferred<{ model: Fake; info: ModelInfo }>();
      fetches.set(spec, d);
      return d.promise;
    },
    dispose(m) {
      m.disposed = true;
    },
    answer: (a) => answers.push(a),
    numTensors: () => 0,
  };
  const seq = new Sequencer(work);
  const arrive = async (spec: string) => {
    await tick();
    const model = { name: spec, disposed: false };
    fetches.get(spec)!.resolve({ model, info: info(spec) });
    await tick();
    return model;
  };
  const refuse = async (spec: string, why: string) => {
    await tick();
    fetches.get(spec)!.reject(new Error(why));
    await tick();
  };
  const of = (reqId: number) => answers.filter((a) => a.reqId === reqId).map((a) => (a.type === 'failed' ? `failed: ${a.message}` : a.type));
  return { seq, answers, fetched, arrive, refuse, of };
}

/** A run body that goes until the test ends it or its signal aborts. */
function runBody() {
  const d = deferred<RunResult>();
  let model: Fake | undefined;
  let started = false;
  const body = (m: Fake, signal: AbortSignal) => {
    started = true;
    model = m;
    signal.addEventListener('abort', () => {
      const e = new Error('aborted');
      e.name = 'AbortError';
      d.reject(e);
    });
    return d.promise;
  };
  return { body, finish: () => d.resolve({ elapsedMs: 5 }), started: () => started, model: () => model };
}

describe('the worker sequencer', () => {
  it('init and load are one path: a backend that failed is the reason every load gives, with its own reqId', async () => {
    const { seq, of, fetched } = setup();
    void seq.init(() => Promise.reject(new Error('no backend here')));
    void seq.load(1, 'mnist');
    void seq.load(2, 'faces');
    await tick();
    expect(of(1)).toEqual(['failed: no tfjs backend started in this worker: no backend here']);
    expect(of(2)).toEqual(['failed: no tfjs backend started in this worker: no backend here']);
    expect(fetched).toEqual([]);
  });

  it('R4: a first load that fails while a newer one waits is answered with its reqId, and the newer one still loads', async () => {
    const { seq, of, arrive, refuse } = setup();
    void seq.init(async () => undefined);
    void seq.load(1, 'no-such-model');
    await tick();
    void seq.load(2, 'random-tiny'); // the user picked another model while the first was on its way
    await refuse('no-such-model', 'model "no-such-model": HTTP 404');
    expect(of(1)).toEqual(['failed: model "no-such-model": HTTP 404']);
    expect(of(2)).toEqual([]);
    await arrive('random-tiny');
    expect(of(2)).toEqual(['loaded']);
    expect(seq.modelId).toBe(2);
  });

  it('a load overtaken while it fetched is disposed, one still waiting is skipped, the newest is held', async () => {
    const { seq, of, arrive, fetched } = setup();
    void seq.init(async () => undefined);
    void seq.load(1, 'a');
    await tick();
    void seq.load(2, 'b');
    void seq.load(3, 'c');
    const a = await arrive('a');
    expect(a.disposed).toBe(true);
    expect(of(1)).toEqual(['failed: replaced by a newer request']);
    expect(of(2)).toEqual(['failed: replaced by a newer request']);
    expect(fetched).toEqual(['a', 'c']);
    await arrive('c');
    expect(of(3)).toEqual(['loaded']);
  });

  it('a failed load keeps the old model, which still runs', async () => {
    const { seq, of, arrive, refuse } = setup();
    void seq.load(1, 'a');
    const a = await arrive('a');
    void seq.load(2, 'b');
    await refuse('b', 'HTTP 404');
    expect(a.disposed).toBe(false);
    const r = runBody();
    const done = seq.run(3, 1, r.body);
    await tick();
    expect(r.model()).toBe(a);
    r.finish();
    await done;
    expect(of(3)).toEqual(['done']);
  });

  it('a load stops the run in progress first, and frees the old weights only once nothing runs on them', async () => {
    const { seq, of, arrive } = setup();
    void seq.load(1, 'a');
    const a = await arrive('a');
    const r = runBody();
    const running = seq.run(2, 1, r.body);
    await tick();
    expect(seq.runId).toBe(2);
    void seq.load(3, 'b');
    await running;
    expect(of(2)).toEqual(['stopped']);
    // a run asked for the old model while the new one is on its way never starts
    const late = runBody();
    await seq.run(4, 1, late.body);
    expect(late.started()).toBe(false);
    expect(of(4)).toEqual(['stopped']);
    expect(a.disposed).toBe(false);
    await arrive('b');
    expect(a.disposed).toBe(true);
    expect(of(3)).toEqual(['loaded']);
  });

  it('R5: of runs asked in a row only the newest starts; each replaced one is answered stopped with its own reqId', async () => {
    const { seq, of, arrive } = setup();
    void seq.load(1, 'a');
    await arrive('a');
    const bodies = [runBody(), runBody(), runBody()];
    const first = seq.run(2, 1, bodies[0].body);
    await tick();
    const rest = [seq.run(3, 1, bodies[1].body), seq.run(4, 1, bodies[2].body)];
    await first;
    await rest[0];
    expect(bodies.map((b) => b.started())).toEqual([true, false, true]);
    expect([of(2), of(3), of(4)]).toEqual([['stopped'], ['stopped'], []]);
    bodies[2].finish();
    await rest[1];
    expect(of(4)).toEqual(['done']);
  });

  it('R1 / R3: a picture for another model than the one held is refused, never scored against the wrong model', async () => {
    const { seq, of, arrive, refuse } = setup();
    void seq.load(1, 'a');
    await arrive('a');
    let scored = 0;
    const body = async () => {
      scored++;
      return { type: 'score', reqId: 0, classes: 1, logp: new Float32Array(0), ms: 0, numTensors: 0 } as Answer;
    };
    // R1: the scorer got the new model; a picture drawn for the old one arrives after
    void seq.load(2, 'b');
    await arrive('b');
    await seq.job('score', 3, 1, body);
    expect(of(3)).toEqual(["failed: score: the picture is for the model of load 1, this worker holds load 2's"]);
    // R3: a load for a model the sampler failed is not what the picture was drawn for either
    void seq.load(4, 'c');
    await refuse('c', 'HTTP 404');
    await seq.job('score', 5, 4, body);
    expect(of(5)[0]).toMatch(/^failed: score: the picture is for the model of load 4/);
    expect(scored).toBe(0);
  });

  it('the newest waiting score replaces an older one; a cancelled load is skipped; cancel stops the run', async () => {
    const { seq, of, arrive, fetched } = setup();
    void seq.load(1, 'a');
    const gate = deferred<void>();
    void seq.init(() => gate.promise); // holds the queue so scores wait
    const body = (id: number) => async () => ({ type: 'score', reqId: id, classes: 1, logp: new Float32Array(0), ms: 0, numTensors: 0 }) as Answer;
    await arrive('a');
    void seq.job('score', 2, 1, body(2));
    void seq.job('score', 3, 1, body(3));
    void seq.load(4, 'b');
    seq.cancel(4);
    gate.resolve();
    await tick();
    await tick();
    expect([of(2), of(3), of(4)]).toEqual([['failed: replaced by a newer request'], ['score'], ['failed: replaced by a newer request']]);
    expect(fetched).toEqual(['a']);
    const r = runBody();
    const run = seq.run(5, 1, r.body);
    await tick();
    seq.cancel(5);
    await run;
    expect(of(5)).toEqual(['stopped']);
  });
});
