// ECDSA signatures under a key known before any bundle is seen (a trusted root's CA, TSA, log
// or CT log key, or a `--key`): for P-384 and P-521 (the curves Fulcio's intermediate and
// sigstore's TSA use) the native addon makes tables of the key's and the generator's multiples
// once, and then checks each signature with a fixed-base comb, about 3x faster than OpenSSL;
// for P-256 it decodes the key into OpenSSL once and calls OpenSSL's own ECDSA_verify (its
// assembly is faster than any table). Only the key is prepared; every signature is checked in
// full. Undefined where it does not apply (no addon, or not ECDSA on these curves): callers
// keep their KeyObject route then.

import { digestOf } from './digest.js';
import { nativeCrypto } from './native.js';
import type { HashName } from './signature.js';
import type { SpkiKeyInfo } from './spki.js';

const CURVES: Record<string, number> = { prime256v1: 0, secp384r1: 1, secp521r1: 2 };

export class FixedKeyVerifier {
  private constructor(private readonly handle: object) {}

  /** A verifier for this key, or undefined when the fast route does not apply. */
  static for(info: SpkiKeyInfo): FixedKeyVerifier | undefined {
    if (info.type !== 'ec' || process.env.SIGSTACK_NO_FIXED_KEY === '1') return undefined;
    const curve = CURVES[info.curve];
    const native = nativeCrypto;
    if (curve === undefined || !native?.fixedKey || !native.verifyFixedKey) return undefined;
    let handle: object | null;
    try {
      handle = native.fixedKey(curve, info.point);
    } catch {
      return undefined; // an addon built before it took this curve
    }
    return handle ? new FixedKeyVerifier(handle) : undefined;
  }

  /** An ECDSA signature (DER) over `data`, hashed with `hash`; false when it does not verify. */
  verify(hash: HashName, data: Uint8Array, signature: Uint8Array): boolean {
    return this.verifyDigest(digestOf(hash, data), signature);
  }

  verifyDigest(digest: Uint8Array, signature: Uint8Array): boolean {
    // for() made this only when the addon has verifyFixedKey.
    return nativeCrypto!.verifyFixedKey!(this.handle, digest, signature);
  }
}
