// The SQLite writer thread: applies append batches on its own connection, so the fsync of each
// commit does not stall the thread that serves HTTP. Readers use their own connection (WAL).

import { parentPort, workerData } from 'node:worker_threads';
import { unpackBatch, type PackedBatch } from './packed-batch.js';
import { openSqlite } from './sqlite.js';

const { path } = workerData as { path: string };
const db = openSqlite(path);

parentPort?.on('message', (message: { id: number; packed: PackedBatch }) => {
  try {
    parentPort?.postMessage({ id: message.id, ok: db.append(unpackBatch(message.packed)) });
  } catch (err) {
    parentPort?.postMessage({ id: message.id, error: (err as Error).message });
  }
});
