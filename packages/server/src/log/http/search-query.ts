// The body of Rekor v1's POST /api/v1/index/retrieve (openapi.yaml SearchIndex), read strictly:
// every field has its type and shape checked, and a wrong one is a 400 naming the field (never
// a search for the text of a number, or an empty answer to a malformed query).

import { badRequest } from '../../errors.js';

export interface SearchQuery {
  /** "sha256:<hex>" etc., lower case. */
  hash?: string;
  email?: string;
  subject?: string;
  publicKey?: { format: string; content: string };
  operator: 'and' | 'or';
}

const HASH_PATTERN = /^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$/;
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/;
const MAX_FIELD = 1024;
const MAX_KEY_CONTENT = 64 * 1024;

function wrong(field: string, expected: string): never {
  throw badRequest('PARAMETER_INVALID', `${field} must be ${expected}`);
}

function optionalString(doc: Record<string, unknown>, field: string, expected: string, max = MAX_FIELD): string | undefined {
  const value = doc[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') wrong(field, `${expected}, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  if (value.length === 0 || value.length > max) wrong(field, `${expected} of 1 to ${max} characters`);
  return value;
}

export function parseSearchQuery(body: unknown): SearchQuery {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('PARAMETER_INVALID', 'the search query must be a JSON object such as {"hash": "sha256:<hex>"} or {"email": "you@example.com"}');
  }
  const doc = body as Record<string, unknown>;
  const query: SearchQuery = { operator: 'or' };
  const hash = optionalString(doc, 'hash', 'a string "sha256:<hex>" (or bare hex SHA-256)');
  if (hash !== undefined) {
    const lower = hash.toLowerCase();
    const normalized = lower.includes(':') ? lower : `sha256:${lower}`;
    if (!HASH_PATTERN.test(normalized)) wrong('hash', '"sha256:<64 hex>", "sha384:<96 hex>", "sha512:<128 hex>" or a bare 64-hex SHA-256');
    query.hash = normalized;
  }
  const email = optionalString(doc, 'email', 'an email address string', 320);
  if (email !== undefined) {
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) wrong('email', 'an email address (local@domain)');
    query.email = email.toLowerCase();
  }
  const subject = optionalString(doc, 'subject', 'a string');
  if (subject !== undefined) query.subject = subject;
  const publicKey = doc['publicKey'];
  if (publicKey !== undefined && publicKey !== null) {
    if (typeof publicKey !== 'object' || Array.isArray(publicKey)) wrong('publicKey', 'an object {"format": "x509", "content": "<base64 key>"}');
    const key = publicKey as Record<string, unknown>;
    if (key['url'] !== undefined) wrong('publicKey.url', 'absent: send the key itself in publicKey.content');
    const format = key['format'] === undefined ? 'x509' : key['format'];
    if (typeof format !== 'string') wrong('publicKey.format', 'a string: one of x509, pgp, minisign, ssh');
    const content = key['content'];
    if (typeof content !== 'string' || content.length === 0) wrong('publicKey.content', 'the base64 key, a non-empty string');
    if (content.length > MAX_KEY_CONTENT || !BASE64.test(content)) wrong('publicKey.content', `standard base64 of at most ${MAX_KEY_CONTENT} characters`);
    query.publicKey = { format, content };
  }
  const operator = doc['operator'];
  if (operator !== undefined && operator !== null) {
    if (operator !== 'and' && operator !== 'or') wrong('operator', '"and" or "or"');
    query.operator = operator;
  }
  if (query.hash === undefined && query.email === undefined && query.subject === undefined && query.publicKey === undefined) {
    throw badRequest('PARAMETER_INVALID', 'search by at least one of hash, email, subject or publicKey');
  }
  return query;
}
