// Serves a TUF repository's files over HTTP under a prefix (default /tuf): metadata as JSON,
// versioned files cacheable forever, timestamp.json and root.json always revalidated.

import type { FastifyInstance } from 'fastify';
import type { TufRepository } from './repository.js';

export const DEFAULT_TUF_PREFIX = '/tuf';

export function registerTufRoutes(app: FastifyInstance, repository: TufRepository, prefix = DEFAULT_TUF_PREFIX): void {
  const base = prefix.replace(/\/+$/, '');
  app.get(`${base}/*`, async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    const data = repository.read(path);
    if (data === undefined) {
      return reply.code(404).send({ code: 404, error: 'NOT_FOUND', message: `no TUF file ${base}/${path}: metadata is N.root.json, timestamp.json, N.snapshot.json, N.targets.json; targets are targets/<sha256>.<name>` });
    }
    const mutable = path === 'timestamp.json' || path === 'root.json';
    reply.header('cache-control', mutable ? 'no-cache' : 'public, max-age=31536000, immutable');
    reply.header('content-type', path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    return reply.send(data);
  });
}
