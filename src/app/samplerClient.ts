// The page's client of one sampler.worker.ts (the sampler, or the scorer: the same file in
// another role). It owns the worker and knows which model the worker holds, so the store
// asks for "a run" or "a score" and never handles a reqId. One promise per request; a newer
// load, run or score replaces the one before it (see workerBridge.ts). A new kind of request
// (say 'encode', answered 'encoded') is its two messages in protocol.ts (the answer also in
// Answer and in FINAL below), a case in sampler.worker.ts calling seq.job('encode', ...),
// and a method here like score() that sends it with this.modelId.
import type { Answer, BackendReport, EncodeResult, FromWorker, GenerateRequest, InitRequest, ModelFiles, ModelInfo, PixelBatch, Progress, ScoreResult } from '../worker/protocol';
import { Bridge, WorkerError, type WorkerPort } from './workerBridge';

export interface SamplerEvents {
  backend(report: BackendReport): void;
  /** no backend works in this worker (every load then fails with this reason too) */
  initError(message: string, backend?: BackendReport): void;
  /** live tensors in the worker after its newest load or run ended (flat when nothing leaks) */
  tensors(numTensors: number): void;
  /** every message from the worker, for a failing test's report */
  trace?(msg: FromWorker): void;
}

export interface Loaded {
  info: ModelInfo;
  numTensors: number;
}

export interface RunEvents {
  pixels(batch: PixelBatch): void;
  paused(paused: boolean): void;
  /** the run waits for its GPU kernels to compile */
  compiling?(): void;
  /** the GPU failed mid-run (one line); the run ends stopped and the worker goes on on wasm */
  fault?(message: string): void;
}

export type RunEnd = Extract<Answer, { type: 'done' | 'stopped' }>;

export type RunOptions = Omit<GenerateRequest, 'type' | 'reqId' | 'modelId'>;

const FINAL = new Set<FromWorker['type']>(['loaded', 'done', 'stopped', 'score', 'encoded', 'failed']);

export class SamplerClient {
  private readonly bridge: Bridge<FromWorker>;
  /** the load whose model the worker holds (runs and scores are asked for it) */
  private modelId = 0;

  constructor(port: WorkerPort, init: InitRequest, events: SamplerEvents) {
    this.bridge = new Bridge<FromWorker>(port, {
      reading: {
        reqId: (m) => ('reqId' in m ? m.reqId : undefined),
        isFinal: (m) => FINAL.has(m.type),
        failure: (m) => (m.type === 'failed' ? { message: m.message, numTensors: m.numTensors, replaced: m.replaced } : undefined),
        cancel: (reqId) => ({ type: 'cancel', reqId }),
      },
      onWorker: (m) => {
        if (m.type === 'backend') events.backend(m.backend);
        else if (m.type === 'init-error') events.initError(m.message, m.backend);
      },
      // a replaced run's or load's tensors are not the worker's state any more; a job's
      // (score, encode) may be counted while a run holds its own, so only runs and loads report
      onNewest: (m, kind) => {
        if ((kind === 'run' || kind === 'load') && 'numTensors' in m) events.tensors(m.numTensors);
      },
      trace: events.trace,
      name: init.role === 'scorer' ? 'scoring worker' : 'sampling worker',
    });
    port.postMessage(init);
  }

  /** Loads a model in place of the one held (a model given as files: with its files); the one held stays if this fails. */
  async load(model: string, files?: ModelFiles, signal?: AbortSignal): Promise<Loaded> {
    // the files are copied, not transferred: the page keeps them for the scorer and for switching back
    const sent = this.bridge.send('load', (reqId) => ({ msg: { type: 'load', reqId, model, ...(files ? { files } : {}) } }), { signal });
    const a = await sent.answer;
    if (a.type !== 'loaded') throw new WorkerError(`unexpected answer '${a.type}' to a load`);
    this.modelId = sent.reqId;
    return { info: a.model, numTensors: a.numTensors };
  }

  /** Starts a run on the model held; resolves when it is done or the worker stopped it. */
  run(opts: RunOptions, events: RunEvents, signal?: AbortSignal): Promise<RunEnd> {
    const sent = this.bridge.send(
      'run',
      (reqId) => ({
        msg: { ...opts, type: 'generate', reqId, modelId: this.modelId } satisfies GenerateRequest,
        // the prefix is the page's own copy: copied, not transferred
      }),
      { signal, progress: (m) => this.progress(m as Progress, events) },
    );
    return sent.answer.then((a) => {
      if (a.type !== 'done' && a.type !== 'stopped') throw new WorkerError(`unexpected answer '${a.type}' to a run`);
      // the run's last pixels came with its answer: drawn before the run is said to be done
      if (a.type === 'done' && a.last) events.pixels(a.last);
      return a;
    });
  }

  private progress(m: Progress, events: RunEvents): void {
    if (m.type === 'pixels') events.pixels(m);
    else if (m.type === 'paused' || m.type === 'resumed') events.paused(m.type === 'paused');
    else if (m.type === 'compiling') events.compiling?.();
    else if (m.type === 'fault') events.fault?.(m.message);
  }

  /** The newest run, while it has not ended. */
  private liveRun(): number | undefined {
    const id = this.bridge.newestOf('run');
    return this.bridge.isPending(id) ? id : undefined;
  }

  /** Stops the newest run (its promise rejects with an AbortError; the tensors event follows). */
  stop(): void {
    const id = this.liveRun();
    if (id !== undefined) this.bridge.drop(id, 'stopped');
  }

  pause(): void {
    const id = this.liveRun();
    if (id !== undefined) this.bridge.post({ type: 'pause', reqId: id });
  }

  resume(): void {
    const id = this.liveRun();
    if (id !== undefined) this.bridge.post({ type: 'resume', reqId: id });
  }

  speed(delayMs: number): void {
    const id = this.liveRun();
    if (id !== undefined) this.bridge.post({ type: 'speed', reqId: id, delayMs });
  }

  /** The newest run's batches carry image `image`'s full distributions from now on. */
  watch(image: number): void {
    const id = this.liveRun();
    if (id !== undefined) this.bridge.post({ type: 'watch', reqId: id, image });
  }

  /** Scores a picture ([H * W * C] levels) on the model held. */
  async score(image: Uint8Array, signal?: AbortSignal): Promise<ScoreResult> {
    const modelId = this.modelId;
    const a = await this.bridge.send('score', (reqId) => ({ msg: { type: 'score', reqId, modelId, image } }), { signal }).answer;
    if (a.type !== 'score') throw new WorkerError(`unexpected answer '${a.type}' to a score`);
    return a;
  }

  /** The code of a picture ([H * W * C] levels) under the held auto-encoder's encoder. */
  async encode(image: Uint8Array, signal?: AbortSignal): Promise<EncodeResult> {
    const modelId = this.modelId;
    const a = await this.bridge.send('encode', (reqId) => ({ msg: { type: 'encode', reqId, modelId, image } }), { signal }).answer;
    if (a.type !== 'encoded') throw new WorkerError(`unexpected answer '${a.type}' to an encode`);
    return a;
  }

  terminate(): void {
    this.bridge.terminate();
  }
}
