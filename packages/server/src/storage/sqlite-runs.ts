// Search runs on SQLite (search-runs.ts has the design): the run tables, writing a batch's keys
// into the open run (sealing it when full), one merge or drop step per transaction on the writer
// connection, and the upgrade of files made before runs (one search_index of (key, idx)). Here
// the leaf hashes that find duplicates are kept in runs too (leaf_index), instead of a unique
// index on entries that takes every new hash at a random place.

import type Database from 'better-sqlite3';
import { RUN_TABLES as SEARCH_TABLES, levelForSize, needsRollover, nextRunWork, type RunPolicy, type SearchRun } from './search-runs.js';
import { reversedKey } from './sqlite-search.js';

/** The tables kept in runs, in the order a merge copies them (SearchRun.phase). */
const RUN_TABLES = [...SEARCH_TABLES, { table: 'leaf_index', column: 'leaf_hash' }] as const;

type Cursor = string | Buffer;

/** SQLite's order of two cursors of one column (text by bytes, or blobs). */
function before(a: Cursor, b: Cursor): boolean {
  return Buffer.compare(Buffer.isBuffer(a) ? a : Buffer.from(a), Buffer.isBuffer(b) ? b : Buffer.from(b)) < 0;
}

export const RUN_SCHEMA = `
CREATE TABLE IF NOT EXISTS search_runs (
  run INTEGER PRIMARY KEY,
  lo INTEGER NOT NULL,
  hi INTEGER,
  level INTEGER NOT NULL,
  state TEXT NOT NULL,
  phase INTEGER NOT NULL DEFAULT 0,
  cursor TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS search_index (
  run INTEGER NOT NULL,
  key TEXT NOT NULL,
  idx INTEGER NOT NULL,
  PRIMARY KEY (run, key, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_reversed (
  run INTEGER NOT NULL,
  rkey TEXT NOT NULL,
  idx INTEGER NOT NULL,
  PRIMARY KEY (run, rkey, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leaf_index (
  run INTEGER NOT NULL,
  leaf_hash BLOB NOT NULL,
  idx INTEGER NOT NULL,
  PRIMARY KEY (run, leaf_hash, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entry_keys (
  idx INTEGER NOT NULL,
  key TEXT NOT NULL,
  PRIMARY KEY (idx, key)
) WITHOUT ROWID;
INSERT INTO search_runs (run, lo, level, state) SELECT 0, 0, 0, 'open' WHERE NOT EXISTS (SELECT 1 FROM search_runs);
`;

/**
 * Files made before runs: their (key, idx) rows become one sealed run of every entry so far,
 * entry_keys is filled from them, and a new open run starts at the log's size. Once per file.
 */
export function upgradeToRuns(db: Database.Database, policy: RunPolicy): void {
  const old = () => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_index'").get() !== undefined && db.prepare("SELECT 1 FROM pragma_table_info('search_index') WHERE name = 'run'").get() === undefined;
  if (!old()) return;
  db.transaction(() => {
    if (!old()) return;
    const hasReversed = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_reversed'").get() !== undefined;
    db.exec('DROP INDEX IF EXISTS search_by_entry; ALTER TABLE search_index RENAME TO search_index_v1;');
    if (hasReversed) db.exec('ALTER TABLE search_reversed RENAME TO search_reversed_v1;');
    db.exec(RUN_SCHEMA.replace(/INSERT INTO search_runs[^;]*;/, ''));
    const size = (db.prepare('SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM entries').get() as { n: number }).n;
    db.exec('INSERT INTO entry_keys (idx, key) SELECT idx, key FROM search_index_v1 ORDER BY idx, key; INSERT INTO search_index (run, key, idx) SELECT 0, key, idx FROM search_index_v1;');
    if (hasReversed) db.exec('INSERT INTO search_reversed (run, rkey, idx) SELECT 0, rkey, idx FROM search_reversed_v1;');
    // (The file's unique index on entries.leaf_hash stays: SQLite drops it only by copying the table.)
    db.exec('INSERT INTO leaf_index (run, leaf_hash, idx) SELECT 0, leaf_hash, idx FROM entries ORDER BY leaf_hash;');
    const insertRun = db.prepare('INSERT INTO search_runs (run, lo, hi, level, state) VALUES (?, ?, ?, ?, ?)');
    if (size > 0) {
      insertRun.run(0, 0, size, levelForSize(size, policy), 'sealed');
      insertRun.run(1, size, null, 0, 'open');
    } else {
      insertRun.run(0, 0, null, 0, 'open');
    }
    db.exec(`DROP TABLE search_index_v1;${hasReversed ? ' DROP TABLE search_reversed_v1;' : ''}`);
  }).immediate();
}

export interface RunWriter {
  /**
   * Files a batch's leaf hashes and keys (within the caller's transaction): entry_keys, and the
   * open run's leaf_index, search_index and reversed identities. Batches come in index order.
   */
  write(leaves: readonly { leafHash: Buffer; index: number }[], keys: readonly { key: string; index: number }[]): void;
  /** One merge or drop step in its own transaction; false when there is nothing to do. */
  step(): boolean;
}

