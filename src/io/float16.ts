// IEEE 754 half precision <-> single precision, bit by bit, so saved weights can be
// halved in size. Rounding is to nearest, ties to even (what a hardware cast does);
// values beyond the half range become +-Infinity, NaN stays NaN.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** One float32 value -> the bits of the nearest float16. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf or (quiet) NaN
  const e = exp - 127 + 15; // exponent re-biased for half
  if (e >= 0x1f) return sign | 0x7c00; // too large: Inf
  if (e <= 0) {
    // half subnormal: value = m * 2^-24, m = mant24 >> (14 - e)
    if (e < -10) return sign; // below half the smallest subnormal: signed zero
    mant |= 0x800000; // the implicit leading bit
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // a carry out of the mantissa correctly bumps the exponent (and may give Inf)
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** The bits of one float16 -> its exact float32 value. */
export function fromHalfBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) {
    const v = mant * 2 ** -24;
    return sign !== 0 ? -v : v;
  }
  if (exp === 0x1f) u32[0] = sign | 0x7f800000 | (mant << 13);
  else u32[0] = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  return f32[0];
}

export function float32ToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalfBits(values[i]);
  return out;
}

export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = fromHalfBits(bits[i]);
  return out;
}
