// The app is a static site: the page, its worker bundles (tfjs + model + sampler; face-api),
// the shipped weights under /models/, face-api's weights under /face-api/ and tfjs's .wasm
// binaries under /tfjs-wasm/. Nothing is fetched from another host at run time.
import { defineConfig, type Plugin, type Connect } from 'vite';
import react from '@vitejs/plugin-react';
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CSP, CSP_HEADER, DEV_CSP_HEADER, ISOLATION_HEADERS } from './src/app/csp';

const root = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = path.join(root, 'models');
const wasmDir = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
const wasmFiles = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
// The face panel's photo path: face-api's SSD face detector and its face-recognition net
// (the descriptor the faces data set was built with), from the npm package itself.
const faceapiDir = path.join(root, 'node_modules/@vladmandic/face-api/model');
const faceapiFiles = ['ssd_mobilenetv1_model', 'face_recognition_model'].flatMap((m) => [`${m}-weights_manifest.json`, `${m}.bin`]);

/** /face-api/index.json: each weights file's size, so the page's progress bar knows the total before the first byte. */
function faceapiIndex(dir: string): string {
  return JSON.stringify({ files: Object.fromEntries(faceapiFiles.map((f) => [f, fs.statSync(path.join(dir, f)).size])) });
}

const mimeTypes: Record<string, string> = {
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
};

/** model.json, its .bin shards and the face panel's examples.json, anchors.json and anchors.png of every model folder (not training logs or checkpoints). */
function modelFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of modelNames(dir)) {
    for (const f of fs.readdirSync(path.join(dir, name))) {
      if (['model.json', 'examples.json', 'anchors.json', 'anchors.png'].includes(f) || f.endsWith('.bin')) out.push(`${name}/${f}`);
    }
  }
  return out;
}

/** Names of the models/<name>/ folders that hold a model.json. */
function modelNames(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'model.json')))
    .map((d) => d.name)
    .sort();
}

function notFound(res: ServerResponse, url: string): void {
  res.statusCode = 404;
  res.setHeader('Content-Type', 'text/plain');
  res.end(`not found: ${url}`);
}

/**
 * Serves /models/** from a folder, /face-api/* (the two nets' files only) from another and
 * /tfjs-wasm/*.wasm from tfjs-backend-wasm, with a
 * real 404 for missing files (the SPA fallback would otherwise answer index.html and the
 * app would try to parse HTML as a model).
 */
function staticMiddleware(modelsRoot: string, faceapiRoot: string): Connect.NextHandleFunction {
  return (req, res, next) => {
    const url = decodeURIComponent((req.url ?? '').split('?')[0]);
    let file: string | undefined;
    if (url === '/models/index.json') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ models: modelNames(modelsRoot) }));
      return;
    }
    if (url.startsWith('/models/')) {
      // only what a model folder is made of: never training logs or checkpoints
      if (!/\/(model\.json|examples\.json|anchors\.json|anchors\.png|[^/]+\.bin)$/.test(url)) return notFound(res, url);
      file = path.join(modelsRoot, url.slice('/models/'.length));
    }
    else if (url.startsWith('/tfjs-wasm/')) file = path.join(wasmDir, url.slice('/tfjs-wasm/'.length));
    else if (url === '/face-api/index.json') {
      let index: string;
      try {
        index = faceapiIndex(faceapiRoot);
      } catch {
        return notFound(res, url);
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(index);
      return;
    }
    else if (url.startsWith('/face-api/')) {
      if (!faceapiFiles.includes(url.slice('/face-api/'.length))) return notFound(res, url);
      file = path.join(faceapiRoot, url.slice('/face-api/'.length));
    }
    else return next();
    const base = url.startsWith('/models/') ? modelsRoot : url.startsWith('/face-api/') ? faceapiRoot : wasmDir;
    if (!path.resolve(file).startsWith(path.resolve(base) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      return notFound(res, url);
    }
    res.setHeader('Content-Type', mimeTypes[path.extname(file)] ?? 'application/octet-stream');
    fs.createReadStream(file).pipe(res);
  };
}

