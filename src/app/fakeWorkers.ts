// Workers for unit tests of the page's side: each records what the page posts and lets
// the test answer as the real worker would, in any order, so the store and its clients are
// tested through the same messages the browser carries (protocol.ts).
import type { FromWorker, ModelInfo, ToWorker } from '../worker/protocol';
import type { FromReceptive, ToReceptive } from '../worker/receptiveProtocol';
import type { WorkerPort } from './workerBridge';
import { connectWorkers } from './workers';

export class FakeWorker<To = ToWorker, From = FromWorker> implements WorkerPort {
  sent: To[] = [];
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  terminated = false;

  postMessage(msg: unknown): void {
    this.sent.push(msg as To);
  }

  terminate(): void {
    this.terminated = true;
  }

  say(msg: From): void {
    this.onmessage?.({ data: msg } as MessageEvent);
  }

  crash(message: string): void {
    this.onerror?.({ message } as ErrorEvent);
  }

  /** what was sent of one type, oldest first */
  of<T extends To extends { type: infer K } ? K : never>(type: T): Extract<To, { type: T }>[] {
    return this.sent.filter((m) => (m as { type: unknown }).type === type) as Extract<To, { type: T }>[];
  }

  last<T extends To extends { type: infer K } ? K : never>(type: T): Extract<To, { type: T }> {
    const all = this.of(type);
    if (all.length === 0) throw new Error(`nothing of type '${String(type)}' was sent`);
    return all[all.length - 1];
  }
}

/** Lets promise callbacks run (the clients answer through promises). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

export function connectFakes(page: { model?: string } = {}) {
  const sampler = new FakeWorker();
  const scorer = new FakeWorker();
  const receptive = new FakeWorker<ToReceptive, FromReceptive>();
  let scorerStarted = false;
  const close = connectWorkers(
    {
      sampler,
      scorer: () => {
        scorerStarted = true;
        return scorer;
      },
      receptive,
    },
    page,
    { wasmBase: 'http://test/tfjs-wasm/', modelsBase: 'http://test/models/' },
  );
  /** answers the newest load sent to `w` */
  const loaded = async (w: FakeWorker, model: ModelInfo, numTensors = 10) => {
    w.say({ type: 'loaded', reqId: w.last('load').reqId, model, numTensors });
    await settle();
  };
  const loadFailed = async (w: FakeWorker, message: string, numTensors = 10) => {
    w.say({ type: 'failed', reqId: w.last('load').reqId, message, numTensors });
    await settle();
  };
  return { sampler, scorer, receptive, close, loaded, loadFailed, scorerStarted: () => scorerStarted };
}
