// A pool of worker threads, each with its own Verifier over the same trusted root, for
// verifying many bundles at once on every core (a registry, a monitor, the benchmark).
// Jobs and replies cross threads in batches: the jobs asked for in one turn of this thread go
// to a worker as one message, and a worker answers a few bundles per message (see
// pool-worker.ts), so a thread is woken once per batch rather than once per bundle.

import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { VerificationError } from './errors.js';
import type { Artifact } from './signed-content.js';
import type { VerificationResult, VerifyPolicy } from './verifier.js';

export interface PoolJob {
  id: number;
  bundleText: string;
  artifact: Artifact | undefined;
  policy: VerifyPolicy;
}

export type PoolReply = { id: number; result: VerificationResult } | { id: number; error: { code: string; message: string } };

export interface VerifierPoolOptions {
  /** A trusted_root.json path; the public-good root when absent. */
  trustedRootPath?: string;
  /** Worker count; one per core by default. */
  size?: number;
}

export class VerifierPool {
  private readonly workers: Worker[];
  /** Jobs not yet posted, per worker (posted together at the end of this turn). */
  private readonly outboxes: PoolJob[][];
  private flushQueued = false;
  private readonly pending = new Map<number, { resolve: (r: VerificationResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private nextWorker = 0;

  constructor(options: VerifierPoolOptions = {}) {
    const size = options.size ?? availableParallelism();
    this.workers = Array.from({ length: size }, () => {
      const worker = new Worker(new URL('./pool-worker.js', import.meta.url), { workerData: { trustedRootPath: options.trustedRootPath } });
      worker.on('message', (replies: PoolReply[]) => {
        for (const reply of replies) this.settle(reply);
      });
      worker.on('error', (err) => this.failAll(err));
      return worker;
    });
    this.outboxes = this.workers.map(() => []);
  }

  /** Parses and verifies one bundle on the next worker; rejects with a VerificationError. */
  verify(bundleText: string, artifact: Artifact | undefined, policy: VerifyPolicy): Promise<VerificationResult> {
    const id = this.nextId++;
    const outbox = this.outboxes[this.nextWorker++ % this.workers.length] as PoolJob[];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      outbox.push({ id, bundleText, artifact, policy });
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private flush(): void {
    this.flushQueued = false;
    for (const [i, outbox] of this.outboxes.entries()) {
      if (outbox.length === 0) continue;
      (this.workers[i] as Worker).postMessage(outbox);
      this.outboxes[i] = [];
    }
  }

  private settle(reply: PoolReply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if ('result' in reply) waiter.resolve(reply.result);
    else waiter.reject(new VerificationError(reply.error.code, reply.error.message));
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(new VerificationError('INTERNAL_ERROR', `verifier worker failed: ${err.message}`));
    this.pending.clear();
  }
}
