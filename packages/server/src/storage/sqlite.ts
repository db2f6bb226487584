// The embedded store: one SQLite file through better-sqlite3, in WAL mode with full fsync on
// commit so that a batch is durable before anything is acknowledged.

import Database from 'better-sqlite3';
import type { LogStorage, PublishedCheckpoint, StoredEntry } from '../log/engine/storage.js';

type AppendBatch = Parameters<LogStorage['appendBatch']>[0];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  idx INTEGER PRIMARY KEY,
  leaf_hash BLOB NOT NULL UNIQUE,
  body BLOB NOT NULL,
  integrated_time INTEGER NOT NULL,
  kind TEXT NOT NULL,
  api_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tiles (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hashes BLOB NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE IF NOT EXISTS search_index (
  key TEXT NOT NULL,
  idx INTEGER NOT NULL,
  PRIMARY KEY (key, idx)
) WITHOUT ROWID;
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
}

function toEntry(row: EntryRow): StoredEntry {
  return { index: row.idx, leafHash: row.leaf_hash, body: row.body, integratedTime: row.integrated_time, kind: row.kind, apiVersion: row.api_version };
}

export class SqliteLogStorage implements LogStorage {
  private readonly db: Database.Database;
  private readonly statements;
  private readonly appendTx;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.statements = {
      count: this.db.prepare('SELECT COUNT(*) AS n FROM entries'),
      insertEntry: this.db.prepare('INSERT INTO entries (idx, leaf_hash, body, integrated_time, kind, api_version) VALUES (?, ?, ?, ?, ?, ?)'),
      upsertTile: this.db.prepare('INSERT INTO tiles (level, idx, hashes) VALUES (?, ?, ?) ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes'),
      insertIndex: this.db.prepare('INSERT OR IGNORE INTO search_index (key, idx) VALUES (?, ?)'),
      readTile: this.db.prepare('SELECT hashes FROM tiles WHERE level = ? AND idx = ?'),
      readEntries: this.db.prepare('SELECT * FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx'),
      findLeaf: this.db.prepare('SELECT idx FROM entries WHERE leaf_hash = ?'),
      search: this.db.prepare('SELECT idx FROM search_index WHERE key = ? ORDER BY idx'),
      checkpoint: this.db.prepare('SELECT size, note FROM checkpoint WHERE id = 1'),
      insertCheckpoint: this.db.prepare('INSERT INTO checkpoint (id, size, note) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING'),
      updateCheckpoint: this.db.prepare('UPDATE checkpoint SET size = ?, note = ? WHERE id = 1 AND size = ?'),
      getMeta: this.db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    };
    this.appendTx = this.db.transaction((batch: AppendBatch): boolean => {
      if (!this.swapCheckpoint(batch.previousSize, batch.checkpoint)) return false;
      for (const e of batch.entries) this.statements.insertEntry.run(e.index, e.leafHash, e.body, e.integratedTime, e.kind, e.apiVersion);
      for (const t of batch.tiles) this.statements.upsertTile.run(t.level, t.index, t.hashes);
      for (const i of batch.index) this.statements.insertIndex.run(i.key, i.index);
      return true;
    });
  }

  async entryCount(): Promise<number> {
    return (this.statements.count.get() as { n: number }).n;
  }

  async appendBatch(batch: AppendBatch): Promise<boolean> {
    return this.appendTx(batch);
  }

  async readTile(level: number, index: number): Promise<Buffer | undefined> {
    return (this.statements.readTile.get(level, index) as { hashes: Buffer } | undefined)?.hashes;
  }

  async readEntries(start: number, count: number): Promise<StoredEntry[]> {
    return (this.statements.readEntries.all(start, start + count) as EntryRow[]).map(toEntry);
  }

  async findLeafHashes(leafHashes: Buffer[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (const hash of leafHashes) {
      const row = this.statements.findLeaf.get(hash) as { idx: number } | undefined;
      if (row) found.set(hash.toString('hex'), row.idx);
    }
    return found;
  }

  async search(key: string): Promise<number[]> {
    return (this.statements.search.all(key) as { idx: number }[]).map((r) => r.idx);
  }

  async latestCheckpoint(): Promise<PublishedCheckpoint | undefined> {
    return this.statements.checkpoint.get() as PublishedCheckpoint | undefined;
  }

  async publishCheckpoint(previousSize: number, next: PublishedCheckpoint): Promise<boolean> {
    return this.swapCheckpoint(previousSize, next);
  }

  private swapCheckpoint(previousSize: number, next: PublishedCheckpoint): boolean {
    const current = this.statements.checkpoint.get() as PublishedCheckpoint | undefined;
    if (!current) return previousSize === 0 && this.statements.insertCheckpoint.run(next.size, next.note).changes === 1;
    return this.statements.updateCheckpoint.run(next.size, next.note, previousSize).changes === 1;
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (this.statements.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.statements.setMeta.run(key, value);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
