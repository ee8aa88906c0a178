// Where gradients are computed: a pool of worker threads (data-parallel, one tfjs
// instance each) or the calling thread. A batch is cut into the same contiguous shards
// either way and the shard gradients are summed in shard order, so a local engine with
// as many shards as there are workers gives bit-identical results.
import type { Worker } from 'node:worker_threads';
import { startThread } from '../backend/thread.ts';
import type { ModelConfig } from '../model';
import { accumulateGradient, imageNats, paramLayout, type ParamLayout } from './gradient.ts';
import type { ConvShape, FromGradientThread, ToGradientThread, WorkerBackend } from './protocol.ts';

export interface GradientEngine {
  readonly layout: ParamLayout;
  /** current weights: write them here before calling gradient() or evalNats() */
  readonly params: Float32Array;
  readonly shards: number;
  /**
   * Gradient of (summed nats of the batch) * scale into `out` (overwritten). `images` holds
   * `labels.length` images of `pixels` values each. Returns the summed nats.
   */
  gradient(images: Uint8Array, labels: Uint8Array, scale: number, out: Float32Array): Promise<number>;
  /** Summed nats of each image. */
  evalNats(images: Uint8Array, labels: Uint8Array): Promise<Float64Array>;
  close(): Promise<void>;
}

/** [start, end) of shard s when n items are cut into k nearly equal contiguous parts. */
export function shardRange(n: number, k: number, s: number): [number, number] {
  return [Math.floor((n * s) / k), Math.floor((n * (s + 1)) / k)];
}

function pixelsOf(config: ModelConfig): number {
  return config.height * config.width * config.channels;
}

/** Computes on the calling thread (its tfjs backend must be set up already). */
export class LocalEngine implements GradientEngine {
  readonly layout: ParamLayout;
  readonly params: Float32Array;
  private readonly scratch: Float32Array;

  constructor(
    readonly config: ModelConfig,
    readonly shards = 1,
  ) {
    this.layout = paramLayout(config);
    this.params = new Float32Array(this.layout.total);
    this.scratch = new Float32Array(this.layout.total);
  }

  async gradient(images: Uint8Array, labels: Uint8Array, scale: number, out: Float32Array): Promise<number> {
    const px = pixelsOf(this.config);
    out.fill(0);
    let nats = 0;
    for (let s = 0; s < this.shards; s++) {
      const [a, b] = shardRange(labels.length, this.shards, s);
      if (a === b) continue;
      this.scratch.fill(0);
      nats += accumulateGradient(this.config, this.layout, this.params, images.subarray(a * px, b * px), labels.subarray(a, b), scale, this.scratch);
      for (let i = 0; i < out.length; i++) out[i] += this.scratch[i];
    }
    return nats;
  }

  async evalNats(images: Uint8Array, labels: Uint8Array): Promise<Float64Array> {
    return imageNats(this.config, this.layout, this.params, images, labels);
  }

  async close(): Promise<void> {}
}

interface Pending {
  resolve: (m: FromGradientThread) => void;
  reject: (e: Error) => void;
}

class WorkerHandle {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private failed: Error | null = null;
  readonly grad: Float32Array;

  constructor(
    readonly worker: Worker,
    gradBuffer: SharedArrayBuffer,
  ) {
    this.grad = new Float32Array(gradBuffer);
    worker.on('message', (m: FromGradientThread) => {
      if (!('id' in m) || m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.type === 'error') p.reject(new Error(m.message));
      else p.resolve(m);
    });
    const failAll = (e: Error) => {
      this.failed = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', (e) => failAll(new Error(`train worker crashed: ${e.message.split('\n')[0]}`)));
    worker.on('exit', (code) => failAll(new Error(`train worker exited (code ${code})`)));
  }

  request<T extends FromGradientThread['type']>(
    m: ToGradientThread & { id: number },
    want: T,
  ): Promise<Extract<FromGradientThread, { type: T }>> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.set(m.id, {
        resolve: (r) => (r.type === want ? resolve(r as Extract<FromGradientThread, { type: T }>) : reject(new Error(`train worker: unexpected reply ${r.type}`))),
        reject,
      });
      this.worker.postMessage(m);
    });
  }

  id(): number {
    return this.nextId++;
  }
}

