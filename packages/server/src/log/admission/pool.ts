// The log's per-entry CPU work on worker threads, so that the thread serving HTTP and
// sequencing the log only sequences: admission of proposed entries (validation, signature
// checks, canonical form) and Rekor v1 signed entry timestamps (gathered into one message per
// turn of the event loop). With no workers both run inline. Admission errors come back as the
// same ServiceError the entry types throw.

import { Worker } from 'node:worker_threads';
import { ServiceError } from '../../errors.js';
import type { EntryTimestampKey, LogSigner } from '../engine/log-signer.js';
import { canonicalizeProposedEntry, canonicalizeV2Request } from '../types/index.js';
import type { CanonicalEntry } from '../types/types.js';

export type AdmissionApi = 'v1' | 'v2';

export interface TimestampItem {
  body: Uint8Array;
  integratedTime: number;
  logIndex: number;
}

export type AdmissionJob =
  | { type: 'admit'; id: number; api: AdmissionApi; proposed: unknown }
  | { type: 'sign'; id: number; items: TimestampItem[] }
  | { type: 'key'; key: EntryTimestampKey };

export type AdmissionReply =
  | { id: number; entry: CanonicalEntry }
  | { id: number; error: { status: number; code: string; message: string } }
  | { id: number; signatures: Uint8Array[] };

type Waiter = { resolve: (value: never) => void; reject: (e: Error) => void };

export function admitInline(api: AdmissionApi, proposed: unknown): Promise<CanonicalEntry> {
  return api === 'v1' ? canonicalizeProposedEntry(proposed) : canonicalizeV2Request(proposed);
}

export class AdmissionPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Waiter>();
  private nextId = 0;
  private nextWorker = 0;
  /** Signed entry timestamps asked for in this turn of the event loop, sent together. */
  private timestampQueue: { item: TimestampItem; resolve: (signature: Buffer) => void; reject: (e: Error) => void }[] = [];

  /** `size` worker threads (0: everything inline on the calling thread); `signer` signs entry timestamps. */
  constructor(
    size: number,
    private readonly signer: LogSigner,
  ) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./worker.js', import.meta.url));
      worker.on('message', (reply: AdmissionReply) => this.settle(reply));
      worker.on('error', (err) => this.failAll(err));
      worker.unref();
      worker.postMessage({ type: 'key', key: signer.entryTimestampKey() } satisfies AdmissionJob);
      this.workers.push(worker);
    }
  }

  admit(api: AdmissionApi, proposed: unknown): Promise<CanonicalEntry> {
    if (this.workers.length === 0) return admitInline(api, proposed);
    return this.send((id) => ({ type: 'admit', id, api, proposed }));
  }

  /** Rekor v1's signed entry timestamp for a stored entry. */
  signEntryTimestamp(entry: { body: Buffer; integratedTime: number; index: number }): Promise<Buffer> {
    if (this.workers.length === 0) return Promise.resolve(this.signer.signEntryTimestamp(entry.body, entry.integratedTime, entry.index));
    return new Promise((resolve, reject) => {
      if (this.timestampQueue.length === 0) setImmediate(() => this.flushTimestamps());
      this.timestampQueue.push({ item: { body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.index }, resolve, reject });
    });
  }

  /** Sends the queued timestamps in a few messages spread over the workers, to sign in parallel. */
  private flushTimestamps(): void {
    const queued = this.timestampQueue;
    this.timestampQueue = [];
    const chunk = Math.max(16, Math.ceil(queued.length / this.workers.length));
    for (let start = 0; start < queued.length; start += chunk) {
      const part = queued.slice(start, start + chunk);
      this.send<Uint8Array[]>((id) => ({ type: 'sign', id, items: part.map((q) => q.item) })).then(
        (signatures) => part.forEach((q, i) => q.resolve(Buffer.from(signatures[i] as Uint8Array))),
        (err: Error) => part.forEach((q) => q.reject(err)),
      );
    }
  }

  private send<T>(job: (id: number) => AdmissionJob): Promise<T> {
    const id = this.nextId++;
    const worker = this.workers[this.nextWorker++ % this.workers.length] as Worker;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject });
      worker.postMessage(job(id));
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private settle(reply: AdmissionReply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if ('entry' in reply) waiter.resolve({ ...reply.entry, body: Buffer.from(reply.entry.body) } as never);
    else if ('signatures' in reply) waiter.resolve(reply.signatures as never);
    else waiter.reject(new ServiceError(reply.error.status, reply.error.code, reply.error.message));
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(new ServiceError(503, 'ADMISSION_FAILED', `entry admission failed; retry: ${err.message}`));
    this.pending.clear();
  }
}
