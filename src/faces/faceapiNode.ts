// face-api in Node: its node-wasm build (the default node build needs tfjs-node), on
// tfjs's wasm backend, with the face-recognition weights the npm package ships.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FaceRecognizer } from './descriptor';

const require = createRequire(import.meta.url);

export function faceapiModelDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

let loading: Promise<FaceRecognizer> | undefined;

/** Loads face-api once per thread: wasm backend (from the local dist folder) and the recognition net's weights. */
export function loadFaceRecognizer(): Promise<FaceRecognizer> {
  loading ??= (async () => {
    const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceRecognizer & {
      nets: { faceRecognitionNet: { loadFromDisk(dir: string): Promise<void> } };
    };
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    // Node's fetch cannot read file:// URLs; a plain path with a trailing separator works.
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
    api.tf.enableProdMode();
    if (!(await api.tf.setBackend('wasm'))) throw new Error('face-api: the wasm backend could not be initialised');
    await api.tf.ready();
    try {
      await api.nets.faceRecognitionNet.loadFromDisk(faceapiModelDir());
    } catch (e) {
      throw new Error(`face-api: cannot load the face-recognition weights from ${faceapiModelDir()} (${(e as Error).message})`);
    }
    return api;
  })();
  return loading;
}

/** Versions of the packages a build depends on, for meta.json. */
export function packageVersions(): Record<string, string> {
  const version = (entry: string, up: number) => {
    let dir = path.dirname(require.resolve(entry));
    for (let i = 0; i < up; i++) dir = path.dirname(dir);
    return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version as string;
  };
  return {
    facesjs: version('facesjs', 1),
    '@resvg/resvg-js': version('@resvg/resvg-js', 0),
    '@vladmandic/face-api': version('@vladmandic/face-api/package.json', 0),
    '@tensorflow/tfjs': version('@tensorflow/tfjs/package.json', 0),
    '@tensorflow/tfjs-backend-wasm': version('@tensorflow/tfjs-backend-wasm/package.json', 0),
  };
}
