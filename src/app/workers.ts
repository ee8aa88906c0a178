// Starts the three workers once and wires them to the store: requests go out through
// connect(), every message comes back through store.receive().
import type { FromWorker, ToWorker } from '../worker/protocol';
import { connect, useStore } from './store';
import type { PageOptions } from './url';

function spawn(): Worker {
  return new Worker(new URL('../worker/sampler.worker.ts', import.meta.url), { type: 'module', name: 'pixelcnn' });
}

export function startWorkers(page: PageOptions): () => void {
  const base = new URL(import.meta.env.BASE_URL, location.href);
  const wasmBase = new URL('tfjs-wasm/', base).href;
  const modelsBase = new URL('models/', base).href;
  const receive = (ev: MessageEvent<FromWorker>) => useStore.getState().receive(ev.data);
  const fail = (role: string) => (ev: ErrorEvent) =>
    useStore.getState().receive({ type: 'init-error', message: `${role} worker failed to start: ${ev.message || 'script error'}` });

  const sampler = spawn();
  const receptive = spawn();
  // the scorer loads its own copy of the model once the sampler has its own: the page's
  // first pictures need the CPU more than a drawing that is not there yet
  let scorer: Worker | undefined;
  const startScorer = () => {
    if (scorer) return;
    scorer = spawn();
    scorer.onmessage = receive;
    scorer.onerror = (ev) => useStore.getState().receive({ type: 'init-error', role: 'scorer', message: `scoring worker failed to start: ${ev.message || 'script error'}` });
    scorer.postMessage({ type: 'init', role: 'scorer', backend: page.backend, model: page.model, wasmBase, modelsBase } satisfies ToWorker);
  };
  sampler.onmessage = (ev: MessageEvent<FromWorker>) => {
    receive(ev);
    if (ev.data.type === 'ready') startScorer();
  };
  receptive.onmessage = receive;
  sampler.onerror = fail('sampling');
  receptive.onerror = (ev) => useStore.getState().receive({ type: 'receptive-error', reqId: -1, message: ev.message || 'worker failed' });

  connect({
    sampler: (msg: ToWorker) => sampler.postMessage(msg),
    receptive: (msg: ToWorker) => receptive.postMessage(msg),
    scorer: (msg: ToWorker) => scorer?.postMessage(msg),
  });
  sampler.postMessage({ type: 'init', role: 'sampler', backend: page.backend, model: page.model, wasmBase, modelsBase } satisfies ToWorker);
  receptive.postMessage({ type: 'init', role: 'receptive', wasmBase, modelsBase } satisfies ToWorker);
  return () => {
    sampler.terminate();
    receptive.terminate();
    scorer?.terminate();
  };
}
