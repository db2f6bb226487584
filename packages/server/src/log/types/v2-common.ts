// Shared pieces of the Rekor v2 kinds (rekor-tiles, protobuf-specs rekor/v2): protobuf-JSON field
// access (camelCase or proto names), the Verifier message (DER key or certificate plus
// keyDetails), and which key / algorithm pairs the log accepts (rekor-tiles' default registry).

import type { SpkiKeyInfo } from '@sigstack/core';
import { badRequest } from '../../errors.js';
import { describeKey, x509PublicKeyFromDer, type X509PublicKey } from '../pki/x509.js';
import { type HashName, type Json, invalid, isObject, obj, protoBytes } from './fields.js';

export const ALGORITHM_UNSUPPORTED = 'ENTRY_ALGORITHM_UNSUPPORTED';

/** A protobuf-JSON field by its JSON name or its proto name; null reads as unset. */
export function pick(o: Json, jsonName: string, protoName?: string): unknown {
  const v = o[jsonName] ?? (protoName ? o[protoName] : undefined);
  return v === null ? undefined : v;
}

/** protobuf-specs HashAlgorithm names. */
export const PROTO_HASH: Record<HashName, string> = { sha256: 'SHA2_256', sha384: 'SHA2_384', sha512: 'SHA2_512' };

interface KeyDetail {
  keyType: 'ec' | 'rsa' | 'ed25519';
  curve?: string;
  /** The digest the signature is made over; null for pure Ed25519. */
  hash: HashName | null;
}

/** protobuf-specs PublicKeyDetails the log accepts (rekor-tiles' AllowedClientSigningAlgorithms, plus PKIX_ED25519 for DSSE). */
const KEY_DETAILS: Record<string, KeyDetail> = {
  PKIX_ECDSA_P256_SHA_256: { keyType: 'ec', curve: 'prime256v1', hash: 'sha256' },
  PKIX_ECDSA_P384_SHA_384: { keyType: 'ec', curve: 'secp384r1', hash: 'sha384' },
  PKIX_ECDSA_P521_SHA_512: { keyType: 'ec', curve: 'secp521r1', hash: 'sha512' },
  PKIX_RSA_PKCS1V15_2048_SHA256: { keyType: 'rsa', hash: 'sha256' },
  PKIX_RSA_PKCS1V15_3072_SHA256: { keyType: 'rsa', hash: 'sha256' },
  PKIX_RSA_PKCS1V15_4096_SHA256: { keyType: 'rsa', hash: 'sha256' },
  PKIX_ED25519: { keyType: 'ed25519', hash: null },
  PKIX_ED25519_PH: { keyType: 'ed25519', hash: 'sha512' },
};

/** Every PublicKeyDetails value by number, so numeric enums read like protojson reads them. */
const KEY_DETAILS_BY_NUMBER: Record<number, string> = {
  0: 'PUBLIC_KEY_DETAILS_UNSPECIFIED', 1: 'PKCS1_RSA_PKCS1V5', 2: 'PKCS1_RSA_PSS', 3: 'PKIX_RSA_PKCS1V5', 4: 'PKIX_RSA_PSS',
  5: 'PKIX_ECDSA_P256_SHA_256', 6: 'PKIX_ECDSA_P256_HMAC_SHA_256', 7: 'PKIX_ED25519', 8: 'PKIX_ED25519_PH',
  9: 'PKIX_RSA_PKCS1V15_2048_SHA256', 10: 'PKIX_RSA_PKCS1V15_3072_SHA256', 11: 'PKIX_RSA_PKCS1V15_4096_SHA256',
  12: 'PKIX_ECDSA_P384_SHA_384', 13: 'PKIX_ECDSA_P521_SHA_512', 14: 'LMS_SHA256', 15: 'LMOTS_SHA256',
  16: 'PKIX_RSA_PSS_2048_SHA256', 17: 'PKIX_RSA_PSS_3072_SHA256', 18: 'PKIX_RSA_PSS_4096_SHA256',
  19: 'PKIX_ECDSA_P384_SHA_256', 20: 'PKIX_ECDSA_P521_SHA_256', 21: 'ML_DSA_65', 22: 'ML_DSA_87', 23: 'ML_DSA_44',
};

