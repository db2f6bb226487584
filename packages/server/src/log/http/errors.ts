// How the log's HTTP APIs report failures: Rekor's Error model ({code: HTTP status, message})
// plus our string code in `error`; client mistakes are 4xx that say what to do, and nothing
// about the server's internals leaks into a 5xx.

import type { FastifyError, FastifyInstance } from 'fastify';
import { ServiceError } from '../../errors.js';

export function errorBody(status: number, code: string, message: string) {
  return { code: status, error: code, message: `${message}` };
}

export function installErrorHandler(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: FastifyError | ServiceError, request, reply) => {
    if (err instanceof ServiceError) {
      if (err.status >= 500) request.log.error({ err }, 'service error');
      return reply.code(err.status).send(errorBody(err.status, err.code, err.message));
    }
    const fastifyCode = (err as FastifyError).code;
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(errorBody(413, 'REQUEST_TOO_LARGE', `the request body is larger than ${bodyLimit} bytes; send a digest-only entry (hashedrekord) or a smaller one`));
    }
    if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send(errorBody(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json'));
    }
    const status = (err as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send(errorBody(status, 'REQUEST_INVALID', `the request is malformed: ${err.message}`));
    }
    request.log.error({ err }, 'unexpected error');
    return reply.code(500).send(errorBody(500, 'INTERNAL_ERROR', 'the server failed to handle this request; it has been logged'));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(404, 'NOT_FOUND', `no such resource: ${request.method} ${request.url}`));
  });
}