export function runWriter(db: Database.Database, policy: RunPolicy): RunWriter {
  const s = {
    open: db.prepare("SELECT run, lo FROM search_runs WHERE state = 'open'"),
    seal: db.prepare("UPDATE search_runs SET state = 'sealed', hi = ? WHERE run = ?"),
    insertRun: db.prepare('INSERT INTO search_runs (run, lo, hi, level, state) VALUES ((SELECT MAX(run) + 1 FROM search_runs), ?, ?, ?, ?) RETURNING run'),
    entryKey: db.prepare('INSERT OR IGNORE INTO entry_keys (idx, key) VALUES (?, ?)'),
    index: db.prepare('INSERT OR IGNORE INTO search_index (run, key, idx) VALUES (?, ?, ?)'),
    reversed: db.prepare('INSERT OR IGNORE INTO search_reversed (run, rkey, idx) VALUES (?, ?, ?)'),
    leaf: db.prepare('INSERT OR IGNORE INTO leaf_index (run, leaf_hash, idx) VALUES (?, ?, ?)'),
    runs: db.prepare('SELECT run, lo, hi, level, state, phase, cursor FROM search_runs'),
    progress: db.prepare('UPDATE search_runs SET phase = ?, cursor = ? WHERE run = ?'),
    sealTarget: db.prepare("UPDATE search_runs SET state = 'sealed', phase = ?, cursor = '' WHERE run = ?"),
    retire: db.prepare("UPDATE search_runs SET state = 'retired' WHERE run = ?"),
    forget: db.prepare('DELETE FROM search_runs WHERE run = ?'),
  };
  const perTable = RUN_TABLES.map(({ table, column }) => ({
    boundary: db.prepare(`SELECT ${column} FROM ${table} WHERE run = ? AND ${column} > ? ORDER BY ${column} LIMIT 1 OFFSET ?`).pluck(),
    copyUpTo: db.prepare(`INSERT INTO ${table} (run, ${column}, idx) SELECT @target, ${column}, idx FROM ${table} WHERE run IN (SELECT value FROM json_each(@sources)) AND ${column} > @cursor AND ${column} <= @boundary ORDER BY ${column}, idx`),
    copyRest: db.prepare(`INSERT INTO ${table} (run, ${column}, idx) SELECT @target, ${column}, idx FROM ${table} WHERE run IN (SELECT value FROM json_each(@sources)) AND ${column} > @cursor ORDER BY ${column}, idx`),
    dropUpTo: db.prepare(`DELETE FROM ${table} WHERE run = @run AND ${column} <= (SELECT ${column} FROM ${table} WHERE run = @run ORDER BY ${column} LIMIT 1 OFFSET @chunk)`),
    dropRest: db.prepare(`DELETE FROM ${table} WHERE run = @run`),
  }));

  const write = (leaves: readonly { leafHash: Buffer; index: number }[], keys: readonly { key: string; index: number }[]): void => {
    if (leaves.length === 0 && keys.length === 0) return;
    let open = s.open.get() as { run: number; lo: number };
    let first = Infinity;
    for (const l of leaves) if (l.index < first) first = l.index;
    for (const k of keys) if (k.index < first) first = k.index;
    if (needsRollover(open, first, policy)) {
      s.seal.run(first, open.run);
      open = { run: (s.insertRun.get(first, null, 0, 'open') as { run: number }).run, lo: first };
    }
    for (const l of leaves) s.leaf.run(open.run, l.leafHash, l.index);
    for (const k of keys) {
      s.entryKey.run(k.index, k.key);
      s.index.run(open.run, k.key, k.index);
      // Identities are also kept reversed, so patterns like "*@example.com" are index range scans.
      const reversed = reversedKey(k.key);
      if (reversed !== undefined) s.reversed.run(open.run, reversed, k.index);
    }
  };

  const step = db.transaction((): boolean => {
    const work = nextRunWork(s.runs.all() as SearchRun[], policy);
    if (!work) return false;
    if (work.type === 'drop') {
      for (const t of perTable) {
        if (t.dropUpTo.run({ run: work.run.run, chunk: policy.chunkRows }).changes > 0) return true;
        if (t.dropRest.run({ run: work.run.run }).changes > 0) return true;
      }
      s.forget.run(work.run.run);
      return true;
    }
    if (work.type === 'start') {
      s.insertRun.get(work.target.lo, work.target.hi, work.target.level, 'building');
      return true;
    }
    const { target, sources } = work;
    const t = perTable[target.phase]!;
    const share = Math.max(1, Math.floor(policy.chunkRows / sources.length));
    // Any source's key past the cursor is a correct boundary; the smallest keeps the chunk small.
    let boundary: Cursor | undefined;
    for (const source of sources) {
      const b = t.boundary.get(source.run, target.cursor, share) as Cursor | undefined;
      if (b !== undefined && (boundary === undefined || before(b, boundary))) boundary = b;
    }
    const params = { target: target.run, sources: JSON.stringify(sources.map((r) => r.run)), cursor: target.cursor };
    if (boundary !== undefined) {
      t.copyUpTo.run({ ...params, boundary });
      s.progress.run(target.phase, boundary, target.run);
      return true;
    }
    t.copyRest.run(params);
    const phase = target.phase + 1;
    if (phase < RUN_TABLES.length) {
      s.progress.run(phase, '', target.run);
      return true;
    }
    // Every table copied: the target replaces its sources for readers in this one commit.
    s.sealTarget.run(phase, target.run);
    for (const source of sources) s.retire.run(source.run);
    return true;
  });

  return { write, step: () => step.immediate() };
}

/**
 * Runs merge and drop steps after appends, one per turn of the event loop (so batches that
 * arrive meanwhile go first) until none is due. A failing step is reported once and tried
 * again after the next append.
 */
export function runStepper(step: () => boolean, report: (err: Error) => void = (err) => process.stderr.write(`sigstack log: merging search runs failed, retrying after the next batch: ${err.message}\n`)) {
  let scheduled = false;
  let reported = false;
  const turn = () => {
    scheduled = false;
    try {
      if (step()) kick();
      reported = false;
    } catch (err) {
      if (!reported) report(err as Error);
      reported = true;
    }
  };
  const kick = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(turn);
  };
  /** Every due step now (tests, and a store told to catch up). */
  const settle = () => {
    while (step()) {
      // next step
    }
  };
  return { kick, settle };
}