function modelsAndWasm(): Plugin {
  let outDir = path.join(root, 'dist');
  return {
    name: 'pixelcnn-models-and-wasm',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use(staticMiddleware(modelsDir, faceapiDir));
    },
    configurePreviewServer(server) {
      server.middlewares.use(staticMiddleware(path.join(outDir, 'models'), path.join(outDir, 'face-api')));
    },
    // Copied into dist at build time only: the repository keeps one copy of each model.
    generateBundle() {
      for (const rel of modelFiles(modelsDir)) {
        this.emitFile({ type: 'asset', fileName: `models/${rel}`, source: fs.readFileSync(path.join(modelsDir, rel)) });
      }
      this.emitFile({
        type: 'asset',
        fileName: 'models/index.json',
        source: JSON.stringify({ models: modelNames(modelsDir) }),
      });
      for (const f of faceapiFiles) {
        this.emitFile({ type: 'asset', fileName: `face-api/${f}`, source: fs.readFileSync(path.join(faceapiDir, f)) });
      }
      this.emitFile({ type: 'asset', fileName: 'face-api/index.json', source: faceapiIndex(faceapiDir) });
      for (const f of wasmFiles) {
        this.emitFile({ type: 'asset', fileName: `tfjs-wasm/${f}`, source: fs.readFileSync(path.join(wasmDir, f)) });
      }
    },
  };
}

/**
 * The Content-Security-Policy (src/app/csp.ts): a <meta> in the built page, and a header
 * on every response of the dev and preview servers, which is what binds the workers; with
 * it the cross-origin isolation headers (COOP + COEP), so tfjs-wasm can run threads.
 * Listed before the models plugin so its middleware runs first, for /models/ too.
 */
function contentSecurityPolicy(): Plugin {
  const header =
    (value: string): Connect.NextHandleFunction =>
    (_req, res, next) => {
      res.setHeader('Content-Security-Policy', value);
      for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
      next();
    };
  return {
    name: 'pixelcnn-csp',
    configureServer(server) {
      server.middlewares.use(header(DEV_CSP_HEADER));
    },
    configurePreviewServer(server) {
      server.middlewares.use(header(CSP_HEADER));
    },
    transformIndexHtml: {
      order: 'pre',
      handler(_html, ctx) {
        if (ctx.server) return []; // dev: the header alone (the meta would block React Refresh)
        return [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP }, injectTo: 'head-prepend' }];
      },
    },
  };
}

/**
 * tfjs-backend-wasm starts its pthread workers with the threaded module's own source, as
 * `factory.toString()` in a blob:. Minified, that function reads `_scriptDir` of the
 * closure around it under a short name the blob does not define ("e is not defined"), and
 * the threads never start. Both reads are fallbacks for values tfjs always sets
 * (locateFile and mainScriptUrlOrBlob), so they are cut out before minification.
 */
function tfjsWasmThreads(): Plugin {
  const cuts: [RegExp, string][] = [
    [/if\(typeof _scriptDir !== "undefined" && _scriptDir\)\{scriptDirectory=_scriptDir;?\}/, ''],
    [/"urlOrBlob":Module\["mainScriptUrlOrBlob"\]\|\|_scriptDir,/, '"urlOrBlob":Module["mainScriptUrlOrBlob"],'],
  ];
  return {
    name: 'pixelcnn-tfjs-wasm-threads',
    transform(code, id) {
      if (!/tfjs-backend-wasm\/(wasm-out|dist)\/[^/]*\.js$/.test(id.replace(/\\/g, '/').split('?')[0])) return null;
      if (!code.includes('var _scriptDir') || !code.includes('var WasmBackendModuleThreadedSimd')) return null;
      let out = code;
      for (const [from, to] of cuts) {
        if (!from.test(out)) throw new Error(`tfjs-wasm threads: ${from} not found in ${id}: the tfjs version changed, check the patch`);
        out = out.replace(from, to);
      }
      return { code: out, map: null };
    },
  };
}

export default defineConfig({
  plugins: [react(), contentSecurityPolicy(), modelsAndWasm()],
  // tfjs-wasm runs in the workers only
  worker: { format: 'es', plugins: () => [tfjsWasmThreads()] },
  build: {
    target: 'es2022',
    // tfjs with three backends is one large worker chunk by nature.
    chunkSizeWarningLimit: 4096,
  },
});
