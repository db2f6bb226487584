// Signature algorithms and checks over node:crypto: X.509 signature algorithm OIDs, sigstore
// key details names, public key loading, and signature verification (sync, and async on
// libuv's thread pool so independent checks run on other cores).

import { createPublicKey, publicDecrypt, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { CoreError } from './errors.js';
import { pemDecodeAll } from './encoding.js';
import { supportsPrehashedEcdsa, verifyEcdsaPrehashed } from './ecdsa-prehashed.js';
import { nativeCrypto } from './native.js';
import { digestOf } from './digest.js';
import { spkiKeyInfo, type SpkiKeyInfo } from './spki.js';
import type { AsnNode } from './der.js';

export type HashName = 'sha256' | 'sha384' | 'sha512';

export interface SignatureAlgorithm {
  /** Human name, for messages. */
  name: string;
  /** Digest node signs with, or null for Ed25519 (which hashes internally). */
  hash: HashName | null;
  /** RSA-PSS when set. */
  pss?: boolean;
}

const BY_OID: Record<string, SignatureAlgorithm> = {
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'sha512' },
  '1.3.101.112': { name: 'Ed25519', hash: null },
};

const HASH_OIDS: Record<string, HashName> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export function hashFromOid(oid: string): HashName | undefined {
  return HASH_OIDS[oid];
}

/**
 * The signature algorithm an AlgorithmIdentifier names. RSASSA-PSS is accepted when its
 * parameters name SHA-256/384/512 (the hash OID is looked for among the parameters).
 */
export function signatureAlgorithmFromOid(oid: string, algorithmIdentifier?: AsnNode): SignatureAlgorithm {
  const known = BY_OID[oid];
  if (known) return known;
  if (oid === '1.2.840.113549.1.1.10' && algorithmIdentifier) {
    const text = JSON.stringify((algorithmIdentifier as { toJSON(): unknown }).toJSON());
    for (const [hashOid, hash] of Object.entries(HASH_OIDS)) {
      if (text.includes(hashOid)) return { name: `RSASSA-PSS-${hash}`, hash, pss: true };
    }
  }
  throw new CoreError('SIGNATURE_ALGORITHM_UNSUPPORTED', `signature algorithm ${oid} is not supported`);
}

/** The digest a sigstore key details name implies (e.g. PKIX_ECDSA_P384_SHA_384 → sha384). */
export function hashForKey(key: KeyObject): HashName | null {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519' || type === 'ed448') return null;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'secp384r1') return 'sha384';
    if (curve === 'secp521r1') return 'sha512';
  }
  return 'sha256';
}

/** hashForKey for a key known by its SubjectPublicKeyInfo only. */
export function hashForKeyInfo(info: SpkiKeyInfo): HashName | null {
  if (info.type === 'ed25519' || info.type === 'ed448') return null;
  if (info.type === 'ec' && info.curve === 'secp384r1') return 'sha384';
  if (info.type === 'ec' && info.curve === 'secp521r1') return 'sha512';
  return 'sha256';
}

/** True when the native addon is loaded (verifyEcdsaNatively answers for NIST curve keys). */
export function hasNativeEcdsa(): boolean {
  return nativeCrypto !== undefined;
}

/**
 * An ECDSA signature over `message` checked by the native addon straight from the key's point,
 * with no KeyObject made (importing one costs OpenSSL as much as the check itself). Undefined
 * when the addon is not loaded or the key is not ECDSA on a NIST curve: use a KeyObject then.
 */
export function verifyEcdsaNatively(info: SpkiKeyInfo, hash: HashName, message: Uint8Array, signature: Uint8Array): boolean | undefined {
  if (!nativeCrypto || info.type !== 'ec' || !supportsPrehashedEcdsa(info.curve)) return undefined;
  return verifyEcdsaPrehashed(info.curve, info.point, digestOf(hash, message), signature);
}

function verifyOptions(key: KeyObject, alg: SignatureAlgorithm) {
  return alg.pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO } : key;
}

