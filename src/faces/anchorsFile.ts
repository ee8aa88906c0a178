// The training descriptors a face model ships with (models/<name>/anchors.json), so that a
// real face's descriptor can be fitted onto them (manifold.ts) in the browser as on the
// command line. One descriptor per training person, quantised to 8 bits per number (a
// per-dimension offset and step: the error is at most step / 2, about 0.001, against the
// ~0.3 between two renders of one person), with the fitting options the model was measured
// with. Each person's thumbnail lies in a separate PNG atlas beside it (anchors.png), which
// the app fetches only once a face is fitted, so that the descriptors stay a small file.
// `npm run face-examples -- --anchors` writes both. No Node APIs here: the app parses them.
import { decode } from 'fast-png';
import type { Anchors, FitOptions } from './manifold';

export const ANCHORS_FORMAT = 'face-anchors/1';
export const ANCHORS_FILE = 'anchors.json';
/** a file larger than this is refused unread */
export const MAX_ANCHORS_BYTES = 2 * 1024 * 1024;

export interface FaceAnchors extends Anchors {
  fit: FitOptions;
  /** the thumbnail atlas beside the file: `size` square, `cols` to a row, anchor i at (i % cols, floor(i / cols)); null when there is none */
  thumbs: { file: string; size: number; cols: number } | null;
}

/** A decoded thumbnail atlas: RGB, `width` pixels wide. */
export interface AnchorAtlas {
  size: number;
  cols: number;
  width: number;
  rgb: Uint8Array;
}

export type AnchorsParse = { ok: true; value: FaceAnchors } | { ok: false; error: string };

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function unbase64(s: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** The file's JSON: vectors float32 [count, dim] quantised per dimension; `thumbs` names the atlas beside it (or null). */
export function encodeAnchors(a: { dim: number; count: number; vectors: Float32Array; identities: ArrayLike<number>; fit: FitOptions; source: unknown; thumbs: FaceAnchors['thumbs'] }): Record<string, unknown> {
  const { dim, count, vectors } = a;
  if (vectors.length !== count * dim) throw new Error(`encodeAnchors: ${count} x ${dim} needs ${count * dim} numbers, got ${vectors.length}`);
  const offset = new Float32Array(dim).fill(Infinity);
  const top = new Float32Array(dim).fill(-Infinity);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dim; j++) {
      offset[j] = Math.min(offset[j], vectors[i * dim + j]);
      top[j] = Math.max(top[j], vectors[i * dim + j]);
    }
  }
  const step = offset.map((o, j) => (top[j] - o) / 255 || 1);
  const q = new Uint8Array(count * dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < dim; j++) q[i * dim + j] = Math.round((vectors[i * dim + j] - offset[j]) / step[j]);
  return {
    format: ANCHORS_FORMAT,
    dim,
    count,
    source: a.source,
    fit: a.fit,
    identities: Array.from(a.identities),
    offset: Array.from(offset),
    step: Array.from(step),
    vectors: base64(q),
    thumbs: a.thumbs,
  };
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Checks and decodes an anchors file (already JSON-parsed) for descriptors of `dim`. One line naming what is wrong; never throws. */
export function parseAnchors(json: unknown, dim: number): AnchorsParse {
  const bad = (error: string): AnchorsParse => ({ ok: false, error: `${ANCHORS_FILE}: ${error}` });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad('not a JSON object');
  const o = json as Record<string, unknown>;
  if (o.format !== ANCHORS_FORMAT) return bad(`format ${JSON.stringify(o.format) ?? 'missing'}, expected ${ANCHORS_FORMAT}`);
  if (o.dim !== dim) return bad(`descriptors of ${JSON.stringify(o.dim)} numbers, the model takes ${dim}`);
  const count = o.count;
  if (!Number.isInteger(count) || (count as number) < 1) return bad(`count ${JSON.stringify(count)} is not an integer >= 1`);
  const n = count as number;
  const fit = o.fit as Record<string, unknown> | null;
  if (typeof fit !== 'object' || fit === null || !Number.isInteger(fit.k) || (fit.k as number) < 1 || !finite(fit.near) || !finite(fit.far) || fit.near < 0 || fit.far < fit.near || (fit.base !== undefined && !(finite(fit.base) && fit.base >= 0 && fit.base <= 1))) {
    return bad('fit: expected {k: integer >= 1, near >= 0, far >= near, base in 0..1}');
  }
  if (!Array.isArray(o.identities) || o.identities.length !== n || !o.identities.every((x) => Number.isInteger(x) && x >= 0)) return bad(`identities: expected ${n} integers >= 0`);
  for (const k of ['offset', 'step'] as const) {
    const v = o[k];
    if (!Array.isArray(v) || v.length !== dim || !v.every(finite)) return bad(`${k}: expected ${dim} finite numbers`);
  }
  const q = typeof o.vectors === 'string' ? unbase64(o.vectors) : null;
  if (!q || q.length !== n * dim) return bad(`vectors: expected base64 of ${n * dim} bytes (${n} x ${dim})`);
  const offset = o.offset as number[];
  const step = o.step as number[];
  const vectors = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) vectors[i * dim + j] = offset[j] + step[j] * q[i * dim + j];
  let thumbs: FaceAnchors['thumbs'] = null;
  if (o.thumbs !== null && o.thumbs !== undefined) {
    const t = o.thumbs as Record<string, unknown>;
    if (typeof t.file !== 'string' || !/^[\w.-]+\.png$/.test(t.file) || !Number.isInteger(t.size) || !Number.isInteger(t.cols) || (t.size as number) < 1 || (t.cols as number) < 1) {
      return bad('thumbs: expected {file: NAME.png beside it, size, cols}');
    }
    thumbs = { file: t.file, size: t.size as number, cols: t.cols as number };
  }
  return { ok: true, value: { dim, count: n, vectors, identities: o.identities as number[], fit: { k: fit.k as number, near: fit.near, far: fit.far, base: (fit.base as number | undefined) ?? 0 }, thumbs } };
}

