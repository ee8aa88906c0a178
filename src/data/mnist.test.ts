import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadMnist, parseIdxImages, parseIdxLabels, readIdxPair } from './mnist';

function idxImages(count: number, rows: number, cols: number, magic = 0x803, extra = 0): Uint8Array {
  const b = new Uint8Array(16 + count * rows * cols + extra);
  const v = new DataView(b.buffer);
  v.setUint32(0, magic);
  v.setUint32(4, count);
  v.setUint32(8, rows);
  v.setUint32(12, cols);
  for (let i = 16; i < b.length; i++) b[i] = i % 256;
  return b;
}

function idxLabels(labels: number[], magic = 0x801): Uint8Array {
  const b = new Uint8Array(8 + labels.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, magic);
  v.setUint32(4, labels.length);
  b.set(labels, 8);
  return b;
}

const oneLine = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected an error');
};

describe('loadMnist', () => {
  test('splits: 55k train, the last 5k of the training file as val, 10k test', () => {
    const train = loadMnist('train');
    const val = loadMnist('val');
    const test = loadMnist('test');
    expect([train.count, val.count, test.count]).toEqual([55000, 5000, 10000]);
    expect(train.images.length).toBe(55000 * 784);
    expect(val.images.length).toBe(5000 * 784);
    expect(test.labels.length).toBe(10000);
    // val starts right where train ends in the same file
    expect(val.images.byteOffset - train.images.byteOffset).toBe(55000 * 784);
    // the first training image is a 5 in every MNIST copy; every class occurs in val
    expect(train.labels[0]).toBe(5);
    expect(new Set(val.labels).size).toBe(10);
    const max = test.images.reduce((m, v) => Math.max(m, v), 0);
    expect(max).toBe(255);
  });
});

describe('bad IDX data gives a one-line error naming the problem', () => {
  test('bad magic number', () => {
    expect(oneLine(() => parseIdxImages(idxImages(2, 28, 28, 0x801), 'x'))).toMatch(/bad magic number 0x00000801/);
    expect(oneLine(() => parseIdxLabels(idxLabels([1, 2], 0x803), 'y'))).toMatch(/bad magic number 0x00000803/);
  });
  test('truncated or padded files', () => {
    expect(oneLine(() => parseIdxImages(idxImages(2, 28, 28).subarray(0, 100), 'x'))).toMatch(/does not match header/);
    expect(oneLine(() => parseIdxImages(idxImages(2, 28, 28, 0x803, 3), 'x'))).toMatch(/does not match header/);
    expect(oneLine(() => parseIdxImages(new Uint8Array(5), 'x'))).toMatch(/too short/);
    expect(oneLine(() => parseIdxLabels(idxLabels([1, 2]).subarray(0, 9), 'y'))).toMatch(/does not match header/);
  });
  test('labels out of range, count mismatch, wrong image size, missing file', () => {
    expect(oneLine(() => parseIdxLabels(idxLabels([1, 12]), 'y'))).toMatch(/label 12 at index 1/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-bad-'));
    try {
      fs.writeFileSync(path.join(dir, 'im'), idxImages(3, 28, 28));
      fs.writeFileSync(path.join(dir, 'lb'), idxLabels([1, 2]));
      fs.writeFileSync(path.join(dir, 'im16'), idxImages(2, 16, 16));
      expect(oneLine(() => readIdxPair(path.join(dir, 'im'), path.join(dir, 'lb')))).toMatch(/3 images but lb holds 2 labels/);
      expect(oneLine(() => readIdxPair(path.join(dir, 'im16'), path.join(dir, 'lb')))).toMatch(/16x16, expected 28x28/);
      expect(oneLine(() => loadMnist('test', dir))).toMatch(/cannot read .*t10k-images-idx3-ubyte: ENOENT/);
      expect(oneLine(() => readIdxPair(path.join(dir, 'im'), path.join(dir, 'lb3')))).toMatch(/cannot read .*lb3: ENOENT/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
