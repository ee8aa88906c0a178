import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy, NpyHeaderError, readNpyHeader } from './npy';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('.npy files', () => {
  it('writes a numpy 1.0 header for uint8 [N,H,W,C] with 64-byte aligned data', () => {
    const data = new Uint8Array(2 * 3 * 4 * 1).map((_, i) => i);
    const file = encodeNpy(data, [2, 3, 4, 1]);
    expect(Array.from(file.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLen = file[8] | (file[9] << 8);
    expect((10 + headerLen) % 64).toBe(0);
    const header = text(file.subarray(10, 10 + headerLen));
    expect(header).toMatch(/^\{'descr': '\|u1', 'fortran_order': False, 'shape': \(2, 3, 4, 1\), \} *\n$/);
    expect(Array.from(file.subarray(10 + headerLen))).toEqual(Array.from(data));
  });

  it('round-trips uint8 and float32, including 1-d shapes', () => {
    const u = decodeNpy(encodeNpy(Uint8Array.of(9, 8, 7, 6, 5, 4), [1, 2, 3, 1]));
    expect(u.dtype).toBe('uint8');
    expect(u.shape).toEqual([1, 2, 3, 1]);
    expect(Array.from(u.data)).toEqual([9, 8, 7, 6, 5, 4]);
    const f = encodeNpy(Float32Array.of(0.5, -2, 3.25), [3]);
    expect(text(f.subarray(10, 80))).toContain("'descr': '<f4'");
    expect(text(f.subarray(10, 80))).toContain("'shape': (3,)");
    const g = decodeNpy(f);
    expect(g).toMatchObject({ dtype: 'float32', shape: [3] });
    expect(Array.from(g.data)).toEqual([0.5, -2, 3.25]);
  });

  it('rejects bad magic, wrong data length and unsupported dtypes', () => {
    expect(() => decodeNpy(new Uint8Array(20))).toThrow(/not a \.npy file/);
    const f = encodeNpy(new Uint8Array(6), [2, 3]);
    expect(() => decodeNpy(f.subarray(0, f.length - 1))).toThrow(/needs 6 data bytes, file has 5/);
    const i4 = encodeNpy(new Uint8Array(4), [4]);
    const at = text(i4.subarray(10)).indexOf("'|u1'") + 10;
    i4.set(new TextEncoder().encode("'<i4'"), at);
    expect(() => decodeNpy(i4)).toThrow(/unsupported dtype '<i4'/);
  });

  it('names what is wrong with a header (the one header reader the app also uses)', () => {
    const f = encodeNpy(Float32Array.of(1, 2), [2]);
    expect(() => decodeNpy(f.subarray(0, 40))).toThrow(/^npy: truncated \(header says 118 bytes, 30 left\)$/);
    const noShape = f.slice();
    noShape.set(new TextEncoder().encode("'shap'"), text(f).indexOf("'shape'"));
    expect(() => decodeNpy(noShape)).toThrow(/^npy: no 'shape' entry$/);
    expect(readNpyHeader(f)).toEqual({ version: 1, descr: '<f4', fortranOrder: false, shape: [2], dataStart: 128 });
    expect(() => readNpyHeader(new Uint8Array(20))).toThrow(NpyHeaderError);
  });
});
