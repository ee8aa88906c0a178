// Reading a model's anchors file in Node (the CLI's side of anchorsFile.ts): one line
// naming the file on any failure.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { ANCHORS_FILE, MAX_ANCHORS_BYTES, parseAnchors, type FaceAnchors } from './anchorsFile';

/** Reads and checks FILE for descriptors of `dim`. */
export async function readAnchorsFile(file: string, dim: number): Promise<FaceAnchors> {
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (stat.size > MAX_ANCHORS_BYTES) throw new Error(`over ${MAX_ANCHORS_BYTES >> 20} MB`);
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not valid JSON`);
  }
  const r = parseAnchors(json, dim);
  if (!r.ok) throw new Error(`${file}: ${r.error.replace(`${ANCHORS_FILE}: `, '')}`);
  return r.value;
}

/** The anchors beside a model (DIR/anchors.json), or null when it has none. */
export async function modelAnchors(modelDir: string, dim: number): Promise<FaceAnchors | null> {
  const file = path.join(modelDir, ANCHORS_FILE);
  return existsSync(file) ? readAnchorsFile(file, dim) : null;
}
