// Output files appear whole or not at all: each is written to a temp file beside its
// target, and only when every temp file is complete are they renamed into place.
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface OutputFile {
  path: string;
  data: Uint8Array | string;
}

/** Throws a one-line error if a file could not be created at `file` (missing folder, a folder in the way). */
export async function checkWritable(file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  let st;
  try {
    st = await fs.stat(dir);
  } catch {
    throw new Error(`${file}: folder ${path.dirname(file)} does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`${file}: ${path.dirname(file)} is not a folder`);
  try {
    if ((await fs.stat(file)).isDirectory()) throw new Error(`${file}: is a folder`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export async function writeFilesAtomic(files: OutputFile[]): Promise<void> {
  const temps: string[] = [];
  try {
    for (const f of files) {
      const tmp = path.join(path.dirname(f.path), `.${path.basename(f.path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
      temps.push(tmp);
      await fs.writeFile(tmp, f.data);
    }
    for (let i = 0; i < files.length; i++) await fs.rename(temps[i], files[i].path);
  } catch (e) {
    await Promise.all(temps.map((t) => fs.rm(t, { force: true })));
    throw new Error(`could not write ${files.map((f) => f.path).join(', ')} (${String((e as Error).message).split('\n')[0]})`);
  }
}
