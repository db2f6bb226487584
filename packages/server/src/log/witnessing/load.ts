// Wires witnessing into a log service: reads the tlog-policy file, starts asking its witnesses
// for every checkpoint, and serves their state at GET /api/v1/log/witnesses (who is behind,
// whether the quorum was met).

import { readFileSync } from 'node:fs';
import { CoreError, parseTlogPolicy, type TlogPolicy } from '@sigstack/core';
import type { FastifyInstance } from 'fastify';
import { ServiceError } from '../../errors.js';
import type { TransparencyLog } from '../engine/log.js';
import { Witnessing } from './witnessing.js';

/** Reads a tlog-policy file; a clear error when it is unreadable or malformed. */
export function readWitnessPolicy(path: string): TlogPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ServiceError(400, 'POLICY_UNREADABLE', `cannot read the witness policy ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return parseTlogPolicy(text);
  } catch (err) {
    if (err instanceof CoreError) throw new ServiceError(400, err.code, `${path}: ${err.message}`);
    throw err;
  }
}

/** Warns when the policy lists logs but not this one (verifiers using it would refuse its checkpoints). */
export function checkPolicyNamesLog(path: string, policy: TlogPolicy, log: TransparencyLog, warn: (message: string) => void): void {
  const own = log.signer.spki;
  if (policy.logs.length > 0 && !policy.logs.some((l) => l.key.key.export({ format: 'der', type: 'spki' }).equals(own))) {
    warn(`${path} lists logs, but not this log's key: verifiers using the policy will not accept its checkpoints`);
  }
}

export function loadWitnessing(path: string, log: TransparencyLog, app: FastifyInstance, options: { witnessFailClosed?: boolean; witnessTimeoutMs?: number }): Witnessing {
  const policy = readWitnessPolicy(path);
  const witnessing = new Witnessing({
    policy,
    proof: (from, to) => log.consistencyProof(from, to),
    ...(options.witnessFailClosed ? { failClosed: true } : {}),
    ...(options.witnessTimeoutMs ? { timeoutMs: options.witnessTimeoutMs } : {}),
    onWarning: (message) => app.log.warn({ witnessing: true }, message),
  });
  checkPolicyNamesLog(path, policy, log, (message) => app.log.warn({ witnessing: true }, message));
  log.witnessWith(witnessing);
  app.get('/api/v1/log/witnesses', async () => witnessing.status());
  return witnessing;
}
