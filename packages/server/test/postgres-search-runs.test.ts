// Search runs on PostgreSQL (storage/postgres/search-runs.ts) with a tiny policy, so a few
// hundred entries make dozens of runs, merges and drops: at every point (runs sealed, a merge
// half copied, sources retired and being dropped, all merged) search() and searchEntries()
// answer exactly what a plain computation over the appended keys says, and once merging is
// done no rows of retired runs are left and the runs are few. A database of schema 4 with data
// is migrated to runs and answers the same.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { generateKeyPair } from '@sigstack/core';
import type { EntryMatch, EntrySearch } from '../src/log/engine/storage.js';
import { TransparencyLog } from '../src/log/engine/log.js';
import { LogSigner } from '../src/log/engine/log-signer.js';
import { PostgresLogStorage } from '../src/storage/postgres/postgres.js';
import { migrationsUpTo } from '../src/storage/postgres/schema.js';
import { readRuns, searchRunStep } from '../src/storage/postgres/search-runs.js';
import type { RunPolicy } from '../src/storage/search-runs.js';
import type { IndexKey } from '../src/log/types/types.js';
import { reversedKey } from '../src/storage/sqlite-search.js';
import { postgresLogFixture } from './postgres-log-fixture.js';

const fixture = postgresLogFixture('sigstack-pg-runs-');
const TINY: RunPolicy = { entries: 8, fanout: 2, chunkRows: 5 };

function keysOf(i: number): string[] {
  return [
    `email:user${i % 13}@example${i % 5}.com`,
    `hash:sha256:${i}`,
    `subject:https://github.com/org${i % 4}/repo${i % 9}`,
    `publicKey:k${i % 3}`,
  ];
}

