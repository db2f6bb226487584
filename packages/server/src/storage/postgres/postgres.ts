// The scale-out store: a log's entries, tiles, search keys, checkpoints and metadata in one
// PostgreSQL database, through a pool of `pg` connections with named (prepared) statements. A
// batch lands in one transaction: the tree size in log_head is compare-and-swapped, the
// checkpoint is inserted under its size (the primary key: one root per size, ever), and the
// entries, tiles and keys go in as a few multi-row `unnest` inserts.

import pg from 'pg';
import { ServiceError } from '../../errors.js';
import type { EntrySearch, EntrySearchResult, LogStorage, PublishedCheckpoint, StoredEntry } from '../../log/engine/storage.js';
import type { AppendBatch } from '../packed-batch.js';
import { reversedKey } from '../sqlite-search.js';
import { DEFAULT_RUN_POLICY, READABLE_RUNS, type RunPolicy } from '../search-runs.js';
import { migrate } from './schema.js';
import { searchEntries } from './search.js';
import { SearchRunScheduler } from './search-runs.js';

/** int8 columns as numbers (log indexes and times stay far below 2^53). */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

export interface PostgresOptions {
  /** Connections in the pool (default 8). */
  maxConnections?: number;
  /** Names the connections in pg_stat_activity (application_name). */
  applicationName?: string;
  /**
   * A session idle inside a transaction this long is ended by the server (default 2000 ms): a
   * paused process (SIGSTOP, a long GC, a partition) cannot keep holding the lease row's lock.
   */
  idleInTransactionTimeoutMs?: number;
  /**
   * The PostgreSQL schema (namespace) holding this log's tables, created if missing, so that
   * several logs (the transparency log, the CT log, rotated shards) share one database. Every
   * connection's search_path is set to it; the migration lock and the notification channels are
   * scoped to it. Default: none (the tables in the database's default schema, as before).
   */
  schema?: string;
  /** How the search index is split into runs and merged (default DEFAULT_RUN_POLICY; tests use tiny ones). */
  runPolicy?: RunPolicy;
}

/** A schema name this driver accepts: lower-case letters, digits and _, at most 40 (channel names derive from it). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,39}$/;

export function checkSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) {
    throw new ServiceError(400, 'POSTGRES_SCHEMA_NAME_INVALID', `"${schema}" is not a usable schema name: use lower-case letters, digits and _ (at most 40, not starting with a digit or pg_)`);
  }
}

/** The connection settings every connection of a log's store carries (search_path when it has a schema). */
export function connectionOptions(schema: string | undefined, idleInTransactionTimeoutMs?: number): string {
  const settings = [...(idleInTransactionTimeoutMs !== undefined ? [`-c idle_in_transaction_session_timeout=${idleInTransactionTimeoutMs}`] : []), ...(schema ? [`-c search_path=${schema}`] : [])];
  return settings.join(' ');
}

/** A notification channel of the log in `schema` (the plain name for the default schema). */
export function channelName(base: string, schema: string | undefined): string {
  return schema ? `${base}__${schema}` : base;
}

/** Whether an error means the database could not be reached (rather than a refused statement). */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', '57P01', '57P02', '57P03', '08006', '08001', '08003', '08004'].includes(code) ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test((err as Error).message ?? '');
}

