// AssemblyScript source of the CPU sampling kernel (compiled by `npm run build:kernel` into
// cpuKernelWasm.ts; not TypeScript for tsc: see tsconfig's exclude). One call of `step`
// is the cached sampler's whole horizontal step for one sub-pixel: every layer's own-row
// taps, gate, 1x1 and residual, then the head and the softmax, for all N batch rows, as
// the fused WebGPU pixel kernel does it (webgpu/pixelKernel.ts). `advance` moves each layer's window
// one column on once a pixel is decided. `row` is the vertical stack's step once a row: each
// layer's vertical taps over the rows it keeps, its condition, the link into the horizontal
// stack and the gate that feeds the next layer, for the whole row and batch in one call
// (as tfjs ops it was ~140 small kernels a row, whose fixed cost outweighed a small batch's work).
//
// Memory is the caller's (imported), past heapBase(); every pointer is a byte offset into it. A table at
// `cfg` says where everything is: header ints, then LAYER ints per layer (below).
// Every call but `layer` works on batch rows n0 .. n1-1 only: no row reads another's state, so
// threads sharing the memory (kernelThreads.ts) can each step their own rows of the same call.
// Products run 4 outputs a lane (f32x4), weights laid out [in, out] so a row of a weight
// matrix is contiguous along the outputs.

const HEADER: i32 = 24;
const LAYER: i32 = 20;

@inline function hdr(cfg: usize, i: i32): i32 {
  return load<i32>(cfg + (<usize>i << 2));
}

@inline function lay(cfg: usize, l: i32, i: i32): i32 {
  return load<i32>(cfg + (<usize>(HEADER + l * LAYER + i) << 2));
}

@inline function at(base: i32, index: i32): usize {
  return <usize>base + (<usize>index << 2);
}

/** out[n, o] += sum_i x[n * xs + i] * w[i * ws + o] for n < N, o < nOut (strides in floats). */
function matAcc(out: i32, os: i32, x: i32, xs: i32, w: i32, ws: i32, N: i32, nIn: i32, nOut: i32): void {
  for (let n = 0; n < N; n++) {
    const xo = x + n * xs * 4;
    const oo = out + n * os * 4;
    let o = 0;
    for (; o + 16 <= nOut; o += 16) {
      const op = at(oo, o);
      let a0 = v128.load(op);
      let a1 = v128.load(op, 16);
      let a2 = v128.load(op, 32);
      let a3 = v128.load(op, 48);
      let wp = at(w, o);
      const wstep = <usize>ws << 2;
      for (let i = 0; i < nIn; i++) {
        const xv = f32x4.splat(load<f32>(at(xo, i)));
        a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(wp)));
        a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(wp, 16)));
        a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(wp, 32)));
        a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(wp, 48)));
        wp += wstep;
      }
      v128.store(op, a0);
      v128.store(op, a1, 16);
      v128.store(op, a2, 32);
      v128.store(op, a3, 48);
    }
    for (; o + 4 <= nOut; o += 4) {
      const op = at(oo, o);
      let a0 = v128.load(op);
      let wp = at(w, o);
      const wstep = <usize>ws << 2;
      for (let i = 0; i < nIn; i++) {
        a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(at(xo, i))), v128.load(wp)));
        wp += wstep;
      }
      v128.store(op, a0);
    }
    for (; o < nOut; o++) {
      let a = load<f32>(at(oo, o));
      for (let i = 0; i < nIn; i++) a += load<f32>(at(xo, i)) * load<f32>(at(w, i * ws + o));
      store<f32>(at(oo, o), a);
    }
  }
}

/** dst[n, o] = src[o] for n < N, o < len (a bias broadcast over the batch). */
function fillRows(dst: i32, src: i32, N: i32, len: i32): void {
  for (let n = 0; n < N; n++) memory.copy(at(dst, n * len), <usize>src, <usize>len << 2);
}

/** x[n, o] += b[o] */
function addBias(x: i32, b: i32, N: i32, len: i32): void {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < len; o++) {
      const p = at(x, n * len + o);
      store<f32>(p, load<f32>(p) + load<f32>(at(b, o)));
    }
  }
}

function relu(x: i32, count: i32): void {
  for (let i = 0; i < count; i++) {
    const p = at(x, i);
    if (load<f32>(p) < 0) store<f32>(p, 0);
  }
}

/** out[n, j] = tanh(pre[n, j]) * sigmoid(pre[n, P + j]) */
function gate(out: i32, pre: i32, N: i32, P: i32): void {
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < P; j++) {
      const a = load<f32>(at(pre, n * 2 * P + j));
      const b = load<f32>(at(pre, n * 2 * P + P + j));
      store<f32>(at(out, n * P + j), Mathf.tanh(a) / (1 + Mathf.exp(-b)));
    }
  }
}

