// Starts the workers' clients once and hands them to the store. Each worker is spawned
// from its own entry file: the sampler (and the scorer, the same file in another role: see
// sampler.worker.ts) and the receptive-field worker. The scorer starts when the store first
// needs it, once the sampler has its model: the page's first pictures need the CPU more
// than a drawing that is not there yet.
import type { FromWorker } from '../worker/protocol';
import { DEFAULT_MODEL } from '../worker/catalog';
import { SamplerClient } from './samplerClient';
import { ReceptiveClient } from './receptiveClient';
import { useStore } from './store';
import type { WorkerPort } from './workerBridge';
import type { PageOptions } from './url';

function spawnSampler(name: string): Worker {
  return new Worker(new URL('../worker/sampler.worker.ts', import.meta.url), { type: 'module', name });
}

function spawnReceptive(): Worker {
  return new Worker(new URL('../worker/receptive.worker.ts', import.meta.url), { type: 'module', name: 'receptive' });
}

/** The last messages of each worker, newest last: a failing e2e test prints them (window.__workerTrace). */
const TRACE_LENGTH = 40;
function tracer(name: string): (msg: FromWorker) => void {
  const w = window as unknown as { __workerTrace?: Record<string, string[]> };
  const trace: string[] = [];
  (w.__workerTrace ??= {})[name] = trace;
  return (msg) => {
    const { type } = msg;
    const id = 'reqId' in msg ? ` #${msg.reqId}` : '';
    const extra = msg.type === 'failed' ? `: ${msg.message}` : msg.type === 'loaded' ? ` ${msg.model.source}` : msg.type === 'pixels' ? ` ${msg.done}/${msg.total}` : '';
    trace.push(`${(performance.now() / 1000).toFixed(2)}s ${type}${id}${extra}${'numTensors' in msg ? ` tensors=${msg.numTensors}` : ''}`);
    if (trace.length > TRACE_LENGTH) trace.shift();
  };
}

export interface Ports {
  sampler: WorkerPort;
  /** spawned when the store first needs a scorer */
  scorer(): WorkerPort;
  receptive: WorkerPort;
}

/** Builds the clients around the workers' ports, wires them to the store and loads the first model. */
export function connectWorkers(ports: Ports, page: PageOptions, urls: { wasmBase: string; modelsBase: string }, trace?: (name: string) => (msg: FromWorker) => void): () => void {
  const store = () => useStore.getState();
  const init = { backend: page.backend, threads: page.threads, ...urls };
  const sampler = new SamplerClient(ports.sampler, { type: 'init', role: 'sampler', ...init }, {
    backend: (b) => store().samplerBackend(b),
    initError: () => undefined, // every load fails with the reason: the model state shows it
    tensors: (n) => store().samplerTensors(n),
    trace: trace?.('sampler'),
  });
  let scorer: SamplerClient | undefined;
  const startScorer = () =>
    (scorer ??= new SamplerClient(ports.scorer(), { type: 'init', role: 'scorer', ...init }, {
      backend: () => undefined,
      initError: () => undefined,
      tensors: () => undefined, // a score says its own
      trace: trace?.('scorer'),
    }));
  const receptive = new ReceptiveClient(ports.receptive, { type: 'init', backend: page.backend, wasmBase: urls.wasmBase, threads: page.threads }, {
    ready: (b) => store().receptiveBackend(b),
    initError: (message) => store().receptiveBackend(null, message),
  });
  store().start({ sampler, scorer: startScorer, receptive }, page.model ?? DEFAULT_MODEL);
  return () => {
    sampler.terminate();
    receptive.terminate();
    scorer?.terminate();
  };
}

/** The store in a line or two, for a failing e2e test's report (window.__appState()). */
function appState(): Record<string, unknown> {
  const s = useStore.getState();
  const m = s.model;
  return {
    model: m.kind === 'ready' ? `ready ${m.model.source}` : m.kind === 'loading' ? `loading ${m.name}` : m.kind === 'switching' ? `switching ${m.from?.source ?? '(none)'} -> ${m.to}` : `failed ${m.name}: ${m.message} (drawing ${m.model?.source ?? 'nothing'})`,
    scorer: `${s.scorer.status} ${s.scorer.for?.source ?? '(none)'}${s.scorer.message ? `: ${s.scorer.message}` : ''}`,
    backend: s.backend?.name ?? null,
    status: s.status,
    runId: s.runId,
    runMessage: s.runMessage,
    progress: s.live ? `${s.live.done}/${s.live.total} x ${s.live.count}` : null,
    // the sampler worker's own ms for the run (its active time: pauses left out)
    elapsedMs: s.live?.elapsedMs ?? null,
    numTensors: s.numTensors,
    settings: s.settings,
    draw: { version: s.draw.version, inked: s.draw.inked, scored: s.draw.score?.version ?? null, scoreError: s.draw.scoreError, pictureError: s.draw.pictureError, pictureNote: s.draw.pictureNote },
  };
}

export function startWorkers(page: PageOptions): () => void {
  // for e2e tests: a failing wait prints the state; the stress test checks the pad's scores against its own
  Object.assign(window, { __appState: appState, __padImage: () => Array.from(useStore.getState().draw.image) });
  const base = new URL(import.meta.env.BASE_URL, location.href);
  const urls = { wasmBase: new URL('tfjs-wasm/', base).href, modelsBase: new URL('models/', base).href };
  return connectWorkers({ sampler: spawnSampler('pixelcnn'), scorer: () => spawnSampler('scorer'), receptive: spawnReceptive() }, page, urls, tracer);
}