/** A pattern's entries the plain way: the glob over each entry's keys of that type. */
function globMatches(key: string, match: Extract<EntryMatch, { type: 'pattern' }>): boolean {
  const pattern = match.keyType === 'email' ? match.pattern.toLowerCase() : match.pattern;
  const re = new RegExp(`^${match.keyType}:${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);
  return re.test(key);
}

const MATCHES: EntryMatch[] = [
  { type: 'key', key: 'publicKey:k1' },
  { type: 'key', key: 'email:user3@example3.com' },
  { type: 'key', key: 'hash:sha256:17' },
  { type: 'key', key: 'hash:sha256:none' },
  { type: 'pattern', keyType: 'email', pattern: 'user1*' },
  { type: 'pattern', keyType: 'email', pattern: '*@example2.com' },
  { type: 'pattern', keyType: 'subject', pattern: 'https://github.com/org1/*' },
  { type: 'pattern', keyType: 'subject', pattern: '*/repo7' },
];

/** Checks every query shape against the plain computation over entries [0, size). */
async function checkSearches(storage: PostgresLogStorage, size: number, where: string): Promise<void> {
  const all = Array.from({ length: size }, (_, i) => i);
  for (const key of ['publicKey:k2', 'email:user5@example0.com', `hash:sha256:${size - 1}`, 'hash:sha256:none']) {
    assert.deepEqual(await storage.search(key), all.filter((i) => keysOf(i).includes(key)), `${where}: search(${key})`);
  }
  for (const match of MATCHES) {
    const matching = all.filter((i) => (match.type === 'key' ? keysOf(i).includes(match.key) : keysOf(i).some((k) => globMatches(k, match as Extract<EntryMatch, { type: 'pattern' }>)))).reverse();
    for (const shape of [
      { offset: 0, limit: 10, countLimit: 1000 },
      { offset: 7, limit: 5, countLimit: 1000 },
      { offset: 3, limit: 4, countLimit: 10 },
      { offset: 0, limit: 6, countLimit: 1000, fromIndex: 20, below: Math.max(20, size - 9) },
    ]) {
      const below = shape.below ?? size;
      const inRange = matching.filter((i) => i >= (shape.fromIndex ?? 0) && i < below);
      const query: EntrySearch = { match, below, offset: shape.offset, limit: shape.limit, countLimit: shape.countLimit, ...(shape.fromIndex !== undefined ? { fromIndex: shape.fromIndex } : {}) };
      const result = await storage.searchEntries(query);
      const label = `${where}: ${JSON.stringify(match)} ${JSON.stringify(shape)}`;
      assert.deepEqual(result.entries.map((e) => e.index), inRange.slice(shape.offset, shape.offset + shape.limit), label);
      assert.equal(result.count, Math.min(inRange.length, shape.countLimit), label);
      assert.equal(result.countIsLowerBound, inRange.length > shape.countLimit, label);
      for (const e of result.entries) assert.deepEqual(e.keys, [...keysOf(e.index)].sort(), label);
    }
  }
}

/** Rows of the search tables whose run is not readable (building or retired, or gone). */
async function unreadableRows(storage: PostgresLogStorage): Promise<number> {
  const { rows } = await storage.pool.query(`SELECT
    (SELECT count(*) FROM search_index WHERE run NOT IN (SELECT run FROM search_runs WHERE state IN ('open', 'sealed'))) +
    (SELECT count(*) FROM search_reversed WHERE run NOT IN (SELECT run FROM search_runs WHERE state IN ('open', 'sealed'))) AS n`);
  return Number(rows[0].n);
}

test('appends with a tiny run policy: searches stay exact through rollovers, merges and drops', async () => {
  const storage = await PostgresLogStorage.open(await fixture.server.createDatabase(), { runPolicy: TINY });
  const log = await TransparencyLog.open(storage, new LogSigner('log.test', generateKeyPair('ed25519')), { maxBatchSize: 7 });
  let n = 0;
  const appendUpTo = async (size: number) => {
    while (n < size) {
      const batch = Array.from({ length: Math.min(11, size - n) }, () => n++);
      await Promise.all(batch.map((i) => log.append({ kind: 'test', apiVersion: '0.0.1', body: Buffer.from(`{"e":${i}}`), indexKeys: keysOf(i).map((k) => ({ type: k.slice(0, k.indexOf(':')) as IndexKey['type'], value: k.slice(k.indexOf(':') + 1) })) })));
    }
  };
  // Background merges run beside the appends.
  await appendUpTo(150);
  await checkSearches(storage, 150, 'during appends');
  await storage.runs.idle();
  // Another process holding the merge lock: this one's background steps do nothing meanwhile.
  const other = new pg.Client({ connectionString: storage.url });
  await other.connect();
  await other.query('BEGIN');
  await other.query("SELECT pg_advisory_xact_lock(hashtext('sigstack-search-runs:'))");
  await appendUpTo(230);
  await storage.runs.idle();
  assert.equal(await searchRunStep(storage), 'busy');
  await checkSearches(storage, 230, 'merges held off');
  await other.query('COMMIT');
  await other.end();
  // Step by hand until a merge is half copied: its target is building, its sources still read.
  let midMerge = false;
  for (let i = 0; i < 500 && !midMerge; i++) {
    if ((await searchRunStep(storage)) !== 'work') break;
    midMerge = (await readRuns(storage.pool as unknown as pg.ClientBase)).some((r) => r.state === 'building' && r.cursor !== '');
  }
  assert.ok(midMerge, 'a merge was seen half copied');
  await checkSearches(storage, 230, 'mid-merge');
  // Until a step leaves retired runs with rows behind: sources replaced, being dropped.
  let retiredRows = false;
  for (let i = 0; i < 500 && !retiredRows; i++) {
    if ((await searchRunStep(storage)) !== 'work') break;
    retiredRows = (await readRuns(storage.pool as unknown as pg.ClientBase)).some((r) => r.state === 'retired') && (await unreadableRows(storage)) > 0;
  }
  assert.ok(retiredRows, 'retired runs were seen with rows left');
  await checkSearches(storage, 230, 'while dropping');
  await appendUpTo(333);
  await storage.runs.drain();
  await checkSearches(storage, 333, 'all merged');
  const runs = await readRuns(storage.pool as unknown as pg.ClientBase);
  assert.equal(await unreadableRows(storage), 0);
  assert.deepEqual(runs.filter((r) => r.state !== 'open' && r.state !== 'sealed'), []);
  assert.equal(runs.filter((r) => r.state === 'open').length, 1);
  // 333 entries in runs of 8 merged pairwise: at most one sealed run per level.
  assert.ok(runs.length <= 8, `runs: ${JSON.stringify(runs)}`);
  assert.equal(new Set(runs.filter((r) => r.state === 'sealed').map((r) => r.level)).size, runs.length - 1);
  // Readable runs partition [0, size).
  const readable = runs.sort((a, b) => a.lo - b.lo);
  readable.forEach((r, i) => assert.equal(r.lo, i === 0 ? 0 : readable[i - 1]!.hi));
  // entry_keys holds every key once.
  assert.equal(Number((await storage.pool.query('SELECT count(*) AS n FROM entry_keys')).rows[0].n), 333 * 4);
  await log.close();
});

test('a database of schema 4 with keys is migrated to runs and answers the same', async () => {
  const url = await fixture.server.createDatabase();
  const size = 90;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(migrationsUpTo(4));
    await client.query('CREATE TABLE sigstack_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL); INSERT INTO sigstack_schema VALUES (1, 4)');
    const idx = Array.from({ length: size }, (_, i) => i);
    await client.query(
      `INSERT INTO entries (idx, leaf_hash, body, integrated_time, kind, api_version) SELECT i, h, convert_to('{}', 'UTF8'), 1700000000 + i, 'test', '0.0.1' FROM unnest($1::bigint[], $2::bytea[]) AS u(i, h)`,
      [idx, idx.map((i) => createHash('sha256').update(`leaf ${i}`).digest())],
    );
    const keys = idx.flatMap((i) => keysOf(i).map((key) => ({ key, i })));
    await client.query('INSERT INTO search_index (key, idx) SELECT * FROM unnest($1::text[], $2::bigint[])', [keys.map((k) => k.key), keys.map((k) => k.i)]);
    const reversed = keys.flatMap((k) => (reversedKey(k.key) === undefined ? [] : [{ key: reversedKey(k.key)!, i: k.i }]));
    await client.query('INSERT INTO search_reversed (rkey, idx) SELECT * FROM unnest($1::text[], $2::bigint[])', [reversed.map((k) => k.key), reversed.map((k) => k.i)]);
    await client.query('UPDATE log_head SET size = $1', [size]);
  } finally {
    await client.end();
  }
  const storage = await PostgresLogStorage.open(url, { runPolicy: TINY });
  try {
    const runs = await readRuns(storage.pool as unknown as pg.ClientBase);
    assert.deepEqual(runs.map((r) => ({ lo: r.lo, hi: r.hi, state: r.state })), [{ lo: 0, hi: size, state: 'sealed' }, { lo: size, hi: null, state: 'open' }]);
    assert.equal(runs[0]!.level, 0); // 90 entries fit the default policy's level-0 runs
    assert.equal(Number((await storage.pool.query("SELECT to_regclass('search_by_entry') IS NULL AS gone")).rows[0].gone ? 1 : 0), 1);
    await checkSearches(storage, size, 'migrated');
    // New batches go to the open run, and merges with the migrated run keep the answers.
    for (let start = size; start < size + 40; start += 10) {
      const entries = Array.from({ length: 10 }, (_, j) => ({ index: start + j, leafHash: createHash('sha256').update(`leaf ${start + j}`).digest(), body: Buffer.from('{}'), integratedTime: 1700000000 + start + j, kind: 'test', apiVersion: '0.0.1' }));
      const index = entries.flatMap((e) => keysOf(e.index).map((key) => ({ key, index: e.index })));
      assert.ok(await storage.appendBatch({ entries, tiles: [], index, previousSize: start, checkpoint: { size: start + 10, note: `size ${start + 10}` } }));
    }
    await storage.runs.drain();
    await checkSearches(storage, size + 40, 'migrated, appended, merged');
    assert.equal(await unreadableRows(storage), 0);
  } finally {
    await storage.close();
  }
});
