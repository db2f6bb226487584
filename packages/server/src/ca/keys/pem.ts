// CA keys in PEM files: PKCS#8 (or SEC1 / PKCS#1), optionally encrypted with a password
// (PKCS#8 "ENCRYPTED PRIVATE KEY", AES-256-CBC under PBKDF2), loaded with node:crypto and
// written with mode 0600. Errors say which file and what to do.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ServiceError } from '../../errors.js';
import { DEFAULT_CA_KEY_TYPE, generateCaKey, type CaKeyType } from './ephemeral.js';
import { keyObjectSigner, type CaSignatureAlgorithm, type CaSigner } from './signer.js';

export interface PemKeyOptions {
  /** The password of an encrypted key. */
  passphrase?: string;
  algorithm?: CaSignatureAlgorithm;
}

/** Parses a PEM private key; `source` names it in messages (a path, or "the CA key"). */
export function parsePrivateKeyPem(pem: string | Buffer, source: string, passphrase?: string): KeyObject {
  const text = Buffer.isBuffer(pem) ? pem.toString('utf8') : pem;
  const encrypted = text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:\s*4,ENCRYPTED/.test(text);
  if (encrypted && (passphrase === undefined || passphrase === '')) {
    throw new ServiceError(500, 'CA_KEY_PASSWORD_REQUIRED', `the CA key ${source} is encrypted: give its password (passphrase option / environment) to load it`);
  }
  try {
    const key = createPrivateKey(passphrase === undefined ? { key: text, format: 'pem' } : { key: text, format: 'pem', passphrase });
    if (key.type !== 'private') throw new Error('not a private key');
    return key;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MISSING_PASSPHRASE') {
      throw new ServiceError(500, 'CA_KEY_PASSWORD_REQUIRED', `the CA key ${source} is encrypted: give its password to load it`, { cause: err });
    }
    if (encrypted || /bad decrypt|wrong password|bad password/i.test(e.message)) {
      throw new ServiceError(500, 'CA_KEY_PASSWORD_WRONG', `cannot decrypt the CA key ${source}: the password is wrong (check the passphrase you configured for it)`, { cause: err });
    }
    throw new ServiceError(500, 'CA_KEY_INVALID', `${source} is not a usable private key: expected a PEM PKCS#8 ("PRIVATE KEY" or "ENCRYPTED PRIVATE KEY"), SEC1 or PKCS#1 key (${e.message})`, { cause: err });
  }
}

/** A signer over the PEM private key at `path`. */
export function loadPemSigner(path: string, options: PemKeyOptions = {}): CaSigner {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ServiceError(500, 'CA_KEY_UNREADABLE', `cannot read the CA key ${path} (${code}): check the path and that this user may read it`, { cause: err });
  }
  return pemSigner(text, { ...options, description: `file:${path}` });
}

/** A signer over a PEM private key held in memory (from an environment variable, a secret store…). */
export function pemSigner(pem: string | Buffer, options: PemKeyOptions & { description?: string } = {}): CaSigner {
  const description = options.description ?? 'PEM key';
  const privateKey = parsePrivateKeyPem(pem, description.replace(/^file:/, ''), options.passphrase);
  return keyObjectSigner(privateKey, { algorithm: options.algorithm, description, publicKey: createPublicKey(privateKey) });
}

/** PKCS#8 PEM of a private key; encrypted (AES-256-CBC, PBES2) when a passphrase is given. */
export function encodePrivateKeyPem(privateKey: KeyObject, passphrase?: string): string {
  if (passphrase === undefined) return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  if (passphrase === '') throw new ServiceError(500, 'CA_KEY_PASSWORD_EMPTY', 'an empty password does not protect a CA key: give a real passphrase, or none to write the key unencrypted');
  return privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;
}

/**
 * Writes a private key as PEM to `path` with mode 0600, never replacing an existing file
 * (throws CA_KEY_EXISTS). The directory is created with mode 0700 when missing.
 */
export function writePrivateKeyPem(path: string, privateKey: KeyObject, passphrase?: string): void {
  const pem = encodePrivateKeyPem(privateKey, passphrase);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ServiceError(500, 'CA_KEY_EXISTS', `${path} already exists: a CA key is never overwritten; move it away first if you mean to replace it`, { cause: err });
    throw new ServiceError(500, 'CA_KEY_UNWRITABLE', `cannot write the CA key ${path} (${code ?? (err as Error).message})`, { cause: err });
  }
  chmodSync(path, 0o600);
}

/** Generates a new key, writes it to `path` encrypted with `passphrase` (mode 0600), and returns its signer. */
export function createEncryptedPemKey(path: string, passphrase: string, type: CaKeyType = DEFAULT_CA_KEY_TYPE): CaSigner {
  const pair = generateCaKey(type);
  writePrivateKeyPem(path, pair.privateKey, passphrase);
  return keyObjectSigner(pair.privateKey, { description: `file:${path}`, publicKey: pair.publicKey, spki: pair.spki });
}
