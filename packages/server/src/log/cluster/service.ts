// Starts one process of a PostgreSQL log: a full front end (Rekor v1 and v2 APIs, tiles,
// search, explorer) over the shared database, and a sequencer candidate that sequences while
// it holds the lease. Any number of processes given the same key file and origin may serve
// one database; a process refuses a database whose log has another key or origin.

import { availableParallelism } from 'node:os';
import { loadPrivateKeyPem } from '../../keys.js';
import { PostgresLogStorage } from '../../storage/postgres/postgres.js';
import type { LogOptions } from '../engine/log.js';
import { LogSigner } from '../engine/log-signer.js';
import { AdmissionPool } from '../admission/pool.js';
import { buildLogApp } from '../http/app.js';
import type { LogService } from '../service.js';
import type { ClusterFrontEnd } from './front-end.js';
import type { Sequencer } from './sequencer.js';
import { openClusterEngine, type ClusterEngine } from './engine.js';
import { readWitnessPolicy } from '../witnessing/load.js';
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
  /** The PostgreSQL schema holding this log, when the database holds several (default: the default schema). */
  schema?: string;
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

export async function startClusterLogService(options: ClusterLogOptions): Promise<ClusterLogService> {
  // A bad policy file is refused before the database is touched.
  if (options.witnessPolicy) readWitnessPolicy(options.witnessPolicy);
  const key = loadPrivateKeyPem(options.keyPath);
  const signer = new LogSigner(options.name, key);
  const store = await PostgresLogStorage.open(options.postgres, { maxConnections: options.maxConnections ?? 8, applicationName: `sigstack-log:${process.pid}`, idleInTransactionTimeoutMs: Math.min(2000, options.leaseMs ?? 2000), ...(options.schema ? { schema: options.schema } : {}) });
  let admission: AdmissionPool | undefined;
  let engine: ClusterEngine | undefined;
  try {
    let warn: (message: string) => void = (message) => void process.stderr.write(`sigstack log: ${message}\n`);
    const witnessing = options.witnessPolicy
      ? { witnessing: { policyPath: options.witnessPolicy, failClosed: options.witnessFailClosed === true, ...(options.witnessTimeoutMs ? { timeoutMs: options.witnessTimeoutMs } : {}), warn: (message: string) => warn(message) } }
      : {};
    engine = await openClusterEngine(store, signer, { ...options, ...witnessing });
    const { log, treeId, sequencer, frontEnd } = engine;
    const metrics = engine.metrics;
    const witnessView = engine.witnessing?.view;

    admission = new AdmissionPool(options.admissionWorkers ?? Math.max(1, availableParallelism()), signer);
    const server = buildLogApp({
      log,
      treeId,
      admission,
      ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
      logger: options.logger ?? false,
      addMetrics: (registry) => {
        for (const metric of metrics) registry.registerMetric(metric);
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
    const opened = engine;
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
        await pool.close();
        await opened.close();
      },
    };
  } catch (err) {
    await admission?.close().catch(() => {});
    if (engine) await engine.close().catch(() => {});
    else await store.close().catch(() => {});
    throw err;
  }
}
