// The CLI's sampling threads: worker_threads that each sample a share of a cpu-mode run's
// images on its shared kernel memory (sampler/kernelThreads.ts). Started first thing by a
// command, they are up (bundled, no tfjs: ~0.05 s) before its model is; a run waits a little
// for one still starting, then goes on without it.
import type { Worker } from 'node:worker_threads';
import { startBundledThread } from '../backend/thread';
import type { KernelThreads, ShareMessage } from '../sampler/kernelThreads';

export class KernelPool implements KernelThreads {
  private readonly workers: (Worker | undefined)[];
  private readonly started: Promise<void>;
  /** per helper: 1 once it is up (it sets it itself: this thread may be busy sampling), 2 if it failed */
  private readonly up: Int32Array;
  lastRun = 1;
  /** the first helper's failure, if any */
  failure: string | undefined;

  constructor(readonly helpers: number) {
    this.up = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, helpers)));
    this.workers = Array.from({ length: helpers }, () => undefined);
    this.started = Promise.all(
      this.workers.map(async (_, index) => {
        const w = await startBundledThread(new URL('./kernelThread.ts', import.meta.url), { up: this.up.buffer, index });
        w.unref(); // an idle pool never keeps the process alive
        // a helper that failed is never sent a share: the runs go on without it
        w.on('error', (e) => {
          Atomics.store(this.up, index, 2);
          this.failure ??= e.message.split('\n')[0];
        });
        this.workers[index] = w;
      }),
    ).then(() => undefined);
  }

  private upOnes(): Worker[] {
    return this.workers.filter((w, k): w is Worker => w !== undefined && Atomics.load(this.up, k) === 1);
  }

  ready(): number {
    return this.upOnes().length;
  }

  send(i: number, message: ShareMessage): void {
    this.upOnes()[i].postMessage(message);
  }

  /** Resolves once every helper is up or failed, or after `timeoutMs`. */
  async whenReady(timeoutMs = 30_000): Promise<void> {
    const t0 = Date.now();
    const settled = () => this.workers.every((_, k) => Atomics.load(this.up, k) !== 0);
    while (!settled() && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 2));
  }

  async close(): Promise<void> {
    await this.started;
    await Promise.all(this.workers.map((w) => w?.terminate()));
  }
}
