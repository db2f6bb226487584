// Key pair generation that is safe to export from: node 20 can deadlock when a freshly
// generated KeyObject is exported while the garbage collector finalizes its generation job,
// so keys are generated already encoded and imported again as fresh KeyObjects.

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface GeneratedKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo. */
  spki: Buffer;
  /** DER PKCS#8 private key. */
  pkcs8: Buffer;
}

type KeyType = 'ed25519' | 'ed448' | 'ec' | 'rsa';

export function generateKeyPair(type: KeyType, options: { namedCurve?: string; modulusLength?: number } = {}): GeneratedKeyPair {
  const encodings = { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } } as const;
  const generate = generateKeyPairSync as (type: KeyType, options: object) => { publicKey: Buffer; privateKey: Buffer };
  const { publicKey, privateKey } = generate(type, { ...options, ...encodings });
  return {
    privateKey: createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }),
    spki: publicKey,
    pkcs8: privateKey,
  };
}
