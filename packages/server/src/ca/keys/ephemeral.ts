// Ephemeral CA keys: generated in memory for development and tests, gone when the process
// ends. Keys are made with @sigstack/core's generateKeyPair (safe to export on node 20).

import { generateKeyPair, type GeneratedKeyPair } from '@sigstack/core';
import { keyObjectSigner, type CaSignatureAlgorithm, type CaSigner } from './signer.js';

export type CaKeyType = 'P-256' | 'P-384' | 'P-521' | 'ed25519' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

export const CA_KEY_TYPES: readonly CaKeyType[] = ['P-256', 'P-384', 'P-521', 'ed25519', 'rsa-2048', 'rsa-3072', 'rsa-4096'];

/**
 * The key type of CA keys made here unless asked otherwise: P-256, the curve of Fulcio's ephemeral
 * CA (sigstore's default ECDSA signer). Fulcio's certificate specification advises P-384 for a
 * long-lived root and intermediate (`--ca-key-type P-384`); on this project's 2-core reference
 * machine that costs about half the issuance rate (OpenSSL 3.0 signs P-384 ~20x slower than P-256).
 */
export const DEFAULT_CA_KEY_TYPE: CaKeyType = 'P-256';

/** A new key pair of the given type (DEFAULT_CA_KEY_TYPE when not given). */
export function generateCaKey(type: CaKeyType = DEFAULT_CA_KEY_TYPE): GeneratedKeyPair {
  if (type === 'ed25519') return generateKeyPair('ed25519');
  if (type.startsWith('rsa-')) return generateKeyPair('rsa', { modulusLength: Number(type.slice(4)) });
  if (type === 'P-256' || type === 'P-384' || type === 'P-521') return generateKeyPair('ec', { namedCurve: type });
  throw new TypeError(`unknown CA key type "${type as string}": use one of ${CA_KEY_TYPES.join(', ')}`);
}

/** A signer over a freshly generated in-memory key (for development: nothing is persisted). */
export function ephemeralSigner(type: CaKeyType = DEFAULT_CA_KEY_TYPE, algorithm?: CaSignatureAlgorithm): CaSigner {
  const pair = generateCaKey(type);
  return keyObjectSigner(pair.privateKey, { algorithm, description: `ephemeral ${type} key`, publicKey: pair.publicKey, spki: pair.spki });
}
