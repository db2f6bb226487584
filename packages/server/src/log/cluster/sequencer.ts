// The one sequencer of a PostgreSQL log, run by every front end process and active in one:
// whoever holds the lease (lease.ts) feeds pending entries, oldest first, into the log engine
// over the fenced store (fenced-storage.ts), so the engine's batching, tiles and checkpoint
// signing are the same as on SQLite (entry bodies stay in the database: the engine sequences
// leaf hashes, the store copies the bodies from the pending rows). Losing the lease (a renewal finds another epoch, or a
// write is fenced) drops the engine at once; the next holder reopens it from the database.

import type { CanonicalEntry, IndexKey } from '../types/types.js';
import { TransparencyLog } from '../engine/log.js';
import type { LogSigner } from '../engine/log-signer.js';
import type { PostgresLogStorage } from '../../storage/postgres/postgres.js';
import { FencedStorage } from './fenced-storage.js';
import { SequencerLease } from './lease.js';

export interface SequencerOptions {
  holder: string;
  /** Lease length by the database clock (default 2000 ms); takeover happens within about this after a crash. */
  leaseMs?: number;
  maxBatchSize?: number;
  /** How often an idle sequencer looks for pending entries, and a follower for an expired lease (default 10 / leaseMs/8). */
  pollMs?: number;
  /** Sequenced rows kept as claims this long (default 10 min); the entries table answers for them after. */
  claimRetentionMs?: number;
}

export interface SequencerEvents {
  onLeaseChange?: (event: 'acquired' | 'lost' | 'released', epoch: number) => void;
  onCommit?: (ms: number, entries: number) => void;
}

