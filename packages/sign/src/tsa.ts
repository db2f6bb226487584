// The timestamp authority client (RFC 3161 over HTTP, sigstore/timestamp-authority): POST a DER
// TimeStampReq for the SHA-256 of the signature with a random nonce to /api/v1/timestamp; the
// answer (a DER TimeStampResp, what bundles carry) is checked for status, nonce and imprint.

import { createHash, randomBytes } from 'node:crypto';
import { parseTimestampToken, verifyMessageImprint, type TimestampToken } from '@sigstack/core';
import { SignError, messageOf } from './errors.js';
import { answerError, httpRequest, type RetryOptions } from './http.js';

export const TSA_SERVICE = 'timestamp authority';

// Minimal DER encoding for the request (definite lengths, universal tags).
function tlv(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}
const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const octetString = (bytes: Buffer) => tlv(0x04, bytes);
const DER_NULL = Buffer.from([0x05, 0x00]);
const DER_TRUE = Buffer.from([0x01, 0x01, 0xff]);

/** A non-negative INTEGER from big-endian magnitude bytes (minimal, with a 0x00 sign byte when needed). */
function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let body = magnitude.subarray(start);
  if (body.length === 0) body = Buffer.from([0]);
  if ((body[0] as number) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return tlv(0x02, body);
}

const SHA256_OID_DER = Buffer.from('0609608648016503040201', 'hex'); // 2.16.840.1.101.3.4.2.1

/** A DER TimeStampReq (v1, SHA-256 imprint, nonce, certReq TRUE). */
export function timestampRequest(digest: Buffer, nonce: Buffer): Buffer {
  const messageImprint = sequence(sequence(SHA256_OID_DER, DER_NULL), octetString(digest));
  return sequence(unsignedInteger(Buffer.from([1])), messageImprint, unsignedInteger(nonce), DER_TRUE);
}

function integerValue(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

export interface Timestamp {
  /** The DER TimeStampResp as received (a bundle's rfc3161Timestamps[].signedTimestamp). */
  der: Buffer;
  token: TimestampToken;
}

export class TimestampClient {
  readonly url: string;

  constructor(
    url: string,
    private readonly retry: RetryOptions = {},
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  /**
   * Timestamps `signature`. `url` is the TSA's timestamp endpoint; a bare service URL gets
   * /api/v1/timestamp appended.
   */
  async timestamp(signature: Uint8Array): Promise<Timestamp> {
    const url = /\/api\/v1\/timestamp$/.test(this.url) ? this.url : `${this.url}/api/v1/timestamp`;
    const nonce = randomBytes(16);
    nonce[0] = (nonce[0] as number) & 0x7f; // positive, and no sign byte needed
    const digest = createHash('sha256').update(signature).digest();
    const response = await httpRequest({
      ...this.retry,
      service: TSA_SERVICE,
      url,
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
      body: timestampRequest(digest, nonce),
    });
    if (response.status !== 200 && response.status !== 201) {
      // A refusing TSA (HTTP 400) still sends an RFC 3161 TimeStampResp: say its status and reason.
      if (response.status === 400 && /^application\/timestamp-reply/i.test(response.headers.get('content-type') ?? '')) {
        let reason = '';
        try {
          parseTimestampToken(response.body);
        } catch (err) {
          reason = messageOf(err).replace(/^.*TimeStampResp\.status: /, '');
        }
        if (reason) throw new SignError('TIMESTAMP_REFUSED', `${TSA_SERVICE} at ${url} refused to timestamp: HTTP 400: ${reason}`, { service: TSA_SERVICE, url, status: 400 });
      }
      throw answerError(TSA_SERVICE, response, 'TIMESTAMP_REFUSED', 'refused to timestamp');
    }
    const invalid = (why: string, cause?: unknown) =>
      new SignError('TIMESTAMP_RESPONSE_INVALID', `${TSA_SERVICE} at ${url} answered with ${why}`, { service: TSA_SERVICE, url, cause });
    let token: TimestampToken;
    try {
      token = parseTimestampToken(response.body);
    } catch (err) {
      throw invalid(`a timestamp response that cannot be used: ${messageOf(err)}`, err);
    }
    if (!token.nonce || integerValue(token.nonce) !== integerValue(nonce)) throw invalid('a timestamp for another request (its nonce is not ours)');
    try {
      verifyMessageImprint(token, signature);
    } catch (err) {
      throw invalid(`a timestamp over something other than our signature: ${messageOf(err)}`, err);
    }
    return { der: response.body, token };
  }
}
