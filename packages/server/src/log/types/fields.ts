// Reading proposed entries safely: typed field accessors that name the offending field in a
// ServiceError 400 ENTRY_INVALID, and the base64 / hex decoders Rekor's JSON uses.

import { ServiceError } from '../../errors.js';

export type Json = Record<string, unknown>;

export const ENTRY_INVALID = 'ENTRY_INVALID';

export function invalid(message: string): ServiceError {
  return new ServiceError(400, ENTRY_INVALID, message);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON object field (required). */
export function obj(value: unknown, field: string): Json {
  if (value === undefined) throw invalid(`${field} is missing`);
  if (!isObject(value)) throw invalid(`${field} must be an object, not ${describe(value)}`);
  return value;
}

export function optObj(value: unknown, field: string): Json | undefined {
  return value === undefined || value === null ? undefined : obj(value, field);
}

/** A non-empty string field (required). */
export function str(value: unknown, field: string): string {
  if (value === undefined || value === null) throw invalid(`${field} is missing`);
  if (typeof value !== 'string') throw invalid(`${field} must be a string, not ${describe(value)}`);
  if (value.length === 0) throw invalid(`${field} must not be empty`);
  return value;
}

export function optStr(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${field} must be a string, not ${describe(value)}`);
  return value;
}

/** A non-empty array field (required). */
export function arr(value: unknown, field: string, max?: number): unknown[] {
  if (value === undefined || value === null) throw invalid(`${field} is missing`);
  if (!Array.isArray(value)) throw invalid(`${field} must be an array, not ${describe(value)}`);
  if (value.length === 0) throw invalid(`${field} must not be empty`);
  if (max !== undefined && value.length > max) throw invalid(`${field} may hold at most ${max} items (got ${value.length})`);
  return value;
}

const STD_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Standard padded base64 as Go's encoding/base64 StdEncoding reads it (Rekor v1's
 * `format: byte` fields; CR and LF are ignored). Required and non-empty.
 */
export function b64(value: unknown, field: string): Buffer {
  const text = str(value, field).replace(/[\r\n]/g, '');
  if (!STD_B64.test(text)) throw invalid(`${field} is not valid base64 (standard alphabet, padded)`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0) throw invalid(`${field} must not be empty`);
  return bytes;
}

const ANY_B64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Base64 as protobuf JSON reads `bytes` (standard or URL-safe, padding optional). Required, non-empty. */
export function protoBytes(value: unknown, field: string): Buffer {
  const text = str(value, field);
  const unpadded = text.replace(/=+$/, '');
  if (!ANY_B64.test(text) || unpadded.length % 4 === 1 || (text.length !== unpadded.length && text.length % 4 !== 0)) {
    throw invalid(`${field} is not valid base64`);
  }
  const bytes = Buffer.from(unpadded.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length === 0) throw invalid(`${field} must not be empty`);
  return bytes;
}

export type HashName = 'sha256' | 'sha384' | 'sha512';
export const HASH_SIZE: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** A hash algorithm name among `allowed`. */
export function hashAlgorithm(value: unknown, field: string, allowed: readonly HashName[]): HashName {
  const name = str(value, field);
  if (!(allowed as readonly string[]).includes(name)) throw invalid(`${field} must be one of ${allowed.join(', ')} (got ${JSON.stringify(name)})`);
  return name as HashName;
}

/** A hex digest of the algorithm's length (either case, as Go's hex decoder accepts). */
export function hexDigest(value: unknown, field: string, hash: HashName): Buffer {
  const text = str(value, field);
  const length = HASH_SIZE[hash] * 2;
  if (text.length !== length || !/^[0-9a-fA-F]*$/.test(text)) throw invalid(`${field} must be a ${hash} digest: ${length} hex characters`);
  return Buffer.from(text, 'hex');
}

/** Parses JSON text or bytes into a value; a value already parsed is returned as is. */
export function parseJsonInput(input: unknown, what: string): unknown {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw invalid(`${what} is not valid JSON`);
    }
  }
  return input;
}

/**
 * The spec of a Rekor v1 proposed entry ({kind, apiVersion, spec}), after checking that the
 * entry is of this kind and version.
 */
export function v1Spec(proposed: unknown, kind: string, apiVersion: string): Json {
  const entry = obj(proposed, 'the proposed entry');
  const k = str(entry.kind, 'kind');
  const v = str(entry.apiVersion, 'apiVersion');
  if (k !== kind || v !== apiVersion) throw invalid(`this is a ${k} ${v} entry, not ${kind} ${apiVersion}`);
  return obj(entry.spec, 'spec');
}
