// CPU sampling in one call a sub-pixel and one a row: the cached sampler (steppers.ts)
// with its per-sub-pixel horizontal step and its once-a-row vertical step done by a
// hand-written WebAssembly SIMD kernel (cpuKernel.as.ts) instead of ~200 and ~140 tfjs
// kernel launches, as the fused WebGPU kernels do it on the GPU (webgpu/). The masked
// weights and the condition's terms are packed into the kernel's memory once (a spatial
// code's map s = m(h) too, a row at a time); nothing else touches tfjs while it samples,
// but a logistic-mixture head's few ops. For wasm and cpu backends (it reads tensors
// back with dataSync). The stepping itself is cpuRows.ts's, tf-free, so threads can step
// their own rows of the same memory (kernelThreads.ts).
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../model';
import { condTensor, condTerms, maskedWeights, spatialMap } from '../model';
import { outputLogits } from '../model';
import type { Condition, PixelCNN } from '../model';
import type { ModelConfig } from '../model/config';
import { CpuRows, heapBase, kernelModule, layout, mapRowsOf, MAX_KERNEL_BYTES, MODE, spatialChannels, writeTable, type KernelExports } from './cpuRows';

export { MAX_KERNEL_BYTES, canShareKernel } from './cpuRows';

/** The memory and kernel instance of a batch of N rows; `shared`: a shared memory, for threads (made at its full size: it cannot move). */
function kernelOn(model: PixelCNN, N: number, shared: boolean) {
  const config = model.config;
  if (config.arch !== 'gated') throw new Error('the cached sampler runs the gated architecture; use mode "naive" for the masked baseline');
  const lay = layout(config, N, heapBase(shared));
  // its memory grows with the batch, up to what its i32 offsets reach: past that, one line before anything is drawn
  if (lay.bytes > MAX_KERNEL_BYTES) {
    const per = Math.ceil(lay.bytes / N);
    throw new Error(`cpu sampler: a batch of ${N} rows needs ${(lay.bytes / 2 ** 20).toFixed(0)} MB of kernel memory, over the ${MAX_KERNEL_BYTES / 2 ** 30} GB limit; sample at most ${Math.floor(MAX_KERNEL_BYTES / per)} rows at a time (sampleChunked does)`);
  }
  const pages = Math.ceil(lay.bytes / 65536);
  const memory = new WebAssembly.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages });
  const kernel = new WebAssembly.Instance(kernelModule(shared), { env: { memory } }).exports as unknown as KernelExports;
  writeTable(memory, config, N, lay);
  return [config, N, 0, N, memory, kernel, lay, undefined] as const;
}

/** CpuSteppers made so far in this thread (their memories' ids) */
let memories = 0;

/** A mixture head's levels from its raw outputs [rows, nCols] (a few tfjs ops on rows x C x 3M values). */
function mixtureLevels(config: ModelConfig, out: Float32Array, rows: number, nCols: number, ch: number, mode: number, temperature: number): Float32Array {
  const K = config.levels;
  const p = tf.tidy(() => {
    const logits = tf.reshape(tf.slice(outputLogits(config, tf.tensor2d(out, [rows, nCols])), [0, ch, 0], [rows, 1, K]), [rows, K]);
    return mode === MODE.softmax ? tf.softmax(tf.div(logits, temperature)) : tf.logSoftmax(logits);
  });
  const values = p.dataSync() as Float32Array;
  p.dispose();
  return values;
}

/** Per layer: the vertical and the link's bias [2p] (each added to zeros, as tfjs does it) and the condition weights V [D, 2p]. */
interface BiasRows {
  vb: Float32Array[];
  lb: Float32Array[];
  vc: Float32Array[];
  hc: Float32Array[];
}

/** Rows n0 .. n1-1 of a CpuStepper's memory, with tfjs at hand for a mixture head; `onDispose`: a kept memory's way back (kernelCache.ts). */
class CpuView extends CpuRows {
  constructor(args: ConstructorParameters<typeof CpuRows>, private readonly onDispose?: () => void) {
    super(...args);
  }

  protected override mixture(out: Float32Array, nCols: number, ch: number, mode: number, temperature: number): Float32Array {
    return mixtureLevels(this.config, out, this.rows, nCols, ch, mode, temperature);
  }

  override dispose(): void {
    this.onDispose?.();
  }
}

