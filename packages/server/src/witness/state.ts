// The witness's durable record: for each log origin, the latest checkpoint it cosigned (size,
// root hash and the note with the log's signature and the cosignature it returned). One SQLite
// file with full fsync on commit, so an answer is only sent once its state survives SIGKILL.
// Rows are never deleted: a log removed from the configuration and later added again resumes
// from what the witness last cosigned, never from a fresh state.

import Database from 'better-sqlite3';

export interface WitnessedCheckpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  /** The cosigned checkpoint: note text, the log's signature lines, the witness's cosignature. */
  note: string;
  updated: number;
}

interface Row {
  origin: string;
  size: number;
  root_hash: Buffer;
  note: string;
  updated: number;
}

export class WitnessState {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string], Row>;
  private readonly putStmt: Database.Statement<[string, number, Buffer, string, number]>;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS witnessed (
      origin TEXT PRIMARY KEY,
      size INTEGER NOT NULL,
      root_hash BLOB NOT NULL,
      note TEXT NOT NULL,
      updated INTEGER NOT NULL
    )`);
    this.getStmt = this.db.prepare('SELECT origin, size, root_hash, note, updated FROM witnessed WHERE origin = ?');
    this.putStmt = this.db.prepare(
      'INSERT INTO witnessed (origin, size, root_hash, note, updated) VALUES (?, ?, ?, ?, ?) ON CONFLICT(origin) DO UPDATE SET size = excluded.size, root_hash = excluded.root_hash, note = excluded.note, updated = excluded.updated',
    );
  }

  get(origin: string): WitnessedCheckpoint | undefined {
    const row = this.getStmt.get(origin);
    return row ? { origin: row.origin, size: row.size, rootHash: row.root_hash, note: row.note, updated: row.updated } : undefined;
  }

  /** Writes the new record durably (synchronously: nothing else runs in between on this thread). */
  put(record: WitnessedCheckpoint): void {
    this.putStmt.run(record.origin, record.size, record.rootHash, record.note, record.updated);
  }

  origins(): string[] {
    return (this.db.prepare('SELECT origin FROM witnessed').all() as { origin: string }[]).map((r) => r.origin);
  }

  close(): void {
    this.db.close();
  }
}
