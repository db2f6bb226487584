// The witness's HTTP API: POST /add-checkpoint (tlog-witness) and the monitoring read
// GET /<lowercase hex SHA-256 of the origin>/checkpoint. Bodies are bounded; any content type
// is read as text (the spec names none for requests).

import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { originHash } from '@sigstack/core';
import type { Witness } from './witness.js';

/** An add-checkpoint body: 63 proof lines and a checkpoint with a few signatures fit easily. */
export const WITNESS_BODY_LIMIT = 64 * 1024;

export interface WitnessAppOptions {
  witness: Witness;
  logger?: FastifyServerOptions['logger'];
  /** Told the outcome of every add-checkpoint (metrics, logs). */
  onAnswer?: (status: number, reason?: string) => void;
}

export function buildWitnessApp(options: WitnessAppOptions): FastifyInstance {
  const { witness } = options;
  const app = Fastify({ bodyLimit: WITNESS_BODY_LIMIT, logger: options.logger ?? false, return503OnClosing: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  const byHash = new Map(witness.origins().map((o) => [originHash(o), o]));

  app.post('/add-checkpoint', async (request, reply) => {
    const body = typeof request.body === 'string' ? request.body : '';
    const result = witness.addCheckpoint(body);
    options.onAnswer?.(result.status, result.reason);
    return reply.code(result.status).header('content-type', result.contentType).send(result.body);
  });

  app.get('/:hash/checkpoint', async (request, reply) => {
    const { hash } = request.params as { hash: string };
    const origin = byHash.get(hash);
    const note = origin === undefined ? undefined : witness.latest(origin);
    if (note === undefined) {
      return reply.code(404).header('content-type', 'text/plain; charset=utf-8').send(origin === undefined ? 'unknown log (the path is the lowercase hex SHA-256 of the origin)\n' : 'no checkpoint of this log has been cosigned yet\n');
    }
    return reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-cache').send(note);
  });

  app.setErrorHandler((err: { statusCode?: number; message: string }, _request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const message = status === 413 ? `the request body is larger than ${WITNESS_BODY_LIMIT} bytes` : status === 500 ? 'the witness failed to handle this request' : err.message;
    return reply.code(status).header('content-type', 'text/plain; charset=utf-8').send(`${message}\n`);
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).header('content-type', 'text/plain; charset=utf-8').send(`no such resource: ${request.method} ${request.url}\n`));
  return app;
}
