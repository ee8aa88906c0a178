// A gradient thread (one of WorkerEngine's in engine.ts): its own tfjs instance (wasm or
// cpu) on its own Node worker thread. It reads the current weights from a shared buffer the
// main thread writes before every request and writes its gradient into its own shared buffer.
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../backend/node.ts';
import type { ModelConfig } from '../model';
import { accumulateGradient, imageNats, paramLayout, type ParamLayout } from './gradient.ts';
import { convForwardGflops } from './flops.ts';
import type { FromGradientThread, ToGradientThread } from './protocol.ts';

if (!parentPort) throw new Error('train worker: must run in a worker thread');
const port = parentPort;

let config: ModelConfig;
let layout: ParamLayout;
let params: Float32Array;
let grad: Float32Array;

const send = (m: FromGradientThread) => port.postMessage(m);

port.on('message', async (m: ToGradientThread) => {
  const id = 'id' in m ? m.id : undefined;
  try {
    if (m.type === 'init') {
      const backend = await initNodeBackend(m.backend);
      config = m.config;
      layout = paramLayout(config);
      params = new Float32Array(m.params);
      grad = new Float32Array(m.grad);
      if (params.length !== layout.total || grad.length !== layout.total) {
        throw new Error(`train worker: shared buffers hold ${params.length}/${grad.length} values, model has ${layout.total}`);
      }
      send({ type: 'ready', backend });
    } else if (m.type === 'grad') {
      const t0 = performance.now();
      grad.fill(0);
      const nats = accumulateGradient(config, layout, params, m.images, m.labels, m.scale, grad);
      send({ type: 'grad', id: m.id, nats, ms: performance.now() - t0, numTensors: tf.memory().numTensors });
    } else if (m.type === 'eval') {
      const t0 = performance.now();
      const nats = imageNats(config, layout, params, m.images, m.labels);
      send({ type: 'eval', id: m.id, nats, ms: performance.now() - t0 });
    } else if (m.type === 'convBench') {
      send({ type: 'convBench', id: m.id, gflops: convForwardGflops(m.shapes, m.seconds) });
    }
  } catch (e) {
    send({ type: 'error', id, message: (e as Error).message.split('\n')[0] });
  }
});
