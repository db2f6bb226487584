// RFC 6962 / RFC 9162 Merkle hash trees over SHA-256: leaf and node hashing, tree heads,
// inclusion and consistency proof verification (RFC 9162 §2.1.3.2 and §2.1.4.2), and simple
// reference proof generators over a full list of leaf hashes (for tests and the log server).

import { createHash } from 'node:crypto';
import { digestOf, sha256Node } from './digest.js';
import { CoreError } from './errors.js';
import { bytesEqual, hexEncode } from './encoding.js';

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

const NODE_PREFIX = Buffer.from([0x01]);

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function malformed(message: string): CoreError {
  return new CoreError('MERKLE_PROOF_MALFORMED', message);
}

function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw malformed(`${what} must be a byte array`);
  }
}

function checkHash(value: unknown, what: string): asserts value is Uint8Array {
  checkBytes(value, what);
  if (value.length !== HASH_SIZE) {
    throw malformed(`${what} must be ${HASH_SIZE} bytes (a SHA-256 hash), got ${value.length}`);
  }
}

function checkCount(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw malformed(`${what} must be a non-negative safe integer, got ${String(value)}`);
  }
}

function checkProof(proof: unknown, what: string): asserts proof is Uint8Array[] {
  if (!Array.isArray(proof)) throw malformed(`${what} must be an array of hashes`);
  proof.forEach((p, i) => checkHash(p, `${what}[${i}]`));
}

/** RFC 6962 §2.1 leaf hash: SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array): Buffer {
  checkBytes(data, 'leaf data');
  const input = Buffer.allocUnsafe(1 + data.length);
  input[0] = 0x00;
  input.set(data, 1);
  return digestOf('sha256', input);
}

/** RFC 6962 §2.1 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  checkHash(left, 'left child hash');
  checkHash(right, 'right child hash');
  return sha256Node(0x01, left, right);
}

/** The largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function mth(hashes: Uint8Array[], start: number, end: number): Buffer {
  const n = end - start;
  if (n === 0) return sha256();
  if (n === 1) return Buffer.from(hashes[start] as Uint8Array); // a copy: callers may keep it
  const k = splitPoint(n);
  return sha256(NODE_PREFIX, mth(hashes, start, start + k), mth(hashes, start + k, end));
}

/**
 * RFC 6962 §2.1 Merkle Tree Hash over already-hashed leaves. The empty tree's hash is
 * SHA-256 of the empty string.
 */
export function rootFromLeafHashes(leafHashes: Uint8Array[]): Buffer {
  checkProof(leafHashes, 'leaf hashes');
  return mth(leafHashes, 0, leafHashes.length);
}

/**
 * Recomputes the root hash of a tree of `size` leaves from the leaf hash at `index` and its
 * inclusion proof (audit path), following RFC 9162 §2.1.3.2. Throws MERKLE_PROOF_MALFORMED when
 * the index is out of range, the proof has the wrong number of hashes, or a hash is not 32 bytes.
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leafHashValue: Uint8Array,
  proof: Uint8Array[],
): Buffer {
  checkCount(index, 'leaf index');
  checkCount(size, 'tree size');
  if (index >= size) {
    throw malformed(`leaf index ${index} is not within a tree of size ${size}`);
  }
  checkHash(leafHashValue, 'leaf hash');
  checkProof(proof, 'inclusion proof');

  // BigInt keeps the bit arithmetic exact for every safe integer (JS bit operators are 32-bit).
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r: Buffer = Buffer.from(leafHashValue);
  for (const p of proof) {
    if (sn === 0n) {
      throw malformed(
        `inclusion proof for index ${index} in a tree of size ${size} has too many hashes (${proof.length})`,
      );
    }
    if ((fn & 1n) === 1n || fn === sn) {
      r = sha256Node(0x01, p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = sha256Node(0x01, r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) {
    throw malformed(
      `inclusion proof for index ${index} in a tree of size ${size} has too few hashes (${proof.length})`,
    );
  }
  return r;
}

/**
 * Verifies that `leafHash` is the leaf at `index` of the tree of `size` leaves whose root is
 * `expectedRoot`. Throws INCLUSION_PROOF_MISMATCH when the recomputed root differs.
 */
export function verifyInclusion(
  index: number,
  size: number,
  leafHashValue: Uint8Array,
  proof: Uint8Array[],
  expectedRoot: Uint8Array,
): void {
  checkHash(expectedRoot, 'expected root hash');
  const computed = rootFromInclusionProof(index, size, leafHashValue, proof);
  if (!bytesEqual(computed, expectedRoot)) {
    throw new CoreError(
      'INCLUSION_PROOF_MISMATCH',
      `inclusion proof for index ${index} in a tree of size ${size} leads to root ` +
        `${hexEncode(computed)}, not the expected ${hexEncode(expectedRoot)}`,
    );
  }
}

