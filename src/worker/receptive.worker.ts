/// <reference lib="webworker" />
// Receptive fields, measured on the real network off the page's main thread, on a CPU
// backend (receptiveField reads its result synchronously), so it never waits for, nor
// slows, a generation on the GPU. Its own worker: a field is asked for on every hover.
import * as tf from '@tensorflow/tfjs';
import { receptiveField } from '../model';
import { selectBackend } from './backend';
import type { FromReceptive, ReceptiveRequest, ToReceptive } from './receptiveProtocol';

declare const self: DedicatedWorkerGlobalScope;

function post(msg: FromReceptive): void {
  self.postMessage(msg, msg.type === 'receptive' ? [msg.field.buffer as ArrayBuffer] : []);
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

// Hovering sends many requests; only the newest waiting one is worth computing.
let queued: ReceptiveRequest | undefined;
let busy = false;
let ready: Promise<unknown> | undefined;

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  try {
    await ready;
    while (queued) {
      const req = queued;
      queued = undefined;
      try {
        const t0 = performance.now();
        const rows = receptiveField(req.config, req.row, req.col);
        const field = new Float32Array(rows.flat());
        const ms = performance.now() - t0;
        post({ type: 'receptive', reqId: req.reqId, field, row: req.row, col: req.col, ms, numTensors: tf.memory().numTensors });
      } catch (e) {
        post({ type: 'receptive-error', reqId: req.reqId, message: errorText(e) });
      }
      // let newer requests arrive before picking the next one
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    busy = false;
  }
}

self.onmessage = (ev: MessageEvent<ToReceptive>) => {
  const msg = ev.data;
  if (msg.type === 'init') {
    ready = selectBackend(msg.wasmBase, msg.backend === 'cpu' ? 'cpu' : undefined, ['wasm', 'cpu'], msg.threads).then(
      (backend) => post({ type: 'receptive-ready', backend }),
      (e) => post({ type: 'receptive-init-error', message: errorText(e) }),
    );
    return;
  }
  queued = msg;
  void drain();
};
