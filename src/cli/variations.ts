// What the auto-encoder's commands share (issue 23): source pictures from --png / --npy
// style flags, their codes, and the plans `sample` runs for --from-png / --from-npy
// (K variations of each source, grouped by source) and --morph (codes interpolated from
// A's to B's). The arithmetic lives in src/model (encodeImages, interpolateCodes,
// repeatEach) and the picture reading in src/io/digits.ts, where the app finds them too.
import { digitFromPng, digitsFromNpy, quantize } from '../io/digits';
import { imageGrid, levelsToPixels, type Picture } from '../io/png';
import { interpolateCodes, repeatEach } from '../model/codes';
import type { Condition, ModelConfig, PixelCNN } from '../model';
import { UsageError, type Args, type FlagSpec } from './args';
import { extOf, readInputFile } from './common';

/** Source pictures: pixels 0..255 [count, H, W, C], row-major, and the file each came from. */
export interface Sources {
  pixels: Uint8Array;
  count: number;
  files: string[];
}

/** One line when the model cannot make codes. */
export function requireEncoder(config: ModelConfig, dir: string, flag: string): void {
  if (!config.encoder) throw new UsageError(`${flag}: ${dir} has no encoder (config.encoder); it needs an auto-encoder model such as models/mnist-ae`);
}

/** Reads .png pictures (framed as the app frames them) and .npy batches, in order. */
export async function readSources(files: string[], config: ModelConfig): Promise<Sources> {
  const per = config.height * config.width * config.channels;
  const parts: Uint8Array[] = [];
  const from: string[] = [];
  for (const file of files) {
    const ext = extOf(file);
    if (ext !== '.png' && ext !== '.npy') throw new UsageError(`${file}: expected a .png picture or an .npy of uint8 images`);
    const bytes = new Uint8Array(await readInputFile(file));
    if (ext === '.png') {
      parts.push(digitFromPng(bytes, file, config));
      from.push(file);
    } else {
      const { pixels, count } = digitsFromNpy(bytes, file, config);
      parts.push(pixels);
      for (let i = 0; i < count; i++) from.push(`${file}[${i}]`);
    }
  }
  const pixels = new Uint8Array(from.length * per);
  let off = 0;
  for (const p of parts) {
    pixels.set(p, off);
    off += p.length;
  }
  return { pixels, count: from.length, files: from };
}

/** Each source's code, as the model's encoder computes it from the source's levels. */
export async function codesOf(model: PixelCNN, sources: Sources): Promise<Float32Array[]> {
  // tfjs only once a command has checked its flags (sample imports this file up front)
  const { encodeImages } = await import('../model');
  return encodeImages(model, quantize(sources.pixels, model.config.levels), sources.count);
}

/** A source as the model sees it (its levels), shown as 0..255 pixels. */
function asSeen(config: ModelConfig, pixels: Uint8Array): Uint8Array {
  return levelsToPixels(Uint8Array.from(quantize(pixels, config.levels)), config.levels);
}

/** Rows of tiles: each row `before` pictures, then `per` samples, then `after` pictures. */
function rowsGrid(config: ModelConfig, rows: { before: Uint8Array[]; samples: Uint8Array; after: Uint8Array[] }[], per: number, scale: number): Picture {
  const size = config.height * config.width * config.channels;
  const cols = rows[0].before.length + per + rows[0].after.length;
  const tiles = new Uint8Array(rows.length * cols * size);
  rows.forEach((r, i) => {
    let at = i * cols * size;
    for (const t of [...r.before, r.samples, ...r.after]) {
      tiles.set(t, at);
      at += t.length;
    }
  });
  return imageGrid(tiles, rows.length * cols, config.height, config.width, config.channels, { scale, pad: 2, cols });
}

/** The sample command's flags for an auto-encoder. */
export const autoencoderFlags = {
  'from-png': { type: 'string', help: 'auto-encoder: K (--count, default 4) variations of each picture, comma-separated A.png,B.png,...; grouped by picture' },
  'from-npy': { type: 'string', help: 'auto-encoder: variations of each uint8 image of an .npy [N,H,W] or [N,H,W,C]; input i at rows i*K..i*K+K-1' },
  morph: { type: 'string', help: "auto-encoder: A.png,B.png: one sample per code on the line from A's code to B's" },
  steps: { type: 'int', min: 2, max: 256, help: 'steps of --morph, A and B included (default 8)' },
} satisfies FlagSpec;

type AutoencoderArgs = Args<typeof autoencoderFlags> & { count?: number; class?: number; embedding?: string };

