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
