// The CLI's sampling threads: worker_threads that draw image rows of a cpu-mode run, taken
// from its board, on its shared kernel memory (sampler/kernelThreads.ts). Started first thing by a
// command, they are up (bundled, no tfjs: ~0.05 s) before its model is; a run waits a little
// for one still starting, then goes on without it.
import type { Worker } from 'node:worker_threads';
import { startBundledThread } from '../backend/thread';
import { HelperPool } from '../sampler/kernelThreads';

export class KernelPool extends HelperPool<Worker> {
  private readonly started: Promise<void>;

  constructor(helpers: number) {
    super(helpers);
    this.started = Promise.all(
      this.workers.map(async (_, index) => {
        const w = await startBundledThread(new URL('./kernelThread.ts', import.meta.url), { up: this.up.buffer, index });
        w.unref(); // an idle pool never keeps the process alive
        w.on('error', () => this.failed(index));
        this.workers[index] = w;
      }),
    ).then(() => undefined);
  }

  async close(): Promise<void> {
    await this.started;
    await Promise.all(this.workers.map((w) => w?.terminate()));
  }
}
