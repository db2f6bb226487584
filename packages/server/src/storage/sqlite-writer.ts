// The SQLite writer thread: applies append batches on its own connection, so the fsync of each
// commit does not stall the thread that serves HTTP. Readers use their own connection (WAL).
// Between batches it merges search runs (sqlite-runs.ts), one step at a time.

import { parentPort, workerData } from 'node:worker_threads';
import { unpackBatch, type PackedBatch } from './packed-batch.js';
import type { RunPolicy } from './search-runs.js';
import { runStepper } from './sqlite-runs.js';
import { openSqlite } from './sqlite.js';

const { path, policy } = workerData as { path: string; policy: RunPolicy };
const db = openSqlite(path, policy);
const runs = runStepper(db.stepRuns);

parentPort?.on('message', (message: { id: number; packed?: PackedBatch; settle?: true }) => {
  try {
    if (message.settle) {
      runs.settle();
      parentPort?.postMessage({ id: message.id, ok: true });
      return;
    }
    parentPort?.postMessage({ id: message.id, ok: db.append(unpackBatch(message.packed!)) });
    runs.kick();
  } catch (err) {
    parentPort?.postMessage({ id: message.id, error: (err as Error).message });
  }
});
