// How the CA's HTTP API reports failures: the services' error body ({code: HTTP status, error:
// our string code, message}); a 400 says which check failed and what to do, never a secret, and
// nothing about the server's internals leaks into a 5xx.

import type { FastifyError, FastifyInstance } from 'fastify';
import { CoreError } from '@sigstack/core';
import { ServiceError } from '../../errors.js';

export function errorBody(status: number, code: string, message: string) {
  return { code: status, error: code, message };
}

/** A request-side CoreError (bad base64, PEM, DER) as the 400 it is. */
export function toServiceError(err: unknown): unknown {
  if (err instanceof CoreError) return new ServiceError(400, err.code, err.message, { cause: err });
  return err;
}

export function installCaErrorHandler(app: FastifyInstance, bodyLimit: number, onError?: (code: string) => void): void {
  app.setErrorHandler((raw: FastifyError | ServiceError, request, reply) => {
    const err = toServiceError(raw) as FastifyError | ServiceError;
    const send = (status: number, code: string, message: string) => {
      onError?.(code);
      return reply.code(status).send(errorBody(status, code, message));
    };
    if (err instanceof ServiceError) {
      if (err.status >= 500) request.log.error({ err }, 'service error');
      return send(err.status, err.code, err.message);
    }
    const fastifyCode = (err as FastifyError).code;
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return send(413, 'REQUEST_TOO_LARGE', `the request body is larger than ${bodyLimit} bytes; a signing certificate request (token, public key, proof of possession or CSR) is a few kilobytes`);
    }
    if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return send(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json');
    if (fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY') return send(400, 'REQUEST_INVALID', 'the request body is empty: send a JSON CreateSigningCertificateRequest');
    const status = (err as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return send(status, 'REQUEST_INVALID', `the request is malformed: ${err.message}`);
    request.log.error({ err }, 'unexpected error');
    return send(500, 'INTERNAL_ERROR', 'the server failed to handle this request; it has been logged');
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(404, 'NOT_FOUND', `no such resource: ${request.method} ${request.url}`));
  });
}
