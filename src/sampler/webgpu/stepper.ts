// The fused sampler's Stepper: owns the packed weights and the row and pixel state on the
// GPU, and runs the three kernels in the order the sampler's raster loop asks for them.
import * as tf from '@tensorflow/tfjs';
import type { Condition, PixelCNN } from '../../model';
import { expandImages, guidePlan, prefixLogPost, type GuidePlan } from '../guidance';
import type { Stepper } from '../steppers';
import { fusedLayout, type CondInfo, type FusedLayout } from './layout';
import { packCond, packWeights } from './pack';
import { pixelProgram, pixelSharedFloats } from './pixelKernel';
import { rowProgram } from './rowKernel';
import { isWebGPUBackend, readFirst, runProgram, type Program } from './shim';
import { warmProgram } from './warmKernel';

export class FusedWebGPUStepper implements Stepper {
  private rowState: tf.Tensor;
  private pixState: tf.Tensor;
  private readonly rowProg: Program;
  private readonly pixProg: Program;
  private readonly warmProg: Program;
  /** raster index of the sub-pixel decided after the last step (-1: none); the mixture learns from it */
  private pending = -1;
  /** kernel launches so far (for benchmarks) */
  launches = 0;
  /** floats read back from the GPU so far (for tests: N * K a sub-pixel) */
  readFloats = 0;

  private constructor(
    private readonly model: PixelCNN,
    private readonly plan: GuidePlan,
    private readonly lay: FusedLayout,
    private readonly weights: tf.Tensor1D,
    private readonly cond: tf.Tensor1D,
    condInfo: CondInfo,
  ) {
    const config = model.config;
    this.rowProg = rowProgram(config, lay, plan, condInfo);
    this.pixProg = pixelProgram(config, lay, plan);
    this.warmProg = warmProgram(config, lay, plan);
    this.rowState = tf.zeros([plan.N * plan.S * lay.row.stride]);
    this.pixState = this.initialPixState(null);
  }

  /**
   * count images; with a guidance plan (guidePlan) its streams run inside the same
   * dispatches, as more workgroups of the row kernel and side by side in the pixel kernel.
   */
  static async create(model: PixelCNN, count: number, condition: Condition | undefined, plan?: GuidePlan): Promise<FusedWebGPUStepper> {
    if (!isWebGPUBackend()) throw new Error(`the fused sampler needs the webgpu backend (current: ${tf.getBackend()})`);
    if (model.config.arch !== 'gated') throw new Error('the fused sampler runs the gated architecture');
    if (model.config.output?.type === 'logistic') throw new Error('the fused sampler computes a softmax head; use the cached sampler for a logistic-mixture model');
    const p = plan ?? guidePlan(model, { count, seed: 0, condition });
    const shared = pixelSharedFloats(model.config, p.S) * 4;
    if (shared > 16384) {
      throw new Error(`the fused sampler: ${p.S} streams per image need ${Math.ceil(shared / 1024)} KB of workgroup memory, over WebGPU's 16 KB; use the cached sampler`);
    }
    const lay = fusedLayout(model.config, p.kind !== 'none');
    const packed = await packWeights(model, lay);
    const cond = packCond(model, p.N * p.S, p.condition);
    return new FusedWebGPUStepper(model, p, lay, tf.tensor1d(packed), cond.t, cond.info);
  }

  /** Zeros, but the mixture's log p(c | x_<i) per stream (uniform without a prefix). */
  private initialPixState(logPost: Float64Array | null): tf.Tensor1D {
    const { N, S } = this.plan;
    const K = this.model.config.levels;
    const PS = this.lay.pix.stride;
    const state = new Float32Array(N * K + N * S * PS);
    if (this.plan.kind === 'mixture') {
      for (let b = 0; b < N * S; b++) state[N * K + b * PS + this.lay.pix.w] = logPost ? logPost[b] : -Math.log(S);
    }
    return tf.tensor1d(state);
  }

