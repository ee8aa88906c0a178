import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { makeConfig, receptiveField } from '../model';
import { readField, receptiveConfig, Cell } from './receptive';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('readField', () => {
  it('calls zero-influence past pixels inside the reach a blind spot, farther ones out of reach', () => {
    // 4 x 4, target (2, 1); influence at (1, 0) and (1, 3) spans columns 0..3 of row 1
    const f = new Float32Array(16);
    f[1 * 4 + 0] = 1;
    f[1 * 4 + 3] = 0.01;
    f[2 * 4 + 0] = 0.5;
    const r = readField(f, 4, 4, 2, 1);
    expect(r.cells[0]).toBe(Cell.OutOfReach); // row 0 is above every influence
    expect(r.cells[1 * 4 + 1]).toBe(Cell.Blind);
    expect(r.cells[1 * 4 + 2]).toBe(Cell.Blind);
    expect(r.cells[2 * 4 + 1]).toBe(Cell.Target);
    expect(r.cells[2 * 4 + 2]).toBe(Cell.Future);
    expect(r.blind).toBe(2);
    expect(r.influence).toBe(3);
    expect(r.strength[4]).toBe(1);
    expect(r.strength[7]).toBe(0);
    expect(r.leaks).toBe(0);
  });

  it('counts influence from the future as a leak', () => {
    const f = new Float32Array(9);
    f[8] = 1;
    expect(readField(f, 3, 3, 1, 1).leaks).toBe(1);
  });

  it('rejects a field of the wrong size', () => {
    expect(() => readField(new Float32Array(5), 3, 3, 0, 0)).toThrow(/expected 9 values, got 5/);
  });
});

describe('the visualizer on the real models', () => {
  const base = makeConfig({ height: 12, width: 12, conditioning: { type: 'class', classes: 10 } });
  it("draws an auto-encoder's field too: its encoder goes with its condition", () => {
    const ae = makeConfig({ ...base, conditioning: { type: 'vector', dim: 4, nullable: true }, encoder: { type: 'conv', channels: [4], code: 4 } });
    const c = receptiveConfig(ae, 'gated', 3);
    expect(c.encoder).toBeUndefined();
    expect(() => makeConfig(c)).not.toThrow();
  });

  it('keeps a dilated model\'s dilations for any number of layers shown', () => {
    const dilated = makeConfig({ ...base, height: 20, width: 20, layers: 4, dilations: [1, 1, 2, 4] });
    expect(receptiveConfig(dilated, 'gated', 2).dilations).toEqual([1, 1]);
    expect(receptiveConfig(dilated, 'gated', 6).dilations).toEqual([1, 1, 2, 4, 1, 1]);
    // the dilated field reaches farther than the undilated one of the same depth, and has no blind spot
    const far = readField(receptiveField(receptiveConfig(dilated, 'gated', 4), 16, 10).flat(), 20, 20, 16, 10);
    const plain = makeConfig({ ...base, height: 20, width: 20 });
    const near = readField(receptiveField(receptiveConfig(plain, 'gated', 4), 16, 10).flat(), 20, 20, 16, 10);
    expect(far.influence).toBeGreaterThan(near.influence);
    expect(far.blind).toBe(0);
  });

  for (const layers of [3, 5]) {
    it(`finds a blind spot in the masked PixelCNN and none in the gated one (${layers} layers)`, () => {
      const masked = readField(receptiveField(receptiveConfig(base, 'masked', layers), 8, 6).flat(), 12, 12, 8, 6);
      const gated = readField(receptiveField(receptiveConfig(base, 'gated', layers), 8, 6).flat(), 12, 12, 8, 6);
      expect(masked.blind).toBeGreaterThan(0);
      expect(gated.blind).toBe(0);
      expect(masked.leaks + gated.leaks).toBe(0);
      expect(gated.influence).toBeGreaterThan(masked.influence);
    });
  }
});
