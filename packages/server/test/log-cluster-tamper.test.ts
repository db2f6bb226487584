// A front end of a PostgreSQL log takes a newer checkpoint from the database only when it is the
// log's own: a row whose note is signed by another key, names another origin, or whose root is
// not the stored tree's is refused with a log line naming why, and the old tree stays served.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { formatCheckpoint, generateKeyPair, leafHash, rootFromLeafHashes } from '@sigstack/core';
import { postgresLogFixture } from './postgres-log-fixture.js';
import { startClusterLogService } from '../src/log/cluster/service.js';
import { LogSigner } from '../src/log/engine/log-signer.js';
import { loadPrivateKeyPem } from '../src/keys.js';
import { get, hashedrekordV001, newSigner, post } from './helpers.js';

const fixture = postgresLogFixture('sigstack-tamper-');
const { keyPath } = fixture;

test('a tampered checkpoint row (another key, another origin, a root that is not the tree\'s) is refused; the old tree stays served', async () => {
  const url = await fixture.server.createDatabase();
  const front = await startClusterLogService({ postgres: url, keyPath, name: 'tamper.test', admissionWorkers: 0, leaseMs: 1000 });
  const refused: string[] = [];
  front.log.onAdvanceRefused = (size, reason) => refused.push(`${size}: ${reason}`);
  try {
    const signer = newSigner();
    const first = await post(`${front.url}/api/v1/log/entries`, hashedrekordV001(signer, Buffer.from('tamper 0')));
    assert.equal(first.status, 201);
    assert.equal(front.log.checkpoint.size, 1);
    const servedRoot = front.log.checkpoint.rootHash;

    // A forged entry at index 1 and checkpoints over it at size 2 (what a tampered database holds).
    const forged = Buffer.from('{"forged":true}');
    await front.storage.pool.query("INSERT INTO entries (idx, leaf_hash, body, integrated_time, kind, api_version) VALUES (1, $1, $2, 1, 'hashedrekord', '0.0.1')", [leafHash(forged), forged]);
    const logKey = new LogSigner('tamper.test', loadPrivateKeyPem(keyPath));
    const otherKey = new LogSigner('tamper.test', generateKeyPair('ed25519'));
    const otherOrigin = new LogSigner('other.origin', loadPrivateKeyPem(keyPath));
    const wrongRoot = createHash('sha256').update('not the root').digest();
    // The root of the tree with the forged entry: a note over it by anyone but the log is refused too.
    const first0 = (await front.storage.pool.query('SELECT leaf_hash FROM entries WHERE idx = 0')).rows[0].leaf_hash as Buffer;
    const treeRoot = rootFromLeafHashes([first0, leafHash(forged)]);
    const notes = [
      ['another key', await otherKey.signCheckpointAsync(formatCheckpoint({ origin: 'tamper.test', size: 2, rootHash: treeRoot }))],
      ['another origin', await otherOrigin.signCheckpointAsync(formatCheckpoint({ origin: 'other.origin', size: 2, rootHash: treeRoot }))],
      ['the log key, a root that is not the tree\'s', await logKey.signCheckpointAsync(formatCheckpoint({ origin: 'tamper.test', size: 2, rootHash: wrongRoot }))],
      ['a note that is not a signed note', 'tamper.test\n2\n' + treeRoot.toString('base64') + '\n'],
    ] as const;
    for (const [what, note] of notes) {
      await front.storage.pool.query('DELETE FROM checkpoints WHERE size = 2');
      await front.storage.pool.query('INSERT INTO checkpoints (size, note) VALUES (2, $1)', [note]);
      const before = refused.length;
      await front.frontEnd.refresh();
      assert.equal(front.log.checkpoint.size, 1, `${what}: still serving size 1`);
      assert.deepEqual(front.log.checkpoint.rootHash, servedRoot);
      assert.equal(refused.length, before + 1, `${what}: refused with a reason`);
      const served = await get(`${front.url}/api/v1/log`);
      assert.equal(served.json.treeSize, 1, `${what}: the API serves size 1`);
      const checkpoint = await get(`${front.url}/checkpoint`);
      assert.match(checkpoint.bytes.toString(), /^tamper\.test\n1\n/);
    }
    assert.match(refused[0]!, /does not verify with the log's key/);
    assert.match(refused[1]!, /names the origin "other\.origin"/);
    assert.match(refused[2]!, /is not the stored tree's root/);
    assert.match(refused[3]!, /does not verify/);

    // The forgery removed, the log goes on from the tree it served.
    await front.storage.pool.query('DELETE FROM checkpoints WHERE size = 2');
    await front.storage.pool.query('DELETE FROM entries WHERE idx = 1');
    const second = await post(`${front.url}/api/v1/log/entries`, hashedrekordV001(signer, Buffer.from('tamper 1')));
    assert.equal(second.status, 201, JSON.stringify(second.json));
    assert.equal((Object.values(second.json)[0] as { logIndex: number }).logIndex, 1);
    assert.equal(front.log.checkpoint.size, 2);
  } finally {
    await front.close();
  }
});
