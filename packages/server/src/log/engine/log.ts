// The transparency log engine behind every log API (Rekor v1, Rekor v2, tiles; later CT): a
// sequencer that batches appends, signs the checkpoint over each batch, commits both durably
// in one transaction (the checkpoint is published as the batch lands), and only then answers;
// plus reads of entries, tiles, proofs and the index.

import { MAX_BUNDLED_ENTRY_SIZE, formatCheckpoint, leafHash, verifyTrustedCheckpoint } from '@sigstack/core';
import { ServiceError } from '../../errors.js';
import type { CanonicalEntry } from '../types/types.js';
import type { LogSigner } from './log-signer.js';
import type { LogStorage, PublishedCheckpoint, StoredEntry } from './storage.js';
import { MerkleTree } from './tree.js';

export interface AppendResult {
  index: number;
  integratedTime: number;
  leafHash: Buffer;
  /** True when the same canonical entry was already in the log (index is the existing one). */
  duplicate: boolean;
}

export interface LogOptions {
  /** Most entries in one batch (default 1024). */
  maxBatchSize?: number;
  /** How long the first entry of an idle log waits for others to join its batch (default 0 ms, at most 250). */
  batchDelayMs?: number;
}

export interface CurrentCheckpoint extends PublishedCheckpoint {
  rootHash: Buffer;
}

/** Adds witness cosignatures to the checkpoints the log serves (log/witnessing). */
export interface CheckpointWitnessing {
  /** What to serve given the newest durable checkpoint and the one the log started with. */
  view(current: CurrentCheckpoint, startup: CurrentCheckpoint): CurrentCheckpoint;
  /** Resolves when answers over `checkpoint` may go out. */
  submit(checkpoint: CurrentCheckpoint): Promise<void>;
}

/** Sequencing done elsewhere (log/cluster): appends go there; the log follows published checkpoints. */
export interface RemoteSequencing {
  /** Makes the entry durable for the sequencer; resolves once a checkpoint this log serves covers it. */
  append(entry: CanonicalEntry, leafHash: Buffer): Promise<AppendResult>;
}

export interface BatchStats {
  size: number;
  durationMs: number;
  treeSize: number;
}

interface Pending {
  entry: CanonicalEntry;
  leafHash: Buffer;
  resolve: (result: AppendResult) => void;
  reject: (err: Error) => void;
}

/**
 * The next batch, taken from the queue while the batch before it commits, with the lookup of its
 * already stored entries under way meanwhile (the lookup and the durable write overlap). That
 * lookup cannot see the batch being committed; `before` holds that batch's leaf hashes once it
 * has landed. `existing` is dropped when that commit fails (the batch is looked up again).
 */
interface LookAhead {
  batch: Pending[];
  existing: Promise<Map<string, number>> | undefined;
  before: Map<string, number> | undefined;
}

interface Sequenced {
  fresh: Pending[];
  duplicates: { pending: Pending; index: number }[];
  startIndex: number;
  integratedTime: number;
}

function conflict(): ServiceError {
  return new ServiceError(500, 'CHECKPOINT_CONFLICT', 'another writer published a checkpoint for this log; only one sequencer may run per log');
}

export class TransparencyLog {
  private readonly queue: Pending[] = [];
  private running = false;
  private closed = false;
  private current!: CurrentCheckpoint;
  private readonly maxBatchSize: number;
  private readonly batchDelayMs: number;
  /** Called after every committed batch (metrics). */
  onBatch: (stats: BatchStats) => void = () => {};
  private witnessing: CheckpointWitnessing | undefined;
  private startup!: CurrentCheckpoint;
  private remote: RemoteSequencing | undefined;
  private advancing: Promise<boolean> = Promise.resolve(false);
  private ahead: LookAhead | undefined;

  private constructor(
    readonly storage: LogStorage,
    readonly signer: LogSigner,
    private readonly tree: MerkleTree,
    options: LogOptions,
  ) {
    this.maxBatchSize = options.maxBatchSize ?? 1024;
    this.batchDelayMs = Math.min(options.batchDelayMs ?? 0, 250);
  }

