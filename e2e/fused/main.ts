// Runs in Chromium with WebGPU: the fused sampler (every level drawn on the GPU, one readback
// a row) against the portable cached sampler on the cpu backend (src/sampler/webgpu/check.ts,
// as the Node test does), and the GPU traffic of 2x2 runs of the shipped digits and faces
// models, counted by wrapping GPUQueue.submit and GPUBuffer.mapAsync. Exposes
// window.runFusedCheck and window.runModelCounts for e2e/fused.test.ts.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { disposeParams, initParams, makeConfig, type Conditioning, type PixelCNN } from '../../src/model';
import { parseModelArtifacts } from '../../src/io/weights';
import { sample, type SampleOptions } from '../../src/sampler';
import { checkFused, fusedEvents, type FusedCheck } from '../../src/sampler/webgpu/check';

const counts = { submits: 0, readbacks: 0, liveBuffers: 0 };
const live = new WeakSet<object>();
function instrument(): void {
  const q = GPUQueue.prototype as unknown as { submit: (...a: unknown[]) => unknown };
  const b = GPUBuffer.prototype as unknown as { mapAsync: (...a: unknown[]) => unknown; destroy: (...a: unknown[]) => unknown };
  const d = GPUDevice.prototype as unknown as { createBuffer: (...a: unknown[]) => GPUBuffer };
  const [submit, mapAsync, destroy, createBuffer] = [q.submit, b.mapAsync, b.destroy, d.createBuffer];
  q.submit = function (this: unknown, ...a) { counts.submits++; return submit.apply(this, a); };
  b.mapAsync = function (this: unknown, ...a) { counts.readbacks++; return mapAsync.apply(this, a); };
  b.destroy = function (this: object, ...a) { if (live.delete(this)) counts.liveBuffers--; return destroy.apply(this, a); };
  d.createBuffer = function (this: unknown, ...a) {
    const buf = createBuffer.apply(this, a);
    if (buf.label) { live.add(buf); counts.liveBuffers++; }
    return buf;
  };
}
instrument();
const counter = () => ({ ...counts });
const backends = { fused: 'webgpu', reference: 'cpu' };
const dispose = (m: PixelCNN) => disposeParams(m.params);

function tiny(channels: number, conditioning: Conditioning, dilations?: number[]) {
  const config = makeConfig({ height: 5, width: 6, channels, levels: 16, hidden: 12, layers: 3, firstKernel: 5, kernel: 3, headHidden: 12, conditioning, spatialChannels: 3, dilations });
  return async (): Promise<PixelCNN> => ({ config, params: initParams(config, 3) });
}

async function runFusedCheck(): Promise<{ backend: string; cases: FusedCheck[]; nanError: string }> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('no webgpu adapter');
  const backend = tf.getBackend();
  const images = Uint8Array.from({ length: 2 * 90 }, (_, i) => (i * 7) % 16);
  const cases: [string, () => Promise<PixelCNN>, SampleOptions][] = [
    ['RGB class, dilations 1, 2, 3, T 0.9', tiny(3, { type: 'class', classes: 3 }, [1, 2, 3]), { count: 2, seed: 5, temperature: 0.9, condition: { labels: [2, 1] } }],
    ['RGB class, prefix inside a pixel', tiny(3, { type: 'class', classes: 3 }, [1, 2, 3]), { count: 2, seed: 9, condition: { labels: [2, 1] }, prefix: { images, length: 6 * 3 + 2 * 3 + 1 } }],
    ['grey spatial vector, null g = 3', tiny(1, { type: 'vector', dim: 4, nullable: true, spatial: true }), { count: 2, seed: 5, guidance: 3, condition: { embeddings: [new Float32Array([0.5, -1, 2, 0])] } }],
    ['grey class mixture g = 1, prefix inside a row', tiny(1, { type: 'class', classes: 3 }), { count: 2, seed: 3, guidance: 1, unconditional: 'mixture', condition: { labels: [0, 2] }, prefix: { images: images.subarray(0, 60), length: 8 } }],
  ];
  const results: FusedCheck[] = [];
  for (const [name, load, opts] of cases) results.push(await checkFused(name, load, opts, backends, counter, dispose));
  // a NaN weight: the run stops with the error naming the sub-pixel
  const m = await tiny(1, { type: 'class', classes: 3 })();
  const b2 = (await m.params['head/b2'].data()).slice();
  b2[5] = NaN;
  m.params['head/b2'].dispose();
  m.params['head/b2'] = tf.tensor1d(b2);
  const nanError = await sample(m, { count: 1, seed: 1, mode: 'fused', condition: { labels: [0] } }).then(() => 'no error', (e: Error) => e.message);
  dispose(m);
  return { backend, cases: results, nanError };
}

async function loadShipped(name: string): Promise<PixelCNN> {
  const json = await (await fetch(`/models/${name}/model.json`)).json();
  return parseModelArtifacts(json, async (p) => (await fetch(`/models/${name}/${p}`)).arrayBuffer());
}

interface ModelCount {
  name: string;
  rows: number;
  readbacks: number;
  submits: number;
  ms: number;
  leakedTensors: number;
  leakedBuffers: number;
}

/** A 2x2 run of each shipped model from a prefix that leaves `rows` rows to draw (SwiftShader is slow), its traffic counted. */
async function runModelCounts(rows: { mnist: number; faces: number }): Promise<ModelCount[]> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('no webgpu adapter');
  const out: ModelCount[] = [];
  for (const name of ['mnist', 'faces'] as const) {
    const m = await loadShipped(name);
    const { height: H, width: W, channels: C } = m.config;
    const condition = name === 'mnist' ? { labels: [0, 3, 7, 9] } : { embeddings: [new Float32Array(128).map((_, i) => Math.sin(i))] };
    const images = new Uint8Array(H * W * C).fill(128);
    const opts: SampleOptions = { count: 4, seed: 2, guidance: name === 'mnist' ? 1 : 0, condition, prefix: { images, length: (H - rows[name]) * W * C } };
    const tensors = tf.memory().numTensors;
    const c0 = counter();
    const t0 = performance.now();
    await fusedEvents(m, opts);
    const c1 = counter();
    out.push({ name, rows: rows[name], readbacks: c1.readbacks - c0.readbacks, submits: c1.submits - c0.submits, ms: performance.now() - t0, leakedTensors: tf.memory().numTensors - tensors, leakedBuffers: c1.liveBuffers - c0.liveBuffers });
    dispose(m);
  }
  return out;
}

const w = window as unknown as Record<string, unknown>;
w.runFusedCheck = runFusedCheck;
w.runModelCounts = runModelCounts;
document.getElementById('state')!.textContent = 'ready';