const NO_BODY = Buffer.alloc(0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function indexKeysOf(stored: string[] | null): IndexKey[] {
  return (stored ?? []).map((k) => {
    const colon = k.indexOf(':');
    return { type: k.slice(0, colon), value: k.slice(colon + 1) } as IndexKey;
  });
}

export class Sequencer {
  private readonly lease: SequencerLease;
  private readonly leaseMs: number;
  private readonly maxBatchSize: number;
  private readonly pollMs: number;
  private epochHeld: number | undefined;
  private log: TransparencyLog | undefined;
  private fenced: FencedStorage | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<string>();
  /**
   * Entries sequenced lately (two generations, turned over every second): a pending read that
   * ran while their batch committed still shows them unsequenced, and they are not fed again.
   */
  private sequenced = new Set<string>();
  private sequencedBefore = new Set<string>();
  private lastTurnover = 0;
  private lastCleanup = 0;
  private lastSweep = 0;
  private lastSeq = 0;

  constructor(
    private readonly store: PostgresLogStorage,
    private readonly signer: LogSigner,
    private readonly options: SequencerOptions,
    private readonly events: SequencerEvents = {},
  ) {
    this.leaseMs = options.leaseMs ?? 2000;
    this.lease = new SequencerLease(store.pool, options.holder, this.leaseMs);
    this.maxBatchSize = options.maxBatchSize ?? 1024;
    this.pollMs = options.pollMs ?? 10;
  }

  /** The epoch this process sequences under, or undefined when it follows. */
  get epoch(): number | undefined {
    return this.epochHeld;
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.epochHeld === undefined) {
          if (!(await this.takeOver())) await sleep(Math.min(250, Math.max(50, this.leaseMs / 8)));
          continue;
        }
        if (this.fenced?.fenced) {
          this.stepDown('lost');
          continue;
        }
        if (!(await this.feed())) await sleep(this.pollMs);
      } catch {
        // The database is unreachable or restarting: keep trying (writes resume by themselves).
        await sleep(100);
      }
    }
  }

  private async takeOver(): Promise<boolean> {
    const epoch = await this.lease.tryAcquire();
    if (epoch === undefined) return false;
    const fenced = new FencedStorage(this.store, this.options.holder, epoch, { bodiesInPending: true });
    if (this.events.onCommit) fenced.onCommit = this.events.onCommit;
    try {
      this.log = await TransparencyLog.open(fenced, this.signer, { maxBatchSize: this.maxBatchSize });
    } catch (err) {
      await this.lease.release(epoch).catch(() => {});
      throw err;
    }
    this.fenced = fenced;
    this.epochHeld = epoch;
    this.inFlight.clear();
    this.sequenced.clear();
    this.sequencedBefore.clear();
    this.lastSeq = 0;
    this.renewTimer = setInterval(() => void this.renew(epoch), Math.max(50, this.leaseMs / 4));
    this.events.onLeaseChange?.('acquired', epoch);
    return true;
  }

  private async renew(epoch: number): Promise<void> {
    if (this.epochHeld !== epoch) return;
    let held: boolean;
    try {
      held = await this.lease.renew(epoch);
    } catch {
      return; // Unreachable: the fence decides; a later renewal may still succeed in time.
    }
    if (!held && this.epochHeld === epoch) this.stepDown('lost');
  }

  private stepDown(event: 'lost' | 'released'): void {
    const epoch = this.epochHeld;
    clearInterval(this.renewTimer);
    this.epochHeld = undefined;
    this.log = undefined;
    this.fenced = undefined;
    this.inFlight.clear();
    if (epoch !== undefined) this.events.onLeaseChange?.(event, epoch);
  }

  /** Hands the oldest pending entries to the engine; false when there were none. */
  private async feed(): Promise<boolean> {
    const log = this.log;
    if (!log) return false;
    if (this.inFlight.size >= this.maxBatchSize * 2) {
      await sleep(1);
      return true;
    }
    // Rows after the newest one fed, mostly; a row whose transaction committed late (a lower
    // seq than one already fed) is found by a sweep from the oldest, every 200 ms.
    if (Date.now() - this.lastTurnover > 1000) {
      this.lastTurnover = Date.now();
      this.sequencedBefore = this.sequenced;
      this.sequenced = new Set();
    }
    const sweep = Date.now() - this.lastSweep > 200;
    if (sweep) this.lastSweep = Date.now();
    const rows = (
      await this.store.pool.query({
        name: 'pending-next',
        text: 'SELECT seq, leaf_hash, kind, api_version, index_keys FROM pending WHERE idx IS NULL AND seq > $2 ORDER BY seq LIMIT $1',
        values: [sweep ? this.inFlight.size + this.maxBatchSize : this.maxBatchSize, sweep ? 0 : this.lastSeq],
      })
    ).rows as { seq: number; leaf_hash: Buffer; kind: string; api_version: string; index_keys: string[] | null }[];
    let fed = 0;
    for (const row of rows) {
      this.lastSeq = Math.max(this.lastSeq, row.seq);
      const key = row.leaf_hash.toString('hex');
      if (this.inFlight.has(key) || this.sequenced.has(key) || this.sequencedBefore.has(key)) continue;
      this.inFlight.add(key);
      fed++;
      // The body stays in the database (the fenced store copies it from the pending row): the
      // engine needs only the leaf hash and the index keys to sequence.
      const entry: CanonicalEntry = { kind: row.kind, apiVersion: row.api_version, body: NO_BODY, indexKeys: indexKeysOf(row.index_keys), leafHash: row.leaf_hash };
      log.append(entry).then(
        async (result) => {
          // Already in the log (its claim had expired): mark the row so front ends stop waiting.
          if (result.duplicate) await this.markDuplicate(row.leaf_hash, result.index).catch(() => {});
          this.inFlight.delete(key);
          this.sequenced.add(key);
        },
        () => this.inFlight.delete(key),
      );
    }
    if (Date.now() - this.lastCleanup > 10_000) await this.cleanup();
    return fed > 0;
  }

  private async markDuplicate(leafHash: Buffer, index: number): Promise<void> {
    await this.store.pool.query({ name: 'pending-duplicate', text: 'UPDATE pending SET idx = $2, sequenced_at = clock_timestamp(), body = NULL WHERE leaf_hash = $1 AND idx IS NULL', values: [leafHash, index] });
  }

  private async cleanup(): Promise<void> {
    this.lastCleanup = Date.now();
    const retention = this.options.claimRetentionMs ?? 600_000;
    await this.store.pool.query({
      name: 'pending-cleanup',
      text: "DELETE FROM pending WHERE idx IS NOT NULL AND sequenced_at < clock_timestamp() - $1 * interval '1 millisecond'",
      values: [retention],
    });
  }

  /** Stops sequencing and releases the lease so another process takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    const epoch = this.epochHeld;
    // Let entries already handed to the engine land before letting go.
    const deadline = Date.now() + 2000;
    while (this.inFlight.size > 0 && Date.now() < deadline) await sleep(5);
    this.stepDown('released');
    if (epoch !== undefined) await this.lease.release(epoch).catch(() => {});
  }
}

