// Two ways to get the distribution of the next sub-pixel. Both see the same images and
// give the same probabilities; they differ only in cost.
//  - NaiveStepper: one full forward pass per sub-pixel (the reference).
//  - CachedStepper (Fast PixelCNN, Ramachandran et al. 2017): the vertical stack runs once
//    per row on the rows it still needs; the horizontal stack runs once per sub-pixel on a
//    (reach+1)-wide window of its own row (reach = dilation * half: a dilated layer keeps
//    more rows and columns but computes the same taps). Total work ~ one forward pass per
//    image. From a prefix it warms its caches in one pass over the given rows.
//  - GuidedStepper: either of them on S streams per image, combined into the guided
//    distribution (guidance.ts).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model';
import {
  condTensor,
  condTerms,
  forward,
  head,
  layerOut,
  maskedWeights,
  isSpatial,
  normalizeInput,
  spatialMap,
  verticalPre,
} from '../model';
import { conv2dValid, gate, pointwise } from '../ops/conv';
import { dilationOf, reachOf } from '../model';
import { outputLogits } from '../model';
import type { Condition, Params, PixelCNN } from '../model';
export { GuidedStepper } from './guided';

export interface Stepper {
  /** called before the first sub-pixel of row r; x holds every decided level */
  startRow(r: number, x: Uint8Array): void;
  /** [N, K] distribution of sub-pixel (r, c, ch) at temperature t, as a softmax */
  probs(r: number, c: number, ch: number, x: Uint8Array, temperature: number): Promise<Float32Array>;
  /** called once every channel of pixel (r, c) is decided */
  endPixel(r: number, c: number, x: Uint8Array): void;
  /**
   * The first `length` sub-pixels (raster order) of x are given: bring the caches to where
   * sampling resumes, at sub-pixel `length`, in one pass over the given rows. Replaces the
   * startRow / endPixel calls of the given part (startRow of the resuming row included).
   */
  warm(x: Uint8Array, length: number): Promise<void>;
  dispose(): void;
}

/** The portable steppers also give every image's log-softmax logits at temperature 1 (for guidance). */
export interface PortableStepper extends Stepper {
  /** [N, K] log-softmax of sub-pixel (r, c, ch) */
  logProbs(r: number, c: number, ch: number, x: Uint8Array): Promise<Float32Array>;
}

function softmaxT(logits: tf.Tensor, temperature: number): tf.Tensor {
  return tf.softmax(tf.div(logits, temperature));
}

async function download(t: tf.Tensor): Promise<Float32Array> {
  const out = (await t.data()) as Float32Array;
  t.dispose();
  return out;
}

export class NaiveStepper implements PortableStepper {
  private readonly cond: tf.Tensor2D | undefined;
  constructor(
    private readonly model: PixelCNN,
    private readonly count: number,
    condition: Condition | undefined,
  ) {
    this.cond = condTensor(model.config, condition, count);
  }
  startRow(): void {}
  endPixel(): void {}
  /** nothing to warm: every step is a full pass over x */
  async warm(): Promise<void> {}
  /** [N, K] logits of sub-pixel (r, c, ch) from a full forward pass */
  private logits(r: number, c: number, ch: number, x: Uint8Array): tf.Tensor {
    const { height: H, width: Wd, channels: C, levels: K } = this.model.config;
    const N = this.count;
    const logits = forward(this.model, tf.tensor4d(x, [N, H, Wd, C], 'float32'), this.cond);
    return tf.reshape(tf.slice(logits, [0, r, c, ch, 0], [N, 1, 1, 1, K]), [N, K]);
  }
  async probs(r: number, c: number, ch: number, x: Uint8Array, temperature: number): Promise<Float32Array> {
    return download(tf.tidy(() => softmaxT(this.logits(r, c, ch, x), temperature)));
  }
  async logProbs(r: number, c: number, ch: number, x: Uint8Array): Promise<Float32Array> {
    return download(tf.tidy(() => tf.logSoftmax(this.logits(r, c, ch, x))));
  }
  dispose(): void {
    this.cond?.dispose();
  }
}

