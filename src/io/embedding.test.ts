import { describe, expect, it } from 'vitest';
import {
  EMBEDDING_ERROR_PREFIX,
  MAX_EMBEDDING_BYTES,
  displayName,
  embeddingRowsOrThrow,
  formatEmbeddingJson,
  parseEmbeddingFile,
  parseEmbeddingRows,
  type EmbeddingErrorKind,
  type EmbeddingParse,
  type EmbeddingRowsParse,
} from './embedding';
import { decodeNpy, encodeNpy } from './npy';
import { mulberry32 as rng } from '../util/rng';

const D = 128;
const enc = (s: string) => new TextEncoder().encode(s);

/** A deterministic vector of `n` float32 values, like a face descriptor (mostly |x| < 0.3). */
function vec(n = D, seed = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 0.6);
}

/** A .npy file with a hand-written header (so dtype, shape and version can be anything). */
function npy(data: Float32Array | Float64Array | Uint8Array, shape: string, descr?: string, major = 1): Uint8Array {
  const d = descr ?? (data instanceof Float64Array ? '<f8' : data instanceof Float32Array ? '<f4' : '|u1');
  const pre = major === 1 ? 10 : 12;
  let header = `{'descr': '${d}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header.padEnd(total - pre - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(enc(header), pre);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

function expectOk(r: EmbeddingParse, want?: ArrayLike<number>): Float32Array {
  if (!r.ok) throw new Error(`expected a vector, got: ${r.error}`);
  expect(r.vector).toBeInstanceOf(Float32Array);
  expect(r.vector.length).toBe(D);
  if (want) expect(Array.from(r.vector)).toEqual(Array.from(Float32Array.from(want)));
  return r.vector;
}

function expectError(r: EmbeddingParse, kind: EmbeddingErrorKind, name: string, detail?: RegExp | string): string {
  if (r.ok) throw new Error(`expected a ${kind} error, got a vector`);
  expect(r.kind).toBe(kind);
  expect(r.error.startsWith(`${displayName(name)}: ${EMBEDDING_ERROR_PREFIX[kind]}`), r.error).toBe(true);
  expect(r.error).not.toMatch(/[\n\r]/);
  if (typeof detail === 'string') expect(r.error).toBe(detail);
  else if (detail) expect(r.error).toMatch(detail);
  return r.error;
}

describe('parseEmbeddingFile: accepted files', () => {
  const v = vec();

  it('a JSON array of 128 numbers, compact, pretty-printed, with exponents and a BOM', () => {
    expectOk(parseEmbeddingFile('face.json', enc(JSON.stringify(Array.from(v)))), v);
    expectOk(parseEmbeddingFile('face.json', enc(JSON.stringify(Array.from(v), null, 2))), v);
    const exp = Array.from(v, (x) => x.toExponential(12)).join(',');
    expectOk(parseEmbeddingFile('face.json', enc(`[${exp}]`)), v);
    expectOk(parseEmbeddingFile('face.json', enc(`\ufeff [${exp}] \n`)), v);
  });

  it('JSON holding one row ([[...]]), as a [1, 128] array would be written', () => {
    expectOk(parseEmbeddingFile('face.json', enc(JSON.stringify([Array.from(v)]))), v);
  });

  it('a .npy of float32 or float64, shape (128,) or (1, 128), versions 1-3', () => {
    expectOk(parseEmbeddingFile('face.npy', encodeNpy(v, [D])), v);
    expectOk(parseEmbeddingFile('face.npy', encodeNpy(v, [1, D])), v);
    const v64 = Float64Array.from(v, (x) => x + 1e-12);
    expectOk(parseEmbeddingFile('face.npy', npy(v64, '(128,)')), v64);
    expectOk(parseEmbeddingFile('face.npy', npy(v64, '(1, 128)')), v64);
    expectOk(parseEmbeddingFile('face.npy', npy(v, '(128,)', '<f4', 2)), v);
    expectOk(parseEmbeddingFile('face.npy', npy(v, '(128,)', '<f4', 3)), v);
  });

  it('the format comes from the content when the name says nothing (no extension, upper case, .txt)', () => {
    expect(parseEmbeddingFile('face', encodeNpy(v, [D]))).toMatchObject({ ok: true, format: 'npy' });
    expect(parseEmbeddingFile('FACE.NPY', encodeNpy(v, [D]))).toMatchObject({ ok: true, format: 'npy' });
    expect(parseEmbeddingFile('descriptor', enc(JSON.stringify(Array.from(v))))).toMatchObject({ ok: true, format: 'json' });
    expect(parseEmbeddingFile('FACE.JSON', enc(JSON.stringify(Array.from(v))))).toMatchObject({ ok: true, format: 'json' });
    expect(parseEmbeddingFile('face.txt', enc(JSON.stringify(Array.from(v))))).toMatchObject({ ok: true, format: 'json' });
  });

  it('another model size via dim', () => {
    const w = vec(16, 3);
    expect(parseEmbeddingFile('w.json', enc(JSON.stringify(Array.from(w))), 16)).toMatchObject({ ok: true });
    expect(parseEmbeddingFile('w.npy', encodeNpy(w, [16]), 16)).toMatchObject({ ok: true });
  });
});

describe('parseEmbeddingFile: named one-line errors', () => {
  const v = vec();
  const arr = Array.from(v);

  it('wrong length', () => {
    expectError(parseEmbeddingFile('face.json', enc(JSON.stringify(arr.slice(1)))), 'wrong-length', 'face.json', 'face.json: wrong length: 127 numbers, expected 128');
    expectError(parseEmbeddingFile('face.json', enc(JSON.stringify([...arr, 0]))), 'wrong-length', 'face.json', /129 numbers, expected 128/);
    expectError(parseEmbeddingFile('face.json', enc('[]')), 'wrong-length', 'face.json', /0 numbers/);
  });

  it('NaN or infinite values: JSON words, out of float32 range, in a .npy', () => {
    const withWord = (w: string) => `[${arr.slice(0, 5).join(',')}, ${w}, ${arr.slice(6).join(',')}]`;
    expectError(parseEmbeddingFile('py.json', enc(withWord('NaN'))), 'not-finite', 'py.json', 'py.json: not finite: element 5 is NaN');
    expectError(parseEmbeddingFile('py.json', enc(withWord('-Infinity'))), 'not-finite', 'py.json', 'py.json: not finite: element 5 is -Infinity');
    expectError(parseEmbeddingFile('py.json', enc(withWord('Infinity'))), 'not-finite', 'py.json', /element 5 is Infinity/);
    expectError(parseEmbeddingFile('big.json', enc(withWord('1e400'))), 'not-finite', 'big.json', /element 5 is Infinity/);
    expectError(parseEmbeddingFile('big.json', enc(withWord('1e39'))), 'not-finite', 'big.json', /element 5 1e\+39 is beyond float32's range/);
    const f = Float32Array.from(v);
    f[7] = NaN;
    expectError(parseEmbeddingFile('nan.npy', encodeNpy(f, [D])), 'not-finite', 'nan.npy', 'nan.npy: not finite: element 7 is NaN');
    const g = Float64Array.from(v);
    g[0] = 1e300;
    expectError(parseEmbeddingFile('big.npy', npy(g, '(128,)')), 'not-finite', 'big.npy', /element 0 1e\+300 is beyond float32's range/);
    g[0] = -Infinity;
    expectError(parseEmbeddingFile('inf.npy', npy(g, '(128,)')), 'not-finite', 'inf.npy', /element 0 is -Infinity/);
  });

  it('not JSON: broken syntax, empty, binary that is not UTF-8', () => {
    expectError(parseEmbeddingFile('face.json', enc(JSON.stringify(arr).slice(0, -1))), 'not-json', 'face.json');
    expectError(parseEmbeddingFile('face.json', enc('[1, 2,, 3]')), 'not-json', 'face.json');
    expectError(parseEmbeddingFile('face.json', enc('')), 'not-json', 'face.json', 'face.json: not JSON: the file is empty');
    expectError(parseEmbeddingFile('face.json', new Uint8Array([0x5b, 0xff, 0xfe, 0x5d])), 'not-json', 'face.json', 'face.json: not JSON: not UTF-8 text');
    // a multi-line input: the message is still one line
    expectError(parseEmbeddingFile('face.json', enc('[\n1,\n2\n\n\n}')), 'not-json', 'face.json');
    // NaN inside otherwise broken JSON is reported as broken JSON
    expectError(parseEmbeddingFile('face.json', enc('[NaN, 1,, 2]')), 'not-json', 'face.json');
  });

  it('JSON that is not an array of numbers', () => {
    expectError(parseEmbeddingFile('o.json', enc('{"embedding": [1, 2]}')), 'not-array', 'o.json', 'o.json: not an array of numbers: the JSON is an object, expected an array of 128 numbers');
    expectError(parseEmbeddingFile('s.json', enc('"hello"')), 'not-array', 's.json', /the JSON is a string/);
    expectError(parseEmbeddingFile('n.json', enc('42')), 'not-array', 'n.json', /the JSON is a number/);
    expectError(parseEmbeddingFile('n.json', enc('null')), 'not-array', 'n.json', /the JSON is null/);
    const strs = arr.map(String);
    expectError(parseEmbeddingFile('s.json', enc(JSON.stringify(strs))), 'not-array', 's.json', 's.json: not an array of numbers: element 0 is a string');
    expectError(parseEmbeddingFile('m.json', enc(JSON.stringify([...arr.slice(0, 3), null, ...arr.slice(4)]))), 'not-array', 'm.json', /element 3 is null/);
    expectError(parseEmbeddingFile('m.json', enc(JSON.stringify([1, [2], 3]))), 'not-array', 'm.json', /element 1 is an array/);
    expectError(parseEmbeddingFile('two.json', enc(JSON.stringify([arr, arr]))), 'not-array', 'two.json', /holds 2 vectors; upload one/);
  });

  it('a .npy of another dtype', () => {
    expectError(parseEmbeddingFile('u8.npy', encodeNpy(new Uint8Array(D), [D])), 'npy-dtype', 'u8.npy', "u8.npy: unsupported .npy dtype '|u1' (uint8), expected float32 or float64 (little-endian)");
    expectError(parseEmbeddingFile('be.npy', npy(v, '(128,)', '>f4')), 'npy-dtype', 'be.npy', /'>f4' \(big-endian float32\)/);
    expectError(parseEmbeddingFile('h.npy', npy(new Uint8Array(2 * D), '(128,)', '<f2')), 'npy-dtype', 'h.npy', /float16/);
    expectError(parseEmbeddingFile('c.npy', npy(new Uint8Array(8 * D), '(128,)', '<c8')), 'npy-dtype', 'c.npy', /'<c8', expected/);
  });

  it('a .npy of another shape', () => {
    expectError(parseEmbeddingFile('s.npy', encodeNpy(vec(127), [127])), 'npy-shape', 's.npy', 's.npy: wrong .npy shape (127,), expected (128,) or (1, 128)');
    expectError(parseEmbeddingFile('s.npy', encodeNpy(vec(256), [2, D])), 'npy-shape', 's.npy', /\(2, 128\), expected/);
    expectError(parseEmbeddingFile('s.npy', encodeNpy(vec(D), [D, 1])), 'npy-shape', 's.npy', /\(128, 1\)/);
    expectError(parseEmbeddingFile('s.npy', encodeNpy(vec(D), [1, 1, D])), 'npy-shape', 's.npy', /\(1, 1, 128\)/);
    expectError(parseEmbeddingFile('s.npy', npy(new Float32Array(1), '()')), 'npy-shape', 's.npy', /shape \(\), expected/);
  });

  it('a .npy with a broken or truncated header', () => {
    const good = encodeNpy(v, [D]);
    expectError(parseEmbeddingFile('t.npy', good.slice(0, 8)), 'npy-header', 't.npy', /truncated before the header length/);
    expectError(parseEmbeddingFile('t.npy', good.slice(0, 40)), 'npy-header', 't.npy', /truncated \(header says 118 bytes, 30 left\)/);
    const noMagic = good.slice();
    noMagic[1] = 0x41;
    expectError(parseEmbeddingFile('m.npy', noMagic), 'npy-header', 'm.npy', 'm.npy: broken .npy header: no \\x93NUMPY magic at the start');
    const version = good.slice();
    version[6] = 9;
    expectError(parseEmbeddingFile('v.npy', version), 'npy-header', 'v.npy', /unsupported format version 9/);
    const text = new TextDecoder().decode(good.subarray(10, 128));
    const withHeader = (h: string) => {
      const out = good.slice();
      out.set(enc(h.padEnd(117, ' ') + '\n'), 10);
      return out;
    };
    expect(parseEmbeddingFile('ok.npy', withHeader(text.trim()))).toMatchObject({ ok: true });
    expectError(parseEmbeddingFile('h.npy', withHeader(text.trim().slice(0, -1))), 'npy-header', 'h.npy', /not a \{\.\.\.\} dictionary/);
    expectError(parseEmbeddingFile('h.npy', withHeader(text.replace("'descr'", "'dtype'").trim())), 'npy-header', 'h.npy', /no 'descr' entry/);
    expectError(parseEmbeddingFile('h.npy', withHeader(text.replace('False', 'Nope').trim())), 'npy-header', 'h.npy', /no 'fortran_order' entry/);
    expectError(parseEmbeddingFile('h.npy', withHeader(text.replace("'shape'", "'shap'").trim())), 'npy-header', 'h.npy', /no 'shape' entry/);
    expectError(parseEmbeddingFile('h.npy', withHeader(text.replace('(128,)', '(12x,)').trim())), 'npy-header', 'h.npy', /bad shape \(12x,\)/);
    expectError(parseEmbeddingFile('h.npy', withHeader(text.replace('(128,)', '(-128,)').trim())), 'npy-header', 'h.npy', /bad shape/);
    // a .npy name on something that is not one
    expectError(parseEmbeddingFile('face.npy', enc(JSON.stringify(arr))), 'npy-header', 'face.npy', /no \\x93NUMPY magic/);
  });

  it('a .npy whose data is cut short or has bytes left over', () => {
    const good = encodeNpy(v, [D]);
    expectError(parseEmbeddingFile('d.npy', good.slice(0, -4)), 'npy-data', 'd.npy', 'd.npy: wrong .npy data size: shape (128,) of float32 needs 512 data bytes, the file has 508');
    const padded = new Uint8Array(good.length + 3);
    padded.set(good);
    expectError(parseEmbeddingFile('d.npy', padded), 'npy-data', 'd.npy', /needs 512 data bytes, the file has 515/);
  });

  it('a file over 1 MB, whatever it holds', () => {
    const big = new Uint8Array(MAX_EMBEDDING_BYTES + 1).fill(0x20);
    big[0] = 0x5b;
    expectError(parseEmbeddingFile('big.json', big), 'too-large', 'big.json', /^big\.json: file is over 1 MB \(1048577 bytes/);
    expectError(parseEmbeddingFile('big.npy', big), 'too-large', 'big.npy');
    // exactly 1 MB is read (and fails for what it is, not for its size)
    expectError(parseEmbeddingFile('edge.json', big.subarray(0, MAX_EMBEDDING_BYTES)), 'not-json', 'edge.json');
  });

  it('an unknown extension or format, pictures named as such', () => {
    expectError(parseEmbeddingFile('notes.txt', enc('hello')), 'unknown-format', 'notes.txt', 'notes.txt: not an embedding file: expected a .json array or a .npy file, got .txt');
    expectError(parseEmbeddingFile('blob', new Uint8Array([1, 2, 3])), 'unknown-format', 'blob', 'blob: not an embedding file: expected a .json array or a .npy file');
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
    expectError(parseEmbeddingFile('me.png', png), 'unknown-format', 'me.png', /a PNG picture \(use the photo input/);
    expectError(parseEmbeddingFile('me.jpg', new Uint8Array([0xff, 0xd8, 0xff, 0xe0])), 'unknown-format', 'me.jpg', /a JPEG picture/);
    expectError(parseEmbeddingFile('empty.bin', new Uint8Array(0)), 'unknown-format', 'empty.bin');
  });

  it('a file name with control characters or of any length still gives one short line', () => {
    const name = `evil\nname\u2028${'x'.repeat(500)}.txt`;
    const e = expectError(parseEmbeddingFile(name, enc('hello')), 'unknown-format', name);
    expect(e.length).toBeLessThan(200);
    expect(displayName('')).toBe('file');
  });

  it('never throws, even on inputs the types rule out', () => {
    for (const bad of [null, undefined, 'text', [1, 2, 3], new ArrayBuffer(4)]) {
      const r = parseEmbeddingFile('x.json', bad as unknown as Uint8Array);
      expect(r.ok).toBe(false);
    }
    expect(parseEmbeddingFile(undefined as unknown as string, enc('[1]')).ok).toBe(false);
    // a bad dim is the caller's bug: reported, not thrown
    const r = parseEmbeddingFile('x.json', enc('[1]'), 0);
    expect(r).toMatchObject({ ok: false, kind: 'unknown-format' });
  });

  it('a Node Buffer view into a larger pool reads only its own bytes', () => {
    const file = encodeNpy(v, [D]);
    const pool = new Uint8Array(file.length + 100).fill(7);
    pool.set(file, 50);
    expectOk(parseEmbeddingFile('v.npy', pool.subarray(50, 50 + file.length)), v);
  });
});

describe('parseEmbeddingRows (the CLI): rows of any one length', () => {
  const rowsOf = (r: EmbeddingRowsParse) => {
    if (!r.ok) throw new Error(`expected rows, got: ${r.error}`);
    return r.rows.map((x) => Array.from(x));
  };

  it('reads [D] and [N, D] from .npy and JSON', () => {
    expect(rowsOf(parseEmbeddingRows('e.npy', encodeNpy(Float32Array.of(1, 2, 3), [3])))).toEqual([[1, 2, 3]]);
    expect(rowsOf(parseEmbeddingRows('e.npy', encodeNpy(Float32Array.of(1, 2, 3, 4), [2, 2])))).toEqual([[1, 2], [3, 4]]);
    expect(rowsOf(parseEmbeddingRows('e.npy', npy(Float64Array.of(0.5, 1, 2, 3), '(2, 2)')))).toEqual([[0.5, 1], [2, 3]]);
    expect(rowsOf(parseEmbeddingRows('e.json', enc('[[0.5, 1], [2, 3]]')))).toEqual([[0.5, 1], [2, 3]]);
    expect(rowsOf(parseEmbeddingRows('e.json', enc('[0.5, 1]')))).toEqual([[0.5, 1]]);
    // more than the app's 1 MB: the CLI reads a descriptor per image
    const many = vec(2100 * D, 5);
    expect(parseEmbeddingRows('many.npy', encodeNpy(many, [2100, D]))).toMatchObject({ ok: true, rows: { length: 2100 } });
  });

  it('names the file as given and the problem, in the same words as the app', () => {
    const long = `/some/long/folder/of/embeddings/${'x'.repeat(60)}/e.json`;
    expect(parseEmbeddingRows(long, enc('[1, 2'))).toMatchObject({ ok: false, kind: 'not-json', error: expect.stringMatching(new RegExp(`^${long}: not JSON: `)) });
    const cases: [string, Uint8Array, EmbeddingErrorKind, string | RegExp][] = [
      ['x.json', enc('{"a": 1}'), 'not-array', 'x.json: not an array of numbers: the JSON is an object, expected an array of numbers or an array of such arrays'],
      ['x.json', enc('[[1, 2], [3]]'), 'wrong-length', 'x.json: wrong length: row 1 has 1 numbers, row 0 has 2'],
      ['x.json', enc('[]'), 'wrong-length', 'x.json: wrong length: no numbers'],
      ['x.json', enc('[[1], ["a"]]'), 'not-array', 'x.json: not an array of numbers: row 1 element 0 is a string'],
      ['x.json', enc('[1, 1e300]'), 'not-finite', "x.json: not finite: element 1 1e+300 is beyond float32's range"],
      ['x.json', enc('[[1, 2], [3, NaN]]'), 'not-finite', 'x.json: not finite: row 1 element 1 is NaN'],
      ['x.npy', encodeNpy(new Uint8Array(3), [3]), 'npy-dtype', /^x\.npy: unsupported \.npy dtype '\|u1' \(uint8\)/],
      ['x.npy', encodeNpy(new Float32Array(8), [2, 2, 2]), 'npy-shape', 'x.npy: wrong .npy shape (2, 2, 2), expected (D,) or (N, D)'],
      ['x.npy', encodeNpy(new Float32Array(0), [0, 4]), 'npy-shape', 'x.npy: wrong .npy shape (0, 4) holds no numbers'],
      ['x.npy', npy(new Float32Array(4), '(2, 2)').subarray(0, -4), 'npy-data', 'x.npy: wrong .npy data size: shape (2, 2) of float32 needs 16 data bytes, the file has 12'],
    ];
    for (const [name, bytes, kind, want] of cases) {
      const r = parseEmbeddingRows(name, bytes);
      expect(r, name).toMatchObject({ ok: false, kind });
      if (r.ok) continue;
      if (typeof want === 'string') expect(r.error).toBe(want);
      else expect(r.error).toMatch(want);
    }
    const nan = new Float32Array(2 * D);
    nan[D + 5] = NaN;
    expect(parseEmbeddingRows('nan.npy', encodeNpy(nan, [2, D]))).toMatchObject({ error: 'nan.npy: not finite: row 1 element 5 is NaN' });
  });

  it('refuses an (N, D) array in Fortran order (its rows are not laid out one after another)', () => {
    const f = npy(Float32Array.of(1, 2, 3, 4), '(2, 2)');
    const at = new TextDecoder('latin1').decode(f).indexOf('False');
    const fortran = f.slice();
    fortran.set(enc('True, '), at);
    expect(parseEmbeddingRows('f.npy', fortran)).toMatchObject({ ok: false, kind: 'npy-shape', error: 'f.npy: wrong .npy shape (2, 2) in Fortran order, expected C order' });
  });

  it('embeddingRowsOrThrow throws the same line', () => {
    expect(embeddingRowsOrThrow('e.json', enc('[1, 2]')).map((r) => Array.from(r))).toEqual([[1, 2]]);
    expect(() => embeddingRowsOrThrow('x.json', enc('[1, 2'))).toThrow(/^x\.json: not JSON: /);
  });
});

describe('formatEmbeddingJson', () => {
  it('round-trips exactly: every float32 bit pattern comes back, -0 included', () => {
    const r = rng(11);
    for (let trial = 0; trial < 50; trial++) {
      const bits = new Uint32Array(D);
      for (let i = 0; i < D; i++) bits[i] = Math.floor(r() * 2 ** 32);
      const v = new Float32Array(bits.buffer);
      for (let i = 0; i < D; i++) if (!Number.isFinite(v[i])) v[i] = trial % 2 ? -0 : 1.5e-45; // denormal
      v[0] = -0;
      v[1] = 3.4028234663852886e38; // float32 max
      v[2] = -1.401298464324817e-45; // smallest denormal
      const text = formatEmbeddingJson(v);
      expect(text).not.toMatch(/\n./);
      const back = parseEmbeddingFile('condition.json', new TextEncoder().encode(text));
      if (!back.ok) throw new Error(back.error);
      expect(new Uint32Array(back.vector.buffer)).toEqual(new Uint32Array(v.buffer));
    }
  });

  it('writes the shortest decimals (a descriptor is ~1.5 KB, not 3)', () => {
    const v = vec();
    const text = formatEmbeddingJson(v);
    expect(text.startsWith('[')).toBe(true);
    expect(JSON.parse(text)).toHaveLength(D);
    expect(formatEmbeddingJson([0.1, 1, -2.5])).toBe('[0.1, 1, -2.5]\n');
    expect(text.length).toBeLessThan(JSON.stringify(Array.from(v)).length);
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => formatEmbeddingJson([1, NaN])).toThrow('condition: element 1 is NaN, not a finite float32');
    expect(() => formatEmbeddingJson([1e39])).toThrow(/element 0 is Infinity/);
  });
});

// ---- fuzz ----

type Case = { name: string; bytes: Uint8Array; how: string };

function fuzzCases(seed: number, count: number): Case[] {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T,>(xs: T[]): T => xs[int(xs.length)];
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const names = ['face.json', 'face.npy', 'face', 'FACE.JSON', 'x.bin', 'photo.png', 'f.npy.json', 'a.b.npy', ''];
  const makeBases = (): Case[] => {
    const v = Float32Array.from({ length: D }, () => (r() - 0.5) * (r() < 0.1 ? 1e6 : 1));
    const arr = Array.from(v);
    return [
      { name: 'v.json', bytes: enc(JSON.stringify(arr)), how: 'json' },
      { name: 'v.json', bytes: enc(JSON.stringify(arr, null, 1)), how: 'json-pretty' },
      { name: 'v.json', bytes: enc(formatEmbeddingJson(v)), how: 'json-download' },
      { name: 'v.json', bytes: enc(JSON.stringify([arr])), how: 'json-row' },
      { name: 'v.npy', bytes: encodeNpy(v, [D]), how: 'npy-f4' },
      { name: 'v.npy', bytes: encodeNpy(v, [1, D]), how: 'npy-f4-row' },
      { name: 'v.npy', bytes: npy(Float64Array.from(v), '(128,)'), how: 'npy-f8' },
      { name: 'v.npy', bytes: npy(v, '(1, 128)', '<f4', 2), how: 'npy-v2' },
    ];
  };
  // a pool of valid files, built once (serialising is the slow part)
  const pool = Array.from({ length: 12 }, makeBases);
  const bases = () => pick(pool);
  const mutate = (c: Case): Case => {
    const b = c.bytes;
    switch (int(10)) {
      case 0: {
        const out = b.slice();
        const flips = 1 + int(4);
        for (let k = 0; k < flips; k++) out[int(out.length)] ^= 1 << int(8);
        return { ...c, bytes: out, how: `${c.how}+flip${flips}` };
      }
      case 1: {
        // flip inside the first 128 bytes: the .npy header / the JSON's opening
        const out = b.slice();
        out[int(Math.min(128, out.length))] = int(256);
        return { ...c, bytes: out, how: `${c.how}+head-byte` };
      }
      case 2:
        return { ...c, bytes: b.slice(0, int(b.length)), how: `${c.how}+truncate` };
      case 3: {
        const pad = pick([randomBytes(1 + int(16)), new Uint8Array(1 + int(64)), enc(' '.repeat(1 + int(8))), enc('\n')]);
        const out = new Uint8Array(b.length + pad.length);
        out.set(b);
        out.set(pad, b.length);
        return { ...c, bytes: out, how: `${c.how}+pad` };
      }
      case 4: {
        // a wrong header length field or version
        const out = b.slice();
        if (c.how.startsWith('npy')) {
          if (r() < 0.5) out[8 + int(2)] = int(256);
          else out[6] = int(5);
        } else out[0] = int(256);
        return { ...c, bytes: out, how: `${c.how}+hdr-len` };
      }
      case 5: {
        // replace a header word: dtype, shape, order
        const text = new TextDecoder('latin1').decode(b.subarray(0, Math.min(b.length, 128)));
        const swaps: [RegExp, string][] = [
          [/<f4|<f8/, pick(['<f2', '>f4', '|u1', '<i4', '<f16', 'f4', ''])],
          [/\(1?,? ?128,?\)/, pick(['(127,)', '(2, 128)', '(128, 1)', '()', '(128', '(,)', '(1,1,128)', '(64, 2)'])],
          [/False/, pick(['True', 'false', '0'])],
          [/'shape'/, "'shp'"],
          [/\[/, pick(['{', '', '[[', '"'])],
          [/,/, pick([',,', ';', ', "a",', ', null,', ', NaN,', ', Infinity,', ', 1e999,'])],
        ];
        const [re, by] = pick(swaps);
        const replaced = text.replace(re, by);
        const head = Uint8Array.from(replaced, (ch) => ch.charCodeAt(0) & 0xff);
        const out = new Uint8Array(head.length + b.length - Math.min(b.length, 128));
        out.set(head);
        out.set(b.subarray(Math.min(b.length, 128)), head.length);
        return { ...c, bytes: out, how: `${c.how}+swap` };
      }
      case 6:
        return { ...c, name: pick(names), how: `${c.how}+rename` };
      case 7: {
        // splice two files
        const other = pick(bases()).bytes;
        const cut = int(b.length);
        const out = new Uint8Array(cut + other.length - Math.min(cut, other.length));
        out.set(b.subarray(0, cut));
        out.set(other.subarray(Math.min(cut, other.length)), cut);
        return { ...c, bytes: out, how: `${c.how}+splice` };
      }
      case 8: {
        // a value in the data replaced by NaN / Inf bytes (npy) or a weird number (JSON)
        const out = b.slice();
        if (c.how.startsWith('npy') && out.length >= 4) {
          const at = out.length - 4 * (1 + int(D));
          out.set(pick([[0, 0, 0xc0, 0x7f], [0, 0, 0x80, 0x7f], [0, 0, 0x80, 0xff], [0xff, 0xff, 0x7f, 0x7f]]), Math.max(0, at));
          return { ...c, bytes: out, how: `${c.how}+nonfinite` };
        }
        return { ...c, bytes: enc(new TextDecoder().decode(b).replace(/-?\d+\.\d+/, pick(['1e39', '-1e400', '0x10', '.5', '+1', '1.', 'NaN', '"1"']))), how: `${c.how}+number` };
      }
      default:
        return { name: pick(names), bytes: randomBytes(int(2048)), how: 'random' };
    }
  };
  const out: Case[] = [];
  while (out.length < count) {
    let c = pick(bases());
    const depth = int(4); // 0: a valid file as is (renamed sometimes), up to 3 mutations
    for (let k = 0; k < depth; k++) c = mutate(c);
    if (r() < 0.02) {
      const big = new Uint8Array(MAX_EMBEDDING_BYTES + 1 + int(1000));
      big.set(c.bytes.subarray(0, Math.min(c.bytes.length, big.length)));
      c = { ...c, bytes: big, how: `${c.how}+huge` };
    }
    out.push(c);
  }
  return out;
}

function fortranAsC(b: Uint8Array): Uint8Array {
  const text = new TextDecoder('latin1').decode(b.subarray(0, Math.min(b.length, 128)));
  const out = b.slice();
  const at = text.indexOf("'fortran_order': True");
  // one letter longer: the comma after it goes, which decodeNpy's regexes do not need
  if (at >= 0) out.set(enc("'fortran_order': False"), at);
  return out;
}

describe('parseEmbeddingFile: fuzz', () => {
  it('3,000 random and mutated files: nothing escapes, every answer is a finite 128-vector or a named one-line error', () => {
    const cases = fuzzCases(20261201, 3000);
    const kinds = new Map<string, number>();
    let ok = 0;
    for (const c of cases) {
      let r: EmbeddingParse;
      try {
        r = parseEmbeddingFile(c.name, c.bytes);
      } catch (e) {
        throw new Error(`threw on ${c.how} (${c.name}, ${c.bytes.length} bytes): ${(e as Error).message}`);
      }
      const where = `${c.how} (${c.name}, ${c.bytes.length} bytes)`;
      if (r.ok) {
        ok++;
        expect(r.vector, where).toBeInstanceOf(Float32Array);
        expect(r.vector.length, where).toBe(D);
        expect(r.vector.every(Number.isFinite), where).toBe(true);
        // an oracle for what was accepted: the shared .npy decoder / JSON.parse read the same values
        if (r.format === 'npy') {
          // (decodeNpy refuses Fortran order, which for (128,) and (1, 128) is the same layout)
          const a = decodeNpy(fortranAsC(c.bytes));
          expect(Array.from(r.vector), where).toEqual(Array.from(Float32Array.from(a.data)));
        } else {
          const j = JSON.parse(new TextDecoder().decode(c.bytes)) as number[] | number[][];
          expect(Array.from(r.vector), where).toEqual(Array.from(Float32Array.from(j.flat())));
        }
      } else {
        const kind = r.kind;
        expect(Object.keys(EMBEDDING_ERROR_PREFIX), where).toContain(kind);
        expect(r.error.startsWith(`${displayName(c.name)}: ${EMBEDDING_ERROR_PREFIX[kind]}`), `${where}: ${r.error}`).toBe(true);
        expect(r.error, where).not.toMatch(/[\n\r\u2028\u2029]/);
        expect(r.error, where).not.toContain('internal error');
        expect(r.error.length, `${where}: ${r.error}`).toBeLessThan(200);
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
    }
    // the mix really reaches every branch: valid files and each named error
    console.info(`fuzz: ${ok} valid, errors ${JSON.stringify(Object.fromEntries(kinds))}`);
    expect(ok).toBeGreaterThan(300);
    for (const k of Object.keys(EMBEDDING_ERROR_PREFIX)) expect(kinds.get(k) ?? 0, `no ${k} error among the fuzz cases: ${JSON.stringify([...kinds])}`).toBeGreaterThan(0);
  });

  it('the same 3,000 files read as the CLI reads them: rows of one finite length or a named one-line error, and every file the app takes gives the CLI the same vector', () => {
    const cases = fuzzCases(20261201, 3000);
    let ok = 0;
    for (const c of cases) {
      const where = `${c.how} (${c.name}, ${c.bytes.length} bytes)`;
      let r: EmbeddingRowsParse;
      try {
        r = parseEmbeddingRows(c.name, c.bytes);
      } catch (e) {
        throw new Error(`threw on ${where}: ${(e as Error).message}`);
      }
      const app = parseEmbeddingFile(c.name, c.bytes);
      if (r.ok) {
        ok++;
        expect(r.rows.length, where).toBeGreaterThan(0);
        for (const row of r.rows) {
          expect(row, where).toBeInstanceOf(Float32Array);
          expect(row.length, where).toBe(r.rows[0].length);
          expect(row.every(Number.isFinite), where).toBe(true);
        }
      } else {
        expect(r.error.startsWith(`${c.name}: ${EMBEDDING_ERROR_PREFIX[r.kind]}`), `${where}: ${r.error}`).toBe(true);
        expect(r.error, where).not.toMatch(/[\n\r\u2028\u2029]/);
        expect(r.error, where).not.toContain('internal error');
      }
      if (app.ok) {
        expect(r.ok, where).toBe(true);
        if (r.ok) expect(r.rows.map((x) => Array.from(x)), where).toEqual([Array.from(app.vector)]);
      }
    }
    expect(ok).toBeGreaterThan(300);
  });

  it('is reproducible: the same seed gives the same files and the same answers', () => {
    const a = fuzzCases(7, 200).map((c) => parseEmbeddingFile(c.name, c.bytes));
    const b = fuzzCases(7, 200).map((c) => parseEmbeddingFile(c.name, c.bytes));
    expect(a.map((r) => (r.ok ? Array.from(r.vector).join() : r.error))).toEqual(b.map((r) => (r.ok ? Array.from(r.vector).join() : r.error)));
  });
});
