// Service signing keys: loaded from a PEM file, or generated on first start into the data
// directory (PKCS#8 PEM, mode 0600) and reused after. Ed25519 by default, ECDSA P-256 allowed.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { generateKeyPair, pemEncode } from '@sigstack/core';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ServiceError } from './errors.js';

export type KeyType = 'ed25519' | 'ecdsa-p256';

export interface LoadedKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function loadPrivateKeyPem(path: string, passphrase?: string): LoadedKey {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ServiceError(500, 'KEY_UNREADABLE', `cannot read key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem);
  if (encrypted && !passphrase) throw new ServiceError(500, 'KEY_PASSWORD_REQUIRED', `key ${path} is encrypted: set SIGSTACK_KEY_PASSWORD to its password`);
  try {
    const privateKey = createPrivateKey(passphrase === undefined ? pem : { key: pem, passphrase });
    return { privateKey, publicKey: createPublicKey(privateKey) };
  } catch (err) {
    if (encrypted) throw new ServiceError(500, 'KEY_PASSWORD_WRONG', `cannot decrypt key ${path}: SIGSTACK_KEY_PASSWORD is not its password`);
    throw new ServiceError(500, 'KEY_INVALID', `key ${path} is not a usable private key (PEM PKCS#8 / SEC1): ${(err as Error).message}`);
  }
}

/** The key at `path`, generated there (mode 0600; encrypted PKCS#8 with `passphrase`) when absent. */
export function loadOrCreateKey(path: string, type: KeyType = 'ed25519', passphrase?: string): LoadedKey {
  if (existsSync(path)) return loadPrivateKeyPem(path, passphrase);
  const pair = type === 'ed25519' ? generateKeyPair('ed25519') : generateKeyPair('ec', { namedCurve: 'P-256' });
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const pem = passphrase ? (pair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string) : pemEncode('PRIVATE KEY', pair.pkcs8);
  writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/**
 * KEY_MISSING when a log already holds entries but its key file is gone (e.g. a backup restored
 * without --include-keys): a new key would sign checkpoints no trusted root names.
 */
export async function assertKeyPresent(path: string, storage: { latestCheckpoint(): Promise<unknown> }, what: string): Promise<void> {
  if (existsSync(path) || !(await storage.latestCheckpoint())) return;
  throw new ServiceError(500, 'KEY_MISSING', `${what} has entries but its key ${path} is missing: put the key back (a backup made without --include-keys leaves keys out), or use a new directory`);
}
