// Rekor's v1 API (sigstore/rekor openapi.yaml) on the shared log engine: create and fetch
// entries (with signed entry timestamps and inclusion proofs), log info, consistency proofs,
// the public key, and the search index.

import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pemEncode } from '@sigstack/core';
import { ServiceError, badRequest } from '../../errors.js';
import type { TransparencyLog } from '../engine/log.js';
import type { StoredEntry } from '../engine/storage.js';
import { pkiFormat } from '../pki/index.js';
import type { AdmissionPool } from '../admission/pool.js';
import type { LogMetrics } from './metrics.js';
import { entryId, entryTextScope, rekorV1Entry } from './responses.js';
import { parseSearchQuery } from './search-query.js';
import { errorBody } from '../../http-errors.js';

const MAX_RETRIEVE = 10;

function parseIndex(value: unknown, what: string): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text)) throw badRequest('PARAMETER_INVALID', `${what} must be a non-negative integer`);
  return Number(text);
}

export function registerRekorV1Routes(app: FastifyInstance, log: TransparencyLog, treeId: string, metrics: LogMetrics, admission: AdmissionPool): void {
  const signTimestamp = (entry: StoredEntry) => admission.signEntryTimestamp(entry);
  /** An entry by its 64-hex UUID or 80-hex entry ID (tree ID + UUID). */
  async function entryByUuid(id: string): Promise<StoredEntry | undefined> {
    const text = id.toLowerCase();
    if (!/^([0-9a-f]{16})?[0-9a-f]{64}$/.test(text)) throw badRequest('ENTRY_UUID_INVALID', `"${id}" is not an entry UUID (64 hex) or entry ID (80 hex)`);
    if (text.length === 80 && text.slice(0, 16) !== treeId) return undefined;
    return log.entryByLeafHash(Buffer.from(text.slice(-64), 'hex'));
  }

  // The proposed entry reaches an admission worker as the request's text (see entryTextScope).
  app.register(async (scope) => {
    entryTextScope(scope);
    scope.post('/api/v1/log/entries', async (request, reply) => {
      const started = performance.now();
      const entry = await admission.admit('v1', request.body as string);
      const result = await log.append(entry);
      const id = entryId(treeId, result);
      const location = `/api/v1/log/entries/${id}`;
      metrics.observeAppend(result.duplicate ? 'duplicate' : 'created', performance.now() - started);
      if (result.duplicate) {
        return reply.code(409).header('location', location).send(errorBody(409, 'ENTRY_EXISTS', `an equivalent entry already exists in the transparency log with UUID ${id}; fetch it from ${location}`));
      }
      const stored: StoredEntry = { index: result.index, leafHash: result.leafHash, body: entry.body, integratedTime: result.integratedTime, kind: entry.kind, apiVersion: entry.apiVersion };
      return reply.code(201).header('etag', id).header('location', location).send(await rekorV1Entry(log, treeId, stored, signTimestamp));
    });
  });

  app.get('/api/v1/log/entries/:entryUUID', async (request, reply) => {
    const { entryUUID } = request.params as { entryUUID: string };
    const entry = await entryByUuid(entryUUID);
    if (!entry) return reply.code(404).send(errorBody(404, 'ENTRY_NOT_FOUND', `no entry with UUID ${entryUUID} in this log`));
    return rekorV1Entry(log, treeId, entry, signTimestamp);
  });

  app.get('/api/v1/log/entries', async (request, reply) => {
    const { logIndex } = request.query as { logIndex?: string };
    const index = parseIndex(logIndex, 'logIndex');
    const [entry] = await log.entries(index, 1);
    if (!entry) return reply.code(404).send(errorBody(404, 'ENTRY_NOT_FOUND', `no entry at index ${index}; the log has ${log.checkpoint.size} entries`));
    return rekorV1Entry(log, treeId, entry, signTimestamp);
  });

  app.post('/api/v1/log/entries/retrieve', async (request) => {
    const body = (request.body ?? {}) as { entryUUIDs?: unknown; logIndexes?: unknown; entries?: unknown };
    const uuids = body.entryUUIDs === undefined ? [] : body.entryUUIDs;
    const indexes = body.logIndexes === undefined ? [] : body.logIndexes;
    const proposed = body.entries === undefined ? [] : body.entries;
    if (!Array.isArray(uuids) || !Array.isArray(indexes) || !Array.isArray(proposed)) {
      throw badRequest('REQUEST_INVALID', 'entryUUIDs, logIndexes and entries must be arrays');
    }
    if (uuids.length + indexes.length + proposed.length > MAX_RETRIEVE) {
      throw badRequest('REQUEST_TOO_MANY', `ask for at most ${MAX_RETRIEVE} entries per request`);
    }
    const found: StoredEntry[] = [];
    for (const uuid of uuids) {
      const entry = await entryByUuid(String(uuid));
      if (entry) found.push(entry);
    }
    for (const value of indexes) {
      const [entry] = await log.entries(parseIndex(value, 'logIndexes[]'), 1);
      if (entry) found.push(entry);
    }
    for (const candidate of proposed) {
      const canonical = await admission.admit('v1', candidate);
      const entry = await log.entryByLeafHash(leafHashOf(canonical.body));
      if (entry) found.push(entry);
    }
    const checkpoint = log.checkpoint;
    return Promise.all(found.map((e) => rekorV1Entry(log, treeId, e, signTimestamp, checkpoint)));
  });

  app.get('/api/v1/log', async () => {
    const cp = log.checkpoint;
    return { rootHash: cp.rootHash.toString('hex'), treeSize: cp.size, signedTreeHead: cp.note, treeID: BigInt(`0x${treeId}`).toString(), inactiveShards: [] };
  });

  app.get('/api/v1/log/publicKey', async (_request, reply) => {
    return reply.header('content-type', 'application/x-pem-file').send(pemEncode('PUBLIC KEY', log.signer.spki));
  });

  app.get('/api/v1/log/proof', async (request) => {
    const query = request.query as { firstSize?: string; lastSize?: string; treeID?: string };
    const first = query.firstSize === undefined ? 1 : parseIndex(query.firstSize, 'firstSize');
    const size = log.checkpoint.size;
    const last = parseIndex(query.lastSize, 'lastSize');
    if (first > last) throw badRequest('PARAMETER_INVALID', `firstSize (${first}) must not exceed lastSize (${last})`);
    if (last > size) throw badRequest('PARAMETER_INVALID', `lastSize (${last}) exceeds the current tree size (${size})`);
    const hashes = await log.consistencyProof(first, last);
    return { rootHash: (await log.rootAt(last)).toString('hex'), hashes: hashes.map((h) => h.toString('hex')) };
  });

  app.post('/api/v1/index/retrieve', async (request) => {
    const query = parseSearchQuery(request.body);
    const keys: string[] = [];
    if (query.hash !== undefined) keys.push(`hash:${query.hash}`);
    if (query.email !== undefined) keys.push(`email:${query.email}`);
    if (query.subject !== undefined) keys.push(`subject:${query.subject}`);
    if (query.publicKey !== undefined) keys.push(`publicKey:${publicKeyIndexValue(query.publicKey)}`);
    const operator = query.operator;
    const sets = await Promise.all(keys.map((k) => log.search(k)));
    let indexes: number[];
    if (operator === 'and') {
      indexes = (sets[0] ?? []).filter((i) => sets.every((s) => s.includes(i)));
    } else {
      indexes = [...new Set(sets.flat())].sort((a, b) => a - b);
    }
    const ids: string[] = [];
    for (const index of indexes) {
      const [entry] = await log.entries(index, 1);
      if (entry) ids.push(entryId(treeId, entry));
    }
    return ids;
  });
}

function leafHashOf(body: Buffer): Buffer {
  return createHash('sha256').update(Buffer.from([0])).update(body).digest();
}

/** The index value for a searched public key: hex SHA-256 of its canonical encoding. */
function publicKeyIndexValue(key: { format: string; content: string }): string {
  const parsed = pkiFormat(key.format).parsePublicKey(Buffer.from(key.content, 'base64'));
  return createHash('sha256').update(parsed.canonicalValue()).digest('hex');
}
