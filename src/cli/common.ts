// What every command needs: a backend, a model folder, the conditioning flags.
// Heavy modules (tfjs) are imported only once the flags have been checked, so a bad
// flag or --help answers at once.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { NodeBackend } from '../backend/node';
import type { Condition, ModelConfig } from '../model';
import { embeddingRowsOrThrow } from '../io/embedding';
import { UsageError, type Flag } from './args';

export const backendFlag = {
  type: 'enum',
  values: ['wasm', 'cpu', 'auto'] as const,
  help: 'tfjs backend (default wasm; auto uses tfjs-node when installed)',
} as const satisfies Flag;

/** --backend for the samplers' commands: also webgpu (the fused sampler, on Dawn in Node). */
export const samplerBackendFlag = {
  type: 'enum',
  values: ['wasm', 'cpu', 'webgpu', 'auto'] as const,
  help: 'tfjs backend (default wasm; webgpu: the fused sampler on the machine\'s Vulkan driver, SwiftShader where there is no GPU; auto uses tfjs-node when installed)',
} as const satisfies Flag;

/** Starts tfjs quietly (no Node banner on stderr) on the chosen backend. */
export async function startBackend(want: NodeBackend | 'auto' = 'wasm'): Promise<string> {
  const [tf, { initNodeBackend }] = await Promise.all([import('@tensorflow/tfjs'), import('../backend/node')]);
  tf.enableProdMode();
  return initNodeBackend(want);
}

/** The condition of each image from --class / --embedding, checked against the model's config. */
export async function conditionFromFlags(
  config: ModelConfig,
  count: number,
  flags: { class?: number; embedding?: string },
): Promise<{ condition?: Condition; note?: string }> {
  const c = config.conditioning;
  if (flags.class !== undefined && flags.embedding !== undefined) throw new UsageError('give --class or --embedding, not both');
  if (c.type === 'none') {
    if (flags.class !== undefined || flags.embedding !== undefined) {
      throw new UsageError('this model is unconditional: drop --class / --embedding');
    }
    return {};
  }
  if (c.type === 'class') {
    if (flags.embedding !== undefined) throw new UsageError(`this model is conditioned on a class (0..${c.classes - 1}): use --class`);
    if (flags.class === undefined) {
      const labels = Array.from({ length: count }, (_, i) => i % c.classes);
      return { condition: { labels }, note: `no --class: image i gets class i mod ${c.classes}` };
    }
    if (flags.class >= c.classes) throw new UsageError(`--class: ${flags.class} is outside 0..${c.classes - 1}`);
    return { condition: { labels: [flags.class] } };
  }
  if (flags.class !== undefined) throw new UsageError(`this model is conditioned on a ${c.dim}-d vector: use --embedding FILE`);
  if (flags.embedding === undefined) throw new UsageError(`this model is conditioned on a ${c.dim}-d vector: --embedding FILE is required`);
  const rows = embeddingRowsOrThrow(flags.embedding, await readInputFile(flags.embedding));
  if (rows[0].length !== c.dim) throw new Error(`${flags.embedding}: embedding has length ${rows[0].length}, the model expects ${c.dim}`);
  if (rows.length !== 1 && rows.length !== count) {
    throw new Error(`${flags.embedding}: holds ${rows.length} embeddings; give 1 (shared) or --count (${count})`);
  }
  return { condition: { embeddings: rows } };
}

/** Reads a file named by a flag; failing, one line naming the file and why (ENOENT, EISDIR, ...). */
export async function readInputFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new Error(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function extOf(file: string): string {
  return path.extname(file).toLowerCase();
}

/**
 * Where a run's state (checkpoint.bin, train.log) lives for model folder `out`: beside it,
 * as `<out>.train` (saving a model replaces its folder as a whole). train reads and grow
 * writes it, so both take it from here.
 */
export function stateDirOf(out: string): string {
  return path.resolve(`${out.replace(/[\\/]+$/, '')}.train`);
}