/** Layer l of the horizontal stack at column c, for batch rows n0 .. n1-1: H holds its input, then its output. */
function runLayer(cfg: usize, l: i32, c: i32, n0: i32, n1: i32): void {
  const N = n1 - n0;
  const P = hdr(cfg, 2);
  const P2 = 2 * P;
  // each [N, ...] block from row n0 on
  const H = hdr(cfg, 5) + n0 * P * 4;
  const PRE = hdr(cfg, 6) + n0 * P2 * 4;
  const GATE = hdr(cfg, 7) + n0 * P * 4;
  const Wd = hdr(cfg, 14);
  const cin = lay(cfg, l, 0);
  const half = lay(cfg, l, 1);
  const d = lay(cfg, l, 2);
  const reach = lay(cfg, l, 3);
  const hc = lay(cfg, l, 4);
  const ow = lay(cfg, l, 5);
  const ob = lay(cfg, l, 6);
  const link = lay(cfg, l, 7) + n0 * Wd * P2 * 4;
  const state = lay(cfg, l, 8) + n0 * (l === 0 ? (reach + 1) * cin : reach * P) * 4;
  const hin = lay(cfg, l, 9) + n0 * P * 4;
  // everything the row and the condition add to the pre-gate, then the own-row taps
  for (let n = 0; n < N; n++) memory.copy(at(PRE, n * P2), at(link, (n * Wd + c) * P2), <usize>P2 << 2);
  if (l === 0) {
    // the caller's window of image columns c-reach..c [N, reach+1, C]
    for (let dx = 0; dx <= half; dx++) matAcc(PRE, P2, state + dx * d * cin * 4, (reach + 1) * cin, hc + dx * cin * P2 * 4, P2, N, cin, P2);
  } else {
    memory.copy(<usize>hin, <usize>H, <usize>(N * P) << 2); // this column's input, for advance
    // columns c-reach..c-1 of the layer's input [N, reach, P], then column c itself
    for (let dx = 0; dx < half; dx++) matAcc(PRE, P2, state + dx * d * P * 4, reach * P, hc + dx * P * P2 * 4, P2, N, P, P2);
    matAcc(PRE, P2, H, P, hc + half * P * P2 * 4, P2, N, P, P2);
  }
  gate(GATE, PRE, N, P);
  // 1x1 out, plus the residual (none in the first layer)
  if (l === 0) fillRows(H, ob, N, P);
  else addBias(H, ob, N, P);
  matAcc(H, P, GATE, P, ow, P, N, P, P);
}

/** One layer alone (for the benchmark that compares it with the same layer as tfjs ops). */
export function layer(cfg: usize, l: i32, c: i32): void {
  runLayer(cfg, l, c, 0, hdr(cfg, 1));
}

/**
 * The horizontal stack at column c for batch rows n0 .. n1-1, then the head's outputs
 * colStart..colStart+nCols-1 into the first nCols of their rows of OUT [N, outStride]. mode 0: raw outputs; 1: softmax of
 * outputs / temperature; 2: log-softmax.
 */
export function step(cfg: usize, n0: i32, n1: i32, c: i32, colStart: i32, nCols: i32, mode: i32, temperature: f32): void {
  const L = hdr(cfg, 0);
  const N = n1 - n0;
  const P = hdr(cfg, 2);
  const HH = hdr(cfg, 3);
  const outStride = hdr(cfg, 4);
  const H = hdr(cfg, 5) + n0 * P * 4;
  const GATE = hdr(cfg, 7) + n0 * P * 4;
  const HID = hdr(cfg, 8) + n0 * HH * 4;
  // rows at the head's full width apart: a call for fewer columns (a prefix's warm-up asks
  // for one) stays inside its own rows while another thread reads a full row of its own
  const OUT = hdr(cfg, 9) + n0 * outStride * 4;
  for (let l = 0; l < L; l++) runLayer(cfg, l, c, n0, n1);
  // head: relu -> 1x1 -> relu -> 1x1, only the columns asked for
  memory.copy(<usize>GATE, <usize>H, <usize>(N * P) << 2);
  relu(GATE, N * P);
  fillRows(HID, hdr(cfg, 11), N, HH);
  matAcc(HID, HH, GATE, P, hdr(cfg, 10), HH, N, P, HH);
  relu(HID, N * HH);
  fillRows(OUT, hdr(cfg, 13) + colStart * 4, N, nCols);
  matAcc(OUT, nCols, HID, HH, hdr(cfg, 12) + colStart * 4, outStride, N, HH, nCols);
  if (mode === 0) return;
  for (let n = 0; n < N; n++) {
    const row = OUT + n * nCols * 4;
    let m: f32 = -Infinity;
    for (let k = 0; k < nCols; k++) {
      let v = load<f32>(at(row, k));
      if (mode === 1) {
        v = v / temperature;
        store<f32>(at(row, k), v);
      }
      m = Mathf.max(m, v);
    }
    let z: f32 = 0;
    for (let k = 0; k < nCols; k++) {
      const e = Mathf.exp(load<f32>(at(row, k)) - m);
      if (mode === 1) store<f32>(at(row, k), e);
      z += e;
    }
    if (mode === 1) {
      for (let k = 0; k < nCols; k++) store<f32>(at(row, k), load<f32>(at(row, k)) / z);
    } else {
      const lse = m + Mathf.log(z);
      for (let k = 0; k < nCols; k++) store<f32>(at(row, k), load<f32>(at(row, k)) - lse);
    }
  }
}

