// The JSON forms of RFC 6962 §4: an SCT as add-chain answers it ({sct_version, id, timestamp,
// extensions, signature}, the signature a TLS DigitallySigned) and strict base64 decoding.

import type { SignedCertificateTimestamp } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { encodeDigitallySigned, parseDigitallySigned } from './leaf.js';

export interface SctJson {
  sct_version: number;
  id: string;
  timestamp: number;
  extensions: string;
  signature: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict (padded, standard alphabet) base64; a 400 naming `what` otherwise. */
export function decodeBase64(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw new ServiceError(400, 'BASE64_INVALID', `${what} is not standard padded base64`);
  }
  return Buffer.from(value, 'base64');
}

export function sctToJson(sct: SignedCertificateTimestamp): SctJson {
  return {
    sct_version: sct.version,
    id: sct.logId.toString('base64'),
    timestamp: Number(sct.timestamp),
    extensions: sct.extensions.toString('base64'),
    signature: encodeDigitallySigned({
      hashAlgorithm: sct.hashAlgorithm,
      signatureAlgorithm: sct.signatureAlgorithm,
      signature: sct.signature,
    }).toString('base64'),
  };
}

/** Parses an add-chain / add-pre-chain answer; throws (400-style ServiceError) on anything malformed. */
export function sctFromJson(json: unknown): SignedCertificateTimestamp {
  const body = json as Partial<SctJson> | null;
  if (!body || typeof body !== 'object') throw new ServiceError(400, 'SCT_MALFORMED', 'the SCT response is not a JSON object');
  if (body.sct_version !== 0) throw new ServiceError(400, 'SCT_MALFORMED', `SCT version ${String(body.sct_version)} is not v1 (0)`);
  if (typeof body.timestamp !== 'number' || !Number.isSafeInteger(body.timestamp) || body.timestamp < 0) {
    throw new ServiceError(400, 'SCT_MALFORMED', 'the SCT timestamp is not a non-negative integer (milliseconds)');
  }
  const logId = decodeBase64(body.id, 'the SCT log id');
  if (logId.length !== 32) throw new ServiceError(400, 'SCT_MALFORMED', 'the SCT log id is not 32 bytes');
  const signed = parseDigitallySigned(decodeBase64(body.signature, 'the SCT signature'));
  return {
    version: 0,
    logId,
    timestamp: BigInt(body.timestamp),
    extensions: decodeBase64(body.extensions ?? '', 'the SCT extensions'),
    hashAlgorithm: signed.hashAlgorithm,
    signatureAlgorithm: signed.signatureAlgorithm,
    signature: signed.signature,
  };
}
