// One admission worker: canonicalizes proposed entries (and checks their signatures) for the
// AdmissionPool, answering each job with the canonical entry or the ServiceError it raised.

import { parentPort } from 'node:worker_threads';
import { ServiceError } from '../../errors.js';
import { admitInline, type AdmissionJob, type AdmissionReply } from './pool.js';

parentPort?.on('message', (job: AdmissionJob) => {
  admitInline(job.api, job.proposed).then(
    (entry) => parentPort?.postMessage({ id: job.id, entry } satisfies AdmissionReply),
    (err: unknown) => {
      const e = err instanceof ServiceError ? err : new ServiceError(500, 'INTERNAL_ERROR', 'the entry could not be checked');
      parentPort?.postMessage({ id: job.id, error: { status: e.status, code: e.code, message: e.message } } satisfies AdmissionReply);
    },
  );
});
