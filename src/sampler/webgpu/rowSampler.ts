/// <reference types="@webgpu/types" />
// The fused sampler: a whole run on the GPU, one command buffer and one readback per image
// row. Every sub-pixel's level is drawn on the GPU from the run's uniforms (uploaded once)
// and written into a GPU-side image that the later dispatches read, so nothing goes up per
// sub-pixel; each row's submit ends with a copy of the row's distributions and levels into a
// staging buffer, mapped once. Rows are submitted up to AHEAD in front of the one being
// read, so the GPU never waits for the page and the page waits for at most one row.
import * as tf from '@tensorflow/tfjs';
import { maskedWeights, type PixelCNN } from '../../model';
import { expandImages, prefixLogPost, type GuidePlan } from '../guidance';
import { runUniforms } from '../uniforms';
import { bufferFromTensor, compiled, fusedCounts, gpuDevice, missingLimit, pipelineFor, SLOT_BYTES, writeSlot, type Kernel } from './kernel';
import { fusedLayout, type FusedLayout } from './layout';
import { packCond } from './pack';
import { pixelKernel, pixelSharedFloats } from './pixelKernel';
import { rowKernel } from './rowKernel';
import { warmKernel } from './warmKernel';

/** Rows submitted in front of the one being read back. */
const AHEAD = 2;

/** One image row's decided sub-pixels (from `first`, raster order), as read back once. */
export interface RowResult {
  row: number;
  /** raster index of the first sub-pixel (row * W * C + col * C + channel) */
  first: number;
  count: number;
  /** [count, N * K]: sub-pixel j's distributions of every image */
  probs: Float32Array;
  /** [count, N]: sub-pixel j's level of every image */
  values: Uint8Array;
  /** GPU time of the row's pass, ms (null without timestamp queries) */
  gpuMs: number | null;
}

export interface FusedRun {
  x: Uint8Array;
  /** sub-pixels given (the prefix) */
  length: number;
  seed: number;
  /** the run's first image's stream (a share of a bigger run draws that run's bytes) */
  first: number;
  temperature: number;
}

/** Where the sampler's time and traffic went in one run. */
export interface FusedStats {
  compileMs: number;
  submits: number;
  readbacks: number;
  launches: number;
  /** summed GPU time of the rows' passes (null without timestamp queries) */
  gpuMs: number | null;
}

type Pipe = { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout };

/** An error with one line that says the GPU failed, for the caller's fallback. */
export class GPUFault extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GPUFault';
  }
}

export class FusedSampler {
  readonly stats: FusedStats = { compileMs: 0, submits: 0, readbacks: 0, launches: 0, gpuMs: null };
  private readonly buffers: GPUBuffer[] = [];
  private readonly staging: GPUBuffer[] = [];
  private readonly free: GPUBuffer[] = [];
  private querySet: GPUQuerySet | null = null;
  private resolve: GPUBuffer | null = null;
  private lost: string | null = null;
  private disposed = false;

  private constructor(
    private readonly device: GPUDevice,
    private readonly model: PixelCNN,
    private readonly plan: GuidePlan,
    private readonly run: FusedRun,
    private readonly pipes: { row: Pipe; pixel: Pipe; warm: Pipe },
    private readonly kernels: { row: Kernel; pixel: Kernel; warm: Kernel },
    private readonly lay: FusedLayout,
  ) {
    device.lost.then((info) => (this.lost = info.message || info.reason || 'unknown reason')).catch(() => {});
  }

