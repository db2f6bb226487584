// The optional native addon (packages/core/native): ECDSA over a given digest through node's own
// OpenSSL, which node:crypto does not offer. Undefined when the addon was not built; callers
// then take the portable route. SIGSTACK_NO_NATIVE=1 turns it off (to compare the two).

import { createRequire } from 'node:module';

export interface NativeCrypto {
  /** curve: 0 = P-256, 1 = P-384, 2 = P-521; point uncompressed; signature DER. */
  verifyDigest(curve: number, point: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean;
  /** A key known in advance (curve 0 = P-256: the decoded key; 1 = P-384, 2 = P-521: tables); null for an unusable point. */
  fixedKey?(curve: number, point: Uint8Array): object | null;
  verifyFixedKey?(handle: object, digest: Uint8Array, signature: Uint8Array): boolean;
}

function load(): NativeCrypto | undefined {
  if (process.env.SIGSTACK_NO_NATIVE === '1') return undefined;
  try {
    return createRequire(import.meta.url)('@sigstack/core/native') as NativeCrypto;
  } catch {
    return undefined;
  }
}

export const nativeCrypto: NativeCrypto | undefined = load();
