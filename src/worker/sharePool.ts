// Sampling on every core in the browser: the sampler worker starts nested dedicated
// workers (share.worker.ts), each with a single-thread tfjs-wasm, its own CPU kernel and
// the same model. A run's images are cut into even shares (sampler/split.ts); this worker
// samples the first share itself and the threads the others, and their events are merged
// into one stream, sub-pixel by sub-pixel. Every image draws from its own stream, so any
// thread count gives the same images. Threads: ?threads=N, else one a core (at most 8);
// a run uses as many as give each MIN_SHARE images (one image stays on one thread).
import type { PixelCNN } from '../model';
import { samplePixels, shareOptions, shares, type PixelEvent, type SampleOptions } from '../sampler';
import { portableOptions } from '../sampler/split';
import type { BackendReport } from './protocol';
import type { FromShare, ToShare } from './share.worker';

/** Images a share is worth a thread for: a thread steps its rows at a fixed cost whatever its batch. */
export const MIN_SHARE = 2;

/** The threads a run of `count` images uses out of a pool of `threads`. */
export function runThreads(count: number, threads: number): number {
  return Math.max(1, Math.min(threads, Math.floor(count / MIN_SHARE)));
}

/** One nested worker, as the pool sees it. */
class Thread {
  private readonly worker: Worker;
  private waiting = new Map<string, { resolve: (m: FromShare) => void; reject: (e: Error) => void }>();
  /** the current run's events not yet merged */
  private batches: { from: number; values: Uint8Array; probs: Float32Array }[] = [];
  private runId = -1;
  private wake: (() => void) | undefined;
  private failed: Error | undefined;
  private images: Uint8Array | undefined;

  constructor(init: ToShare) {
    this.worker = new Worker(new URL('./share.worker.ts', import.meta.url), { type: 'module', name: 'sampler-thread' });
    this.worker.onmessage = (ev: MessageEvent<FromShare>) => this.heard(ev.data);
    this.worker.onerror = (ev) => this.fail(new Error(`a sampling thread failed: ${ev.message}`));
    this.worker.postMessage(init);
  }

  private fail(e: Error): void {
    this.failed = e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    this.wake?.();
  }

  private heard(m: FromShare): void {
    if (m.type === 'loaded' || (m.type === 'error' && m.loadId !== undefined)) {
      const key = `load${m.loadId}`;
      const w = this.waiting.get(key);
      this.waiting.delete(key);
      if (m.type === 'error') w?.reject(new Error(m.message));
      else w?.resolve(m);
      return;
    }
    if (m.runId !== this.runId) return;
    if (m.type === 'error') this.fail(new Error(`a sampling thread: ${m.message}`));
    else if (m.type === 'events') this.batches.push(m);
    else this.images = m.images;
    this.wake?.();
  }

  load(loadId: number, spec: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting.set(`load${loadId}`, { resolve, reject });
      this.worker.postMessage({ type: 'load', loadId, spec } satisfies ToShare);
    });
  }

  start(runId: number, opts: SampleOptions): void {
    const plain = portableOptions(opts);
    this.runId = runId;
    this.batches = [];
    this.images = undefined;
    this.failed = undefined;
    this.worker.postMessage({ type: 'run', runId, opts: plain } satisfies ToShare);
  }

  /** pauses (or resumes) the thread's share: it waits at its next row's end */
  pause(on: boolean): void {
    if (this.runId >= 0) this.worker.postMessage({ type: on ? 'pause' : 'resume', runId: this.runId } satisfies ToShare);
  }

  stop(): void {
    this.worker.postMessage({ type: 'stop', runId: this.runId } satisfies ToShare);
    this.runId = -1;
  }

  private until(ready: () => boolean): Promise<void> {
    if (ready() || this.failed) return this.failed ? Promise.reject(this.failed) : Promise.resolve();
    return new Promise<void>((resolve) => (this.wake = resolve)).then(() => this.until(ready));
  }

  /** The share's k-th drawn sub-pixel: values [count] and probs [count * levels] (views). */
  async take(k: number, count: number, levels: number): Promise<{ values: Uint8Array; probs: Float32Array }> {
    const has = () => this.batches.some((b) => k < b.from + b.values.length / count);
    await this.until(has);
    while (this.batches[0].from + this.batches[0].values.length / count <= k) this.batches.shift();
    const b = this.batches[0];
    const i = k - b.from;
    return { values: b.values.subarray(i * count, (i + 1) * count), probs: b.probs.subarray(i * count * levels, (i + 1) * count * levels) };
  }

  async result(): Promise<Uint8Array> {
    await this.until(() => this.images !== undefined);
    return this.images!;
  }

  terminate(): void {
    this.worker.terminate();
  }
}