  /** Opens the log on `storage`; a stored tree newer than its checkpoint gets a checkpoint first. */
  static async open(storage: LogStorage, signer: LogSigner, options: LogOptions = {}): Promise<TransparencyLog> {
    const tree = new MerkleTree(storage);
    const size = await storage.entryCount();
    await tree.load(size);
    const log = new TransparencyLog(storage, signer, tree, options);
    const published = await storage.latestCheckpoint();
    if (published && published.size > size) {
      throw new ServiceError(500, 'LOG_STORAGE_INCONSISTENT', `the published checkpoint has size ${published.size} but only ${size} entries are stored`);
    }
    const rootHash = await tree.root(size);
    if (published && published.size === size && published.note.includes(`\n${rootHash.toString('base64')}\n`)) {
      log.current = { ...published, rootHash };
    } else {
      log.current = await log.publish(published?.size ?? 0, size, rootHash);
    }
    log.startup = log.current;
    return log;
  }

  /** The checkpoint served (with the witnesses' cosignatures when witnessing is on). */
  get checkpoint(): CurrentCheckpoint {
    return this.witnessing ? this.witnessing.view(this.current, this.startup) : this.current;
  }

  /** The newest durable checkpoint, without witnesses' cosignatures (what witnessing is asked about). */
  get published(): CurrentCheckpoint {
    return this.current;
  }

  /** Turns on witnessing: the current checkpoint is sent at once, then every new one. */
  witnessWith(witnessing: CheckpointWitnessing): void {
    this.witnessing = witnessing;
    void witnessing.submit(this.current);
  }

  get logId(): Buffer {
    return this.signer.logId;
  }

  /** Hands appends to a sequencer elsewhere; this log then only follows checkpoints (advance). */
  sequenceRemotely(remote: RemoteSequencing): void {
    this.remote = remote;
  }

  /**
   * Serves a newer checkpoint published by another process, once it is shown to be this log's:
   * the note parses, carries a verifying signature by the log's key, names this log's origin and
   * `next.size`, and its root is the root of the tree grown to that size. The tree grows by
   * `addedLeafHashes` (the leaf hashes of entries [published.size, next.size), when the caller has
   * them) or else is loaded from the stored tiles. Never goes back to a smaller tree; false, with
   * the old tree still served (and `onAdvanceRefused` told why), when `next` is not newer or
   * does not verify.
   */
  advance(next: PublishedCheckpoint, addedLeafHashes?: Buffer[]): Promise<boolean> {
    this.advancing = this.advancing.then(async () => {
      if (next.size <= this.current.size) return false;
      let claimed: { origin: string; size: number; rootHash: Buffer };
      try {
        claimed = verifyTrustedCheckpoint(next.note, this.signer.publicKey);
      } catch (err) {
        return this.refuse(next, `its note does not verify with the log's key: ${(err as Error).message}`);
      }
      if (claimed.origin !== this.signer.name) return this.refuse(next, `it names the origin ${JSON.stringify(claimed.origin)}, not ${JSON.stringify(this.signer.name)}`);
      if (claimed.size !== next.size) return this.refuse(next, `its note is for size ${claimed.size}`);
      const grown = addedLeafHashes?.length === next.size - this.current.size && this.tree.size === this.current.size;
      const plan = grown ? this.tree.planAppend(addedLeafHashes) : undefined;
      let rootHash: Buffer;
      if (plan) {
        rootHash = this.tree.rootOfPlan(plan);
      } else {
        await this.tree.load(next.size);
        rootHash = await this.tree.root(next.size);
      }
      if (!rootHash.equals(claimed.rootHash)) {
        // Back to the served tree, so the next advance starts from it.
        if (!plan) await this.tree.load(this.current.size).catch(() => {});
        return this.refuse(next, `its root ${claimed.rootHash.toString('base64')} is not the stored tree's root ${rootHash.toString('base64')} at that size`);
      }
      if (plan) this.tree.apply(plan);
      this.current = { ...next, rootHash };
      return true;
    }).catch(() => false);
    return this.advancing;
  }

  /** Called when a published checkpoint is refused (once per refused note); logs to stderr unless replaced. */
  onAdvanceRefused: (size: number, reason: string) => void = (size, reason) => {
    process.stderr.write(`sigstack log: refusing the published checkpoint at size ${size}, ${reason}; still serving size ${this.current.size}\n`);
  };
  private refusedNote: string | undefined;

  private refuse(next: PublishedCheckpoint, reason: string): false {
    if (next.note !== this.refusedNote) {
      this.refusedNote = next.note;
      try {
        this.onAdvanceRefused(next.size, reason);
      } catch {
        // A failing log line never changes what is served.
      }
    }
    return false;
  }

