// Saving and loading a model folder on disk (Node). The format itself is weights.ts.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PixelCNN } from '../model';
import { MODEL_JSON, parseModelArtifacts, serializeModel, type SerializeOptions } from './weights';

function oneLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** The files of the model saved in `dir`: model.json and the shards its manifest names. */
async function modelFiles(dir: string): Promise<Set<string>> {
  const own = new Set([MODEL_JSON]);
  try {
    const json = JSON.parse(await fs.readFile(path.join(dir, MODEL_JSON), 'utf8'));
    for (const group of json.weightsManifest ?? []) for (const p of group.paths ?? []) own.add(path.normalize(String(p)));
  } catch {
    // unreadable manifest: fall back to the shard names tfjs writes
  }
  for (const f of await fs.readdir(dir)) if (/^group\d+-shard\d+of\d+(\.bin)?$/.test(f)) own.add(f);
  return own;
}

/**
 * Writes model.json and its shards to `dir`. Everything goes to a sibling temp folder
 * first, which then replaces `dir` by rename, so `dir` is never half-written. An
 * existing `dir` is replaced only if it is empty or is itself a model folder; files in it
 * that are not the old model's (a model card, sample pictures) are carried over.
 */
export async function saveModel(dir: string, model: PixelCNN, opts: SerializeOptions = {}): Promise<void> {
  const { modelJson, shards } = await serializeModel(model, opts);
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  await fs.mkdir(parent, { recursive: true });
  if (await exists(target)) {
    const st = await fs.stat(target);
    if (!st.isDirectory()) throw new Error(`${dir}: exists and is not a folder`);
    const files = await fs.readdir(target);
    if (files.length > 0 && !files.includes(MODEL_JSON)) {
      throw new Error(`${dir}: refusing to replace a non-empty folder that holds no ${MODEL_JSON}`);
    }
  }
  const tmp = await fs.mkdtemp(path.join(parent, `.${path.basename(target)}.tmp-`));
  try {
    for (const s of shards) {
      await fs.mkdir(path.dirname(path.join(tmp, s.path)), { recursive: true });
      await fs.writeFile(path.join(tmp, s.path), new Uint8Array(s.data));
    }
    await fs.writeFile(path.join(tmp, MODEL_JSON), JSON.stringify(modelJson, null, 1) + '\n');
    if (await exists(target)) {
      const own = await modelFiles(target);
      for (const f of await fs.readdir(target)) {
        if (!own.has(f) && !(await exists(path.join(tmp, f)))) {
          await fs.cp(path.join(target, f), path.join(tmp, f), { recursive: true, preserveTimestamps: true });
        }
      }
      // swap: old -> backup, new -> target, then drop the backup
      const backup = `${tmp}.old`;
      await fs.rename(target, backup);
      try {
        await fs.rename(tmp, target);
      } catch (e) {
        await fs.rename(backup, target);
        throw e;
      }
      await fs.rm(backup, { recursive: true, force: true });
    } else {
      await fs.rename(tmp, target);
    }
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw new Error(`${dir}: could not save model (${oneLine(e)})`);
  }
}

/** Reads and validates a model folder; errors are one line naming the folder, file and tensor. */
export async function loadModel(dir: string): Promise<PixelCNN> {
  const jsonPath = path.join(dir, MODEL_JSON);
  let text: string;
  try {
    text = await fs.readFile(jsonPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new Error(`${jsonPath}: not found${(await exists(dir)) ? '' : ` (no folder ${dir})`}`);
    }
    throw new Error(`${jsonPath}: cannot be read (${oneLine(e)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${jsonPath}: not valid JSON (${oneLine(e)})`);
  }
  const readShard = async (p: string): Promise<ArrayBuffer> => {
    const b = await fs.readFile(path.join(dir, p));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  };
  try {
    return await parseModelArtifacts(json, readShard);
  } catch (e) {
    // the core names files relative to the folder; make them paths
    throw new Error(`${dir}/${oneLine(e)}`);
  }
}