  private run(prog: Program, inputs: tf.Tensor[], r: number, c: number, ch: number, temperature: number): tf.Tensor {
    const out = runProgram(prog, inputs, { row: r, col: c, channel: ch, invTemp: 1 / temperature, guide: this.plan.g });
    this.launches++;
    return out;
  }

  /** The decided values of row r, normalised to [-1, 1]; undecided sub-pixels 0. [N * W * C], then `extra`. */
  private rowInput(x: Uint8Array, r: number, upTo: number, extra: number[] = []): tf.Tensor1D {
    const { height: H, width: Wd, channels: C, levels: K } = this.model.config;
    const N = this.plan.N;
    const out = new Float32Array(N * Wd * C + extra.length);
    if (r >= 0) {
      const scale = 2 / (K - 1);
      for (let n = 0; n < N; n++) {
        const src = (n * H + r) * Wd * C;
        for (let j = 0; j < Math.min(upTo, Wd * C); j++) out[n * Wd * C + j] = x[src + j] * scale - 1;
      }
    }
    out.set(extra, N * Wd * C);
    return tf.tensor1d(out);
  }

  startRow(r: number, x: Uint8Array): void {
    const { width: Wd, channels: C } = this.model.config;
    // the vertical stack sees the image shifted down one row; row -1 is all zeros
    const img = r === 0 ? tf.zeros([this.plan.N * Wd * C]) : this.rowInput(x, r - 1, Wd * C);
    const next = this.run(this.rowProg, [this.weights, this.rowState, img, this.cond], r, 0, 0, 1);
    img.dispose();
    this.rowState.dispose();
    this.rowState = next;
  }

  /** One pixel dispatch; its output (the distribution, then the new state) becomes the state. */
  private pixelStep(r: number, c: number, ch: number, x: Uint8Array, temperature: number, prev: number[]): tf.Tensor {
    const { channels: C } = this.model.config;
    const extra = [...prev, ...this.plan.condStream];
    const img = this.rowInput(x, r, c * C + ch, extra);
    const out = this.run(this.pixProg, [this.weights, this.rowState, this.pixState, img], r, c, ch, temperature);
    img.dispose();
    this.pixState.dispose();
    this.pixState = out;
    return out;
  }

  async probs(r: number, c: number, ch: number, x: Uint8Array, temperature: number): Promise<Float32Array> {
    const { height: H, width: Wd, channels: C, levels: K } = this.model.config;
    const N = this.plan.N;
    const size = H * Wd * C;
    const prev = Array.from({ length: N }, (_, n) => (this.pending < 0 ? -1 : x[n * size + this.pending]));
    const out = this.pixelStep(r, c, ch, x, temperature, prev);
    this.pending = (r * Wd + c) * C + ch;
    const { data, read } = await readFirst(out, N * K);
    this.readFloats += read;
    return data;
  }

  endPixel(): void {}

  /**
   * Rows above the resuming row: one row dispatch each. The given pixels of the resuming
   * row: one warm dispatch for all of them. Nothing is read back. The mixture's class
   * posterior starts from one full pass over the prefix.
   */
  async warm(x: Uint8Array, length: number): Promise<void> {
    const { width: Wd, channels: C } = this.model.config;
    const { N, S } = this.plan;
    if (this.plan.kind === 'mixture') {
      const xs = new Uint8Array(x.length * S);
      expandImages(x, xs, N, S);
      const logPost = await prefixLogPost(this.model, this.plan, xs, length);
      this.pixState.dispose();
      this.pixState = this.initialPixState(logPost);
    }
    const r0 = Math.floor(length / (Wd * C));
    const c0 = Math.floor((length % (Wd * C)) / C);
    for (let r = 0; r <= r0; r++) this.startRow(r, x);
    if (c0 > 0) {
      const img = this.rowInput(x, r0, c0 * C);
      const next = this.run(this.warmProg, [this.weights, this.rowState, this.pixState, img], r0, c0, 0, 1);
      img.dispose();
      this.pixState.dispose();
      this.pixState = next;
    }
    this.pending = -1;
  }

  dispose(): void {
    this.rowState.dispose();
    this.pixState.dispose();
    this.weights.dispose();
    this.cond.dispose();
  }
}
