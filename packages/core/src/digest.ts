// One-shot SHA-2 digests for the verifier's hot paths: node:crypto's hash() (Node >= 20.12)
// skips the Hash object createHash() builds for every call (about half the cost for the
// small inputs of Merkle proofs and signed data); createHash() where hash() is missing.

import * as crypto from 'node:crypto';

type DigestName = 'sha256' | 'sha384' | 'sha512';

const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;

/** The digest of `data` as a Buffer. */
export function digestOf(hash: DigestName, data: Uint8Array): Buffer {
  if (oneShot) return oneShot(hash, data, 'buffer');
  return crypto.createHash(hash).update(data).digest();
}

/** SHA-256 over a one-byte prefix and two 32-byte hashes (an RFC 6962 interior node). */
export function sha256Node(prefix: number, left: Uint8Array, right: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + left.length + right.length);
  input[0] = prefix;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return digestOf('sha256', input);
}
