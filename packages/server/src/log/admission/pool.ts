// Admission of proposed entries (validation, signature checks, canonical form) on worker
// threads, so that the thread serving HTTP and sequencing the log only sequences. With no
// workers it runs inline. Errors come back as the same ServiceError the entry types throw.

import { Worker } from 'node:worker_threads';
import { ServiceError } from '../../errors.js';
import { canonicalizeProposedEntry, canonicalizeV2Request } from '../types/index.js';
import type { CanonicalEntry } from '../types/types.js';

export type AdmissionApi = 'v1' | 'v2';

export interface AdmissionJob {
  id: number;
  api: AdmissionApi;
  proposed: unknown;
}

export type AdmissionReply =
  | { id: number; entry: CanonicalEntry }
  | { id: number; error: { status: number; code: string; message: string } };

export function admitInline(api: AdmissionApi, proposed: unknown): Promise<CanonicalEntry> {
  return api === 'v1' ? canonicalizeProposedEntry(proposed) : canonicalizeV2Request(proposed);
}

export class AdmissionPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (e: CanonicalEntry) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private nextWorker = 0;

  /** `size` worker threads; 0 admits inline on the calling thread. */
  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./worker.js', import.meta.url));
      worker.on('message', (reply: AdmissionReply) => this.settle(reply));
      worker.on('error', (err) => this.failAll(err));
      worker.unref();
      this.workers.push(worker);
    }
  }

  admit(api: AdmissionApi, proposed: unknown): Promise<CanonicalEntry> {
    if (this.workers.length === 0) return admitInline(api, proposed);
    const id = this.nextId++;
    const worker = this.workers[this.nextWorker++ % this.workers.length] as Worker;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const job: AdmissionJob = { id, api, proposed };
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private settle(reply: AdmissionReply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if ('entry' in reply) waiter.resolve({ ...reply.entry, body: Buffer.from(reply.entry.body) });
    else waiter.reject(new ServiceError(reply.error.status, reply.error.code, reply.error.message));
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(new ServiceError(503, 'ADMISSION_FAILED', `entry admission failed; retry: ${err.message}`));
    this.pending.clear();
  }
}
