// A helper thread of the CLI's CPU sampler (kernelPool.ts): it steps its share of the
// kernel's calls on each shared memory it is given (sampler/kernelThreads.ts), tf-free, so
// it is up in a fraction of the time a thread with tfjs takes.
import { parentPort } from 'node:worker_threads';
import { serveTeam, type AttachMessage } from '../sampler/kernelThreads';

parentPort!.on('message', (m: AttachMessage) => serveTeam(m));
