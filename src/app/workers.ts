// Starts the workers once and wires them to the store: requests go out through
// connect(), every message comes back through store.receive(). Each worker is spawned
// from its own entry file: the sampler (and the scorer, the same file in another role:
// see sampler.worker.ts) and the receptive-field worker.
import type { FromWorker, ToWorker } from '../worker/protocol';
import type { FromReceptive, ToReceptive } from '../worker/receptiveProtocol';
import { connect, currentLoadId, useStore } from './store';
import type { PageOptions } from './url';

function spawnSampler(name: string): Worker {
  return new Worker(new URL('../worker/sampler.worker.ts', import.meta.url), { type: 'module', name });
}

function spawnReceptive(): Worker {
  return new Worker(new URL('../worker/receptive.worker.ts', import.meta.url), { type: 'module', name: 'receptive' });
}

export function startWorkers(page: PageOptions): () => void {
  const base = new URL(import.meta.env.BASE_URL, location.href);
  const wasmBase = new URL('tfjs-wasm/', base).href;
  const modelsBase = new URL('models/', base).href;
  const receive = (ev: MessageEvent<FromWorker | FromReceptive>) => useStore.getState().receive(ev.data);

  const sampler = spawnSampler('pixelcnn');
  const receptive = spawnReceptive();
  // the scorer loads its own copy of the model once the sampler has its own: the page's
  // first pictures need the CPU more than a drawing that is not there yet
  let scorer: Worker | undefined;
  const startScorer = () => {
    if (scorer) return;
    scorer = spawnSampler('scorer');
    scorer.onmessage = receive;
    scorer.onerror = (ev) => useStore.getState().receive({ type: 'init-error', role: 'scorer', message: `scoring worker failed to start: ${ev.message || 'script error'}` });
    // the model the page shows now (it may have been switched since the page opened)
    const model = useStore.getState().page.model ?? page.model;
    scorer.postMessage({ type: 'init', role: 'scorer', backend: page.backend, model, loadId: currentLoadId(), wasmBase, modelsBase } satisfies ToWorker);
  };
  sampler.onmessage = (ev: MessageEvent<FromWorker>) => {
    receive(ev);
    if (ev.data.type === 'ready') startScorer();
  };
  receptive.onmessage = receive;
  sampler.onerror = (ev) => useStore.getState().receive({ type: 'init-error', message: `sampling worker failed to start: ${ev.message || 'script error'}` });
  receptive.onerror = (ev) => useStore.getState().receive({ type: 'receptive-init-error', message: ev.message || 'worker failed' });

  connect({
    sampler: (msg: ToWorker) => sampler.postMessage(msg),
    receptive: (msg: ToReceptive) => receptive.postMessage(msg),
    scorer: (msg: ToWorker) => scorer?.postMessage(msg),
  });
  sampler.postMessage({ type: 'init', role: 'sampler', backend: page.backend, model: page.model, wasmBase, modelsBase } satisfies ToWorker);
  receptive.postMessage({ type: 'init', backend: page.backend, wasmBase } satisfies ToReceptive);
  return () => {
    sampler.terminate();
    receptive.terminate();
    scorer?.terminate();
  };
}
