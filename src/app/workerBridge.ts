// One request, one promise: the page's side of a worker that answers each request once,
// tagged with its reqId. A newer request of the same kind replaces an older one (its
// promise rejects at once with an AbortError and the worker is told to drop it); an
// AbortSignal cancels a request the same way; whatever the worker says later about a
// request that is no longer pending is dropped, so a late answer can never land on the
// page. The clients (samplerClient.ts, receptiveClient.ts) say which messages are what.

/** The part of a Worker the bridge uses (a fake one in unit tests). */
export interface WorkerPort {
  postMessage(msg: unknown, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  onerror: ((ev: ErrorEvent) => void) | null;
  terminate(): void;
}

/** A request the worker could not do: one line, and its live tensors afterwards when known. */
export class WorkerError extends Error {
  constructor(
    message: string,
    readonly numTensors: number | null = null,
  ) {
    super(message);
    this.name = 'WorkerError';
  }
}

/** A request replaced by a newer one or cancelled: nothing to show. */
export function abortError(why: string): Error {
  const e = new Error(why);
  e.name = 'AbortError';
  return e;
}

export function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** How a client reads its worker's messages. */
export interface Reading<Msg> {
  /** the request a message is about, or undefined for a message about the worker itself */
  reqId(msg: Msg): number | undefined;
  /** whether the message is the request's one final answer (otherwise it reports progress) */
  isFinal(msg: Msg): boolean;
  /** a final answer that is a failure: its one line and tensors */
  failure(msg: Msg): { message: string; numTensors: number | null; replaced?: boolean } | undefined;
  /** what tells the worker to drop a request (none: the worker drops replaced ones itself) */
  cancel?(reqId: number): unknown;
}

interface Pending<Msg> {
  kind: string;
  resolve(msg: Msg): void;
  reject(e: Error): void;
  progress?(msg: Msg): void;
  detach(): void;
}

export interface Sent<Msg> {
  reqId: number;
  /** the final answer; rejects with WorkerError (failed) or an AbortError (replaced, cancelled) */
  answer: Promise<Msg>;
}

export class Bridge<Msg> {
  private nextId = 0;
  private readonly pending = new Map<number, Pending<Msg>>();
  /** the newest request of each kind, kept after it is answered */
  private readonly newest = new Map<string, number>();
  private dead: string | null = null;

  constructor(
    private readonly port: WorkerPort,
    private readonly opts: {
      reading: Reading<Msg>;
      /** messages about the worker itself (its backend, its init error) */
      onWorker(msg: Msg): void;
      /**
       * every final answer to the newest request of its kind, even one the page stopped
       * waiting for (a stopped run still says how many tensors are left)
       */
      onNewest?(msg: Msg, kind: string): void;
      /** every message, before anything else (a failing e2e test prints the last ones) */
      trace?(msg: Msg): void;
      /** the worker died (a script error): after this every request fails with `message` */
      onCrash?(message: string): void;
      /** what a crash names, e.g. 'sampling worker' */
      name: string;
    },
  ) {
    port.onmessage = (ev: MessageEvent<Msg>) => this.receive(ev.data);
    port.onerror = (ev: ErrorEvent) => this.crash(`${opts.name} failed: ${ev.message || 'script error'}`);
  }

  /** The newest request of a kind, answered or not (0 before the first). */
  newestOf(kind: string): number {
    return this.newest.get(kind) ?? 0;
  }

  /** Whether a request is still waiting for its answer. */
  isPending(reqId: number): boolean {
    return this.pending.has(reqId);
  }

  /** Posts a message that is no request (init, pause, ...). */
  post(msg: unknown, transfer: Transferable[] = []): void {
    if (this.dead === null) this.port.postMessage(msg, transfer);
  }

  /**
   * Sends the request `make` builds around its new reqId. A pending request of the same
   * kind is replaced by it.
   */
  send(kind: string, make: (reqId: number) => { msg: unknown; transfer?: Transferable[] }, opts: { signal?: AbortSignal; progress?: (msg: Msg) => void } = {}): Sent<Msg> {
    const reqId = ++this.nextId;
    const before = this.newest.get(kind);
    this.newest.set(kind, reqId);
    if (before !== undefined) this.drop(before, 'replaced by a newer request');
    const answer = new Promise<Msg>((resolve, reject) => {
      if (this.dead !== null) return reject(new WorkerError(this.dead));
      if (opts.signal?.aborted) return reject(abortError('cancelled'));
      const onAbort = () => this.drop(reqId, 'cancelled');
      opts.signal?.addEventListener('abort', onAbort);
      this.pending.set(reqId, { kind, resolve, reject, progress: opts.progress, detach: () => opts.signal?.removeEventListener('abort', onAbort) });
      const { msg, transfer } = make(reqId);
      this.port.postMessage(msg, transfer ?? []);
    });
    return { reqId, answer };
  }

  /** The page no longer wants this request: its promise rejects now, the worker is told. */
  drop(reqId: number, why = 'cancelled'): void {
    const p = this.pending.get(reqId);
    if (!p) return;
    this.pending.delete(reqId);
    p.detach();
    p.reject(abortError(why));
    const cancel = this.opts.reading.cancel?.(reqId);
    if (cancel !== undefined) this.post(cancel);
  }

  private receive(msg: Msg): void {
    this.opts.trace?.(msg);
    const reqId = this.opts.reading.reqId(msg);
    if (reqId === undefined) return this.opts.onWorker(msg);
    const final = this.opts.reading.isFinal(msg);
    if (final) for (const [kind, id] of this.newest) if (id === reqId) this.opts.onNewest?.(msg, kind);
    const p = this.pending.get(reqId);
    if (!p) return; // replaced or cancelled: dropped
    if (!final) return p.progress?.(msg);
    this.pending.delete(reqId);
    p.detach();
    const failed = this.opts.reading.failure(msg);
    if (failed) p.reject(failed.replaced ? abortError(failed.message) : new WorkerError(failed.message, failed.numTensors));
    else p.resolve(msg);
  }

  /** The worker died: every request waiting, and every later one, fails with why. */
  crash(message: string): void {
    this.dead = message;
    for (const p of this.pending.values()) {
      p.detach();
      p.reject(new WorkerError(message));
    }
    this.pending.clear();
    this.port.terminate();
    this.opts.onCrash?.(message);
  }

  terminate(): void {
    this.crash(`${this.opts.name} closed`);
  }
}
