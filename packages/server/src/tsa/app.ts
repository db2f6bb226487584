// The TSA's HTTP API as sigstore/timestamp-authority's openapi.yaml has it: POST /api/v1/timestamp
// (DER application/timestamp-query or the JSON form in, DER application/timestamp-reply out) and
// GET /api/v1/timestamp/certchain (PEM, TSA certificate first). Bodies are bounded (413); a
// request the TSA refuses is a 400 (DER: the TimeStampResp rejection; JSON: a JSON error).

import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ServiceError } from '../errors.js';
import { errorBody, installErrorHandler } from '../http-errors.js';
import type { TimestampAuthority } from './authority.js';
import { parseTimestampQueryDer, parseTimestampQueryJson } from './request.js';

export const TIMESTAMP_QUERY_TYPE = 'application/timestamp-query';
export const TIMESTAMP_REPLY_TYPE = 'application/timestamp-reply';
export const PEM_CHAIN_TYPE = 'application/pem-certificate-chain';
/** Default request body limit: a TimeStampReq is a few hundred bytes. */
export const DEFAULT_TSA_BODY_LIMIT = 16 * 1024;

export interface TsaRoutesOptions {
  authority: TimestampAuthority;
  /** Largest request body accepted, in bytes (default 16 KiB); larger ones get 413. */
  bodyLimit?: number;
}

export interface TsaAppOptions extends TsaRoutesOptions {
  logger?: FastifyServerOptions['logger'];
}

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}


/**
 * Registers the TSA routes and their body handling on `scope`. Call it inside its own plugin
 * (app.register) when the server hosts other services: it replaces the scope's body parsers.
 */
export function registerTsaRoutes(scope: FastifyInstance, options: TsaRoutesOptions): void {
  const { authority } = options;
  const bodyLimit = options.bodyLimit ?? DEFAULT_TSA_BODY_LIMIT;
  installErrorHandler(scope, {
    bodyLimit,
    tooLarge: 'a timestamp request carries only a digest',
    mediaTypes: `${TIMESTAMP_QUERY_TYPE} (DER TimeStampReq) or application/json`,
    notFound: false,
  });
  // Every body arrives as bytes; the route picks the parser by media type (the JSON form is read
  // from its text so that a large nonce keeps all its digits).
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));

  scope.post('/api/v1/timestamp', { bodyLimit }, async (request, reply) => {
    const type = mediaType(request.headers['content-type']);
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let query;
    if (type === TIMESTAMP_QUERY_TYPE) query = parseTimestampQueryDer(body);
    else if (type === 'application/json') query = parseTimestampQueryJson(body);
    else {
      throw new ServiceError(415, 'UNSUPPORTED_MEDIA_TYPE', `cannot read a ${type === '' ? 'request without Content-Type' : `${type} request`}: send a DER TimeStampReq as ${TIMESTAMP_QUERY_TYPE}, or the JSON form as application/json`);
    }
    const result = await authority.respond(query);
    if (result.status === 'rejection') {
      // A refused request is a 400, as sigstore's timestamp-authority answers; a DER client still
      // gets the RFC 3161 TimeStampResp with the rejection status and failInfo (openssl reads it).
      request.log.info({ failure: result.failure, reason: result.message }, 'timestamp request rejected');
      if (query.form === 'json') {
        return reply.code(400).send({ ...errorBody(400, 'TIMESTAMP_REJECTED', result.message), failure: result.failure });
      }
      return reply.code(400).header('content-type', TIMESTAMP_REPLY_TYPE).header('cache-control', 'no-store').send(result.der);
    }
    return reply.code(200).header('content-type', TIMESTAMP_REPLY_TYPE).header('cache-control', 'no-store').send(result.der);
  });

  scope.get('/api/v1/timestamp/certchain', async (_request, reply) => {
    return reply.code(200).header('content-type', PEM_CHAIN_TYPE).send(authority.chain.chainPem);
  });
}

/** A Fastify app serving only the TSA. */
export function buildTsaApp(options: TsaAppOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? DEFAULT_TSA_BODY_LIMIT;
  const app = Fastify({ bodyLimit, logger: options.logger ?? false, return503OnClosing: true });
  app.register(async (scope) => registerTsaRoutes(scope, { authority: options.authority, bodyLimit }));
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(404, 'NOT_FOUND', `no such resource: ${request.method} ${request.url}`));
  });
  return app;
}
