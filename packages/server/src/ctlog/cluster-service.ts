// The CT log (RFC 6962) on PostgreSQL: any number of processes, each given the same ECDSA P-256
// key and origin, serve one CT log from one database (or one schema of it) with the cluster
// machinery of the transparency log (log/cluster: pending entries from every front end, one
// fenced sequencer). An SCT is handed out once its entry is in a published checkpoint; a chain
// sent to several processes at once is one entry, because its SCT timestamp is claimed in the
// database by the entry's identity first (ct_timestamps), so every process builds the same leaf.

import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { Registry } from 'prom-client';
import type { X509 } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { loadPrivateKeyPem, type LoadedKey } from '../keys.js';
import { PostgresLogStorage } from '../storage/postgres/postgres.js';
import { LogSigner } from '../log/engine/log-signer.js';
import { openClusterEngine, type ClusterEngine, type ClusterEngineOptions } from '../log/cluster/engine.js';
import { CtLog } from './ct-log.js';
import { DEFAULT_CT_PREFIX, buildCtApp } from './http.js';
import { rootsFrom } from './service.js';

/** The claim of an entry's SCT timestamp in the database (table ct_timestamps, schema migration 4). */
export async function ctTimestampClaims(store: PostgresLogStorage): Promise<(identity: Buffer, proposed: bigint) => Promise<bigint>> {
  return async (identity, proposed) => {
    try {
      await store.pool.query({ name: 'ct-ts-claim', text: 'INSERT INTO ct_timestamps (identity, sct_timestamp) VALUES ($1, $2) ON CONFLICT (identity) DO NOTHING', values: [identity, proposed.toString()] });
      const row = (await store.pool.query({ name: 'ct-ts-read', text: 'SELECT sct_timestamp FROM ct_timestamps WHERE identity = $1', values: [identity] })).rows[0];
      return BigInt(row.sct_timestamp);
    } catch (err) {
      throw new ServiceError(503, 'LOG_WRITE_FAILED', `the CT log could not store this submission; nothing was added, retry: ${(err as Error).message}`);
    }
  };
}

export interface ClusterCtLog {
  ctLog: CtLog;
  engine: ClusterEngine;
}

/** Takes part in the CT log held by `store` (owned from here on: engine.close() closes it). */
export async function openClusterCtLog(store: PostgresLogStorage, options: ClusterEngineOptions & { key: LoadedKey; name: string; roots: X509[]; maxGetEntries?: number }): Promise<ClusterCtLog> {
  const key = options.key;
  if (key.privateKey.asymmetricKeyType !== 'ec' || key.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    await store.close().catch(() => {});
    throw new ServiceError(500, 'CT_KEY_INVALID', 'the CT log key is not an ECDSA P-256 key, which RFC 6962 logs use');
  }
  let claim: Awaited<ReturnType<typeof ctTimestampClaims>>;
  try {
    claim = await ctTimestampClaims(store);
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  const engine = await openClusterEngine(store, new LogSigner(options.name, key), options);
  try {
    const ctLog = new CtLog({ log: engine.log, privateKey: key.privateKey, roots: options.roots, claimTimestamp: claim, ...(options.maxGetEntries ? { maxGetEntries: options.maxGetEntries } : {}) });
    return { ctLog, engine };
  } catch (err) {
    await engine.close().catch(() => {});
    throw err;
  }
}

export interface ClusterCtLogServiceOptions extends ClusterEngineOptions {
  /** postgres://user:password@host:port/database */
  postgres: string;
  /** The PostgreSQL schema holding this log, when the database holds several (default: the default schema). */
  schema?: string;
  /** The CT log's ECDSA P-256 private key (PEM), the same file for every process. */
  keyPath: string;
  /** The engine's checkpoint origin, the same for every process. */
  name: string;
  rootsPem?: string;
  roots?: X509[];
  port?: number;
  host?: string;
  prefix?: string;
  bodyLimit?: number;
  maxGetEntries?: number;
  logger?: FastifyServerOptions['logger'];
  maxConnections?: number;
}

export interface ClusterCtLogService {
  url: string;
  apiUrl: string;
  ctLog: CtLog;
  engine: ClusterEngine;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startClusterCtLogService(options: ClusterCtLogServiceOptions): Promise<ClusterCtLogService> {
  const roots = rootsFrom(options);
  const key = loadPrivateKeyPem(options.keyPath);
  const store = await PostgresLogStorage.open(options.postgres, {
    maxConnections: options.maxConnections ?? 8,
    applicationName: `sigstack-ctlog:${process.pid}`,
    idleInTransactionTimeoutMs: Math.min(2000, options.leaseMs ?? 2000),
    ...(options.schema ? { schema: options.schema } : {}),
  });
  const { ctLog, engine } = await openClusterCtLog(store, { ...options, key, roots });
  try {
    const prefix = options.prefix ?? DEFAULT_CT_PREFIX;
    const app = buildCtApp({ ctLog, prefix, ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}), logger: options.logger ?? false });
    const registry = new Registry();
    for (const metric of engine.metrics) registry.registerMetric(metric);
    app.get('/metrics', async (_request, reply) => reply.header('content-type', registry.contentType).send(await registry.metrics()));
    const host = options.host ?? '127.0.0.1';
    await app.listen({ port: options.port ?? 0, host });
    const address = app.server.address() as { port: number };
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    return {
      url,
      apiUrl: url + prefix.replace(/\/+$/, ''),
      ctLog,
      engine,
      app,
      async close() {
        await app.close();
        await engine.close();
      },
    };
  } catch (err) {
    await engine.close().catch(() => {});
    throw err;
  }
}
