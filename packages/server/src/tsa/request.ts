// Timestamp requests in both forms sigstore's TSA takes: an RFC 3161 TimeStampReq (DER,
// application/timestamp-query) parsed with @peculiar/asn1-tsp, and the JSON form {artifactHash,
// hashAlgorithm, nonce?, certificates?, tsaPolicyOID?}. Unreadable input is a 400 ServiceError.

import * as asn1js from 'asn1js';
import { AsnParser, OctetString } from '@peculiar/asn1-schema';
import { MessageImprint, TimeStampReq } from '@peculiar/asn1-tsp';
import { base64Decode } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { HASH_OIDS, OID_SHA1, hashAlgorithmIdentifier, hashByOid, integerBytes, type TimestampHash } from './asn1.js';

/** A request, read but not yet judged (the TSA decides whether to grant it). */
export interface TimestampQuery {
  form: 'der' | 'json';
  version: number;
  /** The message imprint to echo in the TSTInfo, as received; absent when the JSON form names an unknown hash. */
  messageImprint?: MessageImprint;
  /** OID of the imprint's hash algorithm (DER form, or a known JSON name). */
  hashAlgorithmOid?: string;
  /** What the client asked for, for messages ("sha256", "1.3.14.3.2.26", "md5"). */
  hashAlgorithmName: string;
  /** The hash's parameters are absent or NULL, as RFC 5754 allows. */
  hashParametersOk: boolean;
  hashedMessage: Buffer;
  /** The nonce INTEGER's content octets, echoed as they are. */
  nonce?: Buffer;
  certReq: boolean;
  /** reqPolicy / tsaPolicyOID, dotted. */
  policy?: string;
  /** How many request extensions were sent (none are supported). */
  extensionCount: number;
}

/** The largest nonce accepted, in bytes (RFC 3161 asks for large random numbers; 64 bits is usual). */
export const MAX_NONCE_BYTES = 64;

function invalid(message: string, cause?: unknown): ServiceError {
  return new ServiceError(400, 'TIMESTAMP_REQUEST_INVALID', message, cause === undefined ? undefined : { cause });
}

/** Parses a DER TimeStampReq (RFC 3161 §2.4.1). */
export function parseTimestampQueryDer(body: Uint8Array): TimestampQuery {
  if (body.length === 0) throw invalid('the request body is empty: send a DER TimeStampReq (openssl ts -query … -out query.tsq)');
  const bytes = new Uint8Array(body);
  let decoded: asn1js.FromBerResult;
  try {
    decoded = asn1js.fromBER(bytes);
  } catch (err) {
    // asn1js throws on some malformed values (e.g. a UniversalString of odd length).
    throw invalid(`the request is not a DER TimeStampReq: ${(err as Error).message}`, err);
  }
  if (decoded.offset === -1 || decoded.result.error) {
    throw invalid(`the request is not a DER TimeStampReq: ${decoded.result.error || 'unreadable ASN.1'}`);
  }
  if (decoded.offset !== bytes.length) throw invalid(`the request has ${bytes.length - decoded.offset} bytes after the TimeStampReq: send exactly one DER TimeStampReq`);
  let req: TimeStampReq;
  try {
    req = AsnParser.fromASN(decoded.result, TimeStampReq);
  } catch (err) {
    throw invalid(`the request is not a TimeStampReq (RFC 3161 §2.4.1): ${(err as Error).message}`, err);
  }
  const hashAlgorithm = req.messageImprint.hashAlgorithm;
  const params = hashAlgorithm.parameters;
  const hashParametersOk = params === undefined || params === null || (params.byteLength === 2 && new Uint8Array(params)[0] === 0x05);
  const name = hashByOid(hashAlgorithm.algorithm) ?? hashAlgorithm.algorithm;
  const query: TimestampQuery = {
    form: 'der',
    version: req.version,
    messageImprint: req.messageImprint,
    hashAlgorithmOid: hashAlgorithm.algorithm,
    hashAlgorithmName: hashAlgorithm.algorithm === OID_SHA1 ? 'SHA-1' : name,
    hashParametersOk,
    hashedMessage: Buffer.from(req.messageImprint.hashedMessage.buffer),
    certReq: req.certReq === true,
    extensionCount: req.extensions?.length ?? 0,
  };
  if (req.nonce !== undefined) {
    const nonce = Buffer.from(req.nonce);
    if (nonce.length === 0) throw invalid('the request\'s nonce is an empty INTEGER');
    query.nonce = nonce;
  }
  if (req.reqPolicy !== undefined) query.policy = req.reqPolicy;
  return query;
}

