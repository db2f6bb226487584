// The requester's public key and its proof of possession: keys Fulcio accepts (ECDSA P-256/384/521,
// Ed25519, RSA 2048–4096 with e = 65537) and a signature by that key over the token's subject,
// checked as sigstore's default verifier does (ECDSA hash by curve, RSA PKCS#1 v1.5 or PSS, SHA-256).

import { constants, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { hasNativeEcdsa, pemDecodeAll, spkiKeyInfo, verifyEcdsaNatively, type SpkiKeyInfo } from '@sigstack/core';
import { ServiceError } from '../../errors.js';

export interface SubjectPublicKey {
  /** Made on first use for ECDSA keys (their proofs are checked from the point, natively). */
  readonly publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo. */
  spki: Buffer;
  /** The digest proofs of possession by this key use; null for Ed25519. */
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** The sigstore PublicKeyDetails name of the key, e.g. PKIX_ECDSA_P256_SHA_256. */
  keyDetails: string;
  /** Set for ECDSA keys whose proofs the native addon checks from the point. */
  info?: SpkiKeyInfo;
}

const ADVICE = 'use an ECDSA P-256 key (what sigstore clients generate), P-384, P-521, Ed25519, or RSA of 2048 to 4096 bits';

function weak(message: string): ServiceError {
  return new ServiceError(400, 'WEAK_KEY', `${message}: ${ADVICE}`);
}

function toSpki(key: Buffer | string): Buffer {
  if (typeof key === 'string') {
    const block = pemDecodeAll(key).find((b) => b.label === 'PUBLIC KEY');
    if (!block) throw new ServiceError(400, 'PUBLIC_KEY_INVALID', 'the public key is not a PEM "PUBLIC KEY" block: send the key as PEM or DER SubjectPublicKeyInfo');
    return Buffer.from(block.der);
  }
  return Buffer.from(key);
}

/**
 * Parses the requester's public key (DER SPKI, or PEM "PUBLIC KEY") and refuses keys Fulcio
 * refuses: throws 400 PUBLIC_KEY_INVALID for unparseable bytes and 400 WEAK_KEY for weak or
 * unsupported keys.
 */
export function checkSubjectPublicKey(key: Buffer | string): SubjectPublicKey {
  const spki = toSpki(key);
  const ec = ecKey(spki);
  if (ec) return ec;
  const publicKey = keyObject(spki);
  const type = publicKey.asymmetricKeyType;
  const details = publicKey.asymmetricKeyDetails ?? {};
  if (type === 'ec') {
    const curve = details.namedCurve;
    if (curve === 'prime256v1') return { publicKey, spki, hash: 'sha256', keyDetails: 'PKIX_ECDSA_P256_SHA_256' };
    if (curve === 'secp384r1') return { publicKey, spki, hash: 'sha384', keyDetails: 'PKIX_ECDSA_P384_SHA_384' };
    if (curve === 'secp521r1') return { publicKey, spki, hash: 'sha512', keyDetails: 'PKIX_ECDSA_P521_SHA_512' };
    throw weak(`ECDSA keys on curve ${curve ?? 'unknown'} are not accepted`);
  }
  if (type === 'ed25519') return { publicKey, spki, hash: null, keyDetails: 'PKIX_ED25519' };
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = details.modulusLength ?? 0;
    if (bits < 2048) throw weak(`a ${bits}-bit RSA key is too weak`);
    if (bits > 4096) throw weak(`a ${bits}-bit RSA key is larger than the 4096 bits accepted`);
    if (bits % 8 !== 0) throw weak(`an RSA modulus of ${bits} bits is not a whole number of bytes`);
    if (details.publicExponent !== 65537n) throw weak(`RSA keys must have public exponent 65537, not ${String(details.publicExponent)}`);
    const size = bits <= 2048 ? 2048 : bits <= 3072 ? 3072 : 4096;
    return { publicKey, spki, hash: 'sha256', keyDetails: `PKIX_RSA_${type === 'rsa' ? 'PKCS1V15' : 'PSS'}_${size}_SHA256` };
  }
  throw weak(`keys of type ${type ?? 'unknown'} are not accepted`);
}

function keyObject(spki: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (err) {
    throw new ServiceError(400, 'PUBLIC_KEY_INVALID', `the public key cannot be parsed (${(err as Error).message}): send a DER or PEM SubjectPublicKeyInfo`, { cause: err });
  }
}

const EC_CURVES: Record<string, { hash: 'sha256' | 'sha384' | 'sha512'; keyDetails: string }> = {
  prime256v1: { hash: 'sha256', keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
  secp384r1: { hash: 'sha384', keyDetails: 'PKIX_ECDSA_P384_SHA_384' },
  secp521r1: { hash: 'sha512', keyDetails: 'PKIX_ECDSA_P521_SHA_512' },
};

/**
 * An accepted ECDSA key read from its SPKI without a KeyObject (OpenSSL's import costs as much
 * as checking the proof), when the native addon can check its proofs; else undefined.
 */
function ecKey(spki: Buffer): SubjectPublicKey | undefined {
  let info: SpkiKeyInfo;
  try {
    info = spkiKeyInfo(spki);
  } catch {
    return undefined; // keyObject() says what is wrong
  }
  const curve = info.type === 'ec' ? EC_CURVES[info.curve] : undefined;
  if (!curve || !hasNativeEcdsa()) return undefined;
  let made: KeyObject | undefined;
  return {
    spki,
    info,
    hash: curve.hash,
    keyDetails: curve.keyDetails,
    get publicKey() {
      made ??= keyObject(spki);
      return made;
    },
  };
}

function verifies(key: SubjectPublicKey, message: Buffer, signature: Buffer): boolean {
  if (key.info && key.hash) {
    const native = verifyEcdsaNatively(key.info, key.hash, message, signature);
    if (native !== undefined) return native;
  }
  const attempt = (options: KeyObject | { key: KeyObject; padding: number; saltLength: number }): boolean => {
    try {
      return cryptoVerify(key.hash, message, options, signature);
    } catch {
      return false;
    }
  };
  const type = key.publicKey.asymmetricKeyType;
  const pss = { key: key.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO };
  if (type === 'rsa') return attempt(key.publicKey) || attempt(pss);
  if (type === 'rsa-pss') return attempt(pss);
  return attempt(key.publicKey);
}

/**
 * Checks that the requester's key signed `subject` (the token's email, or its `sub` claim):
 * ECDSA with SHA-256/384/512 by curve (DER signature), Ed25519, RSA PKCS#1 v1.5 or PSS with
 * SHA-256. Returns the checked key; throws 400 WEAK_KEY, PUBLIC_KEY_INVALID or
 * PROOF_OF_POSSESSION_INVALID.
 */
export function verifyProofOfPossession(spki: Buffer | string, signature: Buffer, subject: string): SubjectPublicKey {
  const key = checkSubjectPublicKey(spki);
  if (signature.length === 0 || !verifies(key, Buffer.from(subject, 'utf8'), signature)) {
    const type = key.publicKey.asymmetricKeyType; // for an unusable key: 400 PUBLIC_KEY_INVALID
    const how = type === 'ec' ? `ECDSA over ${key.hash?.toUpperCase()}, DER-encoded` : type === 'ed25519' ? 'Ed25519' : 'RSA PKCS#1 v1.5 or PSS over SHA256';
    throw new ServiceError(
      400,
      'PROOF_OF_POSSESSION_INVALID',
      `the proof of possession does not verify: sign the identity token's subject ("${subject}": the email for email tokens, ` +
        `else the sub claim) with the private key of the submitted public key (${how}) and send that signature`,
    );
  }
  return key;
}
