// Wires witnessing into a log service: reads the tlog-policy file, starts asking its witnesses
// for every checkpoint, and serves their state at GET /api/v1/log/witnesses (who is behind,
// whether the quorum was met).

import { readFileSync } from 'node:fs';
import { CoreError, parseTlogPolicy } from '@sigstack/core';
import type { FastifyInstance } from 'fastify';
import { ServiceError } from '../../errors.js';
import type { TransparencyLog } from '../engine/log.js';
import { Witnessing } from './witnessing.js';

export function loadWitnessing(path: string, log: TransparencyLog, app: FastifyInstance, options: { witnessFailClosed?: boolean; witnessTimeoutMs?: number }): Witnessing {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ServiceError(400, 'POLICY_UNREADABLE', `cannot read the witness policy ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let policy;
  try {
    policy = parseTlogPolicy(text);
  } catch (err) {
    if (err instanceof CoreError) throw new ServiceError(400, err.code, `${path}: ${err.message}`);
    throw err;
  }
  const witnessing = new Witnessing({
    policy,
    proof: (from, to) => log.consistencyProof(from, to),
    ...(options.witnessFailClosed ? { failClosed: true } : {}),
    ...(options.witnessTimeoutMs ? { timeoutMs: options.witnessTimeoutMs } : {}),
    onWarning: (message) => app.log.warn({ witnessing: true }, message),
  });
  const own = log.signer.spki;
  if (policy.logs.length > 0 && !policy.logs.some((l) => l.key.key.export({ format: 'der', type: 'spki' }).equals(own))) {
    app.log.warn({ witnessing: true }, `${path} lists logs, but not this log's key: verifiers using the policy will not accept its checkpoints`);
  }
  log.witnessWith(witnessing);
  app.get('/api/v1/log/witnesses', async () => witnessing.status());
  return witnessing;
}