const OID_PATTERN = /^[0-2](\.(0|[1-9][0-9]{0,18})){1,127}$/;

/** Reads the JSON nonce: a JSON integer (any size, read from the text so no precision is lost) or a decimal string. */
function jsonNonce(value: unknown, text: string): Buffer {
  let digits: string;
  if (typeof value === 'string') {
    digits = value.trim();
  } else if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) {
      digits = String(value);
    } else {
      // JSON.parse rounded it: take the literal from the text (only one "nonce" member may exist).
      const literals = [...text.matchAll(/"nonce"\s*:\s*(-?[0-9][0-9.eE+-]*)/g)];
      if (literals.length !== 1) throw invalid('"nonce" appears more than once: send one nonce');
      digits = literals[0]?.[1] ?? '';
    }
  } else {
    throw invalid('"nonce" must be a non-negative integer (a JSON number or a decimal string)');
  }
  if (!/^[0-9]{1,200}$/.test(digits)) throw invalid('"nonce" must be a non-negative whole number in decimal digits (no sign, fraction or exponent)');
  return integerBytes(BigInt(digits));
}

/**
 * Parses the JSON form sigstore/timestamp-authority accepts (pkg/api JSONRequest): artifactHash
 * (base64 digest), hashAlgorithm (sha256 | sha384 | sha512, any case), nonce, certificates,
 * tsaPolicyOID. An unknown hashAlgorithm is left for the TSA to reject (badAlg).
 */
export function parseTimestampQueryJson(body: Uint8Array | string): TimestampQuery {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(`the request is not valid JSON: ${(err as Error).message}`, err);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid('send a JSON object: {"artifactHash": "<base64 digest>", "hashAlgorithm": "sha256", "nonce": 123, "certificates": true}');
  }
  const doc = json as Record<string, unknown>;
  if (typeof doc['artifactHash'] !== 'string' || doc['artifactHash'] === '') throw invalid('"artifactHash" is required: the base64 digest of what to timestamp');
  let hashedMessage: Buffer;
  try {
    hashedMessage = base64Decode(doc['artifactHash'], '"artifactHash"');
  } catch (err) {
    throw invalid('"artifactHash" is not valid base64: send the digest bytes base64-encoded', err);
  }
  if (typeof doc['hashAlgorithm'] !== 'string' || doc['hashAlgorithm'] === '') throw invalid('"hashAlgorithm" is required: "sha256", "sha384" or "sha512"');
  // A name is printable ASCII; anything else (e.g. a lone UTF-16 surrogate, which has no UTF-8
  // form for the rejection's statusString) is not a hash algorithm's name.
  if (!/^[\x21-\x7e]{1,64}$/.test(doc['hashAlgorithm'])) throw invalid('"hashAlgorithm" must be a hash algorithm\'s name: "sha256", "sha384" or "sha512"');
  const requested = doc['hashAlgorithm'].toLowerCase();
  const known = Object.hasOwn(HASH_OIDS, requested) ? (requested as TimestampHash) : undefined;

  const query: TimestampQuery = {
    form: 'json',
    version: 1,
    hashAlgorithmName: requested === 'sha1' ? 'SHA-1' : doc['hashAlgorithm'].slice(0, 40),
    hashParametersOk: true,
    hashedMessage,
    certReq: false,
    extensionCount: 0,
  };
  if (known) {
    query.hashAlgorithmOid = HASH_OIDS[known];
    query.messageImprint = new MessageImprint({ hashAlgorithm: hashAlgorithmIdentifier(known), hashedMessage: new OctetString(hashedMessage) });
  } else if (requested === 'sha1') {
    query.hashAlgorithmOid = OID_SHA1;
  }

  const certificates = doc['certificates'];
  if (certificates !== undefined && certificates !== null) {
    if (typeof certificates !== 'boolean') throw invalid('"certificates" must be true or false');
    query.certReq = certificates;
  }
  if (doc['nonce'] !== undefined && doc['nonce'] !== null) query.nonce = jsonNonce(doc['nonce'], text);
  const policy = doc['tsaPolicyOID'];
  if (policy !== undefined && policy !== null && policy !== '') {
    if (typeof policy !== 'string' || !OID_PATTERN.test(policy)) throw invalid('"tsaPolicyOID" must be a dotted object identifier such as "1.3.6.1.4.1.57264.2"');
    query.policy = policy;
  }
  return query;
}
