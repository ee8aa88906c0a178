/// <reference lib="webworker" />
// A sampling thread of the sampler worker (samplingThreads.ts): it draws rows of the run it
// is sent on the run's shared kernel memory (sampler/kernelThreads.ts), one run after
// another. tf-free: it loads in a few milliseconds and needs no model.
import { helperInbox, type ForgetMessage, type RunMessage } from '../sampler/kernelThreads';

declare const self: DedicatedWorkerGlobalScope;

export type ToKernelThread = { type: 'init'; up: SharedArrayBuffer; index: number } | RunMessage | ForgetMessage;

const inbox = helperInbox();
self.onmessage = (ev: MessageEvent<ToKernelThread>) => {
  const m = ev.data;
  // up: said in shared memory, which the sampler worker reads while it samples
  if (m.type === 'init') Atomics.store(new Int32Array(m.up), m.index, 1);
  else inbox(m);
};
