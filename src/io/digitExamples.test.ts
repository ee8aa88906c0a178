// The auto-encoder panel's bundled digits: the file round-trips, bad files are one line,
// and the shipped models/mnist-ae/examples.json is what scripts/digit-examples.ts makes
// from the test split (so it can be regenerated and was not edited by hand).
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../data/mnist';
import { firstOfEachClass, parseDigitExamples, writeDigitExamples } from './digitExamples';

describe('digit examples', () => {
  it('the first image of each class, in class order, round-trips through the file', () => {
    // 3 "images" of 2x2: classes 1, 0, 1 then the rest of 0..9
    const labels = Uint8Array.from([1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const images = Uint8Array.from({ length: labels.length * 4 }, (_, i) => i);
    const ex = firstOfEachClass(images, labels, 2);
    expect(ex.map((e) => [e.label, e.index])).toEqual([[0, 1], [1, 0], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7], [7, 8], [8, 9], [9, 10]]);
    expect(Array.from(ex[0].pixels)).toEqual([4, 5, 6, 7]);
    const back = parseDigitExamples(writeDigitExamples({ split: 'test', size: 2, examples: ex }));
    expect(back.size).toBe(2);
    expect(back.examples.map((e) => Array.from(e.pixels))).toEqual(ex.map((e) => Array.from(e.pixels)));
    expect(() => firstOfEachClass(images.subarray(0, 12), labels.subarray(0, 3), 2)).toThrow('digit examples: no image of class 2');
  });

  it('a bad file is one line', () => {
    expect(() => parseDigitExamples('{')).toThrow('examples.json: not valid JSON');
    expect(() => parseDigitExamples('{"format": "faces"}')).toThrow('examples.json: expected "format": "pixelcnn-digit-examples"');
    const good = JSON.parse(writeDigitExamples({ split: 'test', size: 2, examples: [{ label: 3, index: 0, pixels: Uint8Array.from([1, 2, 3, 4]) }] }));
    good.examples[0].pixels = 'AQID'; // 3 bytes
    expect(() => parseDigitExamples(JSON.stringify(good))).toThrow('examples.json: example 0 has 3 pixels, expected 4');
  });

  it('models/mnist-ae/examples.json is the first test digit of each class', () => {
    const test = loadMnist('test');
    const want = writeDigitExamples({ split: 'test', size: 28, examples: firstOfEachClass(test.images, test.labels, 28) });
    expect(fs.readFileSync('models/mnist-ae/examples.json', 'utf8')).toBe(want);
  });
});
