// The TUF repository's role keys: one Ed25519 key per top-level role, generated on first use into
// the key directory (PKCS#8 PEM, mode 0600) and reused after; their TUF key IDs and signers.

import { createHash, sign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { Key, Signature } from '@tufjs/models';
import { canonicalize } from '@sigstack/core';
import { existsSync } from 'node:fs';
import { loadOrCreateKey, loadPrivateKeyPem } from '../keys.js';
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
export function loadOrCreateRoleKey(keyDir: string, role: TufRole, passphrase?: string): TufRoleKey {
  return roleKeyFrom(join(keyDir, `${role}.pem`), role, true, passphrase);
}

/** A role key from a PEM file that must exist (an offline root or targets key). */
export function loadRoleKeyFile(path: string, role: TufRole): TufRoleKey {
  if (!existsSync(path)) throw new ServiceError(400, 'TUF_KEY_NOT_FOUND', `the TUF key file ${path} does not exist`);
  return roleKeyFrom(path, role, false);
}

/** The TUF public key of an Ed25519 public key object. */
export function tufPublicKey(publicKey: KeyObject): Key {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const publicHex = spki.subarray(spki.length - 32).toString('hex');
  return new Key({ keyID: tufKeyId(publicHex), keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: publicHex } });
}

function roleKeyFrom(path: string, role: TufRole, create: boolean, passphrase = process.env.SIGSTACK_KEY_PASSWORD): TufRoleKey {
  const loaded = create ? loadOrCreateKey(path, 'ed25519', passphrase) : loadPrivateKeyPem(path, passphrase);
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