  /**
   * Compiles (or finds) the three kernels, checks the adapter's limits and uploads the
   * weights, conditioning terms, prefix and uniforms. Throws one line before anything is
   * drawn when the adapter lacks a limit the kernels need.
   */
  static async create(model: PixelCNN, plan: GuidePlan, run: FusedRun, onCompile?: () => void): Promise<FusedSampler> {
    const device = gpuDevice();
    const { config } = model;
    if (config.arch !== 'gated') throw new Error('the fused sampler runs the gated architecture');
    if (config.output?.type === 'logistic') throw new Error('the fused sampler computes a softmax head; use the cached sampler for a logistic-mixture model');
    const lay = fusedLayout(config, plan.kind !== 'none');
    const cond = { kind: config.conditioning.type === 'none' ? 'none' : config.conditioning.spatial === true ? 'spatial' : 'global' } as const;
    const kernels = { row: rowKernel(config, lay, plan, cond), pixel: pixelKernel(config, lay, plan), warm: warmKernel(config, lay, plan) };
    const sizes = FusedSampler.sizes(model, plan, lay);
    const missing = missingLimit(device, Object.values(kernels), pixelSharedFloats(config, plan.S) * 4, Math.max(...Object.values(sizes)) * 4);
    if (missing) throw new GPUFault(`the WebGPU adapter lacks a limit the fused sampler needs: ${missing}`);
    const t0 = performance.now();
    const fresh = !compiled(device, Object.values(kernels));
    if (fresh) onCompile?.();
    const [row, pixel, warm] = await Promise.all([pipelineFor(device, kernels.row), pipelineFor(device, kernels.pixel), pipelineFor(device, kernels.warm)]);
    const s = new FusedSampler(device, model, plan, run, { row, pixel, warm }, kernels, lay);
    s.stats.compileMs = fresh ? performance.now() - t0 : 0;
    try {
      await s.upload(sizes);
    } catch (e) {
      s.dispose();
      throw e;
    }
    return s;
  }

  /** Floats of each buffer the run holds. */
  private static sizes(model: PixelCNN, plan: GuidePlan, lay: FusedLayout): Record<string, number> {
    const { height: H, width: Wd, channels: C, levels: K, hidden: P } = model.config;
    const { N, S } = plan;
    const B = N * S;
    const size = H * Wd * C;
    const PH = N * K;
    return {
      rows: B * lay.row.stride,
      // the pixel state, or the warm kernel's output (the state, then five W x P blocks per stream)
      pix: PH + B * lay.pix.stride + B * 5 * Wd * P,
      img: N * size,
      out: size * N * (K + 1),
      meta: N + size * N,
      weights: lay.weightFloats,
    };
  }

  private buffer(floats: number, usage: number, label: string): GPUBuffer {
    const b = this.device.createBuffer({ label, size: Math.max(4, floats * 4), usage });
    this.buffers.push(b);
    return b;
  }

  private bufs!: Record<'weights' | 'cond' | 'rowA' | 'rowB' | 'pixA' | 'pixB' | 'img' | 'out' | 'meta' | 'params', GPUBuffer>;
  private groups!: { row: GPUBindGroup[]; pixel: GPUBindGroup[][]; warm: GPUBindGroup[][] };

