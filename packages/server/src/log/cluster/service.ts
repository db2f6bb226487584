// Starts one process of a PostgreSQL log: a full front end (Rekor v1 and v2 APIs, tiles,
// search, explorer) over the shared database, and a sequencer candidate that sequences while
// it holds the lease. Any number of processes given the same key file and origin may serve
// one database; a process refuses a database whose log has another key or origin.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { availableParallelism } from 'node:os';
import { Counter, Gauge, Histogram } from 'prom-client';
import { formatCheckpoint } from '@sigstack/core';
import { ServiceError } from '../../errors.js';
import { loadPrivateKeyPem } from '../../keys.js';
import { PostgresLogStorage } from '../../storage/postgres/postgres.js';
import { TransparencyLog, type LogOptions } from '../engine/log.js';
import { LogSigner } from '../engine/log-signer.js';
import { MerkleTree } from '../engine/tree.js';
import { AdmissionPool } from '../admission/pool.js';
import { buildLogApp } from '../http/app.js';
import type { LogService } from '../service.js';
import { ClusterFrontEnd } from './front-end.js';
import { readWitnessPolicy, checkPolicyNamesLog } from '../witnessing/load.js';
import { ClusterWitnessRounds } from '../witnessing/cluster-rounds.js';
import { ClusterWitnessView } from '../witnessing/cluster-view.js';
import { Sequencer } from './sequencer.js';
import type { FastifyServerOptions } from 'fastify';

export interface ClusterLogOptions extends LogOptions {
  /** postgres://user:password@host:port/database */
  postgres: string;
  /** The log's private key (PEM), the same file for every process of the log. */
  keyPath: string;
  /** The checkpoint origin, the same for every process of the log. */
  name: string;
  port?: number;
  host?: string;
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  admissionWorkers?: number;
  /** Lease length (default 2000 ms): a crashed sequencer is replaced within about this. */
  leaseMs?: number;
  /** Take part in sequencing (default true); false: a front end only. */
  sequence?: boolean;
  /** Connections per process (default 8). */
  maxConnections?: number;
  /**
   * A C2SP tlog-policy file (the same for every process): the sequencing process asks its
   * witnesses to cosign each checkpoint, the cosignatures are kept in the database, and every
   * front end serves them (log/witnessing/cluster-*.ts).
   */
  witnessPolicy?: string;
  /** Answer appends only once the covering checkpoint has the quorum's cosignatures (default: fail-open). */
  witnessFailClosed?: boolean;
  /** Time each witness gets per checkpoint (default 1000 ms). */
  witnessTimeoutMs?: number;
}

export interface ClusterLogService extends LogService {
  sequencer: Sequencer;
  frontEnd: ClusterFrontEnd;
  storage: PostgresLogStorage;
}

/** Records the log's origin and key in the database on first start; refuses others after. */
async function claimIdentity(store: PostgresLogStorage, name: string, signer: LogSigner): Promise<void> {
  const logId = signer.logId.toString('hex');
  const storedName = await store.claimMeta('name', name);
  const storedKey = await store.claimMeta('logId', logId);
  if (storedName !== name) {
    throw new ServiceError(500, 'LOG_ORIGIN_MISMATCH', `this database holds the log "${storedName}", not "${name}": give --name ${storedName}, or another database for a new log`);
  }
  if (storedKey !== logId) {
    throw new ServiceError(500, 'LOG_KEY_MISMATCH', `this database's log is signed by the key with log ID ${storedKey}, not ${logId}: give every process the same --key file`);
  }
}

/** The signed empty checkpoint, published once by whichever process starts first. */
async function publishEmptyCheckpoint(store: PostgresLogStorage, signer: LogSigner): Promise<void> {
  if (await store.latestCheckpoint()) return;
  const rootHash = await new MerkleTree(store).root(0);
  const note = await signer.signCheckpointAsync(formatCheckpoint({ origin: signer.name, size: 0, rootHash }));
  await store.pool.query("INSERT INTO checkpoints (size, note) SELECT 0, $1 WHERE NOT EXISTS (SELECT 1 FROM checkpoints) ON CONFLICT (size) DO NOTHING", [note]);
}

