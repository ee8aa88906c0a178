/// <reference lib="webworker" />
// One sampling thread of the sampler worker (sharePool.ts starts it, nested in that
// worker): its own single-thread tfjs-wasm and CPU kernel, the same model, and one share
// of every run's images. It posts its events a row at a time; the pool merges them with
// the other shares' into one event stream.
import { disposeParams, type PixelCNN } from '../model';
import { samplePixels, type SampleOptions } from '../sampler';
import { selectBackend } from './backend';
import { loadModel } from './loadModel';
import { warmUp } from './warmUp';

export type ToShare =
  | { type: 'init'; wasmBase: string; modelsBase: string; backend: 'wasm' | 'cpu' }
  | { type: 'load'; loadId: number; spec: string }
  | { type: 'run'; runId: number; opts: Omit<SampleOptions, 'signal'> }
  | { type: 'stop'; runId: number }
  /** the page paused or resumed the run: a paused share waits at its next row's end */
  | { type: 'pause' | 'resume'; runId: number };

export type FromShare =
  | { type: 'loaded'; loadId: number }
  | { type: 'error'; loadId?: number; runId?: number; message: string }
  /** sub-pixels `from` .. from+n-1 of the share's drawn ones: values [n * count], probs [n * count * levels] */
  | { type: 'events'; runId: number; from: number; values: Uint8Array; probs: Float32Array }
  | { type: 'done'; runId: number; images: Uint8Array };

declare const self: DedicatedWorkerGlobalScope;
const post = (m: FromShare, transfer: Transferable[] = []) => self.postMessage(m, transfer);
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

const loop = new MessageChannel();
const turn = () => new Promise<void>((resolve) => {
  loop.port1.onmessage = () => resolve();
  loop.port2.postMessage(null);
});

let started: Promise<unknown> | undefined;
let modelsBase = '';
let model: PixelCNN | undefined;
/** runs told to stop (a run sees it at its next row's end) */
const stopped = new Set<number>();
/** the run in progress, and whether it is paused (it waits at a row's end for resume or stop) */
let current = -1;
let paused = false;
let wakePaused: (() => void) | undefined;

async function run(runId: number, opts: SampleOptions): Promise<void> {
  const m = model!;
  const { width: Wd, channels: C, levels: K } = m.config;
  const N = opts.count;
  const gen = samplePixels(m, opts);
  current = runId;
  paused = false;
  let values: Uint8Array[] = [];
  let probs: Float32Array[] = [];
  let from = 0;
  const flush = () => {
    if (values.length === 0) return;
    const v = new Uint8Array(values.length * N);
    const p = new Float32Array(values.length * N * K);
    values.forEach((x, k) => v.set(x, k * N));
    probs.forEach((x, k) => p.set(x, k * N * K));
    post({ type: 'events', runId, from, values: v, probs: p }, [v.buffer, p.buffer]);
    from += values.length;
    values = [];
    probs = [];
  };
  for (;;) {
    const step = await gen.next();
    if (step.done) {
      stopped.delete(runId);
      flush();
      post({ type: 'done', runId, images: step.value }, [step.value.buffer]);
      return;
    }
    const e = step.value;
    values.push(e.values);
    probs.push(e.probs);
    if (e.col === Wd - 1 && e.channel === C - 1) {
      flush();
      // a turn of the event loop a row, so a stop is heard (a message to itself: a chained
      // setTimeout(0) is clamped to 4 ms after five, 28 rows of idle a run)
      await turn();
      while (paused && current === runId && !stopped.has(runId)) await new Promise<void>((resolve) => (wakePaused = resolve));
      if (stopped.delete(runId)) {
        await gen.return(new Uint8Array(0));
        return;
      }
    }
  }
}

self.onmessage = (ev: MessageEvent<ToShare>) => {
  const msg = ev.data;
  if (msg.type === 'init') {
    modelsBase = msg.modelsBase;
    // one thread: this worker is the thread; tfjs's pool would only add synchronisation
    started = selectBackend(msg.wasmBase, msg.backend, [msg.backend], 1);
  } else if (msg.type === 'load') {
    void (async () => {
      try {
        await started;
        const { model: m } = await loadModel(msg.spec, modelsBase);
        if (model) disposeParams(model.params);
        model = m;
        await warmUp(m);
        post({ type: 'loaded', loadId: msg.loadId });
      } catch (e) {
        post({ type: 'error', loadId: msg.loadId, message: message(e) });
      }
    })();
  } else if (msg.type === 'run') {
    run(msg.runId, msg.opts).catch((e) => post({ type: 'error', runId: msg.runId, message: message(e) }));
  } else if (msg.type === 'stop') {
    stopped.add(msg.runId);
    wakePaused?.();
  } else if (msg.runId === current) {
    paused = msg.type === 'pause';
    if (!paused) wakePaused?.();
  }
};
