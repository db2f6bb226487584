// The log engine's tests, run against every storage driver (SQLite in log-engine.test.ts,
// PostgreSQL in log-engine-postgres.test.ts): roots and proofs from tiles equal a plain
// recomputation over all leaves, every checkpoint is consistent with every later one,
// duplicates are found, and a reopened log continues where it stopped.

import { generateKeyPair } from '@sigstack/core';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  consistencyProof,
  leafHash,
  parseCheckpoint,
  parseSignedNote,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
  verifyNoteSignature,
} from '@sigstack/core';
import { TransparencyLog } from '../src/log/engine/log.js';
import { LogSigner } from '../src/log/engine/log-signer.js';
import type { LogStorage } from '../src/log/engine/storage.js';
import type { CanonicalEntry } from '../src/log/types/types.js';

/** One empty store: open() may be called again after the previous storage was closed (a reopen). */
export interface TestStore {
  open(): Promise<LogStorage>;
  cleanup(): Promise<void>;
}

export interface StorageDriver {
  name: string;
  create(): Promise<TestStore>;
}

export function entry(i: number, tag = 'e'): CanonicalEntry {
  return { kind: 'test', apiVersion: '0.0.1', body: Buffer.from(`{"${tag}":${i}}`), indexKeys: [{ type: 'hash', value: `sha256:${i}` }] };
}

