// The embedded store: one SQLite file through better-sqlite3, in WAL mode with full fsync on
// commit so that a batch is durable before anything is acknowledged; batches are committed on
// a writer thread with its own connection, reads are served from this thread's connection.
// Search keys are kept in runs (search-runs.ts, sqlite-runs.ts), merged by the writer between
// batches.

import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { EntrySearch, EntrySearchResult, LogStorage, PublishedCheckpoint, StoredEntry } from '../log/engine/storage.js';
import { packBatch, type AppendBatch } from './packed-batch.js';
import { DEFAULT_RUN_POLICY, READABLE_RUNS, type RunPolicy } from './search-runs.js';
import { RUN_SCHEMA, runStepper, runWriter, upgradeToRuns, type RunWriter } from './sqlite-runs.js';
import { backfillReversedKeys, searchEntries } from './sqlite-search.js';


const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  idx INTEGER PRIMARY KEY,
  leaf_hash BLOB NOT NULL,
  body BLOB NOT NULL,
  integrated_time INTEGER NOT NULL,
  kind TEXT NOT NULL,
  api_version TEXT NOT NULL,
  extra BLOB
);
CREATE TABLE IF NOT EXISTS tiles (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hashes BLOB NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE INDEX IF NOT EXISTS entries_by_time ON entries (integrated_time);
CREATE TABLE IF NOT EXISTS checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  size INTEGER NOT NULL,
  note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

interface EntryRow {
  idx: number;
  leaf_hash: Buffer;
  body: Buffer;
  integrated_time: number;
  kind: string;
  api_version: string;
  extra: Buffer | null;
}

function toEntry(row: EntryRow): StoredEntry {
  const entry: StoredEntry = { index: row.idx, leafHash: row.leaf_hash, body: row.body, integratedTime: row.integrated_time, kind: row.kind, apiVersion: row.api_version };
  if (row.extra) entry.extra = row.extra;
  return entry;
}

export interface SqliteConnection {
  db: Database.Database;
  statements: Record<
    'count' | 'insertEntry' | 'upsertTile' | 'readTile' | 'readEntries' | 'findLeaf' | 'search' | 'checkpoint' | 'insertCheckpoint' | 'updateCheckpoint' | 'getMeta' | 'setMeta',
    Database.Statement
  >;
  swapCheckpoint(previousSize: number, next: PublishedCheckpoint): boolean;
  append(batch: AppendBatch): boolean;
  /** Files leaf hashes and search keys (entry_keys and the runs) within the caller's transaction. */
  writeRuns: RunWriter['write'];
  /** One step of merging or dropping search runs, in its own transaction; false: none due. */
  stepRuns: RunWriter['step'];
}

/** One connection with the schema, its statements and the append transaction. */
export function openSqlite(path: string, policy: RunPolicy = DEFAULT_RUN_POLICY): SqliteConnection {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  upgradeToRuns(db, policy);
  db.exec(SCHEMA + RUN_SCHEMA);
  // Files made before entries had an extra column get it.
  if (!(db.prepare("SELECT 1 FROM pragma_table_info('entries') WHERE name = 'extra'").get())) db.exec('ALTER TABLE entries ADD COLUMN extra BLOB');
  const statements = {
      // Entries are stored 0..n-1 without gaps: the highest index is found in the key, not counted.
      count: db.prepare('SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM entries'),
      insertEntry: db.prepare('INSERT INTO entries (idx, leaf_hash, body, integrated_time, kind, api_version, extra) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      upsertTile: db.prepare('INSERT INTO tiles (level, idx, hashes) VALUES (?, ?, ?) ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes'),
      readTile: db.prepare('SELECT hashes FROM tiles WHERE level = ? AND idx = ?'),
      readEntries: db.prepare('SELECT * FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx'),
      findLeaf: db.prepare(`SELECT idx FROM leaf_index WHERE run IN (${READABLE_RUNS}) AND leaf_hash = ?`),
      search: db.prepare(`SELECT idx FROM search_index WHERE run IN (${READABLE_RUNS}) AND key = ? ORDER BY idx`),
      checkpoint: db.prepare('SELECT size, note FROM checkpoint WHERE id = 1'),
      insertCheckpoint: db.prepare('INSERT INTO checkpoint (id, size, note) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING'),
      updateCheckpoint: db.prepare('UPDATE checkpoint SET size = ?, note = ? WHERE id = 1 AND size = ?'),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
  };
  const swapCheckpoint = (previousSize: number, next: PublishedCheckpoint): boolean => {
    const current = statements.checkpoint.get() as PublishedCheckpoint | undefined;
    if (!current) return previousSize === 0 && statements.insertCheckpoint.run(next.size, next.note).changes === 1;
    return statements.updateCheckpoint.run(next.size, next.note, previousSize).changes === 1;
  };
  const runs = runWriter(db, policy);
  const append = db.transaction((batch: AppendBatch): boolean => {
    if (!swapCheckpoint(batch.previousSize, batch.checkpoint)) return false;
    for (const e of batch.entries) {
      statements.insertEntry.run(e.index, e.leafHash, e.body, e.integratedTime, e.kind, e.apiVersion, e.extra ?? null);
    }
    for (const t of batch.tiles) statements.upsertTile.run(t.level, t.index, t.hashes);
    runs.write(batch.entries, batch.index);
    return true;
  });
  backfillReversedKeys(db);
  return { db, statements, swapCheckpoint, append, writeRuns: runs.write, stepRuns: runs.step };
}

export interface SqliteOptions {
  /** Commit batches on a writer thread (default), so fsync does not stall the serving thread. */
  writerThread?: boolean;
  /** How search runs are sized and merged (tests use small ones). */
  runPolicy?: RunPolicy;
}

export class SqliteLogStorage implements LogStorage {
  private readonly connection: SqliteConnection;
  private readonly statements: SqliteConnection['statements'];
  private readonly writer: Worker | undefined;
  /** Merges search runs when there is no writer thread. */
  private readonly runs: ReturnType<typeof runStepper>;
  private readonly waiting = new Map<number, { resolve: (ok: boolean) => void; reject: (err: Error) => void }>();
  private nextId = 0;

  constructor(path: string, options: SqliteOptions = {}) {
    const policy = options.runPolicy ?? DEFAULT_RUN_POLICY;
    this.connection = openSqlite(path, policy);
    this.statements = this.connection.statements;
    this.runs = runStepper(this.connection.stepRuns);
    if (options.writerThread !== false) {
      this.writer = new Worker(new URL('./sqlite-writer.js', import.meta.url), { workerData: { path, policy } });
      this.writer.on('message', (reply: { id: number; ok?: boolean; error?: string }) => {
        const waiter = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        if (reply.error !== undefined) waiter?.reject(new Error(reply.error));
        else waiter?.resolve(reply.ok === true);
      });
      this.writer.on('error', (err) => {
        for (const waiter of this.waiting.values()) waiter.reject(err);
        this.waiting.clear();
      });
    }
  }

  async entryCount(): Promise<number> {
    return (this.statements.count.get() as { n: number }).n;
  }

  async appendBatch(batch: AppendBatch): Promise<boolean> {
    const writer = this.writer;
    if (!writer) {
      const ok = this.connection.append(batch);
      this.runs.kick();
      return ok;
    }
    const { packed, transfer } = packBatch(batch);
    return this.toWriter({ packed }, transfer);
  }

  /** Runs every due merge and drop of search runs now (they otherwise run between batches). */
  async settleSearchRuns(): Promise<void> {
    if (!this.writer) return this.runs.settle();
    await this.toWriter({ settle: true });
  }

  private toWriter(message: object, transfer: ArrayBuffer[] = []): Promise<boolean> {
    const writer = this.writer!;
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      writer.postMessage({ id, ...message }, transfer);
    });
  }

  async readTile(level: number, index: number): Promise<Buffer | undefined> {
    return (this.statements.readTile.get(level, index) as { hashes: Buffer } | undefined)?.hashes;
  }

  async readEntries(start: number, count: number): Promise<StoredEntry[]> {
    return (this.statements.readEntries.all(start, start + count) as EntryRow[]).map(toEntry);
  }

  async findLeafHashes(leafHashes: Buffer[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    // In key order, each run's index is walked forward: the pages one probe reads serve the next.
    for (const hash of [...leafHashes].sort(Buffer.compare)) {
      const row = this.statements.findLeaf.get(hash) as { idx: number } | undefined;
      if (row) found.set(hash.toString('hex'), row.idx);
    }
    return found;
  }

  async search(key: string): Promise<number[]> {
    return (this.statements.search.all(key) as { idx: number }[]).map((r) => r.idx);
  }

  async searchEntries(query: EntrySearch): Promise<EntrySearchResult> {
    return searchEntries(this.connection.db, query);
  }

  async latestCheckpoint(): Promise<PublishedCheckpoint | undefined> {
    return this.statements.checkpoint.get() as PublishedCheckpoint | undefined;
  }

  async publishCheckpoint(previousSize: number, next: PublishedCheckpoint): Promise<boolean> {
    return this.connection.swapCheckpoint(previousSize, next);
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (this.statements.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.statements.setMeta.run(key, value);
  }

  async close(): Promise<void> {
    await this.writer?.terminate();
    this.connection.db.close();
  }
}