/**
 * Every row of a packed kernel memory of N rows; `shared`: on a shared memory, whose rows
 * threads may also step (kernelThreads.ts). The weights are packed once; a run's condition
 * (setCondition) goes on its first rows, so a memory kept between runs (kernelCache.ts)
 * serves any run of up to N rows.
 */
export class CpuStepper extends CpuRows {
  /** names this memory to helper threads, which keep their instance of the kernel on it from one run to the next (kernelThreads.ts) */
  readonly memoryId = ++memories;
  private masked: Params | undefined;
  /**
   * A class model's (or an unconditional one's) per-layer biases [2p] and condition
   * weights V [D, 2p]: a one-hot h picks a row of V, so setCondition adds them in plain
   * JavaScript to tfjs's bits (a float32 sum rounded once) instead of ~60 tfjs ops a run.
   */
  private biasRows: BiasRows | undefined;

  /** `rows`: the first run's rows (up to N), which `condition` covers */
  constructor(private readonly model: PixelCNN, N: number, condition: Condition | undefined, readonly shared = false, rows = N) {
    super(...kernelOn(model, N, shared));
    this.packWeights();
    this.setCondition(condition, rows);
  }

  /** the batch rows its memory holds */
  get capacity(): number {
    return this.N;
  }

  /** The memory, its kernel and where the kernel's static data ends: what another thread needs to step some of its rows. */
  get packed(): { memory: WebAssembly.Memory; memoryId: number; module: WebAssembly.Module; base: number } {
    return { memory: this.memory, memoryId: this.memoryId, module: kernelModule(this.shared), base: heapBase(this.shared) };
  }

  /** A spatial code's map of rows n0 .. n1-1 [n1 - n0, H, W, q] (none without one). */
  mapRows(n0: number, n1: number): Float32Array | undefined {
    return mapRowsOf(this.config, this.sMap, n0, n1);
  }

  /** Rows n0 .. n1-1 of this memory, stepped on their own (a block of a run split across threads, or a run of fewer rows than it holds). */
  view(n0: number, n1: number, onDispose?: () => void): CpuRows {
    return new CpuView([this.config, this.N, n0, n1, this.memory, this.kernel, this.lay, this.mapRows(n0, n1)], onDispose);
  }

  /**
   * The masked weights, once: h_conv [1, half+1, cin, 2p], v_conv [half+1, k, cin, 2p],
   * the rest as [in, out].
   */
  private packWeights(): void {
    const { layers: L } = this.config;
    const q = spatialChannels(this.config);
    tf.tidy(() => {
      const masked = maskedWeights(this.config, this.model.params);
      const put = (name: string, at: number) => {
        const t = masked[name];
        if (!t) throw new Error(`cpu sampler: missing weight "${name}"`);
        this.floats(at, t.size).set(t.dataSync() as Float32Array);
      };
      for (let l = 0; l < L; l++) {
        put(`l${l}/h_conv`, this.lay.hc[l]);
        put(`l${l}/out`, this.lay.ow[l]);
        put(`l${l}/out_bias`, this.lay.ob[l]);
        put(`l${l}/v_conv`, this.lay.vw[l]);
        put(`l${l}/link`, this.lay.lw[l]);
        if (q > 0) {
          put(`l${l}/v_cond`, this.lay.vcw[l]);
          put(`l${l}/h_cond`, this.lay.hcw[l]);
        }
      }
      put('head/w1', this.lay.w1);
      put('head/b1', this.lay.b1);
      put('head/w2', this.lay.w2);
      put('head/b2', this.lay.b2);
    });
  }

