// The CA's signing key behind one interface (CaSigner): its public key and SPKI, the X.509
// signature algorithm it signs certificates with, and sign(tbs). Backends build on the two
// adapters here: a node KeyObject, or an external signer (HSM, KMS) that returns raw signatures.

import { createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { ServiceError } from '../../errors.js';

export type CaSignatureAlgorithm =
  | 'ecdsa-with-SHA256'
  | 'ecdsa-with-SHA384'
  | 'ecdsa-with-SHA512'
  | 'Ed25519'
  | 'sha256WithRSAEncryption'
  | 'sha384WithRSAEncryption'
  | 'sha512WithRSAEncryption';

export interface SignatureAlgorithmInfo {
  /** The AlgorithmIdentifier OID (RFC 5758, RFC 8410, RFC 4055). */
  oid: string;
  /** The digest node hashes with; null for Ed25519, which signs the message itself. */
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** RSA AlgorithmIdentifiers carry NULL parameters; ECDSA and Ed25519 ones carry none. */
  nullParameters: boolean;
  keyType: 'ec' | 'ed25519' | 'rsa';
}

export const SIGNATURE_ALGORITHMS: Readonly<Record<CaSignatureAlgorithm, SignatureAlgorithmInfo>> = {
  'ecdsa-with-SHA256': { oid: '1.2.840.10045.4.3.2', hash: 'sha256', nullParameters: false, keyType: 'ec' },
  'ecdsa-with-SHA384': { oid: '1.2.840.10045.4.3.3', hash: 'sha384', nullParameters: false, keyType: 'ec' },
  'ecdsa-with-SHA512': { oid: '1.2.840.10045.4.3.4', hash: 'sha512', nullParameters: false, keyType: 'ec' },
  Ed25519: { oid: '1.3.101.112', hash: null, nullParameters: false, keyType: 'ed25519' },
  sha256WithRSAEncryption: { oid: '1.2.840.113549.1.1.11', hash: 'sha256', nullParameters: true, keyType: 'rsa' },
  sha384WithRSAEncryption: { oid: '1.2.840.113549.1.1.12', hash: 'sha384', nullParameters: true, keyType: 'rsa' },
  sha512WithRSAEncryption: { oid: '1.2.840.113549.1.1.13', hash: 'sha512', nullParameters: true, keyType: 'rsa' },
};

/** A CA signing key. `sign` returns the X.509 signatureValue bytes (DER ECDSA-Sig-Value for ECDSA). */
export interface CaSigner {
  readonly publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo of the public key. */
  readonly spki: Buffer;
  readonly algorithm: CaSignatureAlgorithm;
  /** Where the key lives, for logs and messages (never a secret): "ephemeral", "file:/path", … */
  readonly description: string;
  sign(tbs: Buffer): Buffer | Promise<Buffer>;
}

function keyError(message: string): ServiceError {
  return new ServiceError(500, 'CA_KEY_UNSUPPORTED', message);
}

/**
 * The signature algorithm a CA key signs with by default: ECDSA with the digest that matches
 * its curve (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512), Ed25519, or RSA (≥ 2048 bits) with SHA-256.
 */
export function defaultSignatureAlgorithm(publicKey: KeyObject): CaSignatureAlgorithm {
  const type = publicKey.asymmetricKeyType;
  if (type === 'ec') {
    const curve = publicKey.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ecdsa-with-SHA256';
    if (curve === 'secp384r1') return 'ecdsa-with-SHA384';
    if (curve === 'secp521r1') return 'ecdsa-with-SHA512';
    throw keyError(`CA keys on curve ${curve ?? 'unknown'} are not supported: use an ECDSA P-384 (recommended), P-256 or P-521 key`);
  }
  if (type === 'ed25519') return 'Ed25519';
  if (type === 'rsa') {
    const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw keyError(`a ${bits}-bit RSA CA key is too weak: use ECDSA P-384, or RSA of at least 2048 bits (4096 recommended)`);
    return 'sha256WithRSAEncryption';
  }
  throw keyError(`CA keys of type ${type ?? 'unknown'} are not supported: use ECDSA (P-384 recommended), Ed25519 or RSA`);
}

function checkAlgorithm(publicKey: KeyObject, algorithm: CaSignatureAlgorithm | undefined): CaSignatureAlgorithm {
  const fallback = defaultSignatureAlgorithm(publicKey);
  if (algorithm === undefined) return fallback;
  const info = SIGNATURE_ALGORITHMS[algorithm];
  if (!info) throw keyError(`unknown signature algorithm "${algorithm}": use one of ${Object.keys(SIGNATURE_ALGORITHMS).join(', ')}`);
  if (info.keyType !== publicKey.asymmetricKeyType) {
    throw keyError(`signature algorithm ${algorithm} needs a ${info.keyType} key, but the CA key is ${publicKey.asymmetricKeyType}: use ${fallback}`);
  }
  return algorithm;
}

/**
 * Whether a key's signatures are slow enough to be worth a trip to libuv's thread pool: an
 * ECDSA P-256 or Ed25519 signature costs ~25 µs, less than the hop (and the event-loop turn it
 * waits for), while P-384 (~0.5 ms here), P-521 and RSA would stall the serving thread.
 */
function signsOffThread(publicKey: KeyObject): boolean {
  const type = publicKey.asymmetricKeyType;
  if (type === 'ed25519') return false;
  return !(type === 'ec' && publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1');
}

/** A signer over a node private key; slow signatures run on libuv's thread pool. */
export function keyObjectSigner(
  privateKey: KeyObject,
  options: { algorithm?: CaSignatureAlgorithm; description?: string; publicKey?: KeyObject; spki?: Buffer } = {},
): CaSigner {
  if (privateKey.type !== 'private') throw keyError('a CA signer needs a private key, not a public one');
  const publicKey = options.publicKey ?? createPublicKey(privateKey);
  const spki = options.spki ?? (publicKey.export({ type: 'spki', format: 'der' }) as Buffer);
  const algorithm = checkAlgorithm(publicKey, options.algorithm);
  const hash = SIGNATURE_ALGORITHMS[algorithm].hash;
  const offThread = signsOffThread(publicKey);
  return {
    publicKey,
    spki,
    algorithm,
    description: options.description ?? 'in-memory key',
    sign(tbs: Buffer): Buffer | Promise<Buffer> {
      if (!offThread) return cryptoSign(hash, tbs, privateKey);
      return new Promise((resolve, reject) => {
        cryptoSign(hash, tbs, privateKey, (err, signature) => (err ? reject(err) : resolve(signature)));
      });
    },
  };
}

export interface ExternalSignerOptions {
  /** DER SubjectPublicKeyInfo of the external key. */
  spki: Buffer;
  algorithm?: CaSignatureAlgorithm;
  description: string;
  /**
   * Signs the message (the device hashes it with the algorithm's digest, e.g. PKCS#11
   * CKM_ECDSA_SHA384 or CKM_SHA256_RSA_PKCS) and returns the signature.
   */
  signMessage(message: Buffer): Buffer | Promise<Buffer>;
  /** How ECDSA signatures come back: 'ieee-p1363' (r‖s, as PKCS#11 returns them) or 'der'. */
  ecdsaEncoding?: 'ieee-p1363' | 'der';
}

/** A signer whose private key lives elsewhere (HSM, KMS): raw ECDSA signatures become DER. */
export function externalSigner(options: ExternalSignerOptions): CaSigner {
  const publicKey = createPublicKey({ key: options.spki, format: 'der', type: 'spki' });
  const algorithm = checkAlgorithm(publicKey, options.algorithm);
  const raw = options.ecdsaEncoding !== 'der' && SIGNATURE_ALGORITHMS[algorithm].keyType === 'ec';
  return {
    publicKey,
    spki: Buffer.from(options.spki),
    algorithm,
    description: options.description,
    async sign(tbs: Buffer): Promise<Buffer> {
      const signature = Buffer.from(await options.signMessage(tbs));
      return raw ? ecdsaP1363ToDer(signature) : signature;
    },
  };
}

/** Converts an IEEE P1363 ECDSA signature (r‖s, fixed width) to a DER ECDSA-Sig-Value. */
export function ecdsaP1363ToDer(signature: Buffer): Buffer {
  if (signature.length === 0 || signature.length % 2 !== 0) {
    throw new ServiceError(500, 'CA_SIGNATURE_INVALID', `the CA key returned a ${signature.length}-byte ECDSA signature; expected r‖s of even length`);
  }
  const half = signature.length / 2;
  const integer = (bytes: Buffer): Buffer => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let body = bytes.subarray(start);
    if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
    return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
  };
  const content = Buffer.concat([integer(signature.subarray(0, half)), integer(signature.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLength(content.length), content]);
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}
