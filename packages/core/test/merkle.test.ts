// Tests for merkle.ts: RFC 6962 reference vectors (transparency-dev/merkle), corrupted-proof
// probes, and exhaustive generator/verifier cross-checks for every tree size up to 64.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../src/merkle.js';
import { CoreError } from '../src/errors.js';
import { TILE_WIDTH, tileRows } from '../src/tiles.js';

interface Vectors {
  leaves: string[];
  roots: string[];
  emptyRoot: string;
  leafHashL123456: string;
  inclusion: { index: number; size: number; proof: string[] }[];
  consistency: { size1: number; size2: number; proof: string[] }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../test/vectors/rfc6962-merkle.json', import.meta.url), 'utf8'),
) as Vectors;

const h = (hex: string): Buffer => Buffer.from(hex, 'hex');
const leafHashes = vectors.leaves.map((l) => leafHash(h(l)));
const rootOf = (size: number): Buffer => h(vectors.roots[size - 1] as string);
const someHash = h('abacaba000000000000000000000000000000000000000000060061e00123456');
const emptyRoot = h(vectors.emptyRoot);

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CoreError, `expected CoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

/** Throws CoreError of either code; any other outcome (success, TypeError) fails the test. */
function rejects(fn: () => unknown, what: string): void {
  let threw = false;
  try {
    fn();
  } catch (err) {
    threw = true;
    assert.ok(err instanceof CoreError, `${what}: expected CoreError, got ${String(err)}`);
  }
  assert.ok(threw, `${what}: was accepted`);
}

function flipBit(bytes: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

test('leaf and node hashes follow RFC 6962 (0x00 / 0x01 prefixes)', () => {
  assert.equal(leafHash(new Uint8Array()).toString('hex'), vectors.roots[0]);
  assert.equal(leafHash(Buffer.from('L123456')).toString('hex'), vectors.leafHashL123456);
  const a = leafHash(Buffer.from('Hello'));
  const b = leafHash(Buffer.from('World'));
  const expected = createHash('sha256').update(Buffer.from([1])).update(a).update(b).digest();
  assert.deepEqual(nodeHash(a, b), expected);
  assert.notDeepEqual(nodeHash(a, b), nodeHash(b, a));
  assert.notDeepEqual(nodeHash(a, b), leafHash(Buffer.concat([a, b])));
  throwsCode(() => nodeHash(a, Buffer.from('short')), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => leafHash('text' as unknown as Uint8Array), 'MERKLE_PROOF_MALFORMED');
});

test('tree heads match the reference roots for sizes 0..8', () => {
  assert.deepEqual(rootFromLeafHashes([]), emptyRoot);
  for (let size = 1; size <= 8; size++) {
    assert.deepEqual(rootFromLeafHashes(leafHashes.slice(0, size)), rootOf(size), `size ${size}`);
  }
  throwsCode(() => rootFromLeafHashes([Buffer.alloc(31)]), 'MERKLE_PROOF_MALFORMED');
});

test('reference inclusion proofs verify, and the generator reproduces them', () => {
  for (const v of vectors.inclusion) {
    const proof = v.proof.map(h);
    const root = rootOf(v.size);
    const leaf = leafHashes[v.index] as Buffer;
    assert.deepEqual(rootFromInclusionProof(v.index, v.size, leaf, proof), root);
    verifyInclusion(v.index, v.size, leaf, proof, root);
    assert.deepEqual(inclusionProof(v.index, leafHashes.slice(0, v.size)), proof);
  }
});

test('corrupted inclusion probes are all rejected', () => {
  for (const v of vectors.inclusion) {
    const proof = v.proof.map(h);
    const root = rootOf(v.size);
    const leaf = leafHashes[v.index] as Buffer;
    const i = v.index;
    const n = v.size;
    const probes: [string, () => void][] = [
      ['index - 1', () => verifyInclusion(i - 1, n, leaf, proof, root)],
      ['index + 1', () => verifyInclusion(i + 1, n, leaf, proof, root)],
      ['index ^ 2', () => verifyInclusion(i ^ 2, n, leaf, proof, root)],
      ['size * 2', () => verifyInclusion(i, n * 2, leaf, proof, root)],
      ['size / 2', () => verifyInclusion(i, Math.floor(n / 2), leaf, proof, root)],
      ['wrong leaf', () => verifyInclusion(i, n, Buffer.from('WrongLeaf'), proof, root)],
      ['other leaf', () => verifyInclusion(i, n, someHash, proof, root)],
      ['empty root', () => verifyInclusion(i, n, leaf, proof, emptyRoot)],
      ['random root', () => verifyInclusion(i, n, leaf, proof, someHash)],
      ['trailing garbage', () => verifyInclusion(i, n, leaf, [...proof, Buffer.alloc(0)], root)],
      ['trailing root', () => verifyInclusion(i, n, leaf, [...proof, root], root)],
      ['preceding garbage', () => verifyInclusion(i, n, leaf, [Buffer.alloc(0), ...proof], root)],
      ['preceding root', () => verifyInclusion(i, n, leaf, [root, ...proof], root)],
    ];
    proof.forEach((_, k) => {
      const bad = proof.map((p, j) => (j === k ? flipBit(p, 3) : p));
      probes.push([`modified proof[${k}]`, () => verifyInclusion(i, n, leaf, bad, root)]);
    });
    if (proof.length > 0) {
      probes.push(['removed component', () => verifyInclusion(i, n, leaf, proof.slice(0, -1), root)]);
    }
    if (proof.length > 1) {
      const inserted = [proof[0] as Buffer, someHash, ...proof.slice(1)];
      probes.push(['inserted component', () => verifyInclusion(i, n, leaf, inserted, root)]);
    }
    for (const [desc, fn] of probes) rejects(fn, `index ${i} size ${n}: ${desc}`);
  }
});

test('inclusion errors carry the documented codes', () => {
  const leaf = leafHashes[0] as Buffer;
  throwsCode(() => rootFromInclusionProof(0, 0, leaf, []), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => rootFromInclusionProof(1, 1, leaf, []), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => rootFromInclusionProof(2, 1, leaf, []), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => rootFromInclusionProof(-1, 4, leaf, []), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => rootFromInclusionProof(0.5, 4, leaf, []), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => rootFromInclusionProof(0, 2 ** 53, leaf, []), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => rootFromInclusionProof(0, NaN, leaf, []), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => rootFromInclusionProof(0, 1, Buffer.alloc(0), []), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => rootFromInclusionProof(0, 2, leaf, []), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => rootFromInclusionProof(0, 2, leaf, [leaf, leaf]), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => rootFromInclusionProof(0, 2, leaf, [Buffer.alloc(33)]), 'MERKLE_PROOF_MALFORMED');
  throwsCode(
    () => rootFromInclusionProof(0, 2, leaf, null as unknown as Uint8Array[]),
    'MERKLE_PROOF_MALFORMED',
  );
  throwsCode(
    () => rootFromInclusionProof(0, 2, leaf, ['00'.repeat(32)] as unknown as Uint8Array[]),
    'MERKLE_PROOF_MALFORMED',
  );
  throwsCode(() => verifyInclusion(0, 1, leaf, [], someHash), 'INCLUSION_PROOF_MISMATCH');
  throwsCode(() => verifyInclusion(0, 1, leaf, [], Buffer.alloc(0)), 'MERKLE_PROOF_MALFORMED');
  // A single-leaf tree's root is its leaf hash and the proof is empty.
  verifyInclusion(0, 1, leaf, [], leaf);
});

test('inclusion works for indexes and sizes beyond 32 bits', () => {
  // In a tree of 2^40 + 1 leaves, the last leaf's path is just the root of the first 2^40.
  const big = 2 ** 40;
  const left = someHash;
  const leaf = leafHashes[3] as Buffer;
  assert.deepEqual(rootFromInclusionProof(big, big + 1, leaf, [left]), nodeHash(left, leaf));
  const maxSafe = Number.MAX_SAFE_INTEGER;
  // The last leaf of the largest safe tree: 53 ones in size-1, so the path has popcount hashes.
  const proof = Array.from({ length: 52 }, () => someHash);
  assert.equal(rootFromInclusionProof(maxSafe - 1, maxSafe, leaf, proof).length, 32);
  throwsCode(() => rootFromInclusionProof(maxSafe - 1, maxSafe, leaf, proof.slice(1)), 'MERKLE_PROOF_MALFORMED');
});

test('reference consistency proofs verify, and the generator reproduces them', () => {
  for (const v of vectors.consistency) {
    const proof = v.proof.map(h);
    verifyConsistency(v.size1, v.size2, proof, rootOf(v.size1), rootOf(v.size2));
    assert.deepEqual(consistencyProof(v.size1, leafHashes.slice(0, v.size2)), proof);
  }
});

test('consistency edge cases from the reference suite', () => {
  const r1 = someHash;
  const r2 = emptyRoot;
  // Always consistent.
  verifyConsistency(0, 0, [], r1, r1);
  verifyConsistency(0, 1, [], r1, r2);
  verifyConsistency(1, 1, [], r2, r2);
  verifyConsistency(0, 1000, [], r1, r2);
  // Different roots for equal sizes.
  throwsCode(() => verifyConsistency(0, 0, [], r1, r2), 'CONSISTENCY_PROOF_MISMATCH');
  throwsCode(() => verifyConsistency(1, 1, [], r1, r2), 'CONSISTENCY_PROOF_MISMATCH');
  // Time travel.
  throwsCode(() => verifyConsistency(1, 0, [], r1, r2), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => verifyConsistency(2, 1, [], r1, r2), 'MERKLE_PROOF_MALFORMED');
  // Empty proof where one is needed.
  throwsCode(() => verifyConsistency(1, 2, [], r1, r2), 'MERKLE_PROOF_MALFORMED');
  // Non-empty proof where none is allowed.
  throwsCode(() => verifyConsistency(0, 0, [r2], r2, r2), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => verifyConsistency(0, 1, [r2], r2, r2), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => verifyConsistency(1, 1, [r2], r2, r2), 'MERKLE_PROOF_MALFORMED');
  // Bad inputs.
  throwsCode(() => verifyConsistency(1, 2, [r1], Buffer.from('WrongRoot'), r2), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => verifyConsistency(-1, 2, [r1], r1, r2), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => verifyConsistency(1, 2 ** 53, [r1], r1, r2), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => verifyConsistency(1, 2, [Buffer.alloc(5)], r1, r2), 'MERKLE_PROOF_MALFORMED');
  throwsCode(
    () => verifyConsistency(1, 2, undefined as unknown as Uint8Array[], r1, r2),
    'MERKLE_PROOF_MALFORMED',
  );
});

test('corrupted consistency probes are all rejected', () => {
  for (const v of vectors.consistency) {
    const proof = v.proof.map(h);
    if (proof.length === 0) continue;
    const s1 = v.size1;
    const s2 = v.size2;
    const r1 = rootOf(s1);
    const r2 = rootOf(s2);
    const probes: [string, () => void][] = [
      ['size1 - 1', () => verifyConsistency(s1 - 1, s2, proof, r1, r2)],
      ['size1 + 1', () => verifyConsistency(s1 + 1, s2, proof, r1, r2)],
      ['size1 ^ 2', () => verifyConsistency(s1 ^ 2, s2, proof, r1, r2)],
      ['size2 * 2', () => verifyConsistency(s1, s2 * 2, proof, r1, r2)],
      ['size2 / 2', () => verifyConsistency(s1, Math.floor(s2 / 2), proof, r1, r2)],
      ['wrong root1', () => verifyConsistency(s1, s2, proof, Buffer.from('WrongRoot'), r2)],
      ['wrong root2', () => verifyConsistency(s1, s2, proof, r1, Buffer.from('WrongRoot'))],
      ['other root1', () => verifyConsistency(s1, s2, proof, someHash, r2)],
      ['other root2', () => verifyConsistency(s1, s2, proof, r1, someHash)],
      ['swapped roots', () => verifyConsistency(s1, s2, proof, r2, r1)],
      ['empty proof', () => verifyConsistency(s1, s2, [], r1, r2)],
      ['trailing garbage', () => verifyConsistency(s1, s2, [...proof, Buffer.alloc(0)], r1, r2)],
      ['trailing root1', () => verifyConsistency(s1, s2, [...proof, r1], r1, r2)],
      ['trailing root2', () => verifyConsistency(s1, s2, [...proof, r2], r1, r2)],
      ['preceding garbage', () => verifyConsistency(s1, s2, [Buffer.alloc(0), ...proof], r1, r2)],
      ['preceding root1', () => verifyConsistency(s1, s2, [r1, ...proof], r1, r2)],
      ['preceding root2', () => verifyConsistency(s1, s2, [r2, ...proof], r1, r2)],
      ['preceding proof[0]', () => verifyConsistency(s1, s2, [proof[0] as Buffer, ...proof], r1, r2)],
      ['truncated proof', () => verifyConsistency(s1, s2, proof.slice(0, -1), r1, r2)],
    ];
    proof.forEach((_, k) => {
      const bad = proof.map((p, j) => (j === k ? flipBit(p, 4) : p));
      probes.push([`modified proof[${k}]`, () => verifyConsistency(s1, s2, bad, r1, r2)]);
    });
    for (const [desc, fn] of probes) rejects(fn, `${s1}->${s2}: ${desc}`);
  }
});

test('generator shapes match RFC 6962 §2.1.3 examples', () => {
  // Tree of 7 leaves d0..d6 (RFC 6962 §2.1.3): names as in the RFC figure.
  const d = Array.from({ length: 8 }, (_, i) => leafHash(Buffer.from(`d${i}`)));
  const [a, b, c, dd, e, f, j] = d as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  const g = nodeHash(a, b);
  const hh = nodeHash(c, dd);
  const i = nodeHash(e, f);
  const k = nodeHash(g, hh);
  const l = nodeHash(i, j);
  const seven = d.slice(0, 7);
  assert.deepEqual(inclusionProof(0, seven), [b, hh, l]);
  assert.deepEqual(inclusionProof(3, seven), [c, g, l]);
  assert.deepEqual(inclusionProof(4, seven), [f, j, k]);
  assert.deepEqual(inclusionProof(6, seven), [i, k]);
  assert.deepEqual(consistencyProof(3, seven), [c, dd, g, l]);
  assert.deepEqual(consistencyProof(4, seven), [l]);
  assert.deepEqual(consistencyProof(6, seven), [i, j, k]);
  assert.deepEqual(consistencyProof(0, seven), []);
  assert.deepEqual(consistencyProof(7, seven), []);
  throwsCode(() => inclusionProof(7, seven), 'MERKLE_PROOF_MALFORMED');
  throwsCode(() => consistencyProof(8, seven), 'MERKLE_PROOF_MALFORMED');
});

test('exhaustive: every proof for sizes 1..64 verifies, and flipped bits fail', () => {
  const all = Array.from({ length: 64 }, (_, n) => leafHash(Buffer.from(`leaf ${n}`)));
  const roots = [rootFromLeafHashes([])];
  for (let n = 1; n <= 64; n++) roots.push(rootFromLeafHashes(all.slice(0, n)));
  let checks = 0;
  for (let n = 1; n <= 64; n++) {
    const leaves = all.slice(0, n);
    const root = roots[n] as Buffer;
    for (let m = 0; m < n; m++) {
      const proof = inclusionProof(m, leaves);
      const leaf = leaves[m] as Buffer;
      verifyInclusion(m, n, leaf, proof, root);
      const bit = (m * 7 + n) % 256;
      throwsCode(() => verifyInclusion(m, n, flipBit(leaf, bit), proof, root), 'INCLUSION_PROOF_MISMATCH');
      throwsCode(() => verifyInclusion(m, n, leaf, proof, flipBit(root, bit)), 'INCLUSION_PROOF_MISMATCH');
      for (let k = 0; k < proof.length; k++) {
        const bad = proof.map((p, x) => (x === k ? flipBit(p, (bit + k * 31) % 256) : p));
        throwsCode(() => verifyInclusion(m, n, leaf, bad, root), 'INCLUSION_PROOF_MISMATCH');
      }
      if (n > 1) rejects(() => verifyInclusion((m + 1) % n, n, leaf, proof, root), `moved ${m}/${n}`);
      checks++;
    }
    for (let s1 = 0; s1 <= n; s1++) {
      const proof = consistencyProof(s1, leaves);
      const r1 = roots[s1] as Buffer;
      verifyConsistency(s1, n, proof, r1, root);
      if (s1 === 0 || s1 === n) {
        assert.equal(proof.length, 0);
        continue;
      }
      const bit = (s1 * 13 + n) % 256;
      throwsCode(() => verifyConsistency(s1, n, proof, flipBit(r1, bit), root), 'CONSISTENCY_PROOF_MISMATCH');
      throwsCode(() => verifyConsistency(s1, n, proof, r1, flipBit(root, bit)), 'CONSISTENCY_PROOF_MISMATCH');
      for (let k = 0; k < proof.length; k++) {
        const bad = proof.map((p, x) => (x === k ? flipBit(p, (bit + k * 31) % 256) : p));
        throwsCode(() => verifyConsistency(s1, n, bad, r1, root), 'CONSISTENCY_PROOF_MISMATCH');
      }
      checks++;
    }
  }
  assert.ok(checks > 4000);
});

test('tile rows extended from the rows of a prefix equal rows computed afresh', () => {
  const hashes = Array.from({ length: TILE_WIDTH }, (_, i) => leafHash(Buffer.from([i])));
  for (const [before, after] of [[0, 1], [1, 2], [3, 9], [100, 101], [127, 256], [200, 255], [255, 256]] as const) {
    const prefix = tileRows(hashes.slice(0, before));
    assert.deepEqual(tileRows(hashes.slice(0, after), prefix), tileRows(hashes.slice(0, after)));
  }
});
