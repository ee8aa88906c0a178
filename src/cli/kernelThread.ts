// A helper thread of the CLI's CPU sampler (kernelPool.ts): it draws rows of the run it is
// sent on a shared kernel memory (sampler/kernelThreads.ts), one run after another. tf-free,
// so it is up in a fraction of the time a thread with tfjs takes. It says so in shared
// memory, which the pool reads while its own thread is busy sampling.
import { parentPort, workerData } from 'node:worker_threads';
import { helperInbox } from '../sampler/kernelThreads';

parentPort!.on('message', helperInbox());
const { up, index } = workerData as { up: SharedArrayBuffer; index: number };
Atomics.store(new Int32Array(up), index, 1);
