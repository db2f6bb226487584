// in-toto attestation Statements (in-toto/attestation spec v1 and v0.1): strict parsing of the
// subject list and predicate type, and matching an artifact digest against the subjects.

import { CoreError } from './errors.js';

export const STATEMENT_TYPE_V1 = 'https://in-toto.io/Statement/v1';
export const STATEMENT_TYPE_V01 = 'https://in-toto.io/Statement/v0.1';
/** The DSSE payloadType that carries an in-toto statement. */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface StatementSubject {
  /** Optional in v1 ("leave unset or use _"); '' when absent. */
  name: string;
  /** Algorithm name → hex digest value, as written in the statement. */
  digest: Record<string, string>;
}

export interface Statement {
  type: string;
  subjects: StatementSubject[];
  predicateType: string;
  /** The predicate object; {} when absent ("unset is treated the same as set-but-empty"). */
  predicate: unknown;
}

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha384: 96, sha512: 128 };

function malformed(message: string): CoreError {
  return new CoreError('INTOTO_MALFORMED', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseSubject(value: unknown, i: number): StatementSubject {
  const where = `in-toto statement subject[${i}]`;
  if (!isObject(value)) throw malformed(`${where} must be an object`);
  if (value.name !== undefined && typeof value.name !== 'string') {
    throw malformed(`${where}.name must be a string`);
  }
  const digest = value.digest;
  if (!isObject(digest)) throw malformed(`${where}.digest must be an object of algorithm → hex digest`);
  const entries = Object.entries(digest);
  if (entries.length === 0) throw malformed(`${where}.digest is empty`);
  const out: Record<string, string> = {};
  for (const [alg, hex] of entries) {
    if (typeof hex !== 'string' || hex.length === 0) {
      throw malformed(`${where}.digest.${alg} must be a non-empty string`);
    }
    // defineProperty, so a key such as "__proto__" stays an ordinary entry.
    Object.defineProperty(out, alg, { value: hex, enumerable: true, writable: true, configurable: true });
  }
  return { name: (value.name as string | undefined) ?? '', digest: out };
}

/**
 * Parses an in-toto Statement from its JSON bytes (e.g. a DSSE payload). Accepts `_type`
 * https://in-toto.io/Statement/v1 and v0.1; unknown fields are ignored as the spec requires.
 * Throws INTOTO_MALFORMED for invalid UTF-8 or JSON, an unknown `_type`, a missing or empty
 * subject list, a subject without a digest object of strings, or a missing predicateType.
 */
export function parseStatement(payload: Uint8Array): Statement {
  if (!(payload instanceof Uint8Array)) throw malformed('in-toto statement must be given as bytes');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    throw malformed('in-toto statement is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed('in-toto statement is not valid JSON');
  }
  if (!isObject(value)) throw malformed('in-toto statement must be a JSON object');
  const type = value._type;
  if (type !== STATEMENT_TYPE_V1 && type !== STATEMENT_TYPE_V01) {
    throw malformed(
      `in-toto statement _type ${JSON.stringify(type)} is not ${STATEMENT_TYPE_V1} or ${STATEMENT_TYPE_V01}`,
    );
  }
  const subject = value.subject;
  if (!Array.isArray(subject)) throw malformed('in-toto statement has no subject array');
  if (subject.length === 0) throw malformed('in-toto statement subject list is empty');
  const subjects = subject.map(parseSubject);
  const predicateType = value.predicateType;
  if (typeof predicateType !== 'string' || predicateType.length === 0) {
    throw malformed('in-toto statement needs a non-empty predicateType string');
  }
  const predicate = value.predicate;
  if (predicate !== undefined && predicate !== null && !isObject(predicate)) {
    throw malformed('in-toto statement predicate must be a JSON object');
  }
  return { type, subjects, predicateType, predicate: predicate ?? {} };
}

/**
 * True when some subject lists `hexDigest` under `algorithm` (hex compared case-insensitively).
 * Throws DIGEST_INVALID when `hexDigest` is not a hex digest of the algorithm's length.
 */
export function statementHasSubjectDigest(
  statement: Statement,
  algorithm: DigestAlgorithm,
  hexDigest: string,
): boolean {
  const length = HEX_LENGTH[algorithm];
  if (length === undefined) {
    throw new CoreError('DIGEST_INVALID', `unsupported digest algorithm ${String(algorithm)}`);
  }
  if (typeof hexDigest !== 'string' || hexDigest.length !== length || !/^[0-9a-fA-F]*$/.test(hexDigest)) {
    throw new CoreError('DIGEST_INVALID', `${algorithm} digest must be ${length} hex characters`);
  }
  const wanted = hexDigest.toLowerCase();
  return statement.subjects.some((s) => {
    const value = Object.hasOwn(s.digest, algorithm) ? s.digest[algorithm] : undefined;
    return typeof value === 'string' && value.toLowerCase() === wanted;
  });
}
