// The order of things in a sampling (or scoring) worker, without tfjs: the backend first,
// then one load at a time (a newer load skips an older one still waiting), one model held,
// one run at a time (the newest wins), and a run or a job (a score) only on the model it
// was asked for. sampler.worker.ts gives it the real work; sequencer.test.ts gives it fakes and plays
// the interleavings that can race (a load during a run, two loads, a run for a model on its way).
import type { Answer, ModelInfo, PixelBatch } from './protocol';

export interface Work<M> {
  /** brings a model in (fetch and parse); rejects with a one-line reason */
  fetch(spec: string): Promise<{ model: M; info: ModelInfo }>;
  dispose(model: M): void;
  /** every request's one final answer goes out through here */
  answer(msg: Answer): void;
  /** live tensors now, for the answers (flat when nothing leaks) */
  numTensors(): number;
}

/** The end of a run: its active ms, and the pixels it has not posted yet (they ride on its 'done' answer). */
export interface RunResult {
  elapsedMs: number;
  last?: PixelBatch;
}
/** The body of a run: samples on `model` until done (resolves with its end) or until `signal` aborts. */
export type RunBody<M> = (model: M, signal: AbortSignal) => Promise<RunResult>;
/** The body of a job on the model held (a score, an encode): answers with its result. */
export type JobBody<M> = (model: M) => Promise<Answer>;

export function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

function isAbort(e: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (e instanceof Error && e.name === 'AbortError');
}

export class Sequencer<M> {
  /** loads, the backend and scores, one after another */
  private queue: Promise<void> = Promise.resolve();
  /** loads asked for and not yet answered: while there are any, no run starts on the old model */
  private loadsWaiting = 0;
  private newestLoad = 0;
  /** why the backend failed; every load is refused with it */
  private broken: string | null = null;
  private held: { id: number; model: M } | undefined;
  private running: { id: number; abort: AbortController; finished: Promise<void> } | undefined;
  private newestRun = 0;
  /** of each kind of job, the one waiting for its turn (a newer one replaces it) */
  private readonly waitingJob = new Map<string, { id: number; modelId: number; body: JobBody<M> }>();
  /** requests cancelled before they started */
  private cancelled = new Set<number>();

  constructor(private readonly work: Work<M>) {}

  /** The load whose model is held (its reqId), or undefined before the first. */
  get modelId(): number | undefined {
    return this.held?.id;
  }

  /** The run in progress, if any. */
  get runId(): number | undefined {
    return this.running?.id;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(task, task);
    return this.queue;
  }

  /** Starts the backend ahead of every load; when it fails, each load is answered with why. */
  init(start: () => Promise<void>): Promise<void> {
    return this.enqueue(async () => {
      try {
        await start();
      } catch (e) {
        this.broken = errorText(e);
      }
    });
  }

  private fail(reqId: number, message: string, replaced = false): void {
    this.work.answer({ type: 'failed', reqId, message, numTensors: this.work.numTensors(), ...(replaced ? { replaced } : {}) });
  }

  load(reqId: number, spec: string): Promise<void> {
    this.newestLoad = reqId;
    this.loadsWaiting++;
    return this.enqueue(async () => {
      try {
        await this.loadNow(reqId, spec);
      } finally {
        this.loadsWaiting--;
      }
    });
  }

  private overtaken(reqId: number): boolean {
    return reqId !== this.newestLoad || this.cancelled.delete(reqId);
  }

  private async loadNow(reqId: number, spec: string): Promise<void> {
    if (this.broken !== null) return this.fail(reqId, `no tfjs backend started in this worker: ${this.broken}`);
    if (this.overtaken(reqId)) return this.fail(reqId, 'replaced by a newer request', true);
    // the run in progress was for the model on its way out
    await this.stopRun();
    let loaded: { model: M; info: ModelInfo };
    try {
      loaded = await this.work.fetch(spec);
    } catch (e) {
      return this.fail(reqId, errorText(e));
    }
    if (this.overtaken(reqId)) {
      this.work.dispose(loaded.model);
      return this.fail(reqId, 'replaced by a newer request', true);
    }
    // nothing may run on the old weights when they go (no await between this loop and the swap)
    while (this.running) await this.stopRun();
    const old = this.held;
    this.held = { id: reqId, model: loaded.model };
    if (old) this.work.dispose(old.model);
    this.work.answer({ type: 'loaded', reqId, model: loaded.info, numTensors: this.work.numTensors() });
  }

  private async stopRun(): Promise<void> {
    const run = this.running;
    if (!run) return;
    run.abort.abort();
    await run.finished;
  }

  /** Starts a run on the model loaded by `modelId`, once the run before it has stopped. */
  async run(reqId: number, modelId: number, body: RunBody<M>): Promise<void> {
    this.newestRun = reqId;
    await this.stopRun();
    // requests that arrived while the old run was stopping: only the newest may start
    if (reqId !== this.newestRun || this.cancelled.delete(reqId) || this.loadsWaiting > 0) {
      this.work.answer({ type: 'stopped', reqId, numTensors: this.work.numTensors() });
      return;
    }
    if (this.held?.id !== modelId) {
      this.fail(reqId, `run ${reqId}: asked for the model of load ${modelId}, this worker holds ${this.held ? `load ${this.held.id}'s` : 'none'}`);
      return;
    }
    const abort = new AbortController();
    let finish!: () => void;
    const run = { id: reqId, abort, finished: new Promise<void>((r) => (finish = r)) };
    this.running = run;
    try {
      const { elapsedMs, last } = await body(this.held.model, abort.signal);
      this.work.answer({ type: 'done', reqId, elapsedMs, numTensors: this.work.numTensors(), ...(last ? { last } : {}) });
    } catch (e) {
      if (isAbort(e, abort.signal)) this.work.answer({ type: 'stopped', reqId, numTensors: this.work.numTensors() });
      else this.fail(reqId, errorText(e));
    } finally {
      if (this.running === run) this.running = undefined;
      finish();
    }
  }

  /**
   * Runs a job (a score; another kind is another name) on the model loaded by `modelId`, in
   * turn with the loads; a newer job of the same kind still waiting replaces this one.
   */
  job(kind: string, reqId: number, modelId: number, body: JobBody<M>): Promise<void> {
    const before = this.waitingJob.get(kind);
    this.waitingJob.set(kind, { id: reqId, modelId, body });
    if (before) {
      this.fail(before.id, 'replaced by a newer request', true);
      return this.queue;
    }
    return this.enqueue(async () => {
      const job = this.waitingJob.get(kind);
      this.waitingJob.delete(kind);
      if (!job) return;
      if (this.held?.id !== job.modelId) {
        return this.fail(job.id, `${kind}: the picture is for the model of load ${job.modelId}, this worker holds ${this.held ? `load ${this.held.id}'s` : 'none'}`);
      }
      try {
        this.work.answer(await job.body(this.held.model));
      } catch (e) {
        this.fail(job.id, errorText(e));
      }
    });
  }

  /** The page no longer wants this request: a run stops, a waiting run, load or score is skipped. */
  cancel(reqId: number): void {
    if (this.running?.id === reqId) {
      this.running.abort.abort();
      return;
    }
    for (const [kind, job] of this.waitingJob) {
      if (job.id !== reqId) continue;
      this.waitingJob.delete(kind);
      this.fail(reqId, 'cancelled', true);
      return;
    }
    // a load or a run not started yet (only the newest of each can still start)
    if (reqId === this.newestLoad || reqId === this.newestRun) this.cancelled.add(reqId);
  }
}
