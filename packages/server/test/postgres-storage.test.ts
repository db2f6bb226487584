// The PostgreSQL driver on a server of the test's own: the explorer's searches answer exactly
// what SQLite answers over the same entries; the schema is versioned (created once, a newer one
// refused with nothing written); an unreachable database is a clear error; a second root at one
// tree size can never be stored.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { EntrySearch, LogStorage } from '../src/log/engine/storage.js';
import { SqliteLogStorage } from '../src/storage/sqlite.js';
import { startLocalPostgres, type LocalPostgres } from '../src/storage/postgres/local-server.js';
import { PostgresLogStorage } from '../src/storage/postgres/postgres.js';
import { SCHEMA_VERSION } from '../src/storage/postgres/schema.js';

let server: LocalPostgres;
const dir = mkdtempSync(join(tmpdir(), 'sigstack-pg-storage-'));

before(async () => {
  server = await startLocalPostgres();
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const N = 2000;
const BASE_TIME = 1_700_000_000;
const digest = (i: number) => createHash('sha256').update(`artifact ${i}`).digest('hex');
const workflow = (i: number) => `https://github.com/org${i % 3}/repo${i % 7}/.github/workflows/ci.yml@refs/heads/main`;

async function fill(storage: LogStorage): Promise<void> {
  const batch = 500;
  for (let start = 0; start < N; start += batch) {
    const entries = [];
    const index = [];
    for (let i = start; i < start + batch; i++) {
      entries.push({ index: i, leafHash: createHash('sha256').update(`leaf ${i}`).digest(), body: Buffer.from(`{"i":${i}}`), integratedTime: BASE_TIME + i * 10, kind: 'hashedrekord', apiVersion: '0.0.1' });
      index.push({ key: `email:user${i % 50}@example.com`, index: i }, { key: `subject:${workflow(i)}`, index: i }, { key: `hash:sha256:${digest(i)}`, index: i });
      if (i === 7) index.push({ key: 'subject:https://x.test/a?b[1]_%', index: i });
      if (i === 8) index.push({ key: 'subject:https://x.test/aXb11xx', index: i });
    }
    assert.ok(await storage.appendBatch({ entries, tiles: [], index, previousSize: start, checkpoint: { size: start + batch, note: `size ${start + batch}` } }));
  }
}

test('searches on PostgreSQL answer exactly what SQLite answers', async () => {
  const sqlite = new SqliteLogStorage(join(dir, 'log.db'), { writerThread: false });
  const postgres = await PostgresLogStorage.open(await server.createDatabase());
  await fill(sqlite);
  await fill(postgres);
  const queries: [EntrySearch['match'], Partial<EntrySearch>][] = [
    [{ type: 'key', key: 'email:user7@example.com' }, {}],
    [{ type: 'key', key: 'email:user7@example.com' }, { offset: 20, below: 1500 }],
    [{ type: 'key', key: `hash:sha256:${digest(123)}` }, {}],
    [{ type: 'pattern', keyType: 'subject', pattern: 'https://github.com/org1/*' }, {}],
    [{ type: 'pattern', keyType: 'subject', pattern: '*/repo3/.github/workflows/ci.yml@refs/heads/main' }, { offset: 5 }],
    [{ type: 'pattern', keyType: 'subject', pattern: 'https://github.com/org2/*/ci.yml@*' }, {}],
    [{ type: 'pattern', keyType: 'email', pattern: '*@EXAMPLE.com' }, {}],
    // GLOB/LIKE characters are literal: only entry 7 matches.
    [{ type: 'pattern', keyType: 'subject', pattern: 'https://x.test/a?b[1]_%*' }, {}],
    [{ type: 'pattern', keyType: 'email', pattern: '*@example.com' }, { countLimit: 500 }],
    [{ type: 'pattern', keyType: 'subject', pattern: 'https://github.com/org0/*' }, { countLimit: 100, offset: 40 }],
    [{ type: 'all' }, { fromTime: BASE_TIME + 1000, toTime: BASE_TIME + 1990 }],
    [{ type: 'key', key: 'email:user0@example.com' }, { fromTime: BASE_TIME + 1000, toTime: BASE_TIME + 1990 }],
    [{ type: 'all' }, { fromTime: BASE_TIME + N * 10 }],
    [{ type: 'all' }, { fromIndex: 42, below: 43 }],
  ];
  for (const [match, extra] of queries) {
    const q: EntrySearch = { match, below: N, offset: 0, limit: 20, countLimit: 10_000, ...extra };
    const [a, b] = [await sqlite.searchEntries(q), await postgres.searchEntries(q)];
    assert.deepEqual(b, a, JSON.stringify(q));
  }
  assert.deepEqual((await postgres.searchEntries({ match: { type: 'pattern', keyType: 'subject', pattern: 'https://x.test/a?b[1]_%*' }, below: N, offset: 0, limit: 5, countLimit: 10 })).entries.map((e) => e.index), [7]);
  assert.deepEqual(await postgres.search('email:user3@example.com'), await sqlite.search('email:user3@example.com'));
  assert.equal(await postgres.entryCount(), N);
  await sqlite.close();
  await postgres.close();
});

test('the schema is created once, migrated under a lock, and a newer schema is refused with nothing written', async () => {
  const url = await server.createDatabase();
  // Five front ends starting at once migrate the empty database once.
  const stores = await Promise.all(Array.from({ length: 5 }, () => PostgresLogStorage.open(url)));
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  assert.equal((await admin.query('SELECT version FROM sigstack_schema')).rows[0].version, SCHEMA_VERSION);
  await Promise.all(stores.map((s) => s.close()));
  await admin.query('UPDATE sigstack_schema SET version = $1', [SCHEMA_VERSION + 1]);
  const before = (await admin.query("SELECT count(*) AS n FROM pg_stat_user_tables")).rows[0].n;
  await assert.rejects(PostgresLogStorage.open(url), (err: { code?: string; message: string }) => err.code === 'POSTGRES_SCHEMA_TOO_NEW' && /newer than this sigstack/.test(err.message));
  assert.equal((await admin.query("SELECT count(*) AS n FROM pg_stat_user_tables")).rows[0].n, before);
  await admin.end();
});

test('an unreachable database is a clear error naming it (without its password)', async () => {
  const url = `postgres://sigstack:secret@127.0.0.1:${server.port + 1}/nowhere`;
  await assert.rejects(PostgresLogStorage.open(url), (err: { code?: string; message: string }) => {
    assert.equal(err.code, 'POSTGRES_UNREACHABLE');
    assert.match(err.message, /sigstack:\*\*\*@127\.0\.0\.1/);
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
});

test('a checkpoint is compare-and-swapped on the tree size, and one size can never get a second root', async () => {
  const storage = await PostgresLogStorage.open(await server.createDatabase());
  const e = (i: number) => ({ index: i, leafHash: createHash('sha256').update(`x${i}`).digest(), body: Buffer.from(`${i}`), integratedTime: BASE_TIME, kind: 'k', apiVersion: 'v' });
  assert.ok(await storage.publishCheckpoint(0, { size: 0, note: 'empty' }));
  assert.ok(await storage.appendBatch({ entries: [e(0)], tiles: [{ level: 0, index: 0, hashes: Buffer.alloc(32, 1) }], index: [], previousSize: 0, checkpoint: { size: 1, note: 'one' } }));
  // A writer that still believes the size is 0 stores nothing.
  assert.equal(await storage.appendBatch({ entries: [e(1)], tiles: [], index: [], previousSize: 0, checkpoint: { size: 1, note: 'fork' } }), false);
  assert.equal(await storage.publishCheckpoint(0, { size: 1, note: 'fork' }), false);
  assert.equal(await storage.entryCount(), 1);
  assert.deepEqual(await storage.latestCheckpoint(), { size: 1, note: 'one' });
  // Even past the head CAS, the checkpoints table refuses a second note at one size.
  await assert.rejects(storage.pool.query("INSERT INTO checkpoints (size, note) VALUES (1, 'fork')"), /duplicate key/);
  // A failed batch (a duplicate leaf hash) leaves nothing behind, not even its checkpoint.
  await assert.rejects(storage.appendBatch({ entries: [{ ...e(0), index: 1 }], tiles: [], index: [], previousSize: 1, checkpoint: { size: 2, note: 'two' } }));
  assert.deepEqual(await storage.latestCheckpoint(), { size: 1, note: 'one' });
  assert.deepEqual(await storage.readTile(0, 0), Buffer.alloc(32, 1));
  await storage.close();
});
