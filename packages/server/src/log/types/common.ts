// Shared pieces of the entry types: the canonical body (RFC 8785 JSON of {apiVersion, kind,
// spec}), index key collection, in-toto digests for the index, and DSSE signature matching
// (every envelope signature must be verified by one of the given keys, as Rekor requires).

import { createHash } from 'node:crypto';
import { canonicalize, preAuthEncoding } from '@sigstack/core';
import { ServiceError, badRequest } from '../../errors.js';
import type { PkiPublicKey } from '../pki/types.js';
import { X509PublicKey, looksLikeEmail } from '../pki/x509.js';
import { invalid, isObject } from './fields.js';
import type { CanonicalEntry, IndexKey } from './types.js';

export const SIGNATURE_INVALID = 'ENTRY_SIGNATURE_INVALID';
export const HASH_MISMATCH = 'ENTRY_HASH_MISMATCH';

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function signatureInvalid(message: string): ServiceError {
  return badRequest(SIGNATURE_INVALID, message);
}

/** The canonical entry: body = RFC 8785 JSON of {apiVersion, kind, spec}. */
export function canonicalEntry(kind: string, apiVersion: string, spec: unknown, keys: IndexKeys): CanonicalEntry {
  const body = Buffer.from(canonicalize({ apiVersion, kind, spec }), 'utf8');
  return { kind, apiVersion, body, indexKeys: keys.toArray() };
}

/** Collects an entry's search index keys, without duplicates, normalized as IndexKey documents. */
export class IndexKeys {
  private readonly keys: IndexKey[] = [];
  private readonly seen = new Set<string>();

  add(type: IndexKey['type'], value: string): this {
    if (!value) return this;
    const id = `${type}\u0000${value}`;
    if (!this.seen.has(id)) {
      this.seen.add(id);
      this.keys.push({ type, value });
    }
    return this;
  }

  /** An artifact hash: "<algorithm>:<hex>", lowercased. */
  hash(algorithm: string, hexValue: string): this {
    return this.add('hash', `${algorithm}:${hexValue}`.toLowerCase());
  }

  /** The key's fingerprint (hex SHA-256 of its canonical value) and the identities it is bound to. */
  verifier(key: PkiPublicKey): this {
    this.add('publicKey', sha256(key.canonicalValue()).toString('hex'));
    // x509 knows which names are email SANs; other formats' identities are classified by shape.
    const emails = key instanceof X509PublicKey ? new Set(key.emails()) : undefined;
    for (const subject of key.subjects()) {
      const lower = subject.toLowerCase();
      if (emails ? emails.has(lower) : looksLikeEmail(subject)) this.add('email', lower);
      else this.add('subject', subject);
    }
    return this;
  }

  toArray(): IndexKey[] {
    return this.keys.map((k) => ({ ...k }));
  }
}

/**
 * The digests an in-toto statement names, for the index (as Rekor extracts them, leniently):
 * every subject's digests and, for SLSA 0.2 provenance, the predicate's materials' digests.
 */
export function intotoDigests(payload: Uint8Array): { algorithm: string; value: string }[] {
  let statement: unknown;
  try {
    statement = JSON.parse(Buffer.from(payload).toString('utf8')) as unknown;
  } catch {
    return [];
  }
  if (!isObject(statement)) return [];
  const out: { algorithm: string; value: string }[] = [];
  const collect = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const item of list) {
      if (!isObject(item) || !isObject(item.digest)) continue;
      for (const [algorithm, value] of Object.entries(item.digest)) {
        if (typeof value === 'string' && value.length > 0 && algorithm.length > 0) out.push({ algorithm, value });
      }
    }
  };
  collect(statement.subject);
  if (isObject(statement.predicate)) collect(statement.predicate.materials);
  return out;
}

export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** An envelope signature to match: its bytes and the text the request carried it as. */
export interface EnvelopeSignature {
  sig: Buffer;
  /** How the signature is identified and stored in the canonical body (kind specific). */
  id: string;
}

/** Verifies `signature` over the PAE with `key`; how is up to the caller (hash choice). */
export type PaeVerifier<K> = (pae: Buffer, signature: Buffer, key: K) => Promise<boolean>;

/**
 * Matches envelope signatures with keys as Rekor's DSSE types do: every key (in order) must
 * verify at least one signature not yet matched (unless all are matched already, when
 * `stopWhenAllMatched`), and in the end every signature must be verified by some key. Returns
 * the key that verified each signature, by signature id.
 */
