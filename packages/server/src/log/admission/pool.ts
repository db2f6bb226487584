// The log's per-entry CPU work on worker threads, so that the thread serving HTTP and
// sequencing the log only sequences: admission of proposed entries (validation, signature
// checks, canonical form) and Rekor v1 signed entry timestamps. Tasks asked for in one turn of
// the event loop travel together, a few per message (a message costs more than a task's copy;
// small groups let results stream back to the sequencer). With no workers everything runs inline. Admission errors come back as the same
// ServiceError the entry types throw.

import { Worker } from 'node:worker_threads';
import { ServiceError } from '../../errors.js';
import type { EntryTimestampKey, LogSigner } from '../engine/log-signer.js';
import { canonicalizeProposedEntry, canonicalizeV2Request } from '../types/index.js';
import type { CanonicalEntry } from '../types/types.js';

export type AdmissionApi = 'v1' | 'v2';

export type AdmissionTask =
  | { type: 'admit'; api: AdmissionApi; proposed: unknown }
  | { type: 'sign'; body: Uint8Array; integratedTime: number; logIndex: number };

/** A canonical entry as a worker posts it: byte fields as exact-size arrays, the leaf hash computed. */
export type PostedEntry = Omit<CanonicalEntry, 'body' | 'leafHash' | 'extra'> & { body: Uint8Array; leafHash: Uint8Array; extra?: Uint8Array };

export type TaskResult =
  | { entry: PostedEntry }
  | { signature: Uint8Array }
  | { error: { status: number; code: string; message: string } };

export type AdmissionJob = { type: 'tasks'; id: number; tasks: AdmissionTask[] } | { type: 'key'; key: EntryTimestampKey };

export type AdmissionReply = { id: number; results: TaskResult[] };

type Queued = { task: AdmissionTask; resolve: (result: TaskResult) => void; reject: (e: Error) => void };

/** A Buffer over a posted Uint8Array's bytes, without copying them. */
function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function admitInline(api: AdmissionApi, proposed: unknown): Promise<CanonicalEntry> {
  return api === 'v1' ? canonicalizeProposedEntry(proposed) : canonicalizeV2Request(proposed);
}

export class AdmissionPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Queued[]>();
  private nextId = 0;
  private nextWorker = 0;
  private queue: Queued[] = [];

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
      if (!signer.isExternal) worker.postMessage({ type: 'key', key: signer.entryTimestampKey() } satisfies AdmissionJob);
      this.workers.push(worker);
    }
  }

  /** The canonical entry for a proposed one (its JSON text, or parsed). */
  async admit(api: AdmissionApi, proposed: unknown): Promise<CanonicalEntry> {
    if (this.workers.length === 0) return admitInline(api, proposed);
    const result = await this.run({ type: 'admit', api, proposed });
    if (!('entry' in result)) throw new ServiceError(500, 'INTERNAL_ERROR', 'the admission worker answered out of turn');
    const { body, leafHash, extra, ...fields } = result.entry;
    return { ...fields, body: bufferView(body), leafHash: bufferView(leafHash), ...(extra ? { extra: bufferView(extra) } : {}) };
  }

  /** Rekor v1's signed entry timestamp for a stored entry. */
  async signEntryTimestamp(entry: { body: Buffer; integratedTime: number; index: number }): Promise<Buffer> {
    if (this.workers.length === 0 || this.signer.isExternal) return this.signer.signEntryTimestampAsync(entry.body, entry.integratedTime, entry.index);
    const result = await this.run({ type: 'sign', body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.index });
    if (!('signature' in result)) throw new ServiceError(500, 'INTERNAL_ERROR', 'the admission worker answered out of turn');
    return bufferView(result.signature);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private run(task: AdmissionTask): Promise<TaskResult> {
    return new Promise<TaskResult>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ task, resolve, reject });
    }).then((result) => {
      if ('error' in result) throw new ServiceError(result.error.status, result.error.code, result.error.message);
      return result;
    });
  }

  /** Sends the queued tasks in groups spread over the workers, to run in parallel. */
  private flush(): void {
    const queued = this.queue;
    this.queue = [];
    const chunk = 16;
    for (let start = 0; start < queued.length; start += chunk) {
      const part = queued.slice(start, start + chunk);
      const id = this.nextId++;
      this.pending.set(id, part);
      const worker = this.workers[this.nextWorker++ % this.workers.length] as Worker;
      worker.postMessage({ type: 'tasks', id, tasks: part.map((q) => q.task) } satisfies AdmissionJob);
    }
  }

  private settle(reply: AdmissionReply): void {
    const part = this.pending.get(reply.id);
    if (!part) return;
    this.pending.delete(reply.id);
    part.forEach((queued, i) => {
      const result = reply.results[i];
      if (result) queued.resolve(result);
      else queued.reject(new ServiceError(500, 'INTERNAL_ERROR', 'the admission worker gave no answer'));
    });
  }

  private failAll(err: Error): void {
    const failure = new ServiceError(503, 'ADMISSION_FAILED', `entry admission failed; retry: ${err.message}`);
    for (const part of this.pending.values()) for (const queued of part) queued.reject(failure);
    this.pending.clear();
  }
}
