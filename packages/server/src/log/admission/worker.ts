// One worker of the log's AdmissionPool: canonicalizes proposed entries (and checks their
// signatures), answering each job with the canonical entry or the ServiceError it raised, and
// signs batches of Rekor v1 entry timestamps with the key the pool hands it first.

import { parentPort } from 'node:worker_threads';
import { ServiceError } from '../../errors.js';
import { signEntryTimestampWith, type EntryTimestampKey } from '../engine/log-signer.js';
import { admitInline, type AdmissionJob, type AdmissionReply } from './pool.js';

let timestampKey: EntryTimestampKey | undefined;

parentPort?.on('message', (job: AdmissionJob) => {
  if (job.type === 'key') {
    timestampKey = job.key;
  } else if (job.type === 'sign') {
    const key = timestampKey;
    if (!key) {
      parentPort?.postMessage({ id: job.id, error: { status: 500, code: 'INTERNAL_ERROR', message: 'the worker has no log key' } } satisfies AdmissionReply);
      return;
    }
    const signatures = job.items.map((item) => signEntryTimestampWith(key, item.body, item.integratedTime, item.logIndex));
    parentPort?.postMessage({ id: job.id, signatures } satisfies AdmissionReply);
  } else {
    admitInline(job.api, job.proposed).then(
      (entry) => parentPort?.postMessage({ id: job.id, entry } satisfies AdmissionReply),
      (err: unknown) => {
        const e = err instanceof ServiceError ? err : new ServiceError(500, 'INTERNAL_ERROR', 'the entry could not be checked');
        parentPort?.postMessage({ id: job.id, error: { status: e.status, code: e.code, message: e.message } } satisfies AdmissionReply);
      },
    );
  }
});
