// One worker of the log's AdmissionPool: runs each message's tasks (canonicalize a proposed
// entry and check its signatures, or sign an entry timestamp with the key the pool hands it
// first) and answers with every task's result or the ServiceError it raised, in order.

import { parentPort } from 'node:worker_threads';
import { leafHash } from '@sigstack/core';
import { ServiceError } from '../../errors.js';
import { signEntryTimestampWith, type EntryTimestampKey } from '../engine/log-signer.js';
import { admitInline, type AdmissionJob, type AdmissionReply, type AdmissionTask, type TaskResult } from './pool.js';

let timestampKey: EntryTimestampKey | undefined;

function failure(err: unknown): TaskResult {
  const e = err instanceof ServiceError ? err : new ServiceError(500, 'INTERNAL_ERROR', 'the entry could not be checked');
  return { error: { status: e.status, code: e.code, message: e.message } };
}

async function run(task: AdmissionTask): Promise<TaskResult> {
  try {
    if (task.type === 'admit') {
      const entry = await admitInline(task.api, task.proposed);
      // Exact-size copies: a pooled Buffer would post its whole 8 KiB pool slab.
      return { entry: { ...entry, body: new Uint8Array(entry.body), leafHash: leafHash(entry.body), ...(entry.extra ? { extra: new Uint8Array(entry.extra) } : {}) } };
    }
    if (!timestampKey) throw new ServiceError(500, 'INTERNAL_ERROR', 'the worker has no log key');
    return { signature: signEntryTimestampWith(timestampKey, task.body, task.integratedTime, task.logIndex) };
  } catch (err) {
    return failure(err);
  }
}

parentPort?.on('message', (job: AdmissionJob) => {
  if (job.type === 'key') {
    timestampKey = job.key;
    return;
  }
  void Promise.all(job.tasks.map(run)).then((results) => parentPort?.postMessage({ id: job.id, results } satisfies AdmissionReply));
});
