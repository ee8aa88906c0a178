// Guidance over any portable stepper, tf-free: S streams per image (guidance.ts) stepped
// as one batch, combined into each image's guided distribution.
import type { ModelConfig } from '../model/config';
import type { GuidePlan } from './guidance';
import { expandImages, guidedProbs, normalizeLogPost, updateLogPost } from './guideMath';
import type { PortableStepper, Stepper } from './steppers';

/**
 * Guidance on a portable stepper: the inner stepper runs S streams per image (batch rows
 * n * S + s, each with its own condition, all holding image n's pixels); every step
 * combines their log-softmax logits into the guided distribution (guidance.ts).
 */
export class GuidedStepper implements Stepper {
  private readonly xs: Uint8Array; // [N * S, H, W, C]: image n in each of its streams
  private lp: Float32Array = new Float32Array(0); // the last step's log-softmax [N * S, K]
  private logPost: Float64Array | null = null; // mixture: log p(c | x_<i) per stream [N * S]
  private pending = -1; // raster index of the sub-pixel decided after the last step

  /**
   * `prefixLogPost`: the mixture's log p(c | given sub-pixels) for a prefix (guidance.ts: a
   * forward pass, tfjs); `logPost`: the mixture's likelihoods kept elsewhere, already
   * normalised (a split run's shared memory, which every thread drawing the image updates: rowBoard.ts)
   */
  constructor(
    private readonly inner: PortableStepper,
    private readonly config: ModelConfig,
    private readonly plan: GuidePlan,
    private readonly prefixLogPost?: (xs: Uint8Array, length: number) => Promise<Float64Array>,
    logPost?: Float64Array,
  ) {
    const { height: H, width: Wd, channels: C } = config;
    this.xs = new Uint8Array(plan.N * plan.S * H * Wd * C);
    if (plan.kind === 'mixture') {
      this.logPost = logPost ?? new Float64Array(plan.N * plan.S);
      if (!logPost) normalizeLogPost(this.logPost, plan.N, plan.S);
    }
  }

  /** Sub-pixels 0 .. upTo-1 of every image into each of its streams: a thread taking the image over at a row's start (rowBoard.ts) syncs what others drew. */
  resume(x: Uint8Array, upTo: number): void {
    const { N, S } = this.plan;
    const size = x.length / N;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) this.xs.set(x.subarray(n * size, n * size + upTo), (n * S + s) * size);
  }

  /** Copies the sub-pixel decided since the last step into every stream; the mixture learns from it. */
  private sync(x: Uint8Array): void {
    if (this.pending < 0) return;
    const { N, S } = this.plan;
    const { height: H, width: Wd, channels: C, levels: K } = this.config;
    const size = H * Wd * C;
    const values = new Uint8Array(N);
    for (let n = 0; n < N; n++) {
      values[n] = x[n * size + this.pending];
      for (let s = 0; s < S; s++) this.xs[(n * S + s) * size + this.pending] = values[n];
    }
    if (this.logPost) updateLogPost(this.logPost, this.lp, values, N, S, K);
    this.pending = -1;
  }

  startRow(r: number, x: Uint8Array): void {
    this.sync(x);
    this.inner.startRow(r, this.xs);
  }

  async probs(r: number, c: number, ch: number, x: Uint8Array, temperature: number): Promise<Float32Array> {
    this.sync(x);
    const { width: Wd, channels: C, levels: K } = this.config;
    this.lp = await this.inner.logProbs(r, c, ch, this.xs);
    this.pending = (r * Wd + c) * C + ch;
    return guidedProbs(this.plan, this.lp, this.logPost, K, temperature);
  }

  endPixel(r: number, c: number, x: Uint8Array): void {
    this.sync(x);
    this.inner.endPixel(r, c, this.xs);
  }

  async warm(x: Uint8Array, length: number): Promise<void> {
    expandImages(x, this.xs, this.plan.N, this.plan.S);
    if (this.plan.kind === 'mixture') {
      if (!this.prefixLogPost) throw new Error('sampler: a mixture-guided run from a prefix needs its class likelihoods (prefixLogPost)');
      this.logPost = await this.prefixLogPost(this.xs, length);
    }
    await this.inner.warm(this.xs, length);
  }

  dispose(): void {
    this.inner.dispose();
  }
}
