// What CpuStepper packs for a run's condition: a class model's per-image biases are added
// in plain JavaScript (setCondition), and must be tfjs's sums to the bit, or a kept memory
// would sample other images than a fresh one packed the tfjs way did before it.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { condTensor, initParams, makeConfig, type Condition, type Conditioning } from '../model';
import { CpuStepper } from './cpu';
import { heapBase, layout } from './cpuRows';

describe('CpuStepper.setCondition', () => {
  const cases: [string, Conditioning, Condition | undefined][] = [
    ['a nullable class model, a null row among them', { type: 'class', classes: 3, nullable: true }, { labels: [2, 0, 1, 1], unconditional: [false, false, true, false] }],
    ['an unconditional model', { type: 'none' }, undefined],
  ];
  for (const [name, conditioning, condition] of cases) {
    it(`${name}: the per-image biases are tfjs's bits`, () => {
      const config = makeConfig({ height: 4, width: 4, channels: 1, levels: 4, hidden: 4, layers: 2, firstKernel: 3, kernel: 3, headHidden: 4, conditioning });
      // random biases and condition weights (a fresh model's are zeros, which any sum gets right)
      const params = Object.fromEntries(Object.entries(initParams(config, 1)).map(([k, t], i) => {
        const r = tf.randomNormal(t.shape, 0, 1, 'float32', i);
        t.dispose();
        return [k, r];
      }));
      const rows = 4;
      const P2 = 2 * config.hidden;
      // room for 6 rows, a run of 4: the kept memory's case
      const stepper = new CpuStepper({ config, params }, 6, condition, false, rows);
      const lay = layout(config, 6, heapBase(false));
      const h = condTensor(config, condition, rows);
      for (let l = 0; l < config.layers; l++) {
        const sums = tf.tidy(() => {
          let vb = tf.add(tf.zeros([rows, P2]), params[`l${l}/v_bias`]);
          let lb = tf.add(tf.zeros([rows, P2]), tf.add(params[`l${l}/link_bias`], params[`l${l}/h_bias`]));
          if (h) {
            vb = tf.add(vb, tf.matMul(h, params[`l${l}/v_cond`] as tf.Tensor2D));
            lb = tf.add(lb, tf.matMul(h, params[`l${l}/h_cond`] as tf.Tensor2D));
          }
          return [vb, lb];
        });
        const want = sums.map((t) => new Uint32Array(Float32Array.from(t.dataSync()).buffer));
        sums.forEach((t) => t.dispose());
        const got = [lay.vb[l], lay.lb[l]].map((at) => new Uint32Array(stepper.packed.memory.buffer, at, rows * P2));
        expect(Array.from(got[0]), `layer ${l}: the vertical bias`).toEqual(Array.from(want[0]));
        expect(Array.from(got[1]), `layer ${l}: the link's bias`).toEqual(Array.from(want[1]));
      }
      h?.dispose();
      Object.values(params).forEach((t) => t.dispose());
    });
  }
});

describe('CpuRows.probsView', () => {
  it("is probs()' distribution as a view of the kernel's memory, without a copy, that the next step overwrites; a mixture head is refused", async () => {
    const config = makeConfig({ height: 4, width: 4, channels: 1, levels: 8, hidden: 4, layers: 2, firstKernel: 3, kernel: 3, headHidden: 4, conditioning: { type: 'none' } });
    const params = initParams(config, 2);
    const x = new Uint8Array(2 * 16);
    const a = new CpuStepper({ config, params }, 2, undefined, false);
    const b = new CpuStepper({ config, params }, 2, undefined, false);
    a.startRow(0, x);
    b.startRow(0, x);
    const copy = await a.probs(0, 0, 0, x, 1);
    const view = b.probsView(0, 0, 0, x, 1);
    expect(Array.from(view)).toEqual(Array.from(copy));
    expect(view.buffer).toBe(b.packed.memory.buffer);
    // the next sub-pixel's distribution lands in the same view (column 1 sees column 0's level)
    x[0] = 7;
    x[16] = 3;
    a.endPixel();
    b.endPixel();
    const next = await a.probs(0, 1, 0, x, 1);
    expect(b.probsView(0, 1, 0, x, 1)).toBe(view);
    expect(Array.from(view)).toEqual(Array.from(next));
    expect(Array.from(next)).not.toEqual(Array.from(copy));
    a.dispose();
    b.dispose();
    const mixture = makeConfig({ ...config, channels: 3, hidden: 6, headHidden: 6, output: { type: 'logistic', mixtures: 2 } });
    const m = new CpuStepper({ config: mixture, params: initParams(mixture, 2) }, 1, undefined, false);
    m.startRow(0, new Uint8Array(48));
    expect(() => m.probsView(0, 0, 0, new Uint8Array(48), 1)).toThrow(/probsView reads a softmax head/);
    m.dispose();
    Object.values(params).forEach((t) => t.dispose());
  });
});
