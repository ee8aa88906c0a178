// The page's client of receptive.worker.ts: one promise per field asked for; hovering asks
// often, and a newer request replaces the one before it (the worker itself drops queued
// ones, so nothing is sent to cancel).
import type { BackendReport } from '../worker/protocol';
import type { FromReceptive, ReceptiveRequest, ToReceptive } from '../worker/receptiveProtocol';
import { Bridge, WorkerError, type WorkerPort } from './workerBridge';

export type Field = Extract<FromReceptive, { type: 'receptive' }>;

export class ReceptiveClient {
  private readonly bridge: Bridge<FromReceptive>;

  constructor(port: WorkerPort, init: Extract<ToReceptive, { type: 'init' }>, events: { ready(backend: BackendReport): void; initError(message: string): void }) {
    this.bridge = new Bridge<FromReceptive>(port, {
      reading: {
        reqId: (m) => ('reqId' in m ? m.reqId : undefined),
        isFinal: () => true,
        failure: (m) => (m.type === 'receptive-error' ? { message: m.message, numTensors: null } : undefined),
      },
      onWorker: (m) => {
        if (m.type === 'receptive-ready') events.ready(m.backend);
        else if (m.type === 'receptive-init-error') events.initError(m.message);
      },
      onCrash: (message) => events.initError(message),
      name: 'receptive-field worker',
    });
    port.postMessage(init);
  }

  async field(req: Omit<ReceptiveRequest, 'type' | 'reqId'>): Promise<Field> {
    const a = await this.bridge.send('field', (reqId) => ({ msg: { ...req, type: 'receptive', reqId } satisfies ReceptiveRequest })).answer;
    if (a.type !== 'receptive') throw new WorkerError(`unexpected answer '${a.type}' to a receptive field`);
    return a;
  }

  terminate(): void {
    this.bridge.terminate();
  }
}