const RSA_SIZES = [2048, 3072, 4096];

export interface V2Verifier {
  key: X509PublicKey;
  keyDetails: string;
  /** The digest the key details name (null: pure Ed25519). */
  hash: HashName | null;
  /** The Verifier message in protobuf-JSON form, as the log entry stores it. */
  json: Json;
  /** The DER bytes given (key or certificate), to spot duplicates. */
  raw: Buffer;
}

function keyFits(detail: KeyDetail, info: SpkiKeyInfo): boolean {
  if (info.type !== detail.keyType) return false;
  if (info.type === 'ec') return info.curve === detail.curve;
  if (info.type === 'rsa') return RSA_SIZES.includes(info.bits);
  return true;
}

/** Parses a rekor v2 Verifier: exactly one of publicKey / x509Certificate (DER) and an accepted keyDetails fitting the key. */
export function parseV2Verifier(value: unknown, field: string): V2Verifier {
  const v = obj(value, field);
  const publicKey = pick(v, 'publicKey', 'public_key');
  const certificate = pick(v, 'x509Certificate', 'x509_certificate');
  if (publicKey !== undefined && certificate !== undefined) throw invalid(`${field} must hold either publicKey or x509Certificate, not both`);
  if (publicKey === undefined && certificate === undefined) throw invalid(`${field} is missing its publicKey or x509Certificate`);
  const kind = publicKey !== undefined ? 'publicKey' : 'x509Certificate';
  const holder = obj(publicKey ?? certificate, `${field}.${kind}`);
  const raw = protoBytes(pick(holder, 'rawBytes', 'raw_bytes'), `${field}.${kind}.rawBytes`);

  const detailsValue = pick(v, 'keyDetails', 'key_details');
  let keyDetails: string;
  if (typeof detailsValue === 'number' && Number.isInteger(detailsValue)) keyDetails = KEY_DETAILS_BY_NUMBER[detailsValue] ?? String(detailsValue);
  else if (typeof detailsValue === 'string' && detailsValue.length > 0) keyDetails = detailsValue;
  else if (detailsValue === undefined) throw invalid(`${field}.keyDetails is missing (e.g. "PKIX_ECDSA_P256_SHA_256")`);
  else throw invalid(`${field}.keyDetails must be a PublicKeyDetails name such as "PKIX_ECDSA_P256_SHA_256"`);
  const detail = Object.hasOwn(KEY_DETAILS, keyDetails) ? KEY_DETAILS[keyDetails] : undefined;
  if (!detail) {
    throw badRequest(ALGORITHM_UNSUPPORTED, `${field}.keyDetails ${keyDetails} is not accepted by this log (accepted: ${Object.keys(KEY_DETAILS).join(', ')})`);
  }

  const key = x509PublicKeyFromDer(raw, kind === 'publicKey' ? 'spki' : 'certificate');
  if (!keyFits(detail, key.info)) {
    throw badRequest(ALGORITHM_UNSUPPORTED, `${field}.keyDetails ${keyDetails} does not fit the ${describeKey(key.info)} key it is given with`);
  }
  const json: Json = { keyDetails, [kind]: { rawBytes: raw.toString('base64') } };
  return { key, keyDetails, hash: detail.hash, json, raw };
}

/** The request object of one v2 kind: the object itself, or unwrapped from a CreateEntryRequest. */
export function v2Request(input: unknown, jsonName: string, protoName: string): Json {
  if (isObject(input)) {
    const inner = pick(input, jsonName, protoName);
    if (inner !== undefined) return obj(inner, jsonName);
  }
  return obj(input, jsonName);
}