/** Data-parallel gradients on `count` worker threads, each with its own tfjs instance. */
export class WorkerEngine implements GradientEngine {
  readonly layout: ParamLayout;
  readonly params: Float32Array;
  /** per-worker time of the last gradient() call, ms */
  lastShardMs: number[] = [];
  /** per-worker tfjs tensor count after the last gradient() call (leak checks) */
  lastTensorCounts: number[] = [];

  private constructor(
    readonly config: ModelConfig,
    private readonly handles: WorkerHandle[],
    paramsBuffer: SharedArrayBuffer,
    readonly backend: string,
  ) {
    this.layout = paramLayout(config);
    this.params = new Float32Array(paramsBuffer);
  }

  get shards(): number {
    return this.handles.length;
  }

  static async create(config: ModelConfig, count: number, backend: WorkerBackend): Promise<WorkerEngine> {
    if (!Number.isInteger(count) || count < 1) throw new Error(`workers: expected an integer >= 1, got ${count}`);
    const layout = paramLayout(config);
    const paramsBuffer = new SharedArrayBuffer(layout.total * 4);
    const handles: WorkerHandle[] = [];
    try {
      const started = await Promise.all(
        Array.from({ length: count }, async () => {
          const gradBuffer = new SharedArrayBuffer(layout.total * 4);
          const worker = startThread(new URL('./gradientThread.ts', import.meta.url));
          const h = new WorkerHandle(worker, gradBuffer);
          handles.push(h);
          const ready = new Promise<FromGradientThread>((resolve, reject) => {
            worker.once('message', resolve);
            worker.once('error', reject);
          });
          const init: ToGradientThread = { type: 'init', config, backend, params: paramsBuffer, grad: gradBuffer };
          worker.postMessage(init);
          const m = await ready;
          if (m.type === 'error') throw new Error(m.message);
          if (m.type !== 'ready') throw new Error(`train worker: unexpected first message ${m.type}`);
          return m.backend;
        }),
      );
      return new WorkerEngine(config, handles, paramsBuffer, started[0]);
    } catch (e) {
      await Promise.all(handles.map((h) => h.worker.terminate()));
      throw e;
    }
  }

  async gradient(images: Uint8Array, labels: Uint8Array, scale: number, out: Float32Array): Promise<number> {
    const px = pixelsOf(this.config);
    const k = this.handles.length;
    const replies = await Promise.all(
      this.handles.map((h, s) => {
        const [a, b] = shardRange(labels.length, k, s);
        if (a === b) {
          h.grad.fill(0);
          return Promise.resolve({ nats: 0, ms: 0, numTensors: -1 });
        }
        // slice() copies: the worker gets its own small buffers
        return h.request({ type: 'grad', id: h.id(), images: images.slice(a * px, b * px), labels: labels.slice(a, b), scale }, 'grad');
      }),
    );
    // sum shard gradients in shard order (fixed order: deterministic)
    out.set(this.handles[0].grad);
    for (let s = 1; s < k; s++) {
      const g = this.handles[s].grad;
      for (let i = 0; i < out.length; i++) out[i] += g[i];
    }
    this.lastShardMs = replies.map((r) => r.ms);
    this.lastTensorCounts = replies.map((r) => r.numTensors);
    let nats = 0;
    for (const r of replies) nats += r.nats;
    return nats;
  }

  async evalNats(images: Uint8Array, labels: Uint8Array): Promise<Float64Array> {
    const px = pixelsOf(this.config);
    const k = this.handles.length;
    const parts = await Promise.all(
      this.handles.map((h, s) => {
        const [a, b] = shardRange(labels.length, k, s);
        if (a === b) return Promise.resolve(new Float64Array(0));
        return h.request({ type: 'eval', id: h.id(), images: images.slice(a * px, b * px), labels: labels.slice(a, b) }, 'eval').then((r) => r.nats);
      }),
    );
    const out = new Float64Array(labels.length);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** GFLOP/s of plain conv2d forwards of `shapes`, run on every worker at once; summed. */
  async convBench(shapes: ConvShape[], seconds: number): Promise<number[]> {
    const r = await Promise.all(this.handles.map((h) => h.request({ type: 'convBench', id: h.id(), shapes, seconds }, 'convBench')));
    return r.map((m) => m.gflops);
  }

  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}
