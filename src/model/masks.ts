// Masks that keep the model causal. Spatial causality is mostly done by padding and
// cropping (the kernels never cover future rows); what is left to mask is the kernel
// position of the current pixel, where for RGB images a colour channel may only see the
// channels before it (mask A) or before and including it (mask B).
//
// Feature maps are split into `channels` groups (R, G, B for colour; one group for grey):
// channel i of an n-channel map belongs to group floor(i * C / n). Pre-gate maps have 2p
// channels, tanh half then sigmoid half, each half grouped the same way as p.

export type MaskType = 'A' | 'B';

/** Group of channel i in a map of n channels; `pregate` maps are two halves of n/2. */
export function groupOf(i: number, n: number, colours: number, pregate = false): number {
  if (pregate) {
    const half = n / 2;
    return Math.floor(((i % half) * colours) / half);
  }
  return Math.floor((i * colours) / n);
}

/**
 * [cin, cout] 0/1 mask for the current pixel's kernel tap: output group g sees input
 * groups < g (A) or <= g (B).
 */
export function centreMask(
  cin: number,
  cout: number,
  colours: number,
  type: MaskType,
  outPregate: boolean,
): Float32Array {
  const m = new Float32Array(cin * cout);
  for (let i = 0; i < cin; i++) {
    const gi = groupOf(i, cin, colours);
    for (let o = 0; o < cout; o++) {
      const go = groupOf(o, cout, colours, outPregate);
      m[i * cout + o] = (type === 'A' ? gi < go : gi <= go) ? 1 : 0;
    }
  }
  return m;
}

/**
 * Full mask for a kernel [kh, kw, cin, cout] whose current-pixel tap sits at
 * (kh - 1, centreCol): taps before it in raster order are 1, taps after it 0, the tap
 * itself gets the channel mask. Returns null when the mask is all ones (nothing to do).
 */
export function kernelMask(
  kh: number,
  kw: number,
  cin: number,
  cout: number,
  centreCol: number,
  colours: number,
  type: MaskType,
  outPregate: boolean,
): Float32Array | null {
  const centre = centreMask(cin, cout, colours, type, outPregate);
  const m = new Float32Array(kh * kw * cin * cout);
  let allOnes = true;
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const base = (y * kw + x) * cin * cout;
      if (y < kh - 1 || x < centreCol) {
        m.fill(1, base, base + cin * cout);
      } else if (x === centreCol) {
        m.set(centre, base);
        if (centre.some((v) => v === 0)) allOnes = false;
      } else {
        allOnes = false; // future taps stay 0
      }
    }
  }
  return allOnes ? null : m;
}

/** 1x1 mask B for RGB (null for grey, where it is all ones). */
export function pointwiseMask(cin: number, cout: number, colours: number): Float32Array | null {
  if (colours === 1) return null;
  return centreMask(cin, cout, colours, 'B', false);
}
