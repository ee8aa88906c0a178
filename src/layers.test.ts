// The import layers (issue 26): every file under src/ imports only from its own folder
// or a layer below it, never a sibling of its layer, and nothing outside src/ (scripts/
// in particular). Bottom up:
//   ops, data, util, backend ; model ; io ; faces, train, eval ; sampler ; worker ; app, cli
// Each violation is one line: `file -> import (rule)`. Static imports and re-exports,
// `import type`, side-effect imports, dynamic import() and worker files named by
// new URL(path, import.meta.url) all count.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Each folder of src/ and its level: a file may import from a lower level only. */
export const LAYERS: Record<string, number> = {
  ops: 0,
  data: 0,
  util: 0,
  backend: 0,
  model: 1,
  io: 2,
  faces: 3,
  train: 3,
  eval: 3,
  sampler: 4,
  worker: 5,
  app: 6,
  cli: 6,
};

const SOURCE = /\.(ts|tsx|mts|cts|mjs|cjs|js)$/;

// import x from P, import type {...} from P, export ... from P (no quote before `from`),
// import P, import(P) and new URL(P, import.meta.url), P a quoted specifier
const REFERENCE =
  /\b(?:import|export)\s[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1|\bimport\s*(['"])([^'"]+)\3|\bimport\(\s*(['"])([^'"]+)\5\s*[,)]|\bnew\s+URL\(\s*(['"])([^'"]+)\7\s*,\s*import\.meta\.url\s*\)/g;

/** The specifiers a source file refers to, in order. */
export function referencesOf(source: string): string[] {
  return Array.from(source.matchAll(REFERENCE), (m) => m[2] ?? m[4] ?? m[6] ?? m[8]);
}

/** The repository path a relative specifier in `file` names (a ?query dropped). */
const targetOf = (file: string, spec: string) => path.posix.normalize(path.posix.join(path.posix.dirname(file), spec.replace(/\?.*$/, '')));

const levelName = (layer: string) => `${layer} (level ${LAYERS[layer]})`;

/**
 * The layer rule's violations in one file: `file` is its path from the repository root
 * (src/<layer>/...), `source` its text. One line per offending import.
 */
export function checkImports(file: string, source: string): string[] {
  const parts = file.split('/');
  const from = parts.length > 2 ? parts[1] : '';
  const bad: string[] = [];
  for (const spec of referencesOf(source)) {
    if (!spec.startsWith('.')) continue; // a package or a node: builtin
    const target = targetOf(file, spec);
    const [top, to] = target.split('/');
    const line = (rule: string) => bad.push(`${file} -> ${spec} (${rule})`);
    if (top !== 'src' || to === undefined) line('outside the layers: nothing under src/ imports scripts/ or any other folder');
    else if (to === from) continue;
    else if (!(from in LAYERS)) line(`${from ? `folder ${from}` : 'a file directly in src/'} is no layer: add it to LAYERS in src/layers.test.ts`);
    else if (!(to in LAYERS)) line(`${to} is no layer: add it to LAYERS in src/layers.test.ts`);
    else if (LAYERS[to] > LAYERS[from]) line(`${levelName(from)} imports ${levelName(to)}, a layer above it`);
    else if (LAYERS[to] === LAYERS[from]) line(`${from} and ${to} are siblings at level ${LAYERS[from]} and do not import each other`);
  }
  return bad;
}

// The model is imported one way, through its index ('../model', not '../model/index.ts'),
// so its files can move without touching their users. Its four tf-free files (config,
// types, codes, posterior) may also be taken by name where tfjs must not load: the page's
// bundle, the CLI before its flags are checked. Tests may take model/testing's fixtures.
const TF_FREE = new Set(['src/model/config', 'src/model/types', 'src/model/codes', 'src/model/posterior']);

/** Imports of a file of the model other than its index, from outside the model. */
export function checkModelImports(file: string, source: string): string[] {
  if (file.startsWith('src/model/')) return [];
  const bad: string[] = [];
  const index = path.posix.relative(path.posix.dirname(file), 'src/model');
  for (const spec of referencesOf(source)) {
    if (!spec.startsWith('.')) continue;
    const target = targetOf(file, spec).replace(/\.ts$/, '');
    if (!target.startsWith('src/model/') || TF_FREE.has(target)) continue;
    if (target === 'src/model/testing' && /\.test\.tsx?$/.test(file)) continue;
    bad.push(`${file} -> ${spec} (the model is imported through its index, '${index}', or a tf-free file by name)`);
  }
  return bad;
}

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every source file under src/, as a path from the repository root. */
function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(repo, dir), { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (SOURCE.test(e.name)) out.push(p);
    }
  };
  walk('src');
  return out.sort();
}