/** Hides the password of a connection URL for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function toEntry(row: Record<string, unknown>): StoredEntry {
  const entry: StoredEntry = {
    index: row.idx as number,
    leafHash: row.leaf_hash as Buffer,
    body: row.body as Buffer,
    integratedTime: row.integrated_time as number,
    kind: row.kind as string,
    apiVersion: row.api_version as string,
  };
  if (row.extra) entry.extra = row.extra as Buffer;
  return entry;
}

export class PostgresLogStorage implements LogStorage {
  /** Merges and drops search runs in the background after appends (postgres/search-runs.ts). */
  readonly runs: SearchRunScheduler;

  private constructor(
    readonly pool: pg.Pool,
    readonly url: string,
    /** The log's schema (undefined: the database's default one). */
    readonly schema: string | undefined,
    readonly runPolicy: RunPolicy,
  ) {
    this.runs = new SearchRunScheduler(this);
  }

  /** Settings for a connection of its own to this log (e.g. a LISTEN one): the same search_path. */
  clientConfig(applicationName: string): pg.ClientConfig {
    const options = connectionOptions(this.schema);
    return { connectionString: this.url, application_name: applicationName, ...(options ? { options } : {}) };
  }

  /** This log's notification channel named `base` (scoped to its schema). */
  channel(base: string): string {
    return channelName(base, this.schema);
  }

  /** Connects, creates or migrates the schema; a clear error when unreachable or too new. */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresLogStorage> {
    if (options.schema !== undefined) checkSchemaName(options.schema);
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 8,
      connectionTimeoutMillis: 5000,
      application_name: options.applicationName ?? 'sigstack',
      options: connectionOptions(options.schema, options.idleInTransactionTimeoutMs ?? 2000),
      types,
    });
    // A dropped idle connection must not crash the process; the next query gets a fresh one.
    pool.on('error', () => {});
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      await pool.end().catch(() => {});
      throw new ServiceError(503, 'POSTGRES_UNREACHABLE', `cannot connect to PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}; check the URL and that the server runs`, { cause: err });
    }
    try {
      await migrate(client, options.schema);
    } catch (err) {
      client.release();
      await pool.end().catch(() => {});
      if ((err as { code?: string }).code === '42501') {
        const where = options.schema ? `the schema ${options.schema}` : 'the default schema';
        throw new ServiceError(500, 'POSTGRES_PERMISSION_DENIED', `the database user may not create the log's tables in ${where} (${(err as Error).message}): grant it CREATE there${options.schema ? `, or have an administrator run CREATE SCHEMA ${options.schema} AUTHORIZATION <user>` : ''}`, { cause: err });
      }
      throw err;
    } 
    client.release();
    return new PostgresLogStorage(pool, url, options.schema, options.runPolicy ?? DEFAULT_RUN_POLICY);
  }

  private query(name: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
    return this.pool.query({ name, text, values });
  }

  async entryCount(): Promise<number> {
    return (await this.query('entry-count', 'SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM entries')).rows[0].n;
  }

  /** Runs `work` in one transaction on one connection; rolled back when it throws or returns false. */
  async transaction(work: (client: pg.PoolClient) => Promise<boolean>): Promise<boolean> {
    const client = await this.pool.connect();
    // A connection cut between two statements errs on the client, not on a query: never a crash.
    const ignore = () => {};
    client.on('error', ignore);
    let broken = false;
    try {
      await client.query('BEGIN');
      const ok = await work(client);
      await client.query(ok ? 'COMMIT' : 'ROLLBACK');
      return ok;
    } catch (err) {
      broken = true; // a connection in an unknown state is not reused
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.off('error', ignore);
      client.release(broken);
    }
  }

  /** The head CAS and the checkpoint insert, within the caller's transaction. */
  static async swapHead(client: pg.ClientBase, previousSize: number, next: PublishedCheckpoint): Promise<boolean> {
    const head = await client.query({ name: 'head-cas', text: 'UPDATE log_head SET size = $1 WHERE id = 1 AND size = $2', values: [next.size, previousSize] });
    if (head.rowCount !== 1) return false;
    const inserted = await client.query({ name: 'checkpoint-insert', text: 'INSERT INTO checkpoints (size, note) VALUES ($1, $2) ON CONFLICT (size) DO NOTHING', values: [next.size, next.note] });
    return inserted.rowCount === 1;
  }

  /**
   * The entries, tiles and keys of a batch, within the caller's transaction. The keys go to
   * entry_keys and to the open search run, which is first sealed and replaced by a new one
   * when it already covers `policy.entries` entries (one statement).
   */
  static async writeBatch(client: pg.ClientBase, batch: Pick<AppendBatch, 'entries' | 'tiles' | 'index'>, policy: RunPolicy = DEFAULT_RUN_POLICY): Promise<void> {
    const e = batch.entries;
    if (e.length > 0) {
      await client.query({
        name: 'entries-insert',
        text: 'INSERT INTO entries (idx, leaf_hash, body, integrated_time, kind, api_version, extra) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bigint[], $5::text[], $6::text[], $7::bytea[])',
        values: [e.map((x) => x.index), e.map((x) => x.leafHash), e.map((x) => x.body), e.map((x) => x.integratedTime), e.map((x) => x.kind), e.map((x) => x.apiVersion), e.map((x) => x.extra ?? null)],
      });
    }
    const t = batch.tiles;
    if (t.length > 0) {
      await client.query({
        name: 'tiles-upsert',
        text: 'INSERT INTO tiles (level, idx, hashes) SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bytea[]) ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes',
        values: [t.map((x) => x.level), t.map((x) => x.index), t.map((x) => x.hashes)],
      });
    }
    const keys = batch.index;
    if (keys.length > 0) {
      let first = keys[0]!.index;
      for (const k of keys) if (k.index < first) first = k.index;
      // Identities are also kept reversed, so patterns like "*@example.com" are index range scans.
      const reversed = keys.flatMap((k) => {
        const r = reversedKey(k.key);
        return r === undefined ? [] : [{ key: r, index: k.index }];
      });
      await client.query({
        name: 'keys-insert',
        text: `WITH open_run AS (SELECT run, lo FROM search_runs WHERE state = 'open' FOR UPDATE),
               sealed AS (UPDATE search_runs s SET state = 'sealed', hi = $5 FROM open_run o WHERE s.run = o.run AND $5 - o.lo >= $6 RETURNING s.run),
               opened AS (INSERT INTO search_runs (run, lo, hi, level, state) SELECT nextval('search_run_ids'), $5, NULL, 0, 'open' FROM sealed RETURNING run),
               target AS (SELECT COALESCE((SELECT run FROM opened), (SELECT run FROM open_run)) AS run),
               k AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS u(key, idx)),
               ek AS (INSERT INTO entry_keys (idx, key) SELECT idx, key FROM k ON CONFLICT DO NOTHING),
               si AS (INSERT INTO search_index (run, key, idx) SELECT target.run, k.key, k.idx FROM target, k ON CONFLICT DO NOTHING)
               INSERT INTO search_reversed (run, rkey, idx) SELECT target.run, r.rkey, r.idx FROM target, unnest($3::text[], $4::bigint[]) AS r(rkey, idx) ON CONFLICT DO NOTHING`,
        values: [keys.map((k) => k.key), keys.map((k) => k.index), reversed.map((k) => k.key), reversed.map((k) => k.index), first, policy.entries],
      });
    }
  }

  async appendBatch(batch: AppendBatch): Promise<boolean> {
    return this.appendTransaction(batch.checkpoint.size, async (client) => {
      if (!(await PostgresLogStorage.swapHead(client, batch.previousSize, batch.checkpoint))) return false;
      await PostgresLogStorage.writeBatch(client, batch, this.runPolicy);
      return true;
    });
  }

  /**
   * An append batch's transaction (this store's, or the cluster's fenced one) growing the tree to
   * `size`: search-run steps yield while it runs, and one is owed once it commits.
   */
  async appendTransaction(size: number, work: (client: pg.PoolClient) => Promise<boolean>): Promise<boolean> {
    this.runs.appending++;
    try {
      const ok = await this.transaction(work);
      if (ok) this.runs.afterAppend(size);
      return ok;
    } finally {
      this.runs.appending--;
    }
  }

  async readTile(level: number, index: number): Promise<Buffer | undefined> {
    return (await this.query('tile-read', 'SELECT hashes FROM tiles WHERE level = $1 AND idx = $2', [level, index])).rows[0]?.hashes;
  }

  async readEntries(start: number, count: number): Promise<StoredEntry[]> {
    return (await this.query('entries-read', 'SELECT * FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx', [start, start + count])).rows.map(toEntry);
  }

  async findLeafHashes(leafHashes: Buffer[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    if (leafHashes.length === 0) return found;
    const rows = (await this.query('leaf-find', 'SELECT idx, leaf_hash FROM entries WHERE leaf_hash = ANY($1::bytea[])', [leafHashes])).rows;
    for (const row of rows) found.set((row.leaf_hash as Buffer).toString('hex'), row.idx as number);
    return found;
  }

  async search(key: string): Promise<number[]> {
    return (await this.query('key-search', `SELECT idx FROM search_index WHERE run IN (${READABLE_RUNS}) AND key = $1 ORDER BY idx`, [key])).rows.map((r) => r.idx as number);
  }

  async searchEntries(query: EntrySearch): Promise<EntrySearchResult> {
    return searchEntries((name, text, values) => this.query(name, text, values), query);
  }

  async latestCheckpoint(): Promise<PublishedCheckpoint | undefined> {
    const row = (await this.query('checkpoint-latest', 'SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1')).rows[0];
    return row ? { size: row.size, note: row.note } : undefined;
  }

  async publishCheckpoint(previousSize: number, next: PublishedCheckpoint): Promise<boolean> {
    return this.transaction((client) => PostgresLogStorage.swapHead(client, previousSize, next));
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.query('meta-get', 'SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.query('meta-set', 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  /** Sets `key` to `value` unless it already holds something; returns what it holds afterwards. */
  async claimMeta(key: string, value: string): Promise<string> {
    await this.query('meta-claim', 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
    return (await this.getMeta(key)) as string;
  }

  async close(): Promise<void> {
    await this.runs.close();
    await this.pool.end();
  }
}
