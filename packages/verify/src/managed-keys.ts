// Managed keys (`--key`) made ready once, not per bundle: the PEM read into a KeyObject and its
// SubjectPublicKeyInfo exported a single time, then reused for every bundle verified with it.
// Only the policy's key is remembered, never anything from a bundle.

import type { KeyObject } from 'node:crypto';
import { loadPublicKey } from '@sigstack/core';
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
        signer = { publicKey: key, spki: key.export({ type: 'spki', format: 'der' }) };
        this.byObject.set(key, signer);
      }
      return signer;
    }
    let signer = this.byPem.get(key);
    if (!signer) {
      const publicKey = loadPublicKey(key);
      signer = { publicKey, spki: publicKey.export({ type: 'spki', format: 'der' }) };
      if (this.byPem.size >= MAX_REMEMBERED) this.byPem.delete(this.byPem.keys().next().value as string);
      this.byPem.set(key, signer);
    }
    return signer;
  }
}