/** Where the caller's blocks may start: past the kernel's own static data (its math tables). */
export function heapBase(): usize {
  return __heap_base;
}

/** The pixel is decided: every layer's window (layers >= 1) moves one column on, for batch rows n0 .. n1-1. */
export function advance(cfg: usize, n0: i32, n1: i32): void {
  const L = hdr(cfg, 0);
  const P = hdr(cfg, 2);
  for (let l = 1; l < L; l++) {
    const reach = lay(cfg, l, 3);
    if (reach === 0) continue;
    const state = lay(cfg, l, 8);
    const hin = lay(cfg, l, 9);
    for (let n = n0; n < n1; n++) {
      const s = at(state, n * reach * P);
      memory.copy(s, s + (<usize>P << 2), <usize>((reach - 1) * P) << 2);
      memory.copy(s + (<usize>((reach - 1) * P) << 2), at(hin, n * P), <usize>P << 2);
    }
  }
}

/**
 * The vertical stack for a new row, every layer in turn: its kept input rows move up one
 * and the new one goes in (layer 0: the caller's ROW0, the image row above, normalised;
 * later layers: the gate of the layer below), then vpre = bias and condition + the
 * vertical taps, link = its bias and condition + vpre . link weights (LINK, read by
 * every `step` of the row), and each horizontal window is cleared (nothing left of column 0);
 * for batch rows n0 .. n1-1.
 */
export function row(cfg: usize, n0: i32, n1: i32): void {
  const L = hdr(cfg, 0);
  const N = n1 - n0;
  const P = hdr(cfg, 2);
  const Wd = hdr(cfg, 14);
  const P2 = 2 * P;
  const ROW0 = hdr(cfg, 15);
  const q = hdr(cfg, 17);
  // the [N, Wd, ...] blocks from row n0 on
  const S = hdr(cfg, 16) + n0 * Wd * q * 4;
  const VPRE = hdr(cfg, 18) + n0 * Wd * P2 * 4;
  const GROW = hdr(cfg, 19);
  for (let l = 0; l < L; l++) {
    const cin = lay(cfg, l, 0);
    const half = lay(cfg, l, 1);
    const d = lay(cfg, l, 2);
    const reach = lay(cfg, l, 3);
    const link = lay(cfg, l, 7) + n0 * Wd * P2 * 4;
    const state = lay(cfg, l, 8) + n0 * reach * P * 4;
    const k = lay(cfg, l, 10);
    const vin = lay(cfg, l, 11);
    const vw = lay(cfg, l, 12);
    const vb = lay(cfg, l, 13);
    const lw = lay(cfg, l, 14);
    const lb = lay(cfg, l, 15);
    const vcw = lay(cfg, l, 16);
    const hcw = lay(cfg, l, 17);
    const Wp = Wd + 2 * reach;
    const rowFloats = Wp * cin;
    const src = l === 0 ? ROW0 : GROW;
    for (let n = n0; n < n1; n++) {
      const base = at(vin, n * (reach + 1) * rowFloats);
      if (reach > 0) memory.copy(base, base + (<usize>rowFloats << 2), <usize>(reach * rowFloats) << 2);
      memory.copy(base + (<usize>(reach * rowFloats + reach * cin) << 2), at(src, n * Wd * cin), <usize>(Wd * cin) << 2);
    }
    // vpre [N, Wd, 2p]
    for (let n = 0; n < N; n++) fillRows(VPRE + n * Wd * P2 * 4, vb + (n0 + n) * P2 * 4, Wd, P2);
    if (q > 0) matAcc(VPRE, P2, S, q, vcw, P2, N * Wd, q, P2);
    for (let n = 0; n < N; n++) {
      for (let dy = 0; dy <= half; dy++) {
        for (let dx = 0; dx < k; dx++) {
          const x = vin + (((n0 + n) * (reach + 1) + dy * d) * Wp + dx * d) * cin * 4;
          matAcc(VPRE + n * Wd * P2 * 4, P2, x, cin, vw + (dy * k + dx) * cin * P2 * 4, P2, Wd, cin, P2);
        }
      }
    }
    // link [N, Wd, 2p], the horizontal pre-gate's share from this row
    for (let n = 0; n < N; n++) fillRows(link + n * Wd * P2 * 4, lb + (n0 + n) * P2 * 4, Wd, P2);
    if (q > 0) matAcc(link, P2, S, q, hcw, P2, N * Wd, q, P2);
    matAcc(link, P2, VPRE, P2, lw, P2, N * Wd, P2, P2);
    // the next layer's new vertical row
    if (l + 1 < L) gate(GROW + n0 * Wd * P * 4, VPRE, N * Wd, P);
    if (l > 0 && reach > 0) memory.fill(<usize>state, 0, <usize>(N * reach * P) << 2);
  }
}