export async function matchEnvelopeSignatures<K>(
  payloadType: string,
  payload: Buffer,
  signatures: EnvelopeSignature[],
  keys: K[],
  verify: PaeVerifier<K>,
  options: { stopWhenAllMatched: boolean; keyName: (index: number) => string },
): Promise<Map<string, K>> {
  const pae = preAuthEncoding(payloadType, payload);
  const unmatched = new Map<string, EnvelopeSignature>();
  for (const s of signatures) unmatched.set(s.id, s);
  const matched = new Map<string, K>();
  for (let i = 0; i < keys.length; i++) {
    if (options.stopWhenAllMatched && unmatched.size === 0) break;
    const key = keys[i]!;
    let any = false;
    for (const s of signatures) {
      if (await verify(pae, s.sig, key)) {
        any = true;
        if (unmatched.delete(s.id)) matched.set(s.id, key);
      }
    }
    if (!any) throw signatureInvalid(`no envelope signature verifies over the DSSE PAE of the payload with ${options.keyName(i)}`);
  }
  if (unmatched.size > 0) {
    throw signatureInvalid(`${unmatched.size} of the envelope's ${signatures.length} signature(s) is not verified by any given key; every signature needs a key that verifies it`);
  }
  return matched;
}

/** A DSSE envelope as the JSON text inside a v1 proposed entry carries it. */
export interface ParsedEnvelope {
  payloadType: string;
  payload: Buffer;
  /** Signatures with their text as sent (the id) and decoded bytes. */
  signatures: EnvelopeSignature[];
}

/**
 * Parses a DSSE envelope given as JSON text (dsse 0.0.1 proposedContent.envelope, intoto 0.0.1
 * content.envelope) the way Rekor's Go DSSE library reads it: payload and signatures in base64
 * (standard or URL-safe), at least one signature. Throws ENTRY_INVALID naming `field`.
 */
export function parseEnvelopeText(text: string, field: string): ParsedEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw invalid(`${field} is not valid JSON (it must be the DSSE envelope as a JSON string)`);
  }
  if (!isObject(value)) throw invalid(`${field} must be a JSON object`);
  const payloadType = value.payloadType ?? '';
  if (typeof payloadType !== 'string') throw invalid(`${field}.payloadType must be a string`);
  const payload = decodeEnvelopeBase64(value.payload ?? '', `${field}.payload`, true);
  const list = value.signatures;
  if (!Array.isArray(list) || list.length === 0) throw invalid(`${field}.signatures must be a non-empty array (the envelope must be signed)`);
  const signatures = list.map((s, i): EnvelopeSignature => {
    if (!isObject(s)) throw invalid(`${field}.signatures[${i}] must be an object`);
    if (s.keyid !== undefined && s.keyid !== null && typeof s.keyid !== 'string') throw invalid(`${field}.signatures[${i}].keyid must be a string`);
    if (typeof s.sig !== 'string' || s.sig.length === 0) throw invalid(`${field}.signatures[${i}].sig must be a non-empty base64 string`);
    return { id: s.sig, sig: decodeEnvelopeBase64(s.sig, `${field}.signatures[${i}].sig`, false) };
  });
  return { payloadType, payload, signatures };
}

/** DSSE base64: standard, else URL-safe (padded or not), as go-securesystemslib's b64Decode. */
export function decodeEnvelopeBase64(value: unknown, field: string, allowEmpty: boolean): Buffer {
  if (typeof value !== 'string') throw invalid(`${field} must be a base64 string`);
  if (value.length === 0 && allowEmpty) return Buffer.alloc(0);
  const unpadded = value.replace(/=+$/, '');
  const std = /^[A-Za-z0-9+/]*$/.test(unpadded);
  const url = /^[A-Za-z0-9_-]*$/.test(unpadded);
  if ((!std && !url) || unpadded.length % 4 === 1 || (value.length !== unpadded.length && value.length % 4 !== 0)) {
    throw invalid(`${field} is not valid base64`);
  }
  const bytes = Buffer.from(unpadded, std ? 'base64' : 'base64url');
  if (bytes.length === 0 && !allowEmpty) throw invalid(`${field} must not be empty`);
  return bytes;
}
