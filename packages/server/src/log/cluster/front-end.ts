// A front end of a PostgreSQL log: appends become pending rows (the leaf hash is the claim, so
// the same entry sent to several front ends at once is fresh at exactly one, a duplicate at
// the others; claims are group-committed, pending-claims.ts), answered once a published
// checkpoint covers them. The front end follows the sequencer's checkpoints (notifications,
// with polling as the fallback): it reads the leaf hashes the new checkpoint adds in one range
// query, grows its own tree by them and checks the signed root (log.advance), and answers the
// appends among them. It never serves a smaller tree than it served before.

import pg from 'pg';
import { ServiceError } from '../../errors.js';
import type { AppendResult, RemoteSequencing, TransparencyLog } from '../engine/log.js';
import type { CanonicalEntry } from '../types/types.js';
import type { PostgresLogStorage } from '../../storage/postgres/postgres.js';
import { CHECKPOINT_CHANNEL } from './fenced-storage.js';
import { PendingClaims } from './pending-claims.js';

/** A checkpoint that adds more entries than this is followed by loading the stored tree instead. */
const MAX_RANGE_READ = 8192;
/** Waiters older than this are also looked up by leaf hash (entries a range read cannot show them). */
const LOOKUP_AFTER_MS = 1000;

interface Waiter {
  leafHash: Buffer;
  /** Unknown until the claim statement returns. */
  duplicate: boolean | undefined;
  /** Where the entry was found in the log, when that came before the claim's answer. */
  found?: { index: number; integratedTime: number };
  since: number;
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
  private readonly claims: PendingClaims;
  /** Duplicates to look up by leaf hash (their entry may be logged long ago). */
  private lookups = new Set<string>();
  private lastLookupSweep = 0;
  /** Pending entries in the database as last counted (metrics). */
  onRefresh: (size: number) => void = () => {};
  /** Runs after each advance, before waiting appends are answered (witnessing chooses the served checkpoint). */
  onAdvance: (() => Promise<void>) | undefined;

  constructor(
    private readonly store: PostgresLogStorage,
    private readonly log: TransparencyLog,
    private readonly options: FrontEndOptions = {},
  ) {
    this.claims = new PendingClaims(store.pool);
  }

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
    const key = leafHash.toString('hex');
    const timeoutMs = this.options.appendTimeoutMs ?? 30_000;
    let waiter!: Waiter;
    const answered = new Promise<AppendResult>((resolve, reject) => {
      waiter = {
        leafHash,
        duplicate: undefined,
        since: Date.now(),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.drop(key, waiter);
          reject(new ServiceError(503, 'LOG_PENDING', `the entry is stored and will be logged, but no checkpoint covered it within ${timeoutMs} ms (is a sequencer running?); retry to get its proof`));
        }, timeoutMs),
      };
    });
    // Settled (closed, timed out) while the claim runs: the caller still gets it once returned.
    answered.catch(() => {});
    // Waiting before the claim is sent: no checkpoint that covers the entry can pass unseen.
    const list = this.waiters.get(key);
    if (list) list.push(waiter);
    else this.waiters.set(key, [waiter]);
    let claimed: boolean;
    try {
      claimed = await this.claims.claim(entry, leafHash);
    } catch (err) {
      clearTimeout(waiter.timer);
      this.drop(key, waiter);
      throw new ServiceError(503, 'LOG_WRITE_FAILED', `the log could not store this entry; nothing was added, retry: ${(err as Error).message}`);
    }
    waiter.duplicate = !claimed;
    if (waiter.found) {
      this.answer(key, waiter, waiter.found.index, waiter.found.integratedTime);
    } else if (!claimed) {
      // Logged long ago, or pending from another front end: looked up now, else seen when sequenced.
      this.lookups.add(key);
      void this.refresh();
    }
    return answered;
  }

  private answer(key: string, waiter: Waiter, index: number, integratedTime: number): void {
    if (waiter.duplicate === undefined) {
      waiter.found = { index, integratedTime };
      return;
    }
    clearTimeout(waiter.timer);
    this.drop(key, waiter);
    waiter.resolve({ index, integratedTime, leafHash: waiter.leafHash, duplicate: waiter.duplicate });
  }

  /** Answers every waiter on `key` with the entry's place in the log. */
  private found(key: string, index: number, integratedTime: number): void {
    for (const waiter of [...(this.waiters.get(key) ?? [])]) if (!waiter.found) this.answer(key, waiter, index, integratedTime);
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
    const served = this.log.published.size;
    let added: { idx: number; leaf_hash: Buffer; integrated_time: number }[] = [];
    if (latest && latest.size > served) {
      if (latest.size - served <= MAX_RANGE_READ) {
        // The entries the checkpoint adds: the tree grows by their leaf hashes, and they answer waiters.
        const rows = (
          await this.store.pool.query({
            name: 'entries-added',
            text: 'SELECT idx, leaf_hash, integrated_time FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx',
            values: [served, latest.size],
          })
        ).rows as { idx: number; leaf_hash: Buffer; integrated_time: number }[];
        if (await this.log.advance(latest, rows.map((r) => r.leaf_hash))) added = rows;
      } else if (await this.log.advance(latest)) {
        // Too many to read at once: whoever waits is looked up by leaf hash.
        for (const key of this.waiters.keys()) this.lookups.add(key);
      }
    }
    // Witnessing chooses the checkpoint served (cosignatures recorded since may let it move on).
    if (this.onAdvance) await this.onAdvance();
    const servedNow = this.log.checkpoint.size;
    for (const row of added) {
      const key = row.leaf_hash.toString('hex');
      if (!this.waiters.has(key)) continue;
      // (A witnessed log may serve an older checkpoint a while: those are looked up later.)
      if (row.idx < servedNow) this.found(key, row.idx, row.integrated_time);
      else this.lookups.add(key);
    }
    this.onRefresh(this.log.checkpoint.size);
    if (this.waiters.size === 0) return;
    // Long waits too (e.g. an entry the sequencer found already logged): looked up by leaf hash.
    const now = Date.now();
    if (now - this.lastLookupSweep > LOOKUP_AFTER_MS / 2) {
      this.lastLookupSweep = now;
      for (const [key, list] of this.waiters) if (list.some((w) => now - w.since > LOOKUP_AFTER_MS)) this.lookups.add(key);
    }
    if (this.lookups.size > 0) await this.lookUp();
  }

  /** Answers the waiters on the looked-up leaf hashes whose entries the served tree holds. */
  private async lookUp(): Promise<void> {
    const keys = [...this.lookups].filter((key) => this.waiters.has(key));
    this.lookups = new Set();
    if (keys.length === 0) return;
    const rows = (
      await this.store.pool.query({
        name: 'entries-covered',
        text: 'SELECT idx, leaf_hash, integrated_time FROM entries WHERE leaf_hash = ANY($1::bytea[]) AND idx < $2',
        values: [keys.map((key) => Buffer.from(key, 'hex')), this.log.checkpoint.size],
      })
    ).rows as { idx: number; leaf_hash: Buffer; integrated_time: number }[];
    for (const row of rows) this.found(row.leaf_hash.toString('hex'), row.idx, row.integrated_time);
    // A witnessed log serves a checkpoint behind the newest a while: what it does not cover yet
    // is looked up again once the served checkpoint moves (the next refresh), not a second later.
    if (this.onAdvance) for (const key of keys) if (this.waiters.has(key)) this.lookups.add(key);
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
