// The CLI's kernel threads: worker_threads that each step a share of the CPU sampler's
// batch rows on its shared kernel memory (sampler/kernelThreads.ts). Started first thing
// by a command, they are up (~0.2 s: tsx, no tfjs) before its model is; a call made while
// they boot runs on the calling thread alone.
import type { Worker } from 'node:worker_threads';
import { startThread } from '../backend/thread';
import type { AttachMessage, KernelThreads } from '../sampler/kernelThreads';

export class KernelPool implements KernelThreads {
  private readonly workers: Worker[];
  readonly blocks = { caller: 0, helpers: 0 };
  /** the first helper's failure to start, if any */
  failure: string | undefined;

  constructor(readonly helpers: number) {
    this.workers = Array.from({ length: helpers }, () => {
      const w = startThread(new URL('./kernelThread.ts', import.meta.url));
      w.unref(); // an idle pool never keeps the process alive
      // a helper that fails to start claims no rows: the caller steps them all
      w.on('error', (e) => (this.failure ??= e.message.split('\n')[0]));
      return w;
    });
  }

  attach(message: AttachMessage): void {
    for (const w of this.workers) w.postMessage(message);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
