// One log of a PostgreSQL database as this process takes part in it, whatever personality is
// served over it (Rekor v1/v2 in service.ts, RFC 6962 in ctlog/cluster-service.ts, the stack's
// logs): the log's identity claimed (a database whose log has another key or origin is refused),
// the engine opened as a front end following the sequencer's checkpoints, and a sequencer
// candidate that sequences while it holds the lease; with the metrics of both.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, Gauge, Histogram, type Metric } from 'prom-client';
import { formatCheckpoint } from '@sigstack/core';
import { ServiceError } from '../../errors.js';
import type { PostgresLogStorage } from '../../storage/postgres/postgres.js';
import { TransparencyLog, type LogOptions } from '../engine/log.js';
import type { LogSigner } from '../engine/log-signer.js';
import { MerkleTree } from '../engine/tree.js';
import { attachClusterWitnessing, type ClusterWitnessing, type ClusterWitnessingOptions } from '../witnessing/cluster.js';
import { ClusterFrontEnd } from './front-end.js';
import { Sequencer } from './sequencer.js';

export interface ClusterEngineOptions extends LogOptions {
  /** Lease length (default 2000 ms): a crashed sequencer is replaced within about this. */
  leaseMs?: number;
  /** Take part in sequencing (default true); false: a front end only. */
  sequence?: boolean;
  /** Witnesses asked to cosign the log's checkpoints (log/witnessing/cluster.ts). */
  witnessing?: ClusterWitnessingOptions;
}

export interface ClusterEngine {
  store: PostgresLogStorage;
  log: TransparencyLog;
  treeId: string;
  frontEnd: ClusterFrontEnd;
  sequencer: Sequencer;
  /** Present when the log is witnessed: what front ends serve, and the sequencer's rounds. */
  witnessing?: ClusterWitnessing;
  /** Lease changes, epoch, batch commit time, served size, pending depth (register them where served). */
  metrics: Metric[];
  /** Stops sequencing (handing the lease over), following, and closes the store. */
  close(): Promise<void>;
}

/** Records the log's origin and key in the database on first start; refuses others after. */
export async function claimIdentity(store: PostgresLogStorage, name: string, signer: LogSigner): Promise<void> {
  const logId = signer.logId.toString('hex');
  const storedName = await store.claimMeta('name', name);
  const storedKey = await store.claimMeta('logId', logId);
  const where = store.schema ? `schema ${store.schema} of this database` : 'this database';
  if (storedName !== name) {
    throw new ServiceError(500, 'LOG_ORIGIN_MISMATCH', `${where} holds the log "${storedName}", not "${name}": give --name ${storedName}, or another database (or schema) for a new log`);
  }
  if (storedKey !== logId) {
    throw new ServiceError(500, 'LOG_KEY_MISMATCH', `${where}'s log is signed by the key with log ID ${storedKey}, not ${logId}: give every process the same key file`);
  }
}

/** The signed empty checkpoint, published once by whichever process starts first. */
async function publishEmptyCheckpoint(store: PostgresLogStorage, signer: LogSigner): Promise<void> {
  if (await store.latestCheckpoint()) return;
  const rootHash = await new MerkleTree(store).root(0);
  const note = await signer.signCheckpointAsync(formatCheckpoint({ origin: signer.name, size: 0, rootHash }));
  await store.pool.query('INSERT INTO checkpoints (size, note) SELECT 0, $1 WHERE NOT EXISTS (SELECT 1 FROM checkpoints) ON CONFLICT (size) DO NOTHING', [note]);
}

/** Takes part in the log held by `store` (which it then owns: closed by close(), or on failure). */
export async function openClusterEngine(store: PostgresLogStorage, signer: LogSigner, options: ClusterEngineOptions = {}): Promise<ClusterEngine> {
  let frontEnd: ClusterFrontEnd | undefined;
  try {
    await claimIdentity(store, signer.name, signer);
    const treeId = await store.claimMeta('treeId', randomBytes(8).toString('hex'));
    await publishEmptyCheckpoint(store, signer);
    // Opened at one checkpoint: the sequencer may publish between two reads of the database.
    const pinned = (await store.latestCheckpoint())!;
    const view: PostgresLogStorage = Object.create(store, { entryCount: { value: async () => pinned.size }, latestCheckpoint: { value: async () => pinned } });
    const log = await TransparencyLog.open(view, signer, options);
    frontEnd = new ClusterFrontEnd(store, log);
    log.sequenceRemotely(frontEnd);
    const witnessing = options.witnessing ? await attachClusterWitnessing(store, log, frontEnd, options.witnessing) : undefined;
    const rounds = witnessing?.rounds;
    await frontEnd.start();
    const following = frontEnd;

    const leaseChanges = new Counter({ name: 'sigstack_log_lease_changes_total', help: 'Sequencer lease changes of this process, by event (acquired, lost, released)', labelNames: ['event'], registers: [] });
    const epochGauge = new Gauge({ name: 'sigstack_log_sequencer_epoch', help: 'The lease epoch this process sequences under (0: it follows)', registers: [] });
    const commitSeconds = new Histogram({ name: 'sigstack_log_batch_commit_seconds', help: 'Time of one fenced sequencing transaction', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [] });
    const servedSize = new Gauge({ name: 'sigstack_log_served_tree_size', help: 'Size of the checkpoint this front end serves', registers: [] });
    const pendingDepth = new Gauge({
      name: 'sigstack_log_pending_entries',
      help: 'Entries admitted by any front end and not yet sequenced',
      registers: [],
      async collect() {
        const row = (await store.pool.query('SELECT count(*)::int AS n FROM pending WHERE idx IS NULL').catch(() => ({ rows: [{ n: Number.NaN }] }))).rows[0];
        this.set(row.n);
      },
    });
    following.onRefresh = (size) => servedSize.set(size);
    const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    const sequencer = new Sequencer(
      store,
      signer,
      { holder, ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}), ...(options.maxBatchSize ? { maxBatchSize: options.maxBatchSize } : {}) },
      {
        onLeaseChange: (event, epoch) => {
          leaseChanges.inc({ event });
          epochGauge.set(event === 'acquired' ? epoch : 0);
          if (event === 'acquired') void rounds?.start(epoch);
          else rounds?.stop();
        },
        onCommit: (ms) => {
          commitSeconds.observe(ms / 1000);
          void following.refresh();
          rounds?.kick();
        },
      },
    );
    if (options.sequence !== false) sequencer.start();
    return {
      store,
      log,
      treeId,
      frontEnd: following,
      sequencer,
      ...(witnessing ? { witnessing } : {}),
      metrics: [leaseChanges, epochGauge, commitSeconds, servedSize, pendingDepth],
      async close() {
        await sequencer.stop();
        rounds?.stop();
        await following.close();
        await store.close();
      },
    };
  } catch (err) {
    await frontEnd?.close().catch(() => {});
    await store.close().catch(() => {});
    throw err;
  }
}
