// How a run's images are shared out: in chunks small enough for the kernel's memory
// (chunked.ts), and evenly across threads where each runs whole images (eval --classify).
// Every image draws from its own stream keyed by (seed, image index) (uniforms.ts), so a
// share sampled on its own with `first` set to its first image gives the bytes the whole
// run gives for those images. tf-free.
import type { Condition } from '../model';
import type { SampleOptions, SamplePrefix } from './types';

/** A contiguous run of images: first .. first+count-1. */
export interface Share {
  first: number;
  count: number;
}

/**
 * `count` images over at most `threads` threads, as even as can be (the first shares one
 * image larger), none empty: fewer shares than threads when there are fewer images.
 */
export function shares(count: number, threads: number): Share[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`split: count must be a positive integer, got ${count}`);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`split: threads must be a positive integer, got ${threads}`);
  const n = Math.min(count, threads);
  const base = Math.floor(count / n);
  const extra = count % n;
  const out: Share[] = [];
  for (let i = 0, first = 0; i < n; i++) {
    const k = base + (i < extra ? 1 : 0);
    out.push({ first, count: k });
    first += k;
  }
  return out;
}

/** A share cut into chunks of at most `max` images (the last may be smaller). */
export function chunks(share: Share, max: number): Share[] {
  if (!Number.isInteger(max) || max < 1) throw new Error(`split: chunk size must be a positive integer, got ${max}`);
  const out: Share[] = [];
  for (let at = 0; at < share.count; at += max) out.push({ first: share.first + at, count: Math.min(max, share.count - at) });
  return out;
}

/** A per-image list (length 1: shared by every image) cut to a share. */
function cut<T>(list: readonly T[] | undefined, total: number, s: Share, what: string): T[] | undefined {
  if (list === undefined || list.length === 1) return list as T[] | undefined;
  if (list.length !== total) throw new Error(`split: condition.${what} has ${list.length} entries; give 1 or ${total}`);
  return list.slice(s.first, s.first + s.count);
}

/** The condition of a share's images. */
export function shareCondition(condition: Condition | undefined, total: number, s: Share): Condition | undefined {
  if (!condition) return undefined;
  const out: Condition = { ...condition };
  if (condition.labels) out.labels = cut(condition.labels, total, s, 'labels');
  if (condition.embeddings) out.embeddings = cut(condition.embeddings, total, s, 'embeddings');
  if (condition.unconditional) out.unconditional = cut(condition.unconditional, total, s, 'unconditional');
  return out;
}

/** The prefix of a share's images (one image's levels stay shared). */
export function sharePrefix(prefix: SamplePrefix | undefined, total: number, size: number, s: Share): SamplePrefix | undefined {
  if (!prefix || prefix.images.length === size) return prefix;
  return { ...prefix, images: prefix.images.subarray(s.first * size, (s.first + s.count) * size) };
}

/** A run's options for one share of its `opts.count` images (size: H * W * C). */
export function shareOptions(opts: SampleOptions, size: number, s: Share): SampleOptions {
  const first = (opts.first ?? 0) + s.first;
  return {
    ...opts,
    count: s.count,
    first,
    condition: shareCondition(opts.condition, opts.count, s),
    prefix: sharePrefix(opts.prefix, opts.count, size, s),
  };
}
