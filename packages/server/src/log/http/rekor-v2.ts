// Rekor's v2 write API (sigstore/rekor-tiles): POST /api/v2/log/entries with a
// hashedRekordRequestV002 or dsseRequestV002, answered with a TransparencyLogEntry once the
// entry is in a published checkpoint. Reads go through the tile API.

import type { FastifyInstance } from 'fastify';
import { ServiceError } from '../../errors.js';
import type { TransparencyLog } from '../engine/log.js';
import type { AdmissionPool } from '../admission/pool.js';
import type { LogMetrics } from './metrics.js';
import { entryTextScope, rekorV2Entry } from './responses.js';

export function registerRekorV2Routes(app: FastifyInstance, log: TransparencyLog, metrics: LogMetrics, admission: AdmissionPool): void {
  app.register(async (scope) => {
    entryTextScope(scope);
    scope.post('/api/v2/log/entries', async (request, reply) => {
      const started = performance.now();
      const entry = await admission.admit('v2', request.body as string);
      const result = await log.append(entry);
      const [stored] = await log.entries(result.index, 1);
      if (!stored) throw new ServiceError(500, 'ENTRY_MISSING', 'the entry was stored but could not be read back');
      metrics.observeAppend(result.duplicate ? 'duplicate' : 'created', performance.now() - started);
      // A repeated request is answered with the entry already logged: retries are safe.
      return reply.code(result.duplicate ? 200 : 201).send(await rekorV2Entry(log, stored));
    });
  });
}
