// One VerifierPool worker: a Verifier over the pool's trusted root, checking signatures on
// this thread (the pool already has a thread per core), one job at a time. Jobs arrive in
// batches and wait in a queue; between jobs the event loop turns, so jobs posted meanwhile
// join the queue. Replies are posted REPLY_BATCH at a time, or at once when the queue runs
// dry, so the pool's thread is woken once per few bundles and this one never waits on it.

import { parentPort, workerData } from 'node:worker_threads';
import { parseBundleJson, useThreadPoolForSignatures } from '@sigstack/core';
import { asVerificationError } from './errors.js';
import type { PoolJob, PoolReply } from './pool.js';
import type { Artifact } from './signed-content.js';
import { TrustMaterial } from './trust-material.js';
import { Verifier } from './verifier.js';

/** Replies per message while more jobs are queued (each message wakes the pool's thread). */
const REPLY_BATCH = 4;

useThreadPoolForSignatures(false);
const { trustedRootPath } = workerData as { trustedRootPath?: string };
const verifier = new Verifier(trustedRootPath ? TrustMaterial.fromFile(trustedRootPath) : TrustMaterial.publicGood());

const queue: PoolJob[] = [];
let replies: PoolReply[] = [];
let running = false;

parentPort?.on('message', (jobs: PoolJob[]) => {
  for (const job of jobs) queue.push(job);
  if (!running) {
    running = true;
    setImmediate(next);
  }
});

function next(): void {
  const job = queue.shift();
  if (!job) {
    running = false;
    return;
  }
  void run(job).then((reply) => {
    replies.push(reply);
    if (replies.length >= REPLY_BATCH || queue.length === 0) {
      parentPort?.postMessage(replies);
      replies = [];
    }
    // setImmediate, not a loop: jobs posted while this one ran are delivered before the next.
    setImmediate(next);
  });
}

function run(job: PoolJob): Promise<PoolReply> {
  try {
    return verifier.verify(parseBundleJson(job.bundleText), asBuffers(job.artifact), job.policy).then(
      (result) => ({ id: job.id, result }),
      (err: unknown) => failure(job.id, err),
    );
  } catch (err) {
    return Promise.resolve(failure(job.id, err));
  }
}

/** Messages carry plain Uint8Arrays; the verifier works on Buffers. */
function asBuffers(artifact: Artifact | undefined): Artifact | undefined {
  if (!artifact || artifact.kind === 'bytes') return artifact;
  return { ...artifact, digest: Buffer.from(artifact.digest) };
}

function failure(id: number, err: unknown): PoolReply {
  const e = asVerificationError(err);
  return { id, error: { code: e.code, message: e.message } };
}
