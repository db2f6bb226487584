// A front end of a PostgreSQL log: appends become pending rows (the leaf hash is the claim, so
// the same entry sent to several front ends at once is fresh at exactly one, a duplicate at
// the others), answered once a published checkpoint covers them. The front end follows the
// sequencer's checkpoints (notifications, with polling as the fallback) and never serves a
// smaller tree than it served before.

import pg from 'pg';
import { ServiceError } from '../../errors.js';
import type { AppendResult, RemoteSequencing, TransparencyLog } from '../engine/log.js';
import type { CanonicalEntry } from '../types/types.js';
import type { PostgresLogStorage } from '../../storage/postgres/postgres.js';
import { CHECKPOINT_CHANNEL } from './fenced-storage.js';

interface Waiter {
  leafHash: Buffer;
  duplicate: boolean;
  resolve: (result: AppendResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface FrontEndOptions {
  /** How often the newest checkpoint is read without a notification (default 250 ms; 20 ms while appends wait). */
  pollMs?: number;
  /** How long an append waits for its checkpoint before a 503 (default 30 s; the entry stays pending and is logged). */
  appendTimeoutMs?: number;
}

export class ClusterFrontEnd implements RemoteSequencing {
  private readonly waiters = new Map<string, Waiter[]>();
  private listener: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** Pending entries in the database as last counted (metrics). */
  onRefresh: (size: number) => void = () => {};
  /** Runs after each advance, before waiting appends are answered (witnessing chooses the served checkpoint). */
  onAdvance: (() => Promise<void>) | undefined;

  constructor(
    private readonly store: PostgresLogStorage,
    private readonly log: TransparencyLog,
    private readonly options: FrontEndOptions = {},
  ) {}

  async start(): Promise<void> {
    this.tick();
    await this.listen().catch(() => {});
  }

  private tick(): void {
    if (this.closed) return;
    const ms = this.waiters.size > 0 ? 20 : (this.options.pollMs ?? 250);
    this.timer = setTimeout(() => {
      void this.refresh().finally(() => this.tick());
    }, ms);
  }

  /** LISTENs for new checkpoints on a connection of its own; reconnects when it drops. */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client(this.store.clientConfig('sigstack-listen'));
    client.on('error', () => {});
    client.on('end', () => {
      if (this.listener === client) this.listener = undefined;
      if (!this.closed) setTimeout(() => void this.listen().catch(() => {}), 500);
    });
    client.on('notification', () => void this.refresh());
    try {
      await client.connect();
      await client.query(`LISTEN ${this.store.channel(CHECKPOINT_CHANNEL)}`);
      this.listener = client;
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
  }

  async append(entry: CanonicalEntry, leafHash: Buffer): Promise<AppendResult> {
    if (this.closed) throw new ServiceError(503, 'LOG_CLOSED', 'the log is shutting down; retry against a running server');
    let claimed: boolean;
    try {
      const result = await this.store.pool.query({
        name: 'pending-claim',
        text: `INSERT INTO pending (leaf_hash, body, kind, api_version, extra, index_keys)
               SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM entries WHERE leaf_hash = $1)
               ON CONFLICT (leaf_hash) DO NOTHING`,
        values: [leafHash, entry.body, entry.kind, entry.apiVersion, entry.extra ?? null, entry.indexKeys.map((k) => `${k.type}:${k.value}`)],
      });
      claimed = result.rowCount === 1;
    } catch (err) {
      throw new ServiceError(503, 'LOG_WRITE_FAILED', `the log could not store this entry; nothing was added, retry: ${(err as Error).message}`);
    }
    return new Promise((resolve, reject) => {
      const key = leafHash.toString('hex');
      const timeoutMs = this.options.appendTimeoutMs ?? 30_000;
      const waiter: Waiter = {
        leafHash,
        duplicate: !claimed,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.drop(key, waiter);
          reject(new ServiceError(503, 'LOG_PENDING', `the entry is stored and will be logged, but no checkpoint covered it within ${timeoutMs} ms (is a sequencer running?); retry to get its proof`));
        }, timeoutMs),
      };
      const list = this.waiters.get(key);
      if (list) list.push(waiter);
      else this.waiters.set(key, [waiter]);
      void this.refresh();
    });
  }

  private drop(key: string, waiter: Waiter): void {
    const list = this.waiters.get(key)?.filter((w) => w !== waiter) ?? [];
    if (list.length > 0) this.waiters.set(key, list);
    else this.waiters.delete(key);
  }

  /** Follows the newest checkpoint and answers the appends it covers (one run at a time). */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        await this.refreshOnce().catch(() => {});
      } while (this.again && !this.closed);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    const latest = await this.store.latestCheckpoint();
    if (latest && latest.size > this.log.published.size) await this.log.advance(latest);
    if (this.onAdvance) await this.onAdvance();
    this.onRefresh(this.log.checkpoint.size);
    if (this.waiters.size === 0) return;
    const size = this.log.checkpoint.size;
    const hashes = [...this.waiters.values()].map((list) => list[0]!.leafHash);
    const rows = (
      await this.store.pool.query({
        name: 'entries-covered',
        text: 'SELECT idx, leaf_hash, integrated_time FROM entries WHERE leaf_hash = ANY($1::bytea[]) AND idx < $2',
        values: [hashes, size],
      })
    ).rows as { idx: number; leaf_hash: Buffer; integrated_time: number }[];
    for (const row of rows) {
      const key = row.leaf_hash.toString('hex');
      for (const waiter of this.waiters.get(key) ?? []) {
        clearTimeout(waiter.timer);
        waiter.resolve({ index: row.idx, integratedTime: row.integrated_time, leafHash: waiter.leafHash, duplicate: waiter.duplicate });
      }
      this.waiters.delete(key);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const list of this.waiters.values()) {
      for (const waiter of list) {
        clearTimeout(waiter.timer);
        waiter.reject(new ServiceError(503, 'LOG_CLOSED', 'the log is shutting down; the entry stays pending and will be logged; retry to get its proof'));
      }
    }
    this.waiters.clear();
    await this.refreshing;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
  }
}
