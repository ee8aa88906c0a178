// Entry of a training worker thread: registers tsx's loader so the TypeScript worker
// module can be imported (worker threads do not inherit the parent's loader).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
