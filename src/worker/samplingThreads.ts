// The sampler worker's sampling threads on wasm / cpu: nested workers (kernel.worker.ts),
// each sampling a share of a run's images on the run's shared kernel memory, merged into
// the sampler worker's own events (sampler/kernelThreads.ts). They need shared memory, so
// a page that is not cross-origin isolated samples on the sampler worker alone.
import { canShareKernel } from '../sampler/cpu';
import type { KernelThreads, ShareMessage } from '../sampler/kernelThreads';
import type { BackendReport } from './protocol';
import type { ToKernelThread } from './kernel.worker';

export class SamplingThreads implements KernelThreads {
  private readonly workers: Worker[];
  /** per helper: 1 once it is up (it sets it itself), 2 if it failed */
  private readonly up: Int32Array;
  lastRun = 1;

  constructor(readonly helpers: number) {
    this.up = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, helpers)));
    this.workers = Array.from({ length: helpers }, (_, index) => {
      const w = new Worker(new URL('./kernel.worker.ts', import.meta.url), { type: 'module', name: 'sampler-thread' });
      // a thread that failed is never sent a share: runs go on without it
      w.onerror = () => Atomics.store(this.up, index, 2);
      w.postMessage({ type: 'init', up: this.up.buffer as SharedArrayBuffer, index } satisfies ToKernelThread);
      return w;
    });
  }

  private upOnes(): Worker[] {
    return this.workers.filter((_, k) => Atomics.load(this.up, k) === 1);
  }

  ready(): number {
    return this.upOnes().length;
  }

  send(i: number, message: ShareMessage): void {
    this.upOnes()[i].postMessage(message satisfies ToKernelThread);
  }

  async whenReady(timeoutMs: number): Promise<void> {
    const t0 = performance.now();
    const settled = () => this.workers.every((_, k) => Atomics.load(this.up, k) !== 0);
    while (!settled() && performance.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 5));
  }

  dispose(): void {
    this.workers.forEach((w) => w.terminate());
  }
}

/**
 * The sampler worker's threads once its backend is up: on wasm / cpu (the CPU kernel's
 * backends) one a core (at most 8) or `asked` (?threads=N), none elsewhere; and the report
 * the badge shows (this worker's own tfjs runs one thread).
 */
export function startThreads(report: BackendReport, asked: number | undefined): { threads?: SamplingThreads; report: BackendReport } {
  if (report.name !== 'wasm' && report.name !== 'cpu') return { report };
  const cores = Math.max(1, (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 1);
  const wanted = asked ?? Math.min(8, cores);
  const shared = canShareKernel();
  const threads = shared ? wanted : 1;
  const threadsNote =
    threads > 1
      ? `${threads} sampling threads: a run's images are shared out, one thread an image at most, each sampling on one shared WebAssembly memory`
      : asked === 1
        ? 'one thread: the single-thread path was asked for (threads=1)'
        : !shared && wanted > 1
          ? 'one thread: the page is not cross-origin isolated, so threads cannot share the sampler\'s memory'
          : 'one thread: this machine reports one core';
  return { threads: threads > 1 ? new SamplingThreads(threads - 1) : undefined, report: { ...report, threads, threadsNote } };
}
