// Managed keys (`--key`) made ready once, not per bundle: the PEM read into a KeyObject, its
// SubjectPublicKeyInfo exported and (ECDSA) the key prepared for the native checks a single
// time, then reused for every bundle verified with it.
// Only the policy's key is remembered, never anything from a bundle.

import type { KeyObject } from 'node:crypto';
import { FixedKeyVerifier, loadPublicKey, spkiKeyInfo } from '@sigstack/core';
import type { Signer } from './tlog-bodies.js';

/** How many distinct PEM keys one verifier remembers (a verifier is usually given one). */
const MAX_REMEMBERED = 64;

export class ManagedKeys {
  private readonly byPem = new Map<string, Signer>();
  private readonly byObject = new WeakMap<KeyObject, Signer>();

  signerFor(key: string | KeyObject): Signer {
    if (typeof key !== 'string') {
      let signer = this.byObject.get(key);
      if (!signer) {
        signer = prepared(key);
        this.byObject.set(key, signer);
      }
      return signer;
    }
    let signer = this.byPem.get(key);
    if (!signer) {
      signer = prepared(loadPublicKey(key));
      if (this.byPem.size >= MAX_REMEMBERED) this.byPem.delete(this.byPem.keys().next().value as string);
      this.byPem.set(key, signer);
    }
    return signer;
  }
}

/**
 * P-256 keys only: their preparation is the decoded key (cheap); P-384 / P-521 tables take
 * about 3 MB a key, kept for trusted-root keys but not for up to MAX_REMEMBERED policy keys.
 */
function prepared(publicKey: KeyObject): Signer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const info = spkiKeyInfo(spki);
  const fixedKey = info.type === 'ec' && info.curve === 'prime256v1' ? FixedKeyVerifier.for(info) : undefined;
  return fixedKey ? { publicKey, spki, fixedKey } : { publicKey, spki };
}