const list = (text: string) => text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

/** Flag combinations that cannot work, before anything is loaded. */
export function checkAutoencoderFlags(a: AutoencoderArgs): void {
  const given = (['from-png', 'from-npy', 'morph'] as const).filter((k) => a[k] !== undefined);
  if (given.length > 1) throw new UsageError(`give one of --from-png, --from-npy, --morph, not ${given.map((k) => `--${k}`).join(' and ')}`);
  if (a.steps !== undefined && a.morph === undefined) throw new UsageError('--steps: only with --morph A.png,B.png');
  if (given.length === 0) return;
  if (a.class !== undefined || a.embedding !== undefined) throw new UsageError(`--${given[0]}: the pictures' codes are the condition; drop --class / --embedding`);
  if (a.morph !== undefined) {
    const files = list(a.morph);
    if (files.length !== 2) throw new UsageError(`--morph: expected two pictures A.png,B.png, got ${files.length} (${JSON.stringify(a.morph)})`);
    if (a.count !== undefined) throw new UsageError('--morph draws one sample per step: use --steps, not --count');
  }
}

export interface AutoencoderPlan {
  /** images to sample */
  count: number;
  condition: Condition;
  /** the PNG: each source beside its variations (a row per source), or A, the steps, B */
  grid: (images: Uint8Array, scale: number) => Picture;
  /** what the run's JSON line adds */
  summary: Record<string, unknown>;
  /** said on stderr before sampling (a source without ink) */
  note?: string;
}

/** A note naming the sources that hold no ink at all (an empty picture still has a code). */
function blankNote(sources: Sources, size: number): string | undefined {
  const blank = sources.files.filter((_, i) => sources.pixels.subarray(i * size, (i + 1) * size).every((v) => v === 0));
  return blank.length ? `${blank.slice(0, 3).join(', ')}${blank.length > 3 ? ` and ${blank.length - 3} more` : ''}: no ink found; the code is that of a blank picture` : undefined;
}

/** The run `sample` makes for --from-png / --from-npy / --morph; undefined without them. */
export async function autoencoderPlan(model: PixelCNN, dir: string, a: AutoencoderArgs): Promise<AutoencoderPlan | undefined> {
  const flag = (['from-png', 'from-npy', 'morph'] as const).find((k) => a[k] !== undefined);
  const { config } = model;
  if (!flag && config.encoder && a.embedding === undefined) {
    throw new UsageError('this model is an auto-encoder: give --from-png A.png, --from-npy X.npy or --morph A.png,B.png (or --embedding FILE with codes of your own)');
  }
  if (!flag) return undefined;
  requireEncoder(config, dir, `--${flag}`);
  const size = config.height * config.width * config.channels;
  const files = list(a[flag]!);
  if (flag === 'from-npy' && (files.length !== 1 || extOf(files[0]) !== '.npy')) throw new UsageError(`--from-npy: expected one .npy file, got ${JSON.stringify(a[flag])}`);
  if (flag !== 'from-npy' && files.some((f) => extOf(f) !== '.png')) throw new UsageError(`--${flag}: expected .png pictures, got ${JSON.stringify(a[flag])}`);
  if (files.length === 0) throw new UsageError(`--${flag}: expected a file`);
  const sources = await readSources(files, config);
  const codes = await codesOf(model, sources);
  const source = (i: number) => asSeen(config, sources.pixels.subarray(i * size, (i + 1) * size));
  const seen = (images: Uint8Array) => levelsToPixels(images, config.levels);
  if (flag === 'morph') {
    const steps = a.steps ?? 8;
    return {
      count: steps,
      condition: { embeddings: interpolateCodes(codes[0], codes[1], steps) },
      grid: (images, scale) => rowsGrid(config, [{ before: [source(0)], samples: seen(images), after: [source(1)] }], steps, scale),
      summary: { morph: sources.files, steps },
      note: blankNote(sources, size),
    };
  }
  const k = a.count ?? 4;
  return {
    count: sources.count * k,
    condition: { embeddings: repeatEach(codes, k) },
    grid: (images, scale) =>
      rowsGrid(
        config,
        codes.map((_, i) => ({ before: [source(i)], samples: seen(images.subarray(i * k * size, (i + 1) * k * size)), after: [] })),
        k,
        scale,
      ),
    summary: { sources: sources.count, variationsPerSource: k, layout: 'input i: rows i*K..i*K+K-1' },
    note: blankNote(sources, size),
  };
}