  private async upload(sizes: Record<string, number>): Promise<void> {
    const { device, model, plan, run, lay } = this;
    const { height: H, width: Wd, channels: C, levels: K } = model.config;
    const { N, S } = plan;
    const size = H * Wd * C;
    const STORE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    // weights and conditioning terms: tfjs ops on this device, then a GPU-to-GPU copy
    const flat = tf.tidy(() => {
      const masked = maskedWeights(model.config, model.params);
      return tf.concat([...lay.weights.keys()].map((name) => tf.reshape(masked[name], [-1])));
    });
    const cond = packCond(model, N * S, plan.condition);
    try {
      if (flat.size !== lay.weightFloats) throw new Error(`fused sampler: the model has ${flat.size} weights, the layout holds ${lay.weightFloats}`);
      const weights = bufferFromTensor(device, flat);
      const condBuf = bufferFromTensor(device, cond.t);
      this.buffers.push(weights, condBuf);
      this.bufs = {
        weights,
        cond: condBuf,
        rowA: this.buffer(sizes.rows, STORE, 'rowA'),
        rowB: this.buffer(sizes.rows, STORE, 'rowB'),
        pixA: this.buffer(sizes.pix, STORE, 'pixA'),
        pixB: this.buffer(sizes.pix, STORE, 'pixB'),
        img: this.buffer(sizes.img, STORE, 'img'),
        out: this.buffer(sizes.out, STORE, 'out'),
        meta: this.buffer(sizes.meta, STORE, 'meta'),
        params: this.buffer((size + H + 1) * (SLOT_BYTES / 4), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'params'),
      };
    } finally {
      flat.dispose();
      cond.t.dispose();
    }
    const q = device.queue;
    // the prefix (and zeros past it) as float levels
    q.writeBuffer(this.bufs.img, 0, Float32Array.from(run.x));
    // meta: per image the stream of l_c, then the uniforms [steps, N] narrowed to f32 (drawLevel narrows the same way)
    const steps = size - run.length;
    const meta = new Float32Array(N + size * N);
    meta.set(plan.condStream, 0);
    meta.set(runUniforms(run.seed, N, steps, run.first), N);
    q.writeBuffer(this.bufs.meta, 0, meta);
    // the mixture's log p(c | x_<i) per stream: uniform, or from one pass over the prefix
    if (plan.kind === 'mixture') {
      let logPost: Float64Array | null = null;
      if (run.length > 0) {
        const xs = new Uint8Array(run.x.length * S);
        expandImages(run.x, xs, N, S);
        logPost = await prefixLogPost(model, plan, xs, run.length);
      }
      const state = new Float32Array(N * K + N * S * lay.pix.stride);
      for (let b = 0; b < N * S; b++) state[N * K + b * lay.pix.stride + lay.pix.w] = logPost ? logPost[b] : -Math.log(S);
      q.writeBuffer(this.bufs.pixA, 0, state);
    }
    q.writeBuffer(this.bufs.params, 0, this.slots());
    this.bindGroups();
    if (device.features.has('timestamp-query')) {
      this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * H });
      this.resolve = this.buffer(H * 64, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, 'timestamps');
      this.stats.gpuMs = 0;
    }
  }

  /** One uniform slot per sub-pixel (raster index), then one per row kernel, then the warm kernel's. */
  private slots(): ArrayBuffer {
    const { height: H, width: Wd, channels: C } = this.model.config;
    const size = H * Wd * C;
    const { length, temperature } = this.run;
    const data = new ArrayBuffer((size + H + 1) * SLOT_BYTES);
    const view = new DataView(data);
    const base = { invTemp: 1 / temperature, guide: this.plan.g };
    for (let i = length; i < size; i++) {
      const slot = { row: Math.floor(i / (Wd * C)), col: Math.floor(i / C) % Wd, channel: i % C, step: i - length, pending: i === length ? -1 : i - 1 };
      writeSlot(view, i, { ...slot, ...base });
    }
    for (let r = 0; r < H; r++) writeSlot(view, size + r, { row: r, col: 0, channel: 0, step: 0, pending: -1, ...base });
    const c0 = Math.floor((length % (Wd * C)) / C);
    writeSlot(view, size + H, { row: Math.floor(length / (Wd * C)), col: c0, channel: 0, step: 0, pending: -1, ...base });
    return data;
  }

  /** Bind groups for both directions of each ping-pong pair: row[from], pixel[row][from], warm[row][from]. */
  private bindGroups(): void {
    const b = this.bufs;
    const rows = [b.rowA, b.rowB];
    const pix = [b.pixA, b.pixB];
    const params = { buffer: b.params, size: SLOT_BYTES };
    const group = (p: Pipe, list: GPUBuffer[]) =>
      this.device.createBindGroup({ layout: p.layout, entries: [{ binding: 0, resource: params }, ...list.map((buffer, i) => ({ binding: i + 1, resource: { buffer } }))] });
    this.groups = {
      row: [0, 1].map((f) => group(this.pipes.row, [rows[1 - f], b.weights, rows[f], b.img, b.cond])),
      pixel: [0, 1].map((r) => [0, 1].map((f) => group(this.pipes.pixel, [pix[1 - f], b.weights, rows[r], pix[f], b.img, b.out, b.meta]))),
      warm: [0, 1].map((r) => [0, 1].map((f) => group(this.pipes.warm, [pix[1 - f], b.weights, rows[r], pix[f], b.img]))),
    };
  }

  private stagingBuffer(bytes: number): GPUBuffer {
    const b = this.free.pop() ?? this.device.createBuffer({ label: 'staging', size: bytes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    if (!this.staging.includes(b)) this.staging.push(b);
    return b;
  }

  /**
   * Every row from where the prefix ends, each as one read-back RowResult. Stopping early
   * (return) leaves the submitted rows to finish on the GPU; dispose frees everything.
   */
  async *rows(): AsyncGenerator<RowResult> {
    const { height: H, width: Wd, channels: C, levels: K } = this.model.config;
    const { N } = this.plan;
    const { length } = this.run;
    const WC = Wd * C;
    const size = H * WC;
    const r0 = Math.floor(length / WC);
    // which ping-pong buffer holds the current row / pixel state
    let rowAt = 0;
    let pixAt = 0;
    const rowBytes = WC * N * K * 4 + WC * N * 4 + 16;
    const inFlight: { row: number; first: number; count: number; staging: GPUBuffer; mapped: Promise<void>; scope: Promise<GPUError | null> }[] = [];
    const submit = (r: number) => {
      const first = r === r0 ? length : r * WC;
      const count = (r + 1) * WC - first;
      const enc = this.device.createCommandEncoder();
      const ts = this.querySet ? { querySet: this.querySet, beginningOfPassWriteIndex: 2 * r, endOfPassWriteIndex: 2 * r + 1 } : undefined;
      const pass = enc.beginComputePass(ts ? { timestampWrites: ts } : {});
      const dispatch = (p: Pipe, g: GPUBindGroup, slot: number, groups: number) => {
        pass.setPipeline(p.pipeline);
        pass.setBindGroup(0, g, [slot * SLOT_BYTES]);
        pass.dispatchWorkgroups(groups);
        this.stats.launches++;
        fusedCounts.launches++;
      };
      const rowStep = (rr: number) => {
        dispatch(this.pipes.row, this.groups.row[rowAt], size + rr, this.kernels.row.groups);
        rowAt = 1 - rowAt;
      };
      if (r === r0 && length > 0) {
        // the prefix: a row kernel per given row and the resuming one, the warm kernel for its given columns
        for (let rr = 0; rr <= r0; rr++) rowStep(rr);
        if (length % WC >= C) {
          dispatch(this.pipes.warm, this.groups.warm[rowAt][pixAt], size + H, this.kernels.warm.groups);
          pixAt = 1 - pixAt;
        }
      } else rowStep(r);
      for (let i = first; i < first + count; i++) {
        dispatch(this.pipes.pixel, this.groups.pixel[rowAt][pixAt], i, this.kernels.pixel.groups);
        pixAt = 1 - pixAt;
      }
      pass.end();
      const staging = this.stagingBuffer(rowBytes);
      const pb = count * N * K * 4;
      enc.copyBufferToBuffer(this.bufs.out, first * N * K * 4, staging, 0, pb);
      enc.copyBufferToBuffer(this.bufs.out, (size * N * K + first * N) * 4, staging, pb, count * N * 4);
      if (this.querySet && this.resolve) {
        enc.resolveQuerySet(this.querySet, 2 * r, 2, this.resolve, r * 256);
        enc.copyBufferToBuffer(this.resolve, r * 256, staging, rowBytes - 16, 16);
      }
      this.device.pushErrorScope('validation');
      this.device.queue.submit([enc.finish()]);
      const scope = this.device.popErrorScope();
      const mapped = staging.mapAsync(GPUMapMode.READ);
      // a stopped run leaves these unawaited: never an unhandled rejection
      mapped.catch(() => {});
      scope.catch(() => {});
      this.stats.submits++;
      this.stats.readbacks++;
      fusedCounts.submits++;
      fusedCounts.readbacks++;
      inFlight.push({ row: r, first, count, staging, mapped, scope });
    };
    let next = r0;
    for (let r = r0; r < H; r++) {
      let f: (typeof inFlight)[number];
      let range: ArrayBuffer;
      try {
        while (next < H && next <= r + AHEAD) submit(next++);
        f = inFlight.shift()!;
        const err = await f.scope;
        if (err) throw new GPUFault(`the fused sampler's kernels failed: ${err.message.split('\n')[0]}`);
        await f.mapped;
        // a row mapped before the device was lost has its buffer destroyed since: this throws then
        range = f.staging.getMappedRange();
      } catch (e) {
        if (this.disposed) return;
        if (this.lost !== null) throw new GPUFault(`the GPU device was lost: ${this.lost.split('\n')[0]}`);
        throw e instanceof GPUFault ? e : new GPUFault(`reading back row ${r} failed: ${(e as Error).message.split('\n')[0]}`);
      }
      const pb = f.count * N * K * 4;
      const probs = new Float32Array(range.slice(0, pb));
      const levels = new Float32Array(range.slice(pb, pb + f.count * N * 4));
      let gpuMs: number | null = null;
      if (this.querySet) {
        const t = new BigUint64Array(range.slice(rowBytes - 16, rowBytes));
        gpuMs = Number(t[1] - t[0]) / 1e6;
        this.stats.gpuMs = (this.stats.gpuMs ?? 0) + gpuMs;
      }
      f.staging.unmap();
      this.free.push(f.staging);
      yield { row: f.row, first: f.first, count: f.count, probs, values: Uint8Array.from(levels), gpuMs };
    }
  }

  /** Frees every buffer of the run (rows still on the GPU finish first: WebGPU keeps them alive). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of [...this.buffers, ...this.staging]) b.destroy();
    this.querySet?.destroy();
  }
}
