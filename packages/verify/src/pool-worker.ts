// One VerifierPool worker: a Verifier over the pool's trusted root, checking signatures on
// this thread (the pool already has a thread per core), answering one job at a time.

import { parentPort, workerData } from 'node:worker_threads';
import { parseBundleJson, useThreadPoolForSignatures } from '@sigstack/core';
import { asVerificationError } from './errors.js';
import type { PoolJob, PoolReply } from './pool.js';
import type { Artifact } from './signed-content.js';
import { TrustMaterial } from './trust-material.js';
import { Verifier } from './verifier.js';

useThreadPoolForSignatures(false);
const { trustedRootPath } = workerData as { trustedRootPath?: string };
const verifier = new Verifier(trustedRootPath ? TrustMaterial.fromFile(trustedRootPath) : TrustMaterial.publicGood());

parentPort?.on('message', (job: PoolJob) => {
  let reply: Promise<PoolReply>;
  try {
    reply = verifier.verify(parseBundleJson(job.bundleText), asBuffers(job.artifact), job.policy).then(
      (result) => ({ id: job.id, result }),
      (err: unknown) => failure(job.id, err),
    );
  } catch (err) {
    reply = Promise.resolve(failure(job.id, err));
  }
  void reply.then((r) => parentPort?.postMessage(r));
});

/** Messages carry plain Uint8Arrays; the verifier works on Buffers. */
function asBuffers(artifact: Artifact | undefined): Artifact | undefined {
  if (!artifact || artifact.kind === 'bytes') return artifact;
  return { ...artifact, digest: Buffer.from(artifact.digest) };
}

function failure(id: number, err: unknown): PoolReply {
  const e = asVerificationError(err);
  return { id, error: { code: e.code, message: e.message } };
}
