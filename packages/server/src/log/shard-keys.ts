// The key each log shard signs with: a PEM file in its directory (made on first use, encrypted
// with the key password when given), or a key on a PKCS#11 token named by the label its state
// record carries (ECDSA P-256; checkpoints and entry timestamps then signed on the main thread).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError } from '../errors.js';
import { assertKeyPresent, loadOrCreateKey, type LoadedKey } from '../keys.js';
import { loadPkcs11Signer } from '../ca/keys/pkcs11.js';
import type { ExternalLogKey } from './engine/log-signer.js';

export interface Pkcs11LogKeys {
  modulePath: string;
  tokenLabel?: string;
  pin: string;
  /** The label of the key a shard without a key yet takes (default PKCS11LOG). */
  keyLabel?: string;
}

export const DEFAULT_LOG_KEY_LABEL = 'PKCS11LOG';

export interface ShardKey {
  key: LoadedKey | ExternalLogKey;
  /** The PKCS#11 label, when the key is on a token. */
  label?: string;
  close(): void;
}

/** Opens the token key with `label` as a log key (ECDSA P-256 only). */
export async function pkcs11LogKey(hsm: Pkcs11LogKeys, label: string): Promise<ShardKey> {
  const signer = await loadPkcs11Signer({ modulePath: hsm.modulePath, pin: hsm.pin, keyLabel: label, algorithm: 'ecdsa-with-SHA256', ...(hsm.tokenLabel ? { tokenLabel: hsm.tokenLabel } : {}) });
  if (signer.publicKey.asymmetricKeyType !== 'ec' || signer.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    signer.close();
    throw new ServiceError(500, 'LOG_KEY_UNSUPPORTED', `the PKCS#11 key "${label}" is not ECDSA P-256, the only kind a log key on a token may be (make one: pkcs11-tool --keypairgen --key-type EC:prime256v1 --label ${label})`);
  }
  return { key: { publicKey: signer.publicKey, description: signer.description, sign: (data) => signer.sign(data) }, label, close: () => signer.close() };
}

/**
 * The key of the shard in `shardDir`: its token key when `label` is given (then no key file may
 * be there: that would be another key), else its PEM file.
 */
export async function openShardKey(shardDir: string, label: string | undefined, hsm: Pkcs11LogKeys | undefined, keyPassword?: string): Promise<ShardKey> {
  const file = join(shardDir, 'log-key.pem');
  if (label === undefined) return { key: loadOrCreateKey(file, 'ed25519', keyPassword), close: () => {} };
  if (existsSync(file)) throw new ServiceError(500, 'LOG_KEY_CONFLICT', `the log shard in ${shardDir} has a key file ${file} and a PKCS#11 key "${label}": one shard signs with one key; remove the state's label or the file`);
  if (!hsm) throw new ServiceError(500, 'PKCS11_REQUIRED', `the log shard in ${shardDir} signs with the PKCS#11 key "${label}": start with --pkcs11-module (and --pkcs11-token; PIN in SIGSTACK_PKCS11_PIN)`);
  return pkcs11LogKey(hsm, label);
}

/**
 * The key a shard of a stack signs with: its key file must be there once the shard has a
 * checkpoint (else KEY_MISSING), or its token label names it. Closes `storage` when it fails.
 */
export async function openShardKeyFor(shardDir: string, record: { keyLabel?: string }, storage: { latestCheckpoint(): Promise<unknown>; close(): Promise<void> }, name: string, options: { hsm?: Pkcs11LogKeys; keyPassword?: string }): Promise<ShardKey> {
  try {
    if (!record.keyLabel) await assertKeyPresent(join(shardDir, 'log-key.pem'), storage, `the log shard ${name}`);
    return await openShardKey(shardDir, record.keyLabel, options.hsm, options.keyPassword);
  } catch (err) {
    await storage.close();
    throw err;
  }
}