export class CachedStepper implements PortableStepper {
  private readonly config: ModelConfig;
  private readonly N: number;
  private readonly params: Params;
  private readonly masked: Params; // masked weights, kept for the whole run
  private readonly cond: Params; // per-layer conditioning terms (a bias each: class / vector models)
  private readonly sRows: tf.Tensor3D[]; // spatial models: s = m(h) by row, [N, W, q] each
  private readonly reaches: number[]; // per layer: dilation * (kernel >> 1)
  private readonly dilations: number[];
  private vwin: tf.Tensor4D[] = []; // per layer [N, reach+1, W+2reach, cin]: rows r-reach..r of its input
  private linkRow: tf.Tensor4D[] = []; // per layer [N, 1, W, 2p]: everything the row adds to h pre-gate
  private prev: tf.Tensor4D[] = []; // per layer [N, 1, reach, cin]: columns c-reach..c-1 of its input
  private lastWin: tf.Tensor4D[] = []; // windows of the newest step, kept to advance `prev`

  constructor(model: PixelCNN, count: number, condition: Condition | undefined) {
    const config = model.config;
    if (config.arch !== 'gated') {
      throw new Error('the cached sampler runs the gated architecture; use mode "naive" for the masked baseline');
    }
    this.config = config;
    this.params = model.params;
    this.N = count;
    this.reaches = Array.from({ length: config.layers }, (_, l) => reachOf(config, l));
    this.dilations = Array.from({ length: config.layers }, (_, l) => dilationOf(config, l));
    const kept = tf.tidy(() => {
      const masked = maskedWeights(config, model.params);
      const h = condTensor(config, condition, count);
      // a spatial code: s = m(h) once, by row; each row pays only its own 1x1 terms V * s
      // (condAt). Not V * s for the whole image up front: that is 2p/q times the memory,
      // and a wasm slice of it copies all of it
      if (h && isSpatial(config.conditioning)) {
        return { masked, cond: {}, sRows: tf.unstack(tf.transpose(spatialMap(config, masked, h), [1, 0, 2, 3])) as tf.Tensor3D[] };
      }
      return { masked, cond: condTerms(config, masked, h), sRows: [] as tf.Tensor3D[] };
    });
    this.masked = kept.masked;
    this.cond = kept.cond;
    this.sRows = kept.sRows;
    const { width } = config;
    for (let l = 0; l < config.layers; l++) {
      const reach = this.reaches[l];
      const cin = l === 0 ? config.channels : config.hidden;
      this.vwin.push(tf.zeros([count, reach + 1, width + 2 * reach, cin]));
    }
  }

  /** the masked weights this stepper runs (the CPU kernel packs them once) */
  weights(): Params {
    return this.masked;
  }

  /** per layer [N, 1, W, 2p]: what the current row adds to the horizontal pre-gate */
  rowLinks(): readonly tf.Tensor4D[] {
    return this.linkRow;
  }

  /** per layer [N, reach+1, W+2reach, cin]: the rows of its input the vertical stack keeps (work.ts's figures are checked against them) */
  verticalWindows(): readonly tf.Tensor4D[] {
    return this.vwin;
  }

  /** per layer [N, 1, reach, cin]: the layer's inputs at the `reach` columns left of the next one */
  windows(): readonly tf.Tensor4D[] {
    return this.prev;
  }

  private replace<T extends tf.Tensor>(list: T[], i: number, t: T): void {
    list[i]?.dispose();
    list[i] = t;
  }

  /** a row (or column slice) of the conditioning term: [N, 1, 1|W, 2p] */
  private condAt(name: string, r: number): tf.Tensor | undefined {
    if (this.sRows.length > 0) {
      const { width: Wd, hidden } = this.config;
      return tf.reshape(pointwise(this.sRows[r], this.masked[name] as tf.Tensor2D), [this.N, 1, Wd, 2 * hidden]);
    }
    const t = this.cond[name];
    if (!t) return undefined;
    if (t.shape[1] === 1) return t;
    return tf.slice(t, [0, r, 0, 0], [this.N, 1, this.config.width, 2 * this.config.hidden]);
  }

