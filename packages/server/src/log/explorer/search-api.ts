// The explorer's HTTP API on the log: GET /api/v1/explorer/search (one page of entries matching a
// query, newest first, with the count; pinned to a tree size so pages keep their order) and POST
// /api/v1/explorer/fingerprint (the search fingerprint of a pasted PEM / SSH / PGP / minisign key).

import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../../errors.js';
import type { TransparencyLog } from '../engine/log.js';
import type { EntryMatch, EntrySummary } from '../engine/storage.js';
import { pkiFormat, type PkiFormatName } from '../pki/index.js';
import { parseQuery, type ParsedQuery } from './query.js';
import type { SearchResponse } from './search-response.js';

export const PAGE_SIZE = 20;
/** Counts stop here ("more than 10,000 entries"): counting is bounded work like everything else. */
export const COUNT_LIMIT = 10_000;
/**
 * Patterns count (and sort) at most this many matches; past it their pages are read newest first
 * through the index by entry, so a pattern matching most of a million entries costs one page.
 */
export const PATTERN_COUNT_LIMIT = 1_000;
/** Deepest result reachable by paging; narrower searches (after:/before:) reach the rest. */
const MAX_OFFSET = 100_000;
const MAX_KEY_TEXT = 64 * 1024;

export type { SearchEntry, SearchResponse } from './search-response.js';

function positiveInteger(value: unknown, what: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value) || Number(value) < 1) throw badRequest('PARAMETER_INVALID', `${what} must be a positive integer`);
  return Number(value);
}

/** The index of the published entry with this UUID (leaf hash), without reading its body. */
async function indexOfUuid(log: TransparencyLog, uuid: string): Promise<number | undefined> {
  const index = (await log.storage.findLeafHashes([Buffer.from(uuid, 'hex')])).get(uuid);
  return index !== undefined && index < log.checkpoint.size ? index : undefined;
}

/** The stored match for a parsed term, or the one index it names (UUIDs and indexes). */
async function resolve(log: TransparencyLog, treeId: string, query: ParsedQuery): Promise<{ match: EntryMatch; only?: number } | 'none'> {
  const term = query.term;
  switch (term.type) {
    case 'all':
      return { match: { type: 'all' } };
    case 'index':
      return { match: { type: 'all' }, only: term.index };
    case 'uuid': {
      if (term.treeId !== undefined && term.treeId !== treeId) return 'none';
      const index = await indexOfUuid(log, term.uuid);
      return index !== undefined ? { match: { type: 'all' }, only: index } : 'none';
    }
    case 'hex': {
      const index = await indexOfUuid(log, term.hex);
      return index !== undefined ? { match: { type: 'all' }, only: index } : { match: { type: 'key', key: `hash:sha256:${term.hex}` } };
    }
    case 'digest':
      return { match: { type: 'key', key: `hash:${term.algorithm}:${term.hex}` } };
    case 'key':
      return { match: { type: 'key', key: `publicKey:${term.fingerprint}` } };
    case 'identity':
      return term.wildcard ? { match: { type: 'pattern', keyType: term.keyType, pattern: term.value } } : { match: { type: 'key', key: `${term.keyType}:${term.value}` } };
  }
}

function describe(treeId: string, entry: EntrySummary): SearchResponse['entries'][number] {
  const uuid = entry.leafHash.toString('hex');
  const values = (type: string) => entry.keys.filter((k) => k.startsWith(`${type}:`)).map((k) => k.slice(type.length + 1));
  return {
    index: entry.index,
    uuid,
    entryId: treeId + uuid,
    integratedTime: entry.integratedTime,
    kind: entry.kind,
    apiVersion: entry.apiVersion,
    identities: [...values('email'), ...values('subject')],
    digests: values('hash'),
    keyFingerprints: values('publicKey'),
  };
}

/** The key format a pasted key is in, by its first line. */
function detectFormat(text: string): PkiFormatName {
  const start = text.trimStart();
  if (start.startsWith('-----BEGIN PGP')) return 'pgp';
  if (start.startsWith('-----BEGIN')) return 'x509';
  if (/^(ssh-|ecdsa-sha2-|sk-)/.test(start)) return 'ssh';
  if (start.startsWith('untrusted comment:') || /^RW[A-Za-z0-9+/]{54}$/.test(start.trim())) return 'minisign';
  throw badRequest('PUBLIC_KEY_INVALID', 'this is not a public key the log knows: paste a PEM key or certificate, an OpenSSH public key line, an armored PGP public key, or a minisign public key');
}

export function registerExplorerApi(app: FastifyInstance, log: TransparencyLog, treeId: string): void {
  app.get('/api/v1/explorer/search', async (request, reply): Promise<SearchResponse> => {
    const params = request.query as { q?: unknown; page?: unknown; size?: unknown };
    const text = params.q === undefined ? '' : params.q;
    if (typeof text !== 'string') throw badRequest('QUERY_INVALID', 'give the search once, as q=');
    const parsed = parseQuery(text);
    if (!parsed.ok) throw badRequest('QUERY_INVALID', parsed.message);
    const page = positiveInteger(params.page, 'page', 1);
    const treeSize = Math.min(positiveInteger(params.size, 'size', log.checkpoint.size), log.checkpoint.size);
    const offset = (page - 1) * PAGE_SIZE;
    if (offset > MAX_OFFSET) throw badRequest('PAGE_TOO_DEEP', `pages past result ${MAX_OFFSET} are not served; narrow the search with after: / before:`);
    reply.header('cache-control', 'no-cache');
    const base = { query: text, treeSize, page, pageSize: PAGE_SIZE };
    const resolved = await resolve(log, treeId, parsed.query);
    if (resolved === 'none') return { ...base, count: 0, countIsLowerBound: false, entries: [] };
    const found = await log.storage.searchEntries({
      match: resolved.match,
      below: resolved.only === undefined ? treeSize : Math.min(treeSize, resolved.only + 1),
      ...(resolved.only !== undefined ? { fromIndex: resolved.only } : {}),
      ...(parsed.query.fromTime !== undefined ? { fromTime: parsed.query.fromTime } : {}),
      ...(parsed.query.toTime !== undefined ? { toTime: parsed.query.toTime } : {}),
      offset,
      limit: PAGE_SIZE,
      countLimit: resolved.match.type === 'pattern' ? PATTERN_COUNT_LIMIT : COUNT_LIMIT,
    });
    return { ...base, count: found.count, countIsLowerBound: found.countIsLowerBound, entries: found.entries.map((e) => describe(treeId, e)) };
  });

  app.post('/api/v1/explorer/fingerprint', { bodyLimit: MAX_KEY_TEXT }, async (request) => {
    const body = (request.body ?? {}) as { key?: unknown; format?: unknown };
    if (typeof body.key !== 'string' || body.key.trim() === '') throw badRequest('PUBLIC_KEY_INVALID', 'send {"key": "<the public key as text>"}');
    const format = body.format === undefined ? detectFormat(body.key) : pkiFormat(String(body.format)).name;
    const key = pkiFormat(format).parsePublicKey(Buffer.from(body.key, 'utf8'));
    return { format, fingerprint: createHash('sha256').update(key.canonicalValue()).digest('hex') };
  });
}
