// The request/answer bridge on a fake worker: one promise per request, replacement,
// cancellation by AbortSignal, late answers dropped, a crash failing everything waiting.
import { describe, expect, it } from 'vitest';
import { Bridge, WorkerError, isAbort } from './workerBridge';
import { FakeWorker, settle } from './fakeWorkers';

type Msg = { type: 'progress' | 'answer' | 'failed' | 'hello'; reqId?: number; n?: number; replaced?: boolean };

function setup() {
  const port = new FakeWorker<{ type: string; reqId: number }, Msg>();
  const worker: Msg[] = [];
  const newest: [number, string][] = [];
  const crashes: string[] = [];
  const bridge = new Bridge<Msg>(port, {
    reading: {
      reqId: (m) => m.reqId,
      isFinal: (m) => m.type !== 'progress',
      failure: (m) => (m.type === 'failed' ? { message: 'no', numTensors: m.n ?? null, replaced: m.replaced } : undefined),
      cancel: (reqId) => ({ type: 'cancel', reqId }),
    },
    onWorker: (m) => worker.push(m),
    onNewest: (m, kind) => newest.push([m.reqId!, kind]),
    onCrash: (m) => crashes.push(m),
    name: 'test worker',
  });
  const send = (kind: string, opts?: Parameters<typeof bridge.send>[2]) => bridge.send(kind, (reqId) => ({ msg: { type: kind, reqId } }), opts);
  const outcome = (p: Promise<Msg>) => p.then((m) => `answer ${m.n ?? ''}`.trim(), (e: Error) => (isAbort(e) ? `abort: ${e.message}` : `error: ${e.message}`));
  return { port, bridge, send, outcome, worker, newest, crashes };
}

describe('the worker bridge', () => {
  it('answers each request once, passes progress on, and tells messages about the worker apart', async () => {
    const { port, send, outcome, worker } = setup();
    const seen: Msg[] = [];
    const a = send('run', { progress: (m) => seen.push(m) });
    port.say({ type: 'hello' });
    port.say({ type: 'progress', reqId: a.reqId, n: 1 });
    port.say({ type: 'answer', reqId: a.reqId, n: 2 });
    port.say({ type: 'answer', reqId: a.reqId, n: 3 }); // a second answer is nobody's
    expect(await outcome(a.answer)).toBe('answer 2');
    expect(seen.map((m) => m.n)).toEqual([1]);
    expect(worker).toEqual([{ type: 'hello' }]);
  });

  it('a newer request of the same kind replaces the older: rejected at once, the worker told, its late answer dropped', async () => {
    const { port, send, outcome, newest } = setup();
    const a = send('run');
    const other = send('score'); // another kind is not replaced
    const b = send('run');
    expect(await outcome(a.answer)).toBe('abort: replaced by a newer request');
    expect(port.sent.filter((m) => m.type === 'cancel')).toEqual([{ type: 'cancel', reqId: a.reqId }]);
    port.say({ type: 'answer', reqId: a.reqId, n: 1 });
    port.say({ type: 'answer', reqId: b.reqId, n: 2 });
    port.say({ type: 'answer', reqId: other.reqId, n: 3 });
    expect(await outcome(b.answer)).toBe('answer 2');
    expect(await outcome(other.answer)).toBe('answer 3');
    // only the newest of each kind is reported after it is answered
    expect(newest).toEqual([[b.reqId, 'run'], [other.reqId, 'score']]);
  });

  it('an AbortSignal cancels a request; one already aborted is never sent', async () => {
    const { port, send, outcome, newest } = setup();
    const ctl = new AbortController();
    const a = send('load', { signal: ctl.signal });
    ctl.abort();
    expect(await outcome(a.answer)).toBe('abort: cancelled');
    expect(port.sent.at(-1)).toEqual({ type: 'cancel', reqId: a.reqId });
    // what the worker says afterwards is reported as the newest load's end, not answered
    port.say({ type: 'answer', reqId: a.reqId, n: 5 });
    expect(newest).toEqual([[a.reqId, 'load']]);
    const before = port.sent.length;
    const b = send('load', { signal: ctl.signal });
    expect(await outcome(b.answer)).toBe('abort: cancelled');
    expect(port.sent.length).toBe(before);
  });

  it('a failure is a WorkerError with the tensors; one the worker marks replaced is an abort', async () => {
    const { port, send } = setup();
    const a = send('load');
    port.say({ type: 'failed', reqId: a.reqId, n: 17 });
    const e = await a.answer.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WorkerError);
    expect((e as WorkerError).numTensors).toBe(17);
    const b = send('load');
    port.say({ type: 'failed', reqId: b.reqId, replaced: true });
    expect(isAbort(await b.answer.catch((x: unknown) => x))).toBe(true);
  });

  it('a crash fails every request waiting and every later one, in one line', async () => {
    const { port, send, outcome, crashes } = setup();
    const a = send('run');
    port.crash('ReferenceError: x is not defined');
    await settle();
    expect(await outcome(a.answer)).toBe('error: test worker failed: ReferenceError: x is not defined');
    expect(await outcome(send('run').answer)).toBe('error: test worker failed: ReferenceError: x is not defined');
    expect(crashes).toEqual(['test worker failed: ReferenceError: x is not defined']);
    expect(port.terminated).toBe(true);
  });
});