  startRow(r: number, x: Uint8Array): void {
    const { width: Wd, channels: C, height: H, layers } = this.config;
    const N = this.N;
    const rows = tf.tidy(() => {
      // the vertical stack's input is the image shifted down one row: row r sees row r-1
      let newRow: tf.Tensor4D;
      if (r === 0) newRow = tf.zeros([N, 1, Wd, C]);
      else {
        const row = new Float32Array(N * Wd * C);
        for (let n = 0; n < N; n++) row.set(x.subarray((n * H + r - 1) * Wd * C, (n * H + r) * Wd * C), n * Wd * C);
        newRow = normalizeInput(this.config, tf.tensor4d(row, [N, 1, Wd, C])) as tf.Tensor4D;
      }
      const vwin: tf.Tensor4D[] = [];
      const link: tf.Tensor4D[] = [];
      for (let l = 0; l < layers; l++) {
        const reach = this.reaches[l];
        const padded = tf.pad(newRow, [[0, 0], [0, 0], [reach, reach], [0, 0]]);
        const win = tf.concat([tf.slice(this.vwin[l], [0, 1, 0, 0], [-1, reach, -1, -1]), padded], 1) as tf.Tensor4D;
        vwin.push(win);
        const vpre = verticalPre(this.masked, l, win, this.condAt(`l${l}/v_cond`, r), this.dilations[l]); // [N, 1, W, 2p]
        let add = tf.add(
          tf.add(pointwise(vpre, this.masked[`l${l}/link`] as tf.Tensor2D), this.masked[`l${l}/link_bias`]),
          this.masked[`l${l}/h_bias`],
        );
        const hc = this.condAt(`l${l}/h_cond`, r);
        if (hc) add = tf.add(add, hc);
        link.push(add as tf.Tensor4D);
        newRow = gate(vpre) as tf.Tensor4D;
      }
      return { vwin, link };
    });
    for (let l = 0; l < layers; l++) {
      this.replace(this.vwin, l, rows.vwin[l]);
      this.replace(this.linkRow, l, rows.link[l]);
      const cin = l === 0 ? C : this.config.hidden;
      this.replace(this.prev, l, tf.zeros([N, 1, this.reaches[l], cin]) as tf.Tensor4D);
    }
  }

  async probs(r: number, c: number, ch: number, x: Uint8Array, temperature: number): Promise<Float32Array> {
    return download(this.step(r, c, ch, x, (logits) => softmaxT(logits, temperature)));
  }

  async logProbs(r: number, c: number, ch: number, x: Uint8Array): Promise<Float32Array> {
    return download(this.step(r, c, ch, x, (logits) => tf.logSoftmax(logits)));
  }