describe('import layers', () => {
  it('no file under src/ imports from a layer above its own, a sibling layer or outside src/', () => {
    const files = sourceFiles();
    // not vacuous: the whole tree was read, in every language it is written in, and its imports were found
    expect(files.length).toBeGreaterThan(100);
    for (const ext of ['.ts', '.tsx', '.mjs']) expect(files.some((f) => f.endsWith(ext)), `no ${ext} file scanned`).toBe(true);
    const refs = files.flatMap((f) => referencesOf(fs.readFileSync(path.join(repo, f), 'utf8')).filter((s) => s.startsWith('.')));
    expect(refs.length).toBeGreaterThan(500);
    const bad = files.flatMap((f) => checkImports(f, fs.readFileSync(path.join(repo, f), 'utf8')));
    expect(bad, `\n${bad.join('\n')}\n`).toEqual([]);
    const model = files.flatMap((f) => checkModelImports(f, fs.readFileSync(path.join(repo, f), 'utf8')));
    expect(model, `\n${model.join('\n')}\n`).toEqual([]);
  });


  it('every folder of src/ is a layer, and every layer a folder', () => {
    const folders = fs.readdirSync(path.join(repo, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.sort()).toEqual(Object.keys(LAYERS).sort());
  });

  // The planted sources write the specifier as @, filled in when the test runs, so this
  // file's text holds no import a scan of src/ would find.
  const plant = (source: string, spec: string) => source.replace('@', `'${spec}'`);

  it('the model is imported through its index, or a tf-free file by name', () => {
    const check = (file: string, source: string, spec: string) => checkModelImports(file, plant(source, spec));
    expect(check('src/sampler/a.ts', 'import { reachOf } from @;', '../model/params')).toEqual([
      "src/sampler/a.ts -> ../model/params (the model is imported through its index, '../model', or a tf-free file by name)",
    ]);
    expect(check('src/sampler/webgpu/a.ts', 'import { forward } from @;', '../../model/forward')[0]).toMatch(/'\.\.\/\.\.\/model'/);
    expect(check('src/train/a.ts', 'import { forward } from @;', '../model/index.ts')).toHaveLength(1);
    expect(check('src/worker/encode.ts', 'const { encodeImages } = await import(@);', '../model/encoder')).toHaveLength(1);
    expect(check('src/sampler/a.ts', 'import { distinctClasses } from @;', '../model/testing')).toHaveLength(1);
    for (const [file, spec] of [['src/cli/a.ts', '../model'], ['src/app/drawing.ts', '../model/posterior'], ['src/worker/catalog.ts', '../model/config'],
      ['src/cli/variations.ts', '../model/codes'], ['src/sampler/webgpu/a.ts', '../../model/types'], ['src/sampler/a.test.ts', '../model/testing']]) {
      expect(check(file, 'import { x } from @;', spec), `${file}: ${spec}`).toEqual([]);
    }
    expect(check('src/model/forward.ts', 'import { kernelOf } from @;', './params')).toEqual([]);
  });

  it('catches each kind of reference that crosses a layer', () => {
    const cases: [file: string, source: string, spec: string, want: RegExp][] = [
      ['src/model/a.test.ts', 'import { sample } from @;', '../sampler', /^src\/model\/a\.test\.ts -> \.\.\/sampler \(model \(level 1\) imports sampler \(level 4\), a layer above it\)$/],
      ['src/model/a.ts', 'import {\n  sample,\n  samplePixels,\n} from @;', '../sampler/index.ts', /above it/],
      ['src/worker/a.ts', 'import type { Store } from @;', '../app/store', /worker \(level 5\) imports app \(level 6\)/],
      ['src/io/a.ts', 'export { parseArgs } from @;', '../cli/args', /io \(level 2\) imports cli/],
      ['src/sampler/a.ts', 'import @;', '../app/styles.css', /sampler \(level 4\) imports app/],
      ['src/sampler/a.ts', 'const m = await import(@);', '../worker/catalog', /imports worker \(level 5\)/],
      ['src/backend/a.mjs', 'await import(\n  @\n);', '../model/index.ts', /backend \(level 0\) imports model \(level 1\)/],
      ['src/app/a.tsx', "new Worker(new URL(@, import.meta.url), { type: 'module' });", '../cli/main.ts', /app and cli are siblings at level 6/],
      ['src/faces/a.ts', 'import { Rng } from @;', '../train/rng', /faces and train are siblings at level 3 and do not import each other/],
      ['src/ops/a.test.ts', 'import { initNodeBackend } from @;', '../backend/node.ts', /ops and backend are siblings at level 0/],
      ['src/sampler/a.test.ts', 'import { compile } from @;', '../../scripts/build-cpu-kernel', /outside the layers: nothing under src\/ imports scripts\//],
      ['src/sampler/a.ts', 'import x from @;', '../fancy/thing', /fancy is no layer/],
      ['src/fancy/a.ts', 'import { x } from @;', '../model', /folder fancy is no layer/],
      ['src/a.ts', 'import { x } from @;', './model', /a file directly in src\/ is no layer/],
    ];
    for (const [file, source, spec, want] of cases) {
      const bad = checkImports(file, plant(source, spec));
      expect(bad, `${file}: ${plant(source, spec)}`).toHaveLength(1);
      expect(bad[0]).toMatch(want);
      expect(bad[0]).not.toMatch(/\n/);
    }
  });

  it('lets a file import its own folder, lower layers and packages', () => {
    const ok: [source: string, spec: string][] = [
      ['import { conv2dValid } from @;', '../ops/conv'],
      ['import type { PixelCNN } from @;', '../model/types'],
      ['import { mulberry32 } from @;', '../util/rng'],
      ['import { startThread } from @;', '../backend/thread'],
      ['import { cropSquare } from @;', '../faces/crop'],
      ['import { x } from @;', './steppers'],
      ['import { y } from @;', './webgpu/layout.ts'],
      ['import * as tf from @;', '@tensorflow/tfjs'],
      ['import fs from @;', 'node:fs'],
      ['const w = new Worker(new URL(@, import.meta.url));', './chunkThread.ts'],
      ['const m = await import(@);', '@tensorflow/tfjs-node'],
      ['// the sampler (see @ for the page): not an import', '../app/store'],
    ];
    for (const [source, spec] of ok) expect(checkImports('src/worker/a.ts', plant(source, spec)), plant(source, spec)).toEqual([]);
    // a layer's own sub-folders are the layer
    expect(checkImports('src/sampler/webgpu/kernels.ts', plant('import { guidePlan } from @;', '../guidance'))).toEqual([]);
    expect(checkImports('src/app/components/FacePanel.tsx', plant('import { formatEmbeddingJson } from @;', '../../io/embedding'))).toEqual([]);
  });
});
