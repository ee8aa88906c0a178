// The sampler worker's sampling threads on wasm / cpu: nested workers (kernel.worker.ts),
// each sampling a share of a run's images on the run's shared kernel memory, merged into
// the sampler worker's own events (sampler/kernelThreads.ts). They need shared memory, so
// a page that is not cross-origin isolated samples on the sampler worker alone.
import { canShareKernel } from '../sampler/cpu';
import { HelperPool } from '../sampler/kernelThreads';
import type { BackendReport } from './protocol';
import type { ToKernelThread } from './kernel.worker';

export class SamplingThreads extends HelperPool<Worker> {
  constructor(helpers: number) {
    super(helpers);
    this.workers.forEach((_, index) => {
      const w = new Worker(new URL('./kernel.worker.ts', import.meta.url), { type: 'module', name: 'sampler-thread' });
      w.onerror = () => this.failed(index);
      w.postMessage({ type: 'init', up: this.up.buffer as SharedArrayBuffer, index } satisfies ToKernelThread);
      this.workers[index] = w;
    });
  }

  dispose(): void {
    this.workers.forEach((w) => w?.terminate());
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