/**
 * Verifies a consistency proof between the tree of `size1` leaves with root `root1` and the tree
 * of `size2` leaves with root `root2`, following RFC 9162 §2.1.4.2. Equal sizes need an empty
 * proof and equal roots; size1 = 0 is consistent with any later tree (with an empty proof).
 * Throws MERKLE_PROOF_MALFORMED for impossible sizes or proof lengths and
 * CONSISTENCY_PROOF_MISMATCH when the proof does not connect the two roots.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkCount(size1, 'first tree size');
  checkCount(size2, 'second tree size');
  if (size2 < size1) {
    throw malformed(`second tree size ${size2} is smaller than first tree size ${size1}`);
  }
  checkHash(root1, 'first root hash');
  checkHash(root2, 'second root hash');
  checkProof(proof, 'consistency proof');

  if (size1 === size2) {
    if (proof.length !== 0) {
      throw malformed(`consistency proof between equal tree sizes (${size1}) must be empty`);
    }
    if (!bytesEqual(root1, root2)) {
      throw new CoreError(
        'CONSISTENCY_PROOF_MISMATCH',
        `trees of the same size ${size1} have different roots ${hexEncode(root1)} and ${hexEncode(root2)}`,
      );
    }
    return;
  }
  if (size1 === 0) {
    if (proof.length !== 0) {
      throw malformed('consistency proof from the empty tree must be empty');
    }
    return;
  }
  if (proof.length === 0) {
    throw malformed(`consistency proof from size ${size1} to ${size2} is empty`);
  }

  const path: Uint8Array[] = [...proof];
  // When size1 is a power of two, the old root is itself a node of the new tree and the proof
  // omits it: put it back at the front.
  if (isPowerOfTwo(size1)) path.unshift(root1);
  let fn = BigInt(size1 - 1);
  let sn = BigInt(size2 - 1);
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr: Buffer = fr;
  for (const c of path.slice(1)) {
    if (sn === 0n) {
      throw malformed(
        `consistency proof from size ${size1} to ${size2} has too many hashes (${proof.length})`,
      );
    }
    if ((fn & 1n) === 1n || fn === sn) {
      fr = sha256Node(0x01, c, fr);
      sr = sha256Node(0x01, c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = sha256Node(0x01, sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) {
    throw malformed(
      `consistency proof from size ${size1} to ${size2} has too few hashes (${proof.length})`,
    );
  }
  if (!bytesEqual(fr, root1)) {
    throw new CoreError(
      'CONSISTENCY_PROOF_MISMATCH',
      `consistency proof from size ${size1} to ${size2} leads to first root ${hexEncode(fr)}, ` +
        `not the expected ${hexEncode(root1)}`,
    );
  }
  if (!bytesEqual(sr, root2)) {
    throw new CoreError(
      'CONSISTENCY_PROOF_MISMATCH',
      `consistency proof from size ${size1} to ${size2} leads to second root ${hexEncode(sr)}, ` +
        `not the expected ${hexEncode(root2)}`,
    );
  }
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

/**
 * RFC 6962 §2.1.1 audit path PATH(index, D[n]) for the leaf at `index`, ordered from the leaf
 * upwards. A reference generator over the full list of leaf hashes: clear, not fast.
 */
export function inclusionProof(index: number, leafHashes: Uint8Array[]): Buffer[] {
  checkProof(leafHashes, 'leaf hashes');
  return inclusionProofWith(index, leafHashes.length, (start, end) => mth(leafHashes, start, end));
}

/**
 * RFC 6962 §2.1.1 PATH(index, D[size]) where `subtree(start, end)` gives MTH(D[start:end]) for
 * the ranges the recursion needs (all aligned: `start` is a multiple of a power of two at least
 * end - start). Logs answer from stored tiles through this.
 */
export function inclusionProofWith(index: number, size: number, subtree: (start: number, end: number) => Buffer): Buffer[] {
  checkCount(index, 'leaf index');
  checkCount(size, 'tree size');
  if (index >= size) {
    throw malformed(`leaf index ${index} is not within a tree of size ${size}`);
  }
  const proof: Buffer[] = [];
  const path = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      path(m, start, start + k);
      proof.push(subtree(start + k, end));
    } else {
      path(m - k, start + k, end);
      proof.push(subtree(start, start + k));
    }
  };
  path(index, 0, size);
  return proof;
}

/**
 * RFC 6962 §2.1.2 consistency proof PROOF(size1, D[n]) from the tree of the first `size1` leaves
 * to the tree of all `leafHashes`. Empty when size1 is 0 or equals the tree size.
 */
export function consistencyProof(size1: number, leafHashes: Uint8Array[]): Buffer[] {
  checkProof(leafHashes, 'leaf hashes');
  return consistencyProofWith(size1, leafHashes.length, (start, end) => mth(leafHashes, start, end));
}

/** RFC 6962 §2.1.2 PROOF(size1, D[size]) with subtree hashes from `subtree`, as inclusionProofWith. */
export function consistencyProofWith(size1: number, size: number, subtree: (start: number, end: number) => Buffer): Buffer[] {
  checkCount(size1, 'first tree size');
  checkCount(size, 'tree size');
  if (size1 > size) {
    throw malformed(`first tree size ${size1} exceeds the tree size ${size}`);
  }
  if (size1 === 0) return [];
  const proof: Buffer[] = [];
  const subproof = (m: number, start: number, end: number, complete: boolean): void => {
    const n = end - start;
    if (m === n) {
      if (!complete) proof.push(subtree(start, end));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      subproof(m, start, start + k, complete);
      proof.push(subtree(start + k, end));
    } else {
      subproof(m - k, start + k, end, false);
      proof.push(subtree(start, start + k));
    }
  };
  subproof(size1, 0, size, true);
  return proof;
}