export class SharePool {
  private readonly threads: Thread[];
  private model: PixelCNN | undefined;
  private loads = 0;
  private runs = 0;

  /** `threads` in all, this worker one of them. */
  constructor(readonly size: number, init: { wasmBase: string; modelsBase: string; backend: 'wasm' | 'cpu' }) {
    this.threads = Array.from({ length: size - 1 }, () => new Thread({ type: 'init', ...init }));
  }

  /** Brings `spec` into every thread; `model` is this worker's copy, the one runs must be on to use the threads. */
  async load(spec: string, model: PixelCNN): Promise<void> {
    this.model = undefined;
    const id = ++this.loads;
    await Promise.all(this.threads.map((t) => t.load(id, spec)));
    if (id === this.loads) this.model = model;
  }

  /** samplePixels over the pool: the same events, and the same images, as one thread gives. */
  async *pixels(model: PixelCNN, opts: SampleOptions): AsyncGenerator<PixelEvent, Uint8Array> {
    const n = model === this.model ? runThreads(opts.count, this.size) : 1;
    if (n === 1) return yield* samplePixels(model, opts);
    const { height: H, width: Wd, channels: C, levels: K } = model.config;
    const size = H * Wd * C;
    const N = opts.count;
    const parts = shares(N, n);
    const runId = ++this.runs;
    const remote = this.threads.slice(0, n - 1);
    parts.slice(1).forEach((p, k) => remote[k].start(runId, shareOptions(opts, size, p)));
    const local = samplePixels(model, shareOptions(opts, size, parts[0]));
    let finished = false;
    try {
      for (let k = 0; ; k++) {
        const step = await local.next();
        if (step.done) {
          const out = new Uint8Array(N * size);
          out.set(step.value, 0);
          const rest = await Promise.all(remote.map((t) => t.result()));
          rest.forEach((images, j) => out.set(images, parts[j + 1].first * size));
          finished = true;
          return out;
        }
        const e = step.value;
        const values = new Uint8Array(N);
        const probs = new Float32Array(N * K);
        values.set(e.values, 0);
        probs.set(e.probs, 0);
        for (let j = 0; j < remote.length; j++) {
          const p = parts[j + 1];
          const r = await remote[j].take(k, p.count, K);
          values.set(r.values, p.first);
          probs.set(r.probs, p.first * K);
        }
        yield { ...e, values, probs };
      }
    } finally {
      if (!finished) {
        remote.forEach((t) => t.stop());
        await local.return(new Uint8Array(0));
      }
    }
  }

  /** Pauses or resumes the run in progress on every thread (this worker's own share is paused by its caller). */
  pause(on: boolean): void {
    this.threads.forEach((t) => t.pause(on));
  }

  dispose(): void {
    this.threads.forEach((t) => t.terminate());
  }
}

/**
 * The sampler worker's threads once its backend is up: a pool on wasm / cpu (the CPU
 * kernel's backends), none elsewhere; and the report the badge shows, whose threads are
 * the pool's (this worker's own tfjs runs one thread: `asked` is ?threads=N).
 */
export function startPool(report: BackendReport, asked: number | undefined, bases: { wasmBase: string; modelsBase: string }): { pool?: SharePool; report: BackendReport } {
  if (report.name !== 'wasm' && report.name !== 'cpu') return { report };
  const cores = Math.max(1, (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 1);
  const threads = asked ?? Math.min(8, cores);
  const threadsNote =
    threads > 1
      ? `${threads} sampling threads, each its own one-thread tfjs-${report.name} and CPU kernel; a run takes one per ${MIN_SHARE} images`
      : asked === 1
        ? 'one thread: the single-thread path was asked for (threads=1)'
        : 'one thread: this machine reports one core';
  return { pool: new SharePool(threads, { ...bases, backend: report.name }), report: { ...report, threads, threadsNote } };
}
