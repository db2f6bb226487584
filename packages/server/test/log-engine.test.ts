// The log engine on a real SQLite file (the shared engine suite, log-engine-suite.ts), and the
// packing of batches for the SQLite writer thread.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leafHash } from '@sigstack/core';
import { SqliteLogStorage } from '../src/storage/sqlite.js';
import { packBatch, unpackBatch } from '../src/storage/packed-batch.js';
import { engineSuite } from './log-engine-suite.js';

engineSuite({
  name: 'SQLite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'sigstack-log-'));
    return {
      async open() {
        return new SqliteLogStorage(join(dir, 'log.db'));
      },
      async cleanup() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

test('a batch packed for the writer thread unpacks to the same entries, tiles and index keys', () => {
  const batch = {
    entries: [
      { index: 7, leafHash: leafHash(Buffer.from('a')), body: Buffer.from('{"a":1}'), integratedTime: 1700000000, kind: 'hashedrekord', apiVersion: '0.0.1' },
      { index: 8, leafHash: leafHash(Buffer.from('b')), body: Buffer.from('{"b":2}'), integratedTime: 1700000000, kind: 'precert_entry', apiVersion: 'ct', extra: Buffer.from([1, 2, 3]) },
      { index: 9, leafHash: leafHash(Buffer.from('c')), body: Buffer.alloc(0), integratedTime: 1700000001, kind: 'x', apiVersion: '0.0.2', extra: Buffer.alloc(0) },
    ],
    tiles: [{ level: 0, index: 0, hashes: Buffer.alloc(96, 5) }],
    index: [{ key: 'hash:sha256:aa', index: 7 }, { key: 'email:a@b', index: 9 }],
    previousSize: 7,
    checkpoint: { size: 10, note: 'log.test\n10\nroot\n' },
  };
  const { packed, transfer } = packBatch(batch);
  assert.deepEqual(transfer, [packed.bytes]);
  const round = unpackBatch(structuredClone(packed, { transfer }));
  assert.deepEqual(round, batch);
});
