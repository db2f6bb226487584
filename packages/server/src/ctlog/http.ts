// The CT log's HTTP API (RFC 6962 §4) under a prefix (default /ct/v1): add-chain, add-pre-chain,
// get-sth, get-sth-consistency, get-proof-by-hash, get-entries, get-roots; bounded bodies, and
// 4xx answers with a JSON body ({code, error, message}) that says what was wrong.

import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ServiceError } from '../errors.js';
import { installErrorHandler } from '../http-errors.js';
import type { CtLog } from './ct-log.js';
import { MAX_CHAIN_LENGTH } from './chain.js';
import { decodeBase64, sctToJson } from './sct-json.js';

export const DEFAULT_CT_PREFIX = '/ct/v1';

export interface CtAppOptions {
  ctLog: CtLog;
  /** Where the RFC 6962 paths live (default /ct/v1). */
  prefix?: string;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  logRequests?: boolean;
}

function bad(code: string, message: string): ServiceError {
  return new ServiceError(400, code, message);
}

/** A non-negative integer query parameter. */
function intParam(query: unknown, name: string): number {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) throw bad('PARAMETER_INVALID', `query parameter "${name}" must be a non-negative integer`);
  return Number(value);
}

/** The submitted chain of add-chain / add-pre-chain: {"chain": [base64 DER, …]}. */
function chainOf(body: unknown): Buffer[] {
  const chain = (body as { chain?: unknown } | null | undefined)?.chain;
  if (!body || typeof body !== 'object' || !Array.isArray(chain)) {
    throw bad('CHAIN_MISSING', 'the body must be a JSON object {"chain": [base64 DER certificates, leaf first]}');
  }
  if (chain.length === 0) throw bad('CHAIN_EMPTY', 'the chain is empty: send the leaf certificate first, then its issuers');
  if (chain.length > MAX_CHAIN_LENGTH) throw bad('CHAIN_TOO_LONG', `the chain has ${chain.length} certificates; at most ${MAX_CHAIN_LENGTH} are accepted`);
  return chain.map((item, i) => decodeBase64(item, `chain[${i}]`));
}

export function registerCtRoutes(app: FastifyInstance, ct: CtLog, prefix = DEFAULT_CT_PREFIX): void {
  const at = (path: string) => `${prefix.replace(/\/+$/, '')}/${path}`;

  app.post(at('add-chain'), async (request) => sctToJson(await ct.addChain(chainOf(request.body))));
  app.post(at('add-pre-chain'), async (request) => sctToJson(await ct.addPreChain(chainOf(request.body))));

  app.get(at('get-sth'), async () => {
    const sth = await ct.getSth();
    return {
      tree_size: sth.treeSize,
      timestamp: Number(sth.timestamp),
      sha256_root_hash: sth.rootHash.toString('base64'),
      tree_head_signature: sth.signature.toString('base64'),
    };
  });

  app.get(at('get-sth-consistency'), async (request) => {
    const proof = await ct.consistency(intParam(request.query, 'first'), intParam(request.query, 'second'));
    return { consistency: proof.map((h) => h.toString('base64')) };
  });

  app.get(at('get-proof-by-hash'), async (request) => {
    const raw = (request.query as Record<string, unknown>).hash;
    // A '+' left unescaped in the query arrives as a space.
    const hash = decodeBase64(typeof raw === 'string' ? raw.replaceAll(' ', '+') : raw, 'query parameter "hash"');
    const { leafIndex, auditPath } = await ct.proofByHash(hash, intParam(request.query, 'tree_size'));
    return { leaf_index: leafIndex, audit_path: auditPath.map((h) => h.toString('base64')) };
  });

  app.get(at('get-entries'), async (request) => {
    const entries = await ct.entries(intParam(request.query, 'start'), intParam(request.query, 'end'));
    return { entries: entries.map((e) => ({ leaf_input: e.leafInput.toString('base64'), extra_data: e.extraData.toString('base64') })) };
  });

  app.get(at('get-roots'), async () => ({ certificates: ct.roots.map((r) => r.der.toString('base64')) }));
}


/** A Fastify app serving one CT log. */
export function buildCtApp(options: CtAppOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const app = Fastify({
    bodyLimit,
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: !options.logRequests }),
    return503OnClosing: true,
  });
  installErrorHandler(app, { bodyLimit, tooLarge: 'a certificate chain is far smaller' });
  registerCtRoutes(app, options.ctLog, options.prefix ?? DEFAULT_CT_PREFIX);
  app.get('/healthz', async () => ({ status: 'ok', treeSize: options.ctLog.log.checkpoint.size }));
  return app;
}
