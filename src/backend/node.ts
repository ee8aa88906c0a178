// Backend set-up for Node (tests, CLI, training). wasm is the fast CPU path here;
// tfjs-node is used when a user happens to have it installed.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type NodeBackend = 'wasm' | 'cpu' | 'tensorflow' | 'webgpu';

const require = createRequire(import.meta.url);

/** Selects a backend; 'auto' prefers tfjs-node if installed, then wasm. Returns the name in use. */
export async function initNodeBackend(want: NodeBackend | 'auto' = 'auto'): Promise<string> {
  if (want === 'auto' || want === 'tensorflow') {
    try {
      await import('@tensorflow/tfjs-node' as string);
      if (await tf.setBackend('tensorflow')) return tf.getBackend();
    } catch {
      if (want === 'tensorflow') throw new Error('backend "tensorflow": @tensorflow/tfjs-node is not installed');
    }
    want = 'wasm';
  }
  if (want === 'webgpu') {
    // Dawn's Node bindings on the machine's Vulkan driver (webgpuNode.ts); no adapter: one line why
    await (await import('./webgpuNode')).initWebGPUNode();
    return tf.getBackend();
  }
  if (want === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    // Node's fetch cannot read file:// URLs; a plain path with a trailing separator works.
    wasm.setWasmPaths(dist + path.sep);
  }
  if (!(await tf.setBackend(want))) throw new Error(`backend "${want}" could not be initialised`);
  await tf.ready();
  return tf.getBackend();
}