  /** The horizontal stack at (r, c) for channel ch; `finish` maps the [N, K] logits to what is returned. */
  private step(r: number, c: number, ch: number, x: Uint8Array, finish: (logits: tf.Tensor) => tf.Tensor): tf.Tensor {
    const { width: Wd, height: H, channels: C, levels: K, layers, hidden } = this.config;
    const N = this.N;
    // the current pixel as decided so far; undecided channels are masked out anyway
    const cur = new Float32Array(N * C);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < ch; k++) cur[n * C + k] = x[((n * H + r) * Wd + c) * C + k];
    }
    const out = tf.tidy(() => {
      let h: tf.Tensor4D = normalizeInput(this.config, tf.tensor4d(cur, [N, 1, 1, C])) as tf.Tensor4D;
      const wins: tf.Tensor4D[] = [];
      for (let l = 0; l < layers; l++) {
        const win = tf.concat([this.prev[l], h], 2) as tf.Tensor4D; // [N, 1, reach+1, cin]
        wins.push(win);
        const own = conv2dValid(win, this.masked[`l${l}/h_conv`] as tf.Tensor4D, this.dilations[l]); // [N, 1, 1, 2p]
        const pre = tf.add(own, tf.slice(this.linkRow[l], [0, 0, c, 0], [N, 1, 1, 2 * hidden]));
        h = layerOut(this.masked, l, pre, l === 0 ? null : h) as tf.Tensor4D;
      }
      const logits = tf.reshape(outputLogits(this.config, head(this.masked, h)), [N, C, K]);
      const p = finish(tf.reshape(tf.slice(logits, [0, ch, 0], [N, 1, K]), [N, K]));
      return { p, wins };
    });
    // no layer output at (r, c) depends on the pixel's last channel, so the windows of
    // the last channel's step are final
    if (ch === C - 1) {
      this.lastWin.forEach((t) => t.dispose());
      this.lastWin = out.wins;
    } else out.wins.forEach((t) => t.dispose());
    return out.p;
  }

  /**
   * Rows above the resuming row: one vertical pass each (startRow). The given columns of
   * the resuming row: one horizontal pass over them, every layer at once along the row,
   * which leaves each layer's last `reach` inputs, the window the next step needs.
   */
  async warm(x: Uint8Array, length: number): Promise<void> {
    const { width: Wd, height: H, channels: C, layers } = this.config;
    const N = this.N;
    const r0 = Math.floor(length / (Wd * C));
    const c0 = Math.floor((length % (Wd * C)) / C);
    for (let r = 0; r <= r0; r++) this.startRow(r, x);
    if (c0 === 0) return;
    const given = new Float32Array(N * c0 * C);
    for (let n = 0; n < N; n++) given.set(x.subarray((n * H + r0) * Wd * C, ((n * H + r0) * Wd + c0) * C), n * c0 * C);
    const prev = tf.tidy(() => {
      let h = normalizeInput(this.config, tf.tensor4d(given, [N, 1, c0, C])) as tf.Tensor4D; // layer 0's input, columns 0..c0-1
      const out: tf.Tensor4D[] = [];
      for (let l = 0; l < layers; l++) {
        const reach = this.reaches[l];
        const padded = tf.pad(h, [[0, 0], [0, 0], [reach, 0], [0, 0]]) as tf.Tensor4D; // [N, 1, reach + c0, cin]
        out.push(tf.slice(padded, [0, 0, c0, 0], [-1, -1, reach, -1])); // columns c0-reach..c0-1
        const own = conv2dValid(padded, this.masked[`l${l}/h_conv`] as tf.Tensor4D, this.dilations[l]); // [N, 1, c0, 2p]
        const pre = tf.add(own, tf.slice(this.linkRow[l], [0, 0, 0, 0], [-1, -1, c0, -1]));
        h = layerOut(this.masked, l, pre, l === 0 ? null : h) as tf.Tensor4D;
      }
      return out;
    });
    for (let l = 0; l < layers; l++) this.replace(this.prev, l, prev[l]);
  }

  endPixel(r: number, c: number, x: Uint8Array): void {
    const { width: Wd, height: H, channels: C, layers } = this.config;
    const N = this.N;
    const pixel = new Float32Array(N * C);
    for (let n = 0; n < N; n++) pixel.set(x.subarray(((n * H + r) * Wd + c) * C, ((n * H + r) * Wd + c + 1) * C), n * C);
    const next = tf.tidy(() => {
      const out: tf.Tensor4D[] = [];
      for (let l = 0; l < layers; l++) {
        // layer 0's window held the pixel with its last channel unknown: put the full pixel in
        const win =
          l === 0
            ? (tf.concat([this.prev[0], normalizeInput(this.config, tf.tensor4d(pixel, [N, 1, 1, C]))], 2) as tf.Tensor4D)
            : this.lastWin[l];
        out.push(tf.slice(win, [0, 0, 1, 0], [-1, -1, this.reaches[l], -1]));
      }
      return out;
    });
    for (let l = 0; l < layers; l++) this.replace(this.prev, l, next[l]);
    this.lastWin.forEach((t) => t.dispose());
    this.lastWin = [];
  }

  dispose(): void {
    for (const list of [this.vwin, this.linkRow, this.prev, this.lastWin]) list.forEach((t) => t.dispose());
    // masked copies only: the caller's own weights stay alive
    const own = new Set(Object.values(this.params));
    for (const t of Object.values(this.masked)) if (!own.has(t)) t.dispose();
    Object.values(this.cond).forEach((t) => t.dispose());
    this.sRows.forEach((t) => t.dispose());
  }
}