/** Synchronous signature check; false (never a throw) for a signature that does not verify. */
export function verifySignature(alg: SignatureAlgorithm, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  try {
    return cryptoVerify(alg.hash, data, verifyOptions(key, alg), signature);
  } catch {
    return false;
  }
}

let threadPoolEnabled = true;

/**
 * Whether verifySignatureAsync hands checks to libuv's thread pool (the default) or runs them
 * at once on this thread: worker threads that each verify whole bundles turn it off, since
 * they already keep a core busy and the hand-off would only add cost.
 */
export function useThreadPoolForSignatures(enabled: boolean): void {
  threadPoolEnabled = enabled;
}

/** The same check on libuv's thread pool, so that several run at once on several cores. */
export function verifySignatureAsync(alg: SignatureAlgorithm, data: Uint8Array, key: KeyObject, signature: Uint8Array): Promise<boolean> {
  if (!threadPoolEnabled) return Promise.resolve(verifySignature(alg, data, key, signature));
  return new Promise((resolve) => {
    try {
      cryptoVerify(alg.hash, data, verifyOptions(key, alg), signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

/** Loads a public key from PEM (SPKI or PKCS#1) or DER SPKI bytes. */
export function loadPublicKey(input: string | Uint8Array): KeyObject {
  try {
    if (typeof input === 'string') {
      const block = pemDecodeAll(input).find((b) => b.label === 'PUBLIC KEY' || b.label === 'RSA PUBLIC KEY' || b.label === 'CERTIFICATE');
      if (!block) throw new Error('no PUBLIC KEY block');
      if (block.label === 'CERTIFICATE') return createPublicKey({ key: input, format: 'pem' });
      return createPublicKey({ key: block.der, format: 'der', type: block.label === 'RSA PUBLIC KEY' ? 'pkcs1' : 'spki' });
    }
    return createPublicKey({ key: Buffer.from(input), format: 'der', type: 'spki' });
  } catch (err) {
    if (err instanceof CoreError) throw err;
    throw new CoreError('PUBLIC_KEY_INVALID', `not a usable public key: ${(err as Error).message}`, { cause: err });
  }
}

/** The algorithm to verify a raw signature made by `key` (sigstore's default per key type). */
export function algorithmForKey(key: KeyObject): SignatureAlgorithm {
  const hash = hashForKey(key);
  return { name: `${key.asymmetricKeyType}${hash ? `-${hash}` : ''}`, hash };
}

/**
 * Checks a signature over a digest computed elsewhere (the signed bytes are not at hand) by the
 * key whose DER SubjectPublicKeyInfo is `spki`: ECDSA through verifyEcdsaPrehashed, RSA PKCS#1
 * v1.5 by recovering the DigestInfo (with `key` when the caller has the KeyObject already).
 * Ed25519 signs the message itself, so it throws SIGNATURE_PREHASH_UNSUPPORTED.
 */
export function verifyPrehashedSignature(spki: Uint8Array, digest: Uint8Array, hash: HashName, signature: Uint8Array, key?: KeyObject): boolean {
  const info = spkiKeyInfo(spki);
  if (info.type === 'ec') {
    if (!supportsPrehashedEcdsa(info.curve)) throw new CoreError('SIGNATURE_ALGORITHM_UNSUPPORTED', `ECDSA curve ${info.curve} is not supported`);
    return verifyEcdsaPrehashed(info.curve, info.point, digest, signature);
  }
  if (info.type === 'rsa' && !info.pss) {
    try {
      const recovered = publicDecrypt({ key: key ?? createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_PADDING }, signature);
      return recovered.equals(Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash], 'hex'), digest]));
    } catch {
      return false;
    }
  }
  throw new CoreError('SIGNATURE_PREHASH_UNSUPPORTED', `a ${info.type} signature cannot be checked against a digest (it covers the message itself, or the scheme is not supported)`);
}

/** DER DigestInfo headers that precede the digest in an RSA PKCS#1 v1.5 signature (RFC 8017 §9.2). */
const DIGEST_INFO_PREFIX: Record<HashName, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};
