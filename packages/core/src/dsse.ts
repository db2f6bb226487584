// DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse v1): the pre-authentication
// encoding that signatures cover, and parsing / formatting of the JSON envelope.

import { CoreError } from './errors.js';
import { base64Decode, base64Encode, toBuffer } from './encoding.js';

export interface DsseSignature {
  /** Unauthenticated key hint; '' when absent. Never use it for security decisions. */
  keyid: string;
  sig: Buffer;
}

export interface DsseEnvelope {
  payloadType: string;
  payload: Buffer;
  signatures: DsseSignature[];
}

/** The envelope's JSON form: payload and signatures in base64. */
export interface DsseEnvelopeJson {
  payload: string;
  payloadType: string;
  signatures: { keyid?: string; sig: string }[];
}

function malformed(message: string): CoreError {
  return new CoreError('DSSE_MALFORMED', message);
}

/**
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, where LEN is the ASCII
 * decimal byte length and the type is UTF-8 encoded (DSSE protocol.md).
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  if (typeof payloadType !== 'string') throw malformed('DSSE payloadType must be a string');
  if (!(payload instanceof Uint8Array)) throw malformed('DSSE payload must be bytes');
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    toBuffer(payload),
  ]);
}

function decode(text: unknown, what: string): Buffer {
  if (typeof text !== 'string') throw malformed(`DSSE ${what} must be a base64 string`);
  try {
    // Standard and URL-safe base64 are both allowed (DSSE protocol.md).
    return base64Decode(text, `DSSE ${what}`);
  } catch (err) {
    throw new CoreError('DSSE_MALFORMED', `DSSE ${what} is not valid base64`, { cause: err });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a DSSE JSON envelope (an object, or its JSON text). payloadType must be a non-empty
 * string; payload is base64 (an omitted payload is the empty payload, as the envelope spec lets
 * empty fields be omitted); there must be at least one signature with non-empty `sig`.
 * Throws DSSE_MALFORMED.
 */
export function parseEnvelope(json: unknown): DsseEnvelope {
  let value = json;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw malformed('DSSE envelope is not valid JSON');
    }
  }
  if (!isObject(value)) throw malformed('DSSE envelope must be a JSON object');
  const { payloadType, payload, signatures } = value;
  if (typeof payloadType !== 'string' || payloadType.length === 0) {
    throw malformed('DSSE envelope needs a non-empty payloadType string');
  }
  const payloadBytes = payload === undefined ? Buffer.alloc(0) : decode(payload, 'payload');
  if (!Array.isArray(signatures) || signatures.length === 0) {
    throw malformed('DSSE envelope needs a non-empty signatures array');
  }
  const sigs = signatures.map((s, i): DsseSignature => {
    if (!isObject(s)) throw malformed(`DSSE signatures[${i}] must be an object`);
    if (s.keyid !== undefined && typeof s.keyid !== 'string') {
      throw malformed(`DSSE signatures[${i}].keyid must be a string`);
    }
    const sig = decode(s.sig, `signatures[${i}].sig`);
    if (sig.length === 0) throw malformed(`DSSE signatures[${i}].sig is empty`);
    return { keyid: (s.keyid as string | undefined) ?? '', sig };
  });
  return { payloadType, payload: payloadBytes, signatures: sigs };
}

/** The JSON form of an envelope (standard base64; an empty keyid is omitted). */
export function envelopeToJson(envelope: DsseEnvelope): DsseEnvelopeJson {
  if (!envelope || typeof envelope.payloadType !== 'string' || !(envelope.payload instanceof Uint8Array)) {
    throw malformed('DSSE envelope needs a payloadType string and payload bytes');
  }
  if (!Array.isArray(envelope.signatures)) throw malformed('DSSE envelope needs a signatures array');
  return {
    payload: base64Encode(envelope.payload),
    payloadType: envelope.payloadType,
    signatures: envelope.signatures.map((s, i) => {
      if (!s || !(s.sig instanceof Uint8Array)) throw malformed(`DSSE signatures[${i}] needs sig bytes`);
      return s.keyid ? { keyid: s.keyid, sig: base64Encode(s.sig) } : { sig: base64Encode(s.sig) };
    }),
  };
}
