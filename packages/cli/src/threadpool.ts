// Sizes libuv's thread pool to the machine's cores before any crypto runs on it (imported
// first by every entry point): signature checks run there, one per core at a time.
import { availableParallelism } from 'node:os';

process.env.UV_THREADPOOL_SIZE ??= String(Math.max(2, availableParallelism()));
