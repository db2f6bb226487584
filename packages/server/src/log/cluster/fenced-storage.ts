// The sequencer's view of the PostgreSQL store: reads as usual, but every write is one
// transaction that first locks the lease row and checks it is still this sequencer's epoch and
// unexpired (a paused or partitioned old leader finds another epoch and writes nothing), then
// compare-and-swaps the tree size, stores the batch, marks its pending rows sequenced and
// notifies the front ends. With `bodiesInPending` (the sequencer's way) the entries' bodies are
// not sent back: they are copied from their pending rows inside the transaction (the sequencer
// never reads them out). Closing it leaves the shared pool open.

import type { LogStorage, PublishedCheckpoint } from '../engine/storage.js';
import type { AppendBatch } from '../../storage/packed-batch.js';
import { PostgresLogStorage } from '../../storage/postgres/postgres.js';
import type pg from 'pg';

/** The channel front ends listen on: a new checkpoint (payload: its size); scoped per schema (PostgresLogStorage.channel). */
export const CHECKPOINT_CHANNEL = 'sigstack_checkpoint';

export class FencedStorage implements LogStorage {
  /** Set once a write found the lease gone: the sequencer steps down. */
  fenced = false;
  /** Called with each committed batch's commit time (metrics). */
  onCommit: (ms: number, entries: number) => void = () => {};

  constructor(
    private readonly store: PostgresLogStorage,
    readonly holder: string,
    readonly epoch: number,
    private readonly options: { bodiesInPending?: boolean } = {},
  ) {}

  /** The batch's entries from their pending rows (body and extra as the front end stored them); false when one is missing. */
  private async copyFromPending(client: pg.ClientBase, batch: AppendBatch): Promise<boolean> {
    const e = batch.entries;
    if (e.length === 0) return true;
    const copied = await client.query({
      name: 'entries-from-pending',
      text: `INSERT INTO entries (idx, leaf_hash, body, integrated_time, kind, api_version, extra)
             SELECT u.idx, p.leaf_hash, p.body, u.integrated_time, p.kind, p.api_version, p.extra
             FROM unnest($1::bigint[], $2::bytea[], $3::bigint[]) AS u(idx, leaf_hash, integrated_time)
             JOIN pending p ON p.leaf_hash = u.leaf_hash AND p.idx IS NULL AND p.body IS NOT NULL`,
      values: [e.map((x) => x.index), e.map((x) => x.leafHash), e.map((x) => x.integratedTime)],
    });
    return copied.rowCount === e.length;
  }

  private async fence(client: pg.ClientBase): Promise<boolean> {
    const held = await client.query({
      name: 'lease-fence',
      text: 'SELECT 1 FROM sequencer_lease WHERE id = 1 AND holder = $1 AND epoch = $2 AND expires_at > clock_timestamp() FOR SHARE',
      values: [this.holder, this.epoch],
    });
    if (held.rowCount !== 1) this.fenced = true;
    return !this.fenced;
  }

  async appendBatch(batch: AppendBatch): Promise<boolean> {
    const started = performance.now();
    // (Search runs are merged in the background after it: storage/postgres/search-runs.ts.)
    const ok = await this.store.appendTransaction(batch.checkpoint.size, async (client) => {
      if (!(await this.fence(client))) return false;
      if (!(await PostgresLogStorage.swapHead(client, batch.previousSize, batch.checkpoint))) return false;
      if (this.options.bodiesInPending) {
        if (!(await this.copyFromPending(client, batch))) return false;
        await PostgresLogStorage.writeBatch(client, { entries: [], tiles: batch.tiles, index: batch.index }, this.store.runPolicy);
      } else {
        await PostgresLogStorage.writeBatch(client, batch, this.store.runPolicy);
      }
      await client.query({
        name: 'pending-sequenced',
        text: `UPDATE pending p SET idx = u.idx, sequenced_at = clock_timestamp(), body = NULL, extra = NULL, index_keys = NULL
               FROM unnest($1::bytea[], $2::bigint[]) AS u(leaf_hash, idx) WHERE p.leaf_hash = u.leaf_hash`,
        values: [batch.entries.map((e) => e.leafHash), batch.entries.map((e) => e.index)],
      });
      await client.query({ name: 'notify-checkpoint', text: 'SELECT pg_notify($1, $2)', values: [this.store.channel(CHECKPOINT_CHANNEL), String(batch.checkpoint.size)] });
      return true;
    });
    if (ok) this.onCommit(performance.now() - started, batch.entries.length);
    return ok;
  }

  async publishCheckpoint(previousSize: number, next: PublishedCheckpoint): Promise<boolean> {
    return this.store.transaction(async (client) => (await this.fence(client)) && PostgresLogStorage.swapHead(client, previousSize, next));
  }

  entryCount() {
    return this.store.entryCount();
  }
  readTile(level: number, index: number) {
    return this.store.readTile(level, index);
  }
  readEntries(start: number, count: number) {
    return this.store.readEntries(start, count);
  }
  findLeafHashes(hashes: Buffer[]) {
    return this.store.findLeafHashes(hashes);
  }
  search(key: string) {
    return this.store.search(key);
  }
  searchEntries(query: Parameters<LogStorage['searchEntries']>[0]) {
    return this.store.searchEntries(query);
  }
  latestCheckpoint() {
    return this.store.latestCheckpoint();
  }
  getMeta(key: string) {
    return this.store.getMeta(key);
  }
  setMeta(key: string, value: string) {
    return this.store.setMeta(key, value);
  }
  async close(): Promise<void> {}
}
