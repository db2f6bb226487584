// Search runs on SQLite (storage/sqlite-runs.ts): with tiny runs, every search answers exactly
// what the appended keys say after every single merge or drop step, merges end with few runs
// and no rows of retired ones, the writer thread merges on its own, and a file of the layout
// before runs is upgraded in place with the same answers.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { nextRunWork, type RunPolicy, type SearchRun } from '../src/storage/search-runs.js';
import { SqliteLogStorage, openSqlite, type SqliteConnection } from '../src/storage/sqlite.js';
import { searchEntries } from '../src/storage/sqlite-search.js';
import type { EntryMatch } from '../src/log/engine/storage.js';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-runs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const POLICY: RunPolicy = { entries: 8, fanout: 2, chunkRows: 5 };

/** Entry i's keys: its own hash, one of 7 signers (emails on 3 domains), every third a workflow. */
function keysOf(i: number): string[] {
  const keys = [`hash:sha256:${i.toString(16).padStart(64, '0')}`, `email:user${i % 7}@example${i % 3}.com`];
  if (i % 3 === 0) keys.push(`subject:https://github.com/org${i % 2}/repo/.github/workflows/release.yml`);
  return keys;
}

/** Appends entries [from, to) as one batch, as the engine hands them to storage. */
function appendRange(connection: SqliteConnection, from: number, to: number): void {
  const entries = [];
  const index = [];
  for (let i = from; i < to; i++) {
    entries.push({ index: i, leafHash: Buffer.from(i.toString(16).padStart(64, '0'), 'hex'), body: Buffer.from(`entry ${i}`), integratedTime: 1000 + i, kind: 'hashedrekord', apiVersion: '0.0.1' });
    for (const key of keysOf(i)) index.push({ key, index: i });
  }
  assert.equal(connection.append({ entries, tiles: [], index, previousSize: from, checkpoint: { size: to, note: `size ${to}` } }), true);
}

function globMatch(pattern: string, key: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(key);
}

/** What a search must answer, from the keys alone: matching entries newest first. */
function expected(size: number, match: EntryMatch): number[] {
  const found: number[] = [];
  for (let i = size - 1; i >= 0; i--) {
    const keys = keysOf(i);
    if (match.type === 'key' ? keys.includes(match.key) : match.type === 'pattern' ? keys.some((k) => k.startsWith(`${match.keyType}:`) && globMatch(`${match.keyType}:${match.pattern}`, k)) : true) found.push(i);
  }
  return found;
}

const MATCHES: EntryMatch[] = [
  { type: 'key', key: 'email:user3@example0.com' },
  { type: 'key', key: `hash:sha256:${(37).toString(16).padStart(64, '0')}` },
  { type: 'pattern', keyType: 'email', pattern: 'user2@*' },
  { type: 'pattern', keyType: 'email', pattern: '*@example1.com' },
  { type: 'pattern', keyType: 'subject', pattern: 'https://github.com/org1/*' },
];

/** Every query shape against the expectation: exact searches, pages at several offsets, counts, an index window. */
function checkSearches(connection: SqliteConnection, size: number, when: string): void {
  // Leaf hashes (duplicates, v1 lookups by UUID) are in runs too.
  for (const i of [0, 7, 8, 37, size - 1, size]) {
    const found = connection.statements.findLeaf.all(Buffer.from(i.toString(16).padStart(64, '0'), 'hex')).map((r) => (r as { idx: number }).idx);
    assert.deepEqual(found, i < size ? [i] : [], `${when}: leaf hash of ${i}`);
  }
  for (const match of MATCHES) {
    const all = expected(size, match);
    if (match.type === 'key') assert.deepEqual(connection.statements.search.all(match.key).map((r) => (r as { idx: number }).idx), [...all].reverse(), `${when}: search ${match.key}`);
    for (const offset of [0, 3, 11]) {
      const result = searchEntries(connection.db, { match, below: size, offset, limit: 5, countLimit: 1000 });
      assert.deepEqual(result.entries.map((e) => e.index), all.slice(offset, offset + 5), `${when}: ${JSON.stringify(match)} offset ${offset}`);
      assert.equal(result.count, all.length, `${when}: count of ${JSON.stringify(match)}`);
      for (const e of result.entries) assert.deepEqual(e.keys, [...keysOf(e.index)].sort(), `${when}: keys of ${e.index}`);
    }
    const window = searchEntries(connection.db, { match, below: Math.min(size, 40), fromIndex: 10, offset: 0, limit: 100, countLimit: 1000 });
    assert.deepEqual(window.entries.map((e) => e.index), all.filter((i) => i >= 10 && i < 40), `${when}: ${JSON.stringify(match)} in [10, 40)`);
  }
}

function runs(connection: SqliteConnection): SearchRun[] {
  return connection.db.prepare('SELECT run, lo, hi, level, state, phase, cursor FROM search_runs ORDER BY lo').all() as SearchRun[];
}