  /** Queues an entry; resolves once it is durable and in a published checkpoint. */
  append(entry: CanonicalEntry): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new ServiceError(503, 'LOG_CLOSED', 'the log is shutting down; retry against a running server'));
    // Every entry must fit the tile API's entry bundles (a 16-bit length before each body).
    if (entry.body.length > MAX_BUNDLED_ENTRY_SIZE) {
      return Promise.reject(
        new ServiceError(413, 'ENTRY_TOO_LARGE', `the entry's canonical body is ${entry.body.length} bytes; a tile log stores entries of at most ${MAX_BUNDLED_ENTRY_SIZE} bytes: log a digest-only entry (hashedrekord, or dsse with the envelope's hash) instead`),
      );
    }
    const hash = entry.leafHash ?? leafHash(entry.body);
    if (this.remote) return this.remote.append(entry, hash);
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, leafHash: hash, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const run = () => void this.runBatch();
    if (this.batchDelayMs > 0 && this.queue.length < this.maxBatchSize) setTimeout(run, this.batchDelayMs);
    else setImmediate(run);
  }

  /**
   * Ends the running batch's hold on the sequencer. Entries that queued while it committed start
   * the next batch at once: its durable write then overlaps the work of answering this one.
   */
  private batchDone(): void {
    this.running = false;
    if (this.queue.length === 0 && !this.ahead) return;
    this.running = true;
    void this.runBatch();
  }

  private async runBatch(): Promise<void> {
    const started = performance.now();
    const ahead = this.ahead;
    this.ahead = undefined;
    // A batch taken ahead is topped up with what queued since, so batches stay as large as before.
    const batch = ahead ? ahead.batch.concat(this.queue.splice(0, this.maxBatchSize - ahead.batch.length)) : this.queue.splice(0, this.maxBatchSize);
    let sequenced: Sequenced;
    try {
      sequenced = await this.commitBatch(batch, ahead);
    } catch (err) {
      // (Taken ahead while this batch committed: its lookup may not see what the failed write did.)
      const next = this.ahead as LookAhead | undefined;
      if (next) next.existing = undefined;
      const failure = err instanceof ServiceError ? err : new ServiceError(503, 'LOG_WRITE_FAILED', `the log could not store this batch; nothing was added, retry: ${(err as Error).message}`);
      for (const pending of batch) pending.reject(failure);
      // The in-memory tree must match storage again before the next batch.
      // (Unreadable now: the next batch's compare-and-swap fails and reloads again.)
      await this.storage.entryCount().then((size) => this.tree.load(size)).catch(() => {});
      this.batchDone();
      return;
    }
    const committed = this.current;
    this.batchDone();
    const { fresh, duplicates, startIndex, integratedTime } = sequenced;
    // Answers wait for the witnesses' round over their checkpoint (sequencing does not).
    if (this.witnessing && fresh.length > 0) await this.witnessing.submit(committed);
    fresh.forEach((p, i) => p.resolve({ index: startIndex + i, integratedTime, leafHash: p.leafHash, duplicate: false }));
    for (const { pending, index } of duplicates) {
      this.storage.readEntries(index, 1).then(
        ([stored]) => pending.resolve({ index, integratedTime: stored?.integratedTime ?? integratedTime, leafHash: pending.leafHash, duplicate: true }),
        (err: Error) => pending.reject(new ServiceError(503, 'LOG_READ_FAILED', `the entry is already logged at index ${index} but could not be read: ${err.message}`)),
      );
    }
    try {
      this.onBatch({ size: fresh.length, durationMs: performance.now() - started, treeSize: this.current.size });
    } catch {
      // Metrics never fail a batch that has landed (nor, thrown here, the process).
    }
  }

  /** Sequences a batch: sorts out duplicates, then stores the fresh entries with their checkpoint. */
  private async commitBatch(batch: Pending[], ahead: LookAhead | undefined): Promise<Sequenced> {
    const existing = await this.storedDuplicates(batch, ahead);
    const fresh: Pending[] = [];
    const duplicates: { pending: Pending; index: number }[] = [];
    const inBatch = new Map<string, number>();
    const startIndex = this.tree.size;
    const integratedTime = Math.floor(Date.now() / 1000);
    for (const pending of batch) {
      const key = pending.leafHash.toString('hex');
      const known = existing.get(key) ?? inBatch.get(key);
      if (known !== undefined) {
        duplicates.push({ pending, index: known });
      } else {
        inBatch.set(key, startIndex + fresh.length);
        fresh.push(pending);
      }
    }
    if (fresh.length > 0) {
      const entries: StoredEntry[] = fresh.map((p, i) => ({
        index: startIndex + i,
        leafHash: p.leafHash,
        body: p.entry.body,
        integratedTime,
        kind: p.entry.kind,
        apiVersion: p.entry.apiVersion,
        ...(p.entry.extra ? { extra: p.entry.extra } : {}),
      }));
      const indexWrites = fresh.flatMap((p, i) => p.entry.indexKeys.map((k) => ({ key: `${k.type}:${k.value}`, index: startIndex + i })));
      const plan = this.tree.planAppend(fresh.map((p) => p.leafHash));
      const rootHash = this.tree.rootOfPlan(plan);
      const checkpoint = { size: plan.size, note: await this.signCheckpoint(plan.size, rootHash) };
      // Entries, tiles and the checkpoint over them become durable together, or not at all.
      const committing = this.storage.appendBatch({ entries, tiles: plan.tiles, index: indexWrites, previousSize: this.current.size, checkpoint });
      const next = this.lookAhead();
      if (!(await committing)) throw conflict();
      if (next) next.before = inBatch;
      this.tree.apply(plan);
      this.current = { ...checkpoint, rootHash };
    }
    return { fresh, duplicates, startIndex, integratedTime };
  }

  /** Takes the next batch from the queue and starts looking up its stored entries. */
  private lookAhead(): LookAhead | undefined {
    if (this.queue.length === 0 || this.ahead) return undefined;
    const batch = this.queue.splice(0, this.maxBatchSize);
    const existing = this.storage.findLeafHashes(batch.map((p) => p.leafHash));
    existing.catch(() => {}); // (awaited when the batch is sequenced)
    this.ahead = { batch, existing, before: undefined };
    return this.ahead;
  }

  /** Leaf hash (hex) → index of the batch's entries already in the log. */
  private async storedDuplicates(batch: Pending[], ahead: LookAhead | undefined): Promise<Map<string, number>> {
    if (!ahead?.existing) return this.storage.findLeafHashes(batch.map((p) => p.leafHash));
    const found = new Map(ahead.before);
    for (const [hash, index] of await ahead.existing) found.set(hash, index);
    const toppedUp = batch.slice(ahead.batch.length);
    if (toppedUp.length > 0) for (const [hash, index] of await this.storage.findLeafHashes(toppedUp.map((p) => p.leafHash))) found.set(hash, index);
    return found;
  }

  private signCheckpoint(size: number, rootHash: Buffer): Promise<string> {
    return this.signer.signCheckpointAsync(formatCheckpoint({ origin: this.signer.name, size, rootHash }));
  }

  private async publish(previousSize: number, size: number, rootHash: Buffer): Promise<CurrentCheckpoint> {
    const note = await this.signCheckpoint(size, rootHash);
    if (!(await this.storage.publishCheckpoint(previousSize, { size, note }))) throw conflict();
    return { size, note, rootHash };
  }

  async inclusionProof(index: number, size = this.current.size): Promise<Buffer[]> {
    return this.tree.inclusionProof(index, size);
  }

  async consistencyProof(size1: number, size2 = this.current.size): Promise<Buffer[]> {
    return this.tree.consistencyProof(size1, size2);
  }

  async rootAt(size: number): Promise<Buffer> {
    return this.tree.root(size);
  }

  /** Entries within the served tree only (fail-closed witnessing: the quorum's, not a newer one). */
  async entries(start: number, count: number): Promise<StoredEntry[]> {
    const end = Math.min(start + count, this.checkpoint.size);
    return end > start ? this.storage.readEntries(start, end - start) : [];
  }

  async entryByLeafHash(hash: Buffer): Promise<StoredEntry | undefined> {
    const index = (await this.storage.findLeafHashes([hash])).get(hash.toString('hex'));
    if (index === undefined || index >= this.checkpoint.size) return undefined;
    return (await this.storage.readEntries(index, 1))[0];
  }

  async search(key: string): Promise<number[]> {
    const size = this.checkpoint.size;
    return (await this.storage.search(key)).filter((i) => i < size);
  }

  /** Stops taking appends, lets queued ones finish, and closes storage. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running || this.ahead || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.storage.close();
  }
}
