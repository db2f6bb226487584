// Signing keys: an ephemeral ECDSA P-256 key per keyless signature, managed keys loaded from PEM
// (optionally encrypted), and `generate-key-pair` files (private key 0600, public key PEM).

import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPair } from '@sigstack/core';
import { SignError, messageOf } from './errors.js';

export type HashName = 'sha256' | 'sha384' | 'sha512';

export interface KeySigner {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo. */
  spki: Buffer;
  publicKeyPem: string;
  /** The sigstore PublicKeyDetails name, e.g. PKIX_ECDSA_P256_SHA_256. */
  keyDetails: string;
  /** The digest the key signs with; null for Ed25519 (which signs the message itself). */
  hash: HashName | null;
  /** Signs `data` (the whole message; the digest is computed inside). */
  sign(data: Uint8Array): Buffer;
}

function describeKey(publicKey: KeyObject): { keyDetails: string; hash: HashName | null } {
  const type = publicKey.asymmetricKeyType;
  const details = publicKey.asymmetricKeyDetails ?? {};
  if (type === 'ec') {
    switch (details.namedCurve) {
      case 'prime256v1':
        return { keyDetails: 'PKIX_ECDSA_P256_SHA_256', hash: 'sha256' };
      case 'secp384r1':
        return { keyDetails: 'PKIX_ECDSA_P384_SHA_384', hash: 'sha384' };
      case 'secp521r1':
        return { keyDetails: 'PKIX_ECDSA_P521_SHA_512', hash: 'sha512' };
      default:
        throw new SignError('KEY_UNSUPPORTED', `ECDSA keys on curve ${details.namedCurve ?? 'unknown'} are not supported: use P-256, P-384 or P-521`);
    }
  }
  if (type === 'ed25519') return { keyDetails: 'PKIX_ED25519', hash: null };
  if (type === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits !== 2048 && bits !== 3072 && bits !== 4096) {
      throw new SignError('KEY_UNSUPPORTED', `${bits}-bit RSA keys are not supported: use 2048, 3072 or 4096 bits`);
    }
    return { keyDetails: `PKIX_RSA_PKCS1V15_${bits}_SHA256`, hash: 'sha256' };
  }
  throw new SignError('KEY_UNSUPPORTED', `keys of type ${type ?? 'unknown'} are not supported: use ECDSA (P-256, P-384, P-521), Ed25519 or RSA`);
}

/** A signer around a private key (a KeyObject freshly imported, never freshly generated). */
export function signerFromKeyObject(privateKey: KeyObject): KeySigner {
  const publicKey = createPublicKey(privateKey);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const { keyDetails, hash } = describeKey(publicKey);
  return {
    privateKey,
    publicKey,
    spki,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    keyDetails,
    hash,
    sign: (data) => cryptoSign(hash, data, privateKey),
  };
}

/** A fresh ECDSA P-256 key, what sigstore clients use for keyless signing. */
export function ephemeralSigner(): KeySigner {
  return signerFromKeyObject(generateKeyPair('ec', { namedCurve: 'P-256' }).privateKey);
}

/**
 * A managed key from PEM text (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1, or an encrypted PKCS#8
 * "ENCRYPTED PRIVATE KEY" with `password`). Throws KEY_PASSWORD_REQUIRED / KEY_INVALID.
 */
export function signerFromPem(pem: string, password?: string, where = 'the private key'): KeySigner {
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem);
  if (encrypted && (password === undefined || password === '')) {
    throw new SignError('KEY_PASSWORD_REQUIRED', `${where} is encrypted: set SIGSTACK_PASSWORD to its password`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase: password as string } : { key: pem, format: 'pem' });
  } catch (err) {
    const hint = encrypted ? ' (is SIGSTACK_PASSWORD right?)' : '';
    throw new SignError('KEY_INVALID', `${where} cannot be loaded${hint}: ${messageOf(err)}`, { cause: err });
  }
  return signerFromKeyObject(privateKey);
}

/** Loads a managed private key file (password from the argument, else SIGSTACK_PASSWORD). */
export function loadSignerFile(path: string, password: string | undefined = process.env.SIGSTACK_PASSWORD): KeySigner {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SignError('KEY_UNREADABLE', `cannot read the private key ${path}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`, { cause: err });
  }
  if (/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(pem) && !/PRIVATE KEY-----/.test(pem)) {
    throw new SignError('KEY_INVALID', `${path} holds a public key or certificate; signing needs the private key (e.g. the .key file of generate-key-pair)`);
  }
  return signerFromPem(pem, password, `the private key ${path}`);
}

/** The hint a bundle's publicKey carries for a managed key: base64 SHA-256 of the DER SPKI. */
export function publicKeyHint(spki: Uint8Array): string {
  return createHash('sha256').update(spki).digest('base64');
}

export interface GeneratedKeyFiles {
  privateKeyPath: string;
  publicKeyPath: string;
  encrypted: boolean;
  publicKeyPem: string;
}

/**
 * Writes PREFIX.key (PKCS#8 PEM, mode 0600; encrypted with AES-256-CBC when a password is
 * given) and PREFIX.pub (SPKI PEM) for a new ECDSA P-256 key. Refuses to overwrite files
 * unless `force`.
 */
export function generateKeyPairFiles(prefix: string, options: { password?: string; force?: boolean } = {}): GeneratedKeyFiles {
  const privateKeyPath = `${prefix}.key`;
  const publicKeyPath = `${prefix}.pub`;
  if (!options.force) {
    for (const path of [privateKeyPath, publicKeyPath]) {
      if (existsSync(path)) throw new SignError('KEY_FILE_EXISTS', `${path} already exists: choose another --output-key-prefix or remove it first`);
    }
  }
  // Import the generated DER again: exporting freshly generated KeyObjects can deadlock on node 20.
  const { pkcs8, spki } = generateKeyPair('ec', { namedCurve: 'P-256' });
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const password = options.password ?? '';
  const privatePem =
    password === ''
      ? (privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)
      : (privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password }) as string);
  const publicKeyPem = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }) as string;
  const flag = options.force ? 'w' : 'wx';
  try {
    writeFileSync(privateKeyPath, privatePem, { mode: 0o600, flag });
    chmodSync(privateKeyPath, 0o600); // an overwritten file keeps its old mode otherwise
    writeFileSync(publicKeyPath, publicKeyPem, { mode: 0o644, flag });
  } catch (err) {
    throw new SignError('KEY_FILE_UNWRITABLE', `cannot write the key pair at ${prefix}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`, { cause: err });
  }
  return { privateKeyPath, publicKeyPath, encrypted: password !== '', publicKeyPem };
}