test('searches answer the same after every merge and drop step, and merges leave few runs and no retired rows', () => {
  const connection = openSqlite(join(dir, 'steps.db'), POLICY);
  try {
    let size = 0;
    let steps = 0;
    let sawBuilding = false;
    while (size < 300) {
      const to = size + 1 + (size % 11);
      appendRange(connection, size, to);
      size = to;
      checkSearches(connection, size, `at ${size}`);
      // Some steps after each batch, not always all: merges overlap appends.
      for (let k = 0; k < 3 && connection.stepRuns(); k++) {
        steps++;
        sawBuilding ||= runs(connection).some((r) => r.state === 'building');
        checkSearches(connection, size, `at ${size} after step ${steps}`);
      }
    }
    while (connection.stepRuns()) steps++;
    checkSearches(connection, size, 'settled');
    const final = runs(connection);
    assert.ok(sawBuilding, 'a merge was seen in progress');
    assert.ok(final.every((r) => r.state === 'open' || r.state === 'sealed'), JSON.stringify(final));
    assert.equal(nextRunWork(final, POLICY), undefined);
    // Runs partition the entries: contiguous from 0, the open one last.
    final.forEach((r, i) => assert.equal(r.lo, i === 0 ? 0 : final[i - 1]!.hi));
    assert.equal(final.at(-1)!.state, 'open');
    // Geometric levels: at most fanout - 1 runs of each level below the top, so few runs.
    assert.ok(final.length <= 8, `${final.length} runs`);
    const live = final.map((r) => r.run);
    for (const table of ['search_index', 'search_reversed', 'leaf_index']) {
      const stray = connection.db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE run NOT IN (SELECT value FROM json_each(?))`).get(JSON.stringify(live)) as { n: number };
      assert.equal(stray.n, 0, `${table} keeps rows of retired runs`);
    }
    assert.equal((connection.db.prepare('SELECT COUNT(*) AS n FROM leaf_index').get() as { n: number }).n, size);
    const rows = connection.db.prepare('SELECT COUNT(*) AS n FROM search_index').get() as { n: number };
    assert.equal(rows.n, Array.from({ length: size }, (_, i) => keysOf(i).length).reduce((a, b) => a + b));
  } finally {
    connection.db.close();
  }
});

test('the writer thread merges between batches by itself', async () => {
  const { TransparencyLog, LogSigner } = await import('../src/index.js');
  const { generateKeyPair } = await import('@sigstack/core');
  const pair = generateKeyPair('ed25519');
  const path = join(dir, 'thread.db');
  const log = await TransparencyLog.open(new SqliteLogStorage(path, { runPolicy: POLICY }), new LogSigner('runs.test/log', pair));
  const N = 200;
  for (let from = 0; from < N; from += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, k) => {
        const i = from + k;
        const [hash, email] = keysOf(i) as [string, string];
        return log.append({ kind: 'hashedrekord', apiVersion: '0.0.1', body: Buffer.from(`thread entry ${i}`), indexKeys: [{ type: 'hash', value: hash.slice(5) }, { type: 'email', value: email.slice(6) }] });
      }),
    );
  }
  await (log.storage as SqliteLogStorage).settleSearchRuns();
  const users = await log.storage.searchEntries({ match: { type: 'key', key: 'email:user3@example0.com' }, below: N, offset: 0, limit: 100, countLimit: 1000 });
  assert.equal(users.count, expected(N, { type: 'key', key: 'email:user3@example0.com' }).length);
  await log.close();
  const db = new Database(path, { readonly: true });
  try {
    const states = db.prepare('SELECT state, COUNT(*) AS n FROM search_runs GROUP BY state').all() as { state: string; n: number }[];
    assert.deepEqual(states.filter((s) => s.state !== 'open' && s.state !== 'sealed'), []);
    assert.ok(states.find((s) => s.state === 'sealed')!.n <= 6, JSON.stringify(states));
    const levels = db.prepare('SELECT MAX(level) AS top FROM search_runs').get() as { top: number };
    assert.ok(levels.top >= 3, 'merges reached higher levels');
  } finally {
    db.close();
  }
});

test('a file made before search runs is upgraded in place, with the same answers', () => {
  const path = join(dir, 'old.db');
  const old = new Database(path);
  old.exec(`
    CREATE TABLE entries (idx INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL UNIQUE, body BLOB NOT NULL, integrated_time INTEGER NOT NULL, kind TEXT NOT NULL, api_version TEXT NOT NULL, extra BLOB);
    CREATE TABLE search_index (key TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (key, idx)) WITHOUT ROWID;
    CREATE TABLE search_reversed (rkey TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (rkey, idx)) WITHOUT ROWID;
    CREATE INDEX search_by_entry ON search_index (idx, key);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `);
  const size = 150;
  const insert = old.transaction(() => {
    for (let i = 0; i < size; i++) {
      old.prepare('INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, NULL)').run(i, Buffer.from(i.toString(16).padStart(64, '0'), 'hex'), Buffer.from(`entry ${i}`), 1000 + i, 'hashedrekord', '0.0.1');
      for (const key of keysOf(i)) old.prepare('INSERT INTO search_index VALUES (?, ?)').run(key, i);
    }
  });
  insert();
  old.close();
  const connection = openSqlite(path, POLICY);
  try {
    // The reversed identities are backfilled too (this file predates them as well).
    checkSearches(connection, size, 'upgraded');
    connection.statements.insertCheckpoint.run(size, `size ${size}`);
    const [sealed, open] = runs(connection);
    assert.deepEqual([sealed!.lo, sealed!.hi, sealed!.state, open!.lo, open!.state], [0, size, 'sealed', size, 'open']);
    appendRange(connection, size, size + 40);
    while (connection.stepRuns()) {
      // settle
    }
    checkSearches(connection, size + 40, 'upgraded, appended and merged');
    assert.equal((connection.db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name LIKE '%_v1' OR name = 'search_by_entry'").get() as { n: number }).n, 0);
  } finally {
    connection.db.close();
  }
});