export function engineSuite(driver: StorageDriver): void {
  test(`${driver.name}: batches of many sizes: roots, inclusion and consistency match a plain recomputation`, async () => {
    const store = await driver.create();
    const keys = generateKeyPair('ed25519');
    const signer = new LogSigner('log.test', keys);
    const log = await TransparencyLog.open(await store.open(), signer, { maxBatchSize: 300 });
    const leaves: Buffer[] = [];
    const checkpoints: { size: number; root: Buffer }[] = [];
    let n = 0;
    // Sizes chosen to cross tile boundaries at level 0 (256) and level 1 (65536 is too big; 256·k suffices for level-1 partials).
    for (const batch of [1, 2, 5, 248, 1, 255, 256, 257, 300, 511, 1, 700]) {
      const results = await Promise.all(Array.from({ length: batch }, () => log.append(entry(n++))));
      for (const r of results) leaves[r.index] = r.leafHash;
      const cp = log.checkpoint;
      assert.equal(cp.size, leaves.length);
      const expected = rootFromLeafHashes(leaves);
      assert.deepEqual(cp.rootHash, expected, `root at size ${cp.size}`);
      // The checkpoint is a signed note by the log over exactly this root.
      const note = parseSignedNote(cp.note);
      const body = parseCheckpoint(note.body);
      assert.equal(body.origin, 'log.test');
      assert.deepEqual(body.rootHash, expected);
      assert.ok(verifyNoteSignature(note.body, note.signatures[0]!, keys.publicKey));
      checkpoints.push({ size: cp.size, root: expected });
    }
    const size = leaves.length;
    const root = rootFromLeafHashes(leaves);
    for (const index of [0, 1, 255, 256, 257, 511, 512, 1000, size - 2, size - 1]) {
      verifyInclusion(index, size, leaves[index]!, await log.inclusionProof(index), root);
    }
    for (const a of checkpoints) {
      for (const b of checkpoints) {
        if (a.size > b.size) continue;
        const proof = await log.consistencyProof(a.size, b.size);
        verifyConsistency(a.size, b.size, proof, a.root, b.root);
        // The same proof as a plain recursion over all leaves (no tiles) gives.
        assert.deepEqual(proof, consistencyProof(a.size, leaves.slice(0, b.size)));
      }
    }
    // Old sizes are answered too: inclusion at an earlier checkpoint.
    const early = checkpoints[3]!;
    verifyInclusion(3, early.size, leaves[3]!, await log.inclusionProof(3, early.size), early.root);
    await log.close();

    // Reopened: same checkpoint, appends continue consistently.
    const reopened = await TransparencyLog.open(await store.open(), signer);
    assert.equal(reopened.checkpoint.size, size);
    assert.deepEqual(reopened.checkpoint.rootHash, root);
    const more = await reopened.append(entry(n++));
    assert.equal(more.index, size);
    leaves.push(more.leafHash);
    assert.deepEqual(reopened.checkpoint.rootHash, rootFromLeafHashes(leaves));
    verifyConsistency(size, size + 1, await reopened.consistencyProof(size), root, reopened.checkpoint.rootHash);
    verifyInclusion(700, size + 1, leaves[700]!, await reopened.inclusionProof(700), reopened.checkpoint.rootHash);
    await reopened.close();
    await store.cleanup();
  });

  test(`${driver.name}: duplicates resolve to the existing index, within a batch and across batches`, async () => {
    const store = await driver.create();
    const log = await TransparencyLog.open(await store.open(), new LogSigner('log.test', generateKeyPair('ed25519')));
    const [a, b] = await Promise.all([log.append(entry(1)), log.append(entry(1))]);
    assert.equal(a!.index, 0);
    assert.equal(b!.index, 0);
    assert.equal(a!.duplicate !== b!.duplicate, true);
    const c = await log.append(entry(1));
    assert.equal(c.duplicate, true);
    assert.equal(c.index, 0);
    assert.equal(log.checkpoint.size, 1);
    assert.deepEqual(await log.search('hash:sha256:1'), [0]);
    assert.equal((await log.entryByLeafHash(leafHash(entry(1).body)))?.index, 0);
    await log.close();
    await store.cleanup();
  });

  test(`${driver.name}: a batch taken ahead while the one before commits finds duplicates of it, and after a failed commit stores what the failed batch did not`, async () => {
    const store = await driver.create();
    const storage = await store.open();
    const log = await TransparencyLog.open(storage, new LogSigner('log.test', generateKeyPair('ed25519')), { maxBatchSize: 4 });
    // Queued at once: the second batch (the same four entries) is looked up while the first commits.
    const order = [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 0, 6];
    const results = await Promise.all(order.map((i) => log.append(entry(i))));
    assert.deepEqual(results.map((r) => r.index), [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 0, 6]);
    assert.deepEqual(results.map((r) => r.duplicate), [false, false, false, false, true, true, true, true, false, false, true, false]);
    assert.equal(log.checkpoint.size, 7);

    const write = storage.appendBatch.bind(storage);
    let failNext = true;
    storage.appendBatch = async (batch) => {
      if (!failNext) return write(batch);
      failNext = false;
      throw new Error('disk full');
    };
    const settled = await Promise.allSettled([10, 11, 12, 13, 10, 11, 12, 13].map((i) => log.append(entry(i))));
    assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected', 'rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    assert.deepEqual(settled.slice(4).map((s) => (s.status === 'fulfilled' ? [s.value.index, s.value.duplicate] : s.reason)), [[7, false], [8, false], [9, false], [10, false]]);
    assert.equal(log.checkpoint.size, 11);
    assert.deepEqual(await log.search('hash:sha256:10'), [7]);
    await log.close();
    await store.cleanup();
  });

  test(`${driver.name}: an ECDSA P-256 log signs checkpoints with a hint from its log ID`, async () => {
    const store = await driver.create();
    const keys = generateKeyPair('ec', { namedCurve: 'P-256' });
    const log = await TransparencyLog.open(await store.open(), new LogSigner('log.test', keys));
    await log.append(entry(1));
    const note = parseSignedNote(log.checkpoint.note);
    assert.deepEqual(note.signatures[0]!.keyHint, log.logId.subarray(0, 4));
    assert.ok(verifyNoteSignature(note.body, note.signatures[0]!, keys.publicKey));
    await log.close();
    await store.cleanup();
  });

  test(`${driver.name}: an entry too big for an entry bundle (over 65,535 bytes) is refused with ENTRY_TOO_LARGE and stores nothing`, async () => {
    const store = await driver.create();
    const log = await TransparencyLog.open(await store.open(), new LogSigner('log.test', generateKeyPair('ed25519')));
    try {
      const tooBig = { ...entry(1), body: Buffer.alloc(0x10000, 0x20) };
      await assert.rejects(log.append(tooBig), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ENTRY_TOO_LARGE');
        assert.match(err.message, /at most 65535 bytes/);
        return true;
      });
      assert.equal(log.checkpoint.size, 0);
      const logged = await log.append({ ...entry(0), body: Buffer.alloc(0xffff, 0x20) });
      assert.equal(logged.index, 0);
      assert.equal((await log.entries(0, 1))[0]!.body.length, 0xffff);
    } finally {
      await log.close();
      await store.cleanup();
    }
  });
}
