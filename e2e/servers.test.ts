// `npm run dev` and `npm start` (vite preview) serve the shipped models and tfjs's wasm
// files from this machine, with real 404s: the app must never parse index.html as a model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createServer, preview, type PreviewServer, type ViteDevServer } from 'vite';
import { buildApp, repoRoot } from './harness';

const modelsDir = path.join(repoRoot, 'models');
const shipped = (fs.existsSync(modelsDir) ? fs.readdirSync(modelsDir, { withFileTypes: true }) : [])
  .filter((d) => d.isDirectory() && fs.existsSync(path.join(repoRoot, 'models', d.name, 'model.json')))
  .map((d) => d.name)
  .sort();

function checks(base: () => string) {
  it('lists the model folders that hold a model.json', async () => {
    const res = await fetch(`${base()}/models/index.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ models: shipped });
  });

  it.skipIf(shipped.length === 0)('serves a model.json and its shards', async () => {
    const json = await (await fetch(`${base()}/models/${shipped[0]}/model.json`)).json();
    const shard = json.weightsManifest[0].paths[0] as string;
    const res = await fetch(`${base()}/models/${shipped[0]}/${shard}`);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(fs.statSync(path.join(repoRoot, 'models', shipped[0], shard)).size);
  });

  it('answers 404 for a missing model and for files that are not part of a model', async () => {
    expect((await fetch(`${base()}/models/no-such-model/model.json`)).status).toBe(404);
    expect((await fetch(`${base()}/models/mnist.train/train.log`)).status).toBe(404);
  });

  it('serves the wasm binaries with their MIME type', async () => {
    const res = await fetch(`${base()}/tfjs-wasm/tfjs-backend-wasm-simd.wasm`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/wasm');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0, 0x61, 0x73, 0x6d]); // "\0asm"
  });
}

describe('npm start (vite preview of the build)', () => {
  let dir: string;
  let server: PreviewServer;
  let url = '';
  beforeAll(async () => {
    dir = await buildApp();
    server = await preview({ root: repoRoot, logLevel: 'error', build: { outDir: dir }, preview: { host: '127.0.0.1', port: 0 } });
    url = `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  checks(() => url);
});

describe('npm run dev (vite dev server)', () => {
  let server: ViteDevServer;
  let url = '';
  beforeAll(async () => {
    server = await createServer({ root: repoRoot, logLevel: 'error', server: { host: '127.0.0.1', port: 0, hmr: false } });
    await server.listen();
    url = `http://127.0.0.1:${(server.httpServer!.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await server?.close();
  });
  checks(() => url);
});
