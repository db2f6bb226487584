// How every service's HTTP API reports failures: Rekor's Error model ({code: HTTP status,
// message}) plus our string code in `error`. Client mistakes are 4xx that say what to do
// (request-side CoreErrors from bad base64/PEM/DER included); nothing internal leaks into a 5xx.

import type { FastifyError, FastifyInstance } from 'fastify';
import { CoreError } from '@sigstack/core';
import { ServiceError } from './errors.js';

export function errorBody(status: number, code: string, message: string) {
  return { code: status, error: code, message };
}

export interface ErrorHandlerOptions {
  bodyLimit: number;
  /** What to do about a body over the limit (follows "the request body is larger than N bytes; "). */
  tooLarge: string;
  /** What to send instead of an unsupported content type. */
  mediaTypes?: string;
  /** Told the code of every refused request (metrics). */
  onError?: (code: string) => void;
}

/** Installs the error handler on `app` or a plugin scope (and, with notFound, the 404 handler: root only). */
export function installErrorHandler(app: FastifyInstance, options: ErrorHandlerOptions & { notFound?: boolean }): void {
  app.setErrorHandler((raw: FastifyError | ServiceError | CoreError, request, reply) => {
    const err = raw instanceof CoreError ? new ServiceError(400, raw.code, raw.message, { cause: raw }) : raw;
    const send = (status: number, code: string, message: string) => {
      options.onError?.(code);
      return reply.code(status).send(errorBody(status, code, message));
    };
    if (err instanceof ServiceError) {
      if (err.status >= 500) request.log.error({ err }, 'service error');
      return send(err.status, err.code, err.message);
    }
    const fastifyCode = (err as FastifyError).code;
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return send(413, 'REQUEST_TOO_LARGE', `the request body is larger than ${options.bodyLimit} bytes; ${options.tooLarge}`);
    }
    if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return send(415, 'UNSUPPORTED_MEDIA_TYPE', `send the request body as ${options.mediaTypes ?? 'application/json'}`);
    }
    if (fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY') return send(400, 'REQUEST_INVALID', 'the request body is empty: send a JSON request');
    const status = (err as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return send(status, 'REQUEST_INVALID', `the request is malformed: ${err.message}`);
    request.log.error({ err }, 'unexpected error');
    return send(500, 'INTERNAL_ERROR', 'the server failed to handle this request; it has been logged');
  });
  if (options.notFound !== false) {
    app.setNotFoundHandler((request, reply) => {
      reply.code(404).send(errorBody(404, 'NOT_FOUND', `no such resource: ${request.method} ${request.url}`));
    });
  }
}
