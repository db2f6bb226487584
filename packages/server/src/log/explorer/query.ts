// The explorer's search language, one parser for the log's search API and the browser page (so
// the page marks bad input without asking the log). Pure: no Node.js or DOM imports.
//
// A query is at most one term and any of the time filters `after:WHEN` and `before:WHEN` (WHEN:
// YYYY-MM-DD, an ISO 8601 time, or Unix seconds; `after` is inclusive, `before` exclusive). Terms:
//   (none)                       every entry
//   123                          the entry at log index 123
//   <64 hex>                     the entry with that UUID, else artifacts with that SHA-256
//   <80 hex>                     an entry ID: tree ID (16 hex) + UUID
//   sha256:<hex> sha384:… sha512:…   artifacts (and in-toto subjects) with that digest
//   key:<64 hex>                 entries signed with the key of that fingerprint (SHA-256 of the
//                                key as the log stores it; the page computes it from a pasted key)
//   a@b.example, *@b.example     email SANs (case-insensitive)
//   https://github.com/o/*       any other SAN (URIs of CI workloads...), case-sensitive
// `*` matches any text; a pattern needs literal text (3 characters or more) at its start or end.

export type QueryTerm =
  | { type: 'all' }
  | { type: 'index'; index: number }
  | { type: 'uuid'; uuid: string; treeId?: string }
  /** 64 hex: an entry UUID or a SHA-256 digest. */
  | { type: 'hex'; hex: string }
  | { type: 'digest'; algorithm: 'sha256' | 'sha384' | 'sha512'; hex: string }
  | { type: 'key'; fingerprint: string }
  | { type: 'identity'; keyType: 'email' | 'subject'; value: string; wildcard: boolean };

export interface ParsedQuery {
  term: QueryTerm;
  /** Seconds since the epoch, inclusive. */
  fromTime?: number;
  toTime?: number;
}

export type QueryResult = { ok: true; query: ParsedQuery } | { ok: false; message: string };

/** Longest query accepted (the longest SAN a certificate carries in practice is far shorter). */
export const MAX_QUERY_LENGTH = 1024;

const DIGEST_LENGTHS = { sha256: 64, sha384: 96, sha512: 128 } as const;

function fail(message: string): QueryResult {
  return { ok: false, message };
}

/** Parses WHEN: YYYY-MM-DD (UTC midnight), an ISO 8601 time, or Unix seconds. */
export function parseTime(text: string): number | undefined {
  if (/^\d{1,12}$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const ms = Date.parse(`${text}T00:00:00Z`);
    return Number.isNaN(ms) ? undefined : ms / 1000;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
  }
  return undefined;
}

function looksLikeEmail(value: string): boolean {
  return value.includes('@') && !value.includes('://');
}

function identityTerm(value: string): QueryResult | QueryTerm {
  if (/[\u0000-\u001f\u007f]/.test(value)) return fail('the search has a control character');
  const wildcard = value.includes('*');
  if (wildcard) {
    const prefix = value.slice(0, value.indexOf('*'));
    const suffix = value.slice(value.lastIndexOf('*') + 1);
    if (Math.max(prefix.length, suffix.length) < 3) {
      return fail('a * pattern needs at least 3 literal characters at its start or its end (e.g. https://github.com/org/* or *@example.com)');
    }
  }
  const email = looksLikeEmail(value);
  return { type: 'identity', keyType: email ? 'email' : 'subject', value: email ? value.toLowerCase() : value, wildcard };
}

function termOf(text: string): QueryResult | QueryTerm {
  const lower = text.toLowerCase();
  if (/^\d+$/.test(text)) {
    const index = Number(text);
    if (!Number.isSafeInteger(index)) return fail(`${text} is too large for a log index`);
    return { type: 'index', index };
  }
  if (/^[0-9a-f]{64}$/.test(lower)) return { type: 'hex', hex: lower };
  if (/^[0-9a-f]{80}$/.test(lower)) return { type: 'uuid', uuid: lower.slice(16), treeId: lower.slice(0, 16) };
  const digest = /^(sha256|sha384|sha512):(.*)$/.exec(lower);
  if (digest) {
    const algorithm = digest[1] as keyof typeof DIGEST_LENGTHS;
    const hex = digest[2] as string;
    if (hex.length !== DIGEST_LENGTHS[algorithm] || !/^[0-9a-f]*$/.test(hex)) return fail(`a ${algorithm} digest is ${DIGEST_LENGTHS[algorithm]} hex characters after "${algorithm}:"`);
    return { type: 'digest', algorithm, hex };
  }
  if (lower.startsWith('key:')) {
    const fingerprint = lower.slice(4);
    if (!/^[0-9a-f]{64}$/.test(fingerprint)) return fail('a key fingerprint is 64 hex characters after "key:" (paste or upload the key itself to have it computed)');
    return { type: 'key', fingerprint };
  }
  if (/^[0-9a-f]+$/i.test(text) && text.length >= 32) return fail(`${text.length} hex characters is neither an entry UUID (64), an entry ID (80) nor a SHA-256 digest (64)`);
  return identityTerm(text);
}

/** Parses a search; `{ok: false, message}` says what is wrong with it. */
export function parseQuery(input: string): QueryResult {
  if (typeof input !== 'string') return fail('the search must be text');
  if (input.length > MAX_QUERY_LENGTH) return fail(`the search is longer than ${MAX_QUERY_LENGTH} characters`);
  const query: ParsedQuery = { term: { type: 'all' } };
  let term: string | undefined;
  for (const token of input.trim().split(/\s+/).filter(Boolean)) {
    const filter = /^(after|before):(.*)$/i.exec(token);
    if (filter) {
      const when = parseTime(filter[2] as string);
      if (when === undefined) return fail(`${filter[1]}: takes a date (YYYY-MM-DD), an ISO 8601 time (2026-01-02T15:04:05Z) or Unix seconds, not "${filter[2]}"`);
      if (filter[1]!.toLowerCase() === 'after') query.fromTime = when;
      else query.toTime = when - 1;
      continue;
    }
    if (term !== undefined) return fail('search for one thing at a time (plus after:/before: filters)');
    term = token;
  }
  if (query.fromTime !== undefined && query.toTime !== undefined && query.fromTime > query.toTime) return fail('after: must be earlier than before:');
  if (term !== undefined) {
    const parsed = termOf(term);
    if ('ok' in parsed) return parsed;
    query.term = parsed;
  }
  return { ok: true, query };
}
