// Entry of every worker thread started by thread.ts: registers tsx's loader so the
// TypeScript module in workerData.entry can be imported (worker threads do not inherit
// the parent's loader).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
