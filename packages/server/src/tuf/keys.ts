// The TUF repository's role keys: one Ed25519 key per top-level role, generated on first use into
// the key directory (PKCS#8 PEM, mode 0600) and reused after; their TUF key IDs and signers.

import { createHash, sign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { Key, Signature } from '@tufjs/models';
import { canonicalize } from '@sigstack/core';
import { loadOrCreateKey } from '../keys.js';
import { ServiceError } from '../errors.js';

export const TUF_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TufRole = (typeof TUF_ROLES)[number];

export interface TufRoleKey {
  role: TufRole;
  /** SHA-256 of the key's canonical JSON (the TUF key ID, hex). */
  keyId: string;
  key: Key;
  privateKey: KeyObject;
  /** Where the private key is kept. */
  path: string;
}

/** The TUF key ID of an Ed25519 public key: SHA-256 over the canonical JSON of {keytype, keyval, scheme}. */
export function tufKeyId(publicHex: string): string {
  const json = canonicalize({ keytype: 'ed25519', keyval: { public: publicHex }, scheme: 'ed25519' });
  return createHash('sha256').update(json, 'utf8').digest('hex');
}

/** The role's key in `keyDir` (`<role>.pem`), made on first use. */
export function loadOrCreateRoleKey(keyDir: string, role: TufRole): TufRoleKey {
  const path = join(keyDir, `${role}.pem`);
  const loaded = loadOrCreateKey(path, 'ed25519');
  if (loaded.publicKey.asymmetricKeyType !== 'ed25519') {
    throw new ServiceError(500, 'TUF_KEY_INVALID', `the TUF ${role} key ${path} is not an Ed25519 key; remove it (and the repository) to start a new TUF root`);
  }
  const spki = loaded.publicKey.export({ type: 'spki', format: 'der' });
  const publicHex = spki.subarray(spki.length - 32).toString('hex');
  const keyId = tufKeyId(publicHex);
  const key = new Key({ keyID: keyId, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: publicHex } });
  return { role, keyId, key, privateKey: loaded.privateKey, path };
}

/** All four role keys. */
export function loadOrCreateRoleKeys(keyDir: string): Record<TufRole, TufRoleKey> {
  return Object.fromEntries(TUF_ROLES.map((role) => [role, loadOrCreateRoleKey(keyDir, role)])) as Record<TufRole, TufRoleKey>;
}

/** A signer for Metadata.sign: Ed25519 over the canonical bytes it is given. */
export function roleSigner(roleKey: TufRoleKey): (data: Buffer) => Signature {
  return (data) => new Signature({ keyID: roleKey.keyId, sig: sign(null, data, roleKey.privateKey).toString('hex') });
}