export async function startClusterLogService(options: ClusterLogOptions): Promise<ClusterLogService> {
  const policy = options.witnessPolicy ? readWitnessPolicy(options.witnessPolicy) : undefined;
  const key = loadPrivateKeyPem(options.keyPath);
  const signer = new LogSigner(options.name, key);
  const store = await PostgresLogStorage.open(options.postgres, { maxConnections: options.maxConnections ?? 8, applicationName: `sigstack-log:${process.pid}`, idleInTransactionTimeoutMs: Math.min(2000, options.leaseMs ?? 2000) });
  let admission: AdmissionPool | undefined;
  try {
    await claimIdentity(store, options.name, signer);
    const treeId = await store.claimMeta('treeId', randomBytes(8).toString('hex'));
    await publishEmptyCheckpoint(store, signer);
    // Opened at one checkpoint: the sequencer may publish between two reads of the database.
    const pinned = (await store.latestCheckpoint())!;
    const view: PostgresLogStorage = Object.create(store, { entryCount: { value: async () => pinned.size }, latestCheckpoint: { value: async () => pinned } });
    const log = await TransparencyLog.open(view, signer, options);
    const frontEnd = new ClusterFrontEnd(store, log);
    log.sequenceRemotely(frontEnd);
    let warn: (message: string) => void = (message) => void process.stderr.write(`sigstack log: ${message}\n`);
    let witnessView: ClusterWitnessView | undefined;
    let witnessRounds: ClusterWitnessRounds | undefined;
    if (policy) {
      const failClosed = options.witnessFailClosed === true;
      const onWarning = (message: string) => warn(message);
      checkPolicyNamesLog(options.witnessPolicy as string, policy, log, onWarning);
      witnessView = new ClusterWitnessView(store, log, { policy, failClosed, ...(options.witnessTimeoutMs ? { staleMs: Math.max(3000, 2 * options.witnessTimeoutMs + 1000) } : {}), onWarning });
      const view = witnessView;
      await view.refresh();
      log.witnessWith(view);
      frontEnd.onAdvance = () => view.refresh();
      witnessRounds = new ClusterWitnessRounds(store, log, { policy, failClosed, ...(options.witnessTimeoutMs ? { timeoutMs: options.witnessTimeoutMs } : {}), onWarning });
    }
    const rounds = witnessRounds;
    await frontEnd.start();

    const leaseChanges = new Counter({ name: 'sigstack_log_lease_changes_total', help: 'Sequencer lease changes of this process, by event (acquired, lost, released)', labelNames: ['event'], registers: [] });
    const epochGauge = new Gauge({ name: 'sigstack_log_sequencer_epoch', help: 'The lease epoch this process sequences under (0: it follows)', registers: [] });
    const commitSeconds = new Histogram({ name: 'sigstack_log_batch_commit_seconds', help: 'Time of one fenced sequencing transaction', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [] });
    const servedSize = new Gauge({ name: 'sigstack_log_served_tree_size', help: 'Size of the checkpoint this front end serves', registers: [] });
    const pendingDepth = new Gauge({
      name: 'sigstack_log_pending_entries',
      help: 'Entries admitted by any front end and not yet sequenced',
      registers: [],
      async collect() {
        const row = (await store.pool.query("SELECT count(*)::int AS n FROM pending WHERE idx IS NULL").catch(() => ({ rows: [{ n: Number.NaN }] }))).rows[0];
        this.set(row.n);
      },
    });
    frontEnd.onRefresh = (size) => servedSize.set(size);
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
          void frontEnd.refresh();
          rounds?.kick();
        },
      },
    );
    if (options.sequence !== false) sequencer.start();

    admission = new AdmissionPool(options.admissionWorkers ?? Math.max(1, availableParallelism()), signer);
    const server = buildLogApp({
      log,
      treeId,
      admission,
      ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
      logger: options.logger ?? false,
      addMetrics: (registry) => {
        for (const metric of [leaseChanges, epochGauge, commitSeconds, servedSize, pendingDepth]) registry.registerMetric(metric);
      },
    });
    if (witnessView) {
      const view = witnessView;
      warn = (message) => server.log.warn({ witnessing: true }, message);
      server.get('/api/v1/log/witnesses', async () => view.status());
    }
    const host = options.host ?? '127.0.0.1';
    await server.listen({ port: options.port ?? 0, host });
    const address = server.server.address() as { port: number };
    const pool = admission;
    return {
      url: `http://${host}:${address.port}`,
      log,
      app: server,
      treeId,
      sequencer,
      frontEnd,
      storage: store,
      async close() {
        await server.close();
        await sequencer.stop();
        rounds?.stop();
        await frontEnd.close();
        await pool.close();
        await store.close();
      },
    };
  } catch (err) {
    await admission?.close().catch(() => {});
    await store.close().catch(() => {});
    throw err;
  }
}