/** Decodes the thumbnail atlas of `a` (the PNG file its `thumbs` names), checked against its geometry. */
export function decodeAtlas(a: FaceAnchors, png: Uint8Array): { ok: true; value: AnchorAtlas } | { ok: false; error: string } {
  const t = a.thumbs;
  if (!t) return { ok: false, error: `${ANCHORS_FILE}: names no thumbnails` };
  let img: ReturnType<typeof decode>;
  try {
    img = decode(png);
  } catch {
    return { ok: false, error: `${t.file}: not a PNG` };
  }
  const rows = Math.ceil(a.count / t.cols);
  if (img.depth !== 8 || img.channels !== 3 || img.width !== t.cols * t.size || img.height !== rows * t.size) {
    return { ok: false, error: `${t.file}: expected an 8-bit RGB atlas of ${t.cols} x ${rows} thumbnails of ${t.size} px` };
  }
  return { ok: true, value: { size: t.size, cols: t.cols, width: img.width, rgb: img.data as Uint8Array } };
}

/** Anchor i's thumbnail as size x size RGB, or null when i is out of range. */
export function anchorThumb(atlas: AnchorAtlas, count: number, i: number): Uint8Array | null {
  if (!Number.isInteger(i) || i < 0 || i >= count) return null;
  const t = atlas;
  const x0 = (i % t.cols) * t.size;
  const y0 = Math.floor(i / t.cols) * t.size;
  const out = new Uint8Array(t.size * t.size * 3);
  for (let y = 0; y < t.size; y++) out.set(t.rgb.subarray(((y0 + y) * t.width + x0) * 3, ((y0 + y) * t.width + x0 + t.size) * 3), y * t.size * 3);
  return out;
}
