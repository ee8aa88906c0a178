// Adam (Kingma & Ba) on one flat Float32Array of parameters. Written out in JS rather
// than tf.train.adam so that its whole state (m, v, t) is three plain arrays a
// checkpoint can store and restore bit for bit.

export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps: number;
  /** clip the gradient to this global L2 norm before the update (0: no clipping) */
  clipNorm: number;
}

export const DEFAULT_ADAM: AdamOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1 };

export class Adam {
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** updates done so far */
  t = 0;

  constructor(
    readonly size: number,
    readonly opts: AdamOptions = DEFAULT_ADAM,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /**
   * One update of `params` in place with gradient `grad` at learning rate `lr`.
   * Returns the gradient's global L2 norm before clipping.
   */
  step(params: Float32Array, grad: Float32Array, lr: number): number {
    if (params.length !== this.size || grad.length !== this.size) {
      throw new Error(`adam: expected ${this.size} values, got params ${params.length}, grad ${grad.length}`);
    }
    let sq = 0;
    for (let i = 0; i < grad.length; i++) sq += grad[i] * grad[i];
    const norm = Math.sqrt(sq);
    if (!Number.isFinite(norm)) throw new Error(`adam: gradient norm is ${norm} at update ${this.t + 1}`);
    const { beta1, beta2, eps, clipNorm } = this.opts;
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1;
    this.t += 1;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    const step = (lr * Math.sqrt(c2)) / c1;
    const epsHat = eps * Math.sqrt(c2);
    const m = this.m;
    const v = this.v;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i] * scale;
      const mi = beta1 * m[i] + (1 - beta1) * g;
      const vi = beta2 * v[i] + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] -= (step * mi) / (Math.sqrt(vi) + epsHat);
    }
    return norm;
  }
}
