// Your own model: a model folder as the trainers write it (model.json and its shards;
// examples.json and anchors.json when present), chosen as files or dropped as a folder. The
// bytes go to the workers by postMessage and are parsed there by the same strict parser as a
// served model (src/io/weights.ts); nothing is fetched or uploaded. A bad folder is one line
// under the header (model-error) and the model that was drawing keeps drawing.
import { useState } from 'react';
import { useDropTarget } from './useDropTarget';
import { useStore } from '../store';
import type { ModelFiles } from '../../worker/protocol';

/** A model folder is a few files; anything past this is not one (and would be copied to two workers). */
const MAX_BYTES = 256 * 1024 * 1024;

/** The files of a dropped folder (its own files, not its sub-folders'), or the dropped files themselves. */
async function droppedFiles(dt: DataTransfer): Promise<{ folder: string | null; files: File[] }> {
  const entries = Array.from(dt.items, (it) => it.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  const dir = entries.length === 1 && entries[0].isDirectory ? (entries[0] as FileSystemDirectoryEntry) : null;
  if (!dir) return { folder: null, files: Array.from(dt.files) };
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  // readEntries answers in chunks until it answers none
  for (;;) {
    const chunk = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (chunk.length === 0) break;
    all.push(...chunk);
  }
  const files = await Promise.all(
    all.filter((e) => e.isFile).map((e) => new Promise<File>((resolve, reject) => (e as FileSystemFileEntry).file(resolve, reject))),
  );
  return { folder: dir.name, files };
}

/** The folder's name (a dropped folder's, or from the files' relative paths), else "files". */
function nameOf(folder: string | null, files: File[]): string {
  const rel = files.find((f) => f.webkitRelativePath)?.webkitRelativePath;
  return folder ?? (rel ? rel.split('/')[0] : 'files');
}

export function ModelFilesInput() {
  const [reading, setReading] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const take = async (folder: string | null, files: File[]) => {
    setProblem(null);
    const bytes = files.reduce((s, f) => s + f.size, 0);
    if (bytes > MAX_BYTES) {
      setProblem(`your model: ${(bytes / 2 ** 20).toFixed(0)} MB of files is more than a model folder (at most ${MAX_BYTES / 2 ** 20} MB)`);
      return;
    }
    setReading(true);
    try {
      const out: ModelFiles = {};
      for (const f of files) out[f.name] = await f.arrayBuffer();
      useStore.getState().loadModelFiles(nameOf(folder, files), out);
    } catch (e) {
      setProblem(`your model: a file could not be read (${(e as Error).message})`);
    } finally {
      setReading(false);
    }
  };

  const { dragging, handlers } = useDropTarget((data) => void droppedFiles(data).then(({ folder, files }) => take(folder, files)));

  return (
    <div
      className={`model-files badge ${dragging ? 'dragging' : ''}`}
      {...handlers}
    >
      <label title="a model folder as npm run train writes it: model.json and its .bin shards (examples.json, anchors.json when present); choose its files or drop the folder here. They stay in this page.">
        <span className="badge-key">your model</span>
        <span className="badge-value">{reading ? 'reading…' : 'files…'}</span>
        <input
          type="file"
          multiple
          data-testid="model-files"
          aria-label="your model: choose a model folder's files (model.json and its shards) or drop the folder"
          disabled={reading}
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = ''; // the same folder again loads again
            if (files.length > 0) void take(null, files);
          }}
        />
      </label>
      {problem && (
        <span className="error-text" role="alert">
          {problem}
        </span>
      )}
    </div>
  );
}