  /**
   * A run's condition on its first `rows` rows, per image the vertical and the link's bias
   * with a bias condition folded in, or a spatial code's map (copied in a row at a time);
   * every block a run writes back to zeros. (Biases and condition weights are never masked:
   * the model's own tensors.)
   */
  setCondition(condition: Condition | undefined, rows: number): void {
    if (!Number.isInteger(rows) || rows < 1 || rows > this.N) throw new Error(`cpu sampler: a run of ${rows} rows on a memory of ${this.N}`);
    const { layers: L, hidden: P } = this.config;
    const P2 = 2 * P;
    const q = spatialChannels(this.config);
    const bytes = new Uint8Array(this.memory.buffer);
    for (const [at, n] of this.lay.scratch) bytes.fill(0, at, at + n);
    const params = this.model.params;
    const read = (t: tf.Tensor) => t.dataSync() as Float32Array;
    const type = this.config.conditioning.type;
    if (q === 0 && (type === 'class' || type === 'none')) {
      // (tidy returns nothing: it would walk returned typed arrays element by element)
      if (!this.biasRows) {
        const t: BiasRows = { vb: [], lb: [], vc: [], hc: [] };
        tf.tidy(() => {
          const rows0 = (b: tf.Tensor) => read(tf.add(tf.zeros([1, P2]), b)).slice();
          const table = (name: string) => (params[name] ? read(params[name]).slice() : new Float32Array(0));
          for (let l = 0; l < L; l++) {
            t.vb.push(rows0(params[`l${l}/v_bias`]));
            t.lb.push(rows0(tf.add(params[`l${l}/link_bias`], params[`l${l}/h_bias`])));
            t.vc.push(table(`l${l}/v_cond`));
            t.hc.push(table(`l${l}/h_cond`));
          }
        });
        this.biasRows = t;
      }
      // each row's class (or the null slot): condTensor checks the condition and sets it
      const h = condTensor(this.config, condition, rows);
      const hot = h ? read(h) : undefined;
      h?.dispose();
      const D = hot ? hot.length / rows : 0;
      const t = this.biasRows;
      for (let n = 0; n < rows; n++) {
        const y = hot ? hot.subarray(n * D, (n + 1) * D).indexOf(1) : -1;
        for (let l = 0; l < L; l++) {
          const vb = this.floats(this.lay.vb[l] + n * P2 * 4, P2);
          const lb = this.floats(this.lay.lb[l] + n * P2 * 4, P2);
          for (let j = 0; j < P2; j++) {
            vb[j] = y < 0 ? t.vb[l][j] : t.vb[l][j] + t.vc[l][y * P2 + j];
            lb[j] = y < 0 ? t.lb[l][j] : t.lb[l][j] + t.hc[l][y * P2 + j];
          }
        }
      }
      this.sMap = undefined;
      return;
    }
    // tidy returns the map as a tensor: a typed array returned from tidy is walked element by element
    const map = tf.tidy(() => {
      const h = condTensor(this.config, condition, rows);
      const terms = h && q === 0 ? condTerms(this.config, params, h) : {};
      for (let l = 0; l < L; l++) {
        // [rows, 2p]: v_bias (+ V^T h); link_bias + h_bias (+ V^T h)
        const vb = tf.add(tf.zeros([rows, P2]), params[`l${l}/v_bias`]);
        const lb = tf.add(tf.zeros([rows, P2]), tf.add(params[`l${l}/link_bias`], params[`l${l}/h_bias`]));
        const vc = terms[`l${l}/v_cond`];
        const hc = terms[`l${l}/h_cond`];
        this.floats(this.lay.vb[l], rows * P2).set(read(vc ? tf.add(vb, tf.reshape(vc, [rows, P2])) : vb));
        this.floats(this.lay.lb[l], rows * P2).set(read(hc ? tf.add(lb, tf.reshape(hc, [rows, P2])) : lb));
      }
      return h && q > 0 ? spatialMap(this.config, params, h) : undefined;
    });
    this.sMap = map ? read(map) : undefined;
    map?.dispose();
  }

  protected override mixture(out: Float32Array, nCols: number, ch: number, mode: number, temperature: number): Float32Array {
    return mixtureLevels(this.config, out, this.rows, nCols, ch, mode, temperature);
  }

  /** the masked weights it runs (benchmarks compare its layer step with the same as tfjs ops) */
  weights(): Params {
    // in a tidy: the masks multiplied in are tensors too
    this.masked ??= tf.tidy(() => maskedWeights(this.config, this.model.params));
    return this.masked;
  }

  /** Layer l's step alone at column c (benchmarks: one layer against the same as tfjs ops). */
  layerStep(l: number, c: number): void {
    this.kernel.layer(this.lay.cfg, l, c);
  }

  override dispose(): void {
    // masked copies only: the caller's own weights stay alive
    const own = new Set(Object.values(this.model.params));
    for (const t of Object.values(this.masked ?? {})) if (!own.has(t)) t.dispose();
    this.masked = undefined;
  }
}
