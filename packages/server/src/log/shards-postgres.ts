// The stack's logs on PostgreSQL (`sigstack up --postgres`): each log shard, and the CT log, is a
// schema of one database (sigstack_log, sigstack_log_2, …, sigstack_ctlog), so every process
// given the same key material serves the same logs. The shard list lives in the stack's state
// file as on SQLite and is also recorded in the first shard's schema, so a process whose --dir
// misses a rotation made elsewhere is refused instead of serving a frozen shard as active.

import { join } from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import { ServiceError } from '../errors.js';
import { PostgresLogStorage } from '../storage/postgres/postgres.js';
import { AdmissionPool } from './admission/pool.js';
import type { LogOptions } from './engine/log.js';
import { LogSigner } from './engine/log-signer.js';
import { buildLogApp } from './http/app.js';
import { openClusterEngine, type ClusterEngine } from './cluster/engine.js';
import type { ClusterWitnessingOptions } from './witnessing/cluster.js';
import { readLease } from './cluster/lease.js';
import { openShardKeyFor, type Pkcs11LogKeys } from './shard-keys.js';
import type { OpenShard, ShardRecord } from './shards.js';

/** The schema holding a shard ('log' → sigstack_log, 'log-2' → sigstack_log_2). */
export function shardSchema(record: Pick<ShardRecord, 'dir'>): string {
  return `sigstack_${record.dir.replace(/[^a-z0-9]+/g, '_')}`;
}

/** The schema of the CT log: a rotated CT key starts a new CT log, as on SQLite (a new ctlog.db). */
export function ctlogSchema(retiredKeys: number): string {
  return retiredKeys === 0 ? 'sigstack_ctlog' : `sigstack_ctlog_${retiredKeys + 1}`;
}

export function openShardStore(url: string, record: Pick<ShardRecord, 'dir'>, options: { maxConnections?: number } = {}): Promise<PostgresLogStorage> {
  return PostgresLogStorage.open(url, { schema: shardSchema(record), applicationName: `sigstack-up:${process.pid}`, maxConnections: options.maxConnections ?? 8 });
}

const SHARDS_META = 'stackShards';

function comparable(records: ShardRecord[]): string {
  return JSON.stringify(records.map((r) => ({ dir: r.dir, path: r.path, start: r.start, end: r.end ?? null, keyLabel: r.keyLabel ?? null })));
}

/** Refuses a --dir whose shard list is not the one recorded in the database (a rotation made elsewhere). */
export async function assertShardsCurrent(first: PostgresLogStorage, records: ShardRecord[], stackDir: string): Promise<void> {
  const recorded = await first.getMeta(SHARDS_META);
  if (recorded === undefined) {
    if (records.length === 1) return;
    throw new ServiceError(500, 'STACK_SHARDS_STALE', `${stackDir} lists ${records.length} log shards but the database records none: this --dir's logs were rotated on SQLite or against another database; give the --postgres URL they were rotated with`);
  }
  if (recorded !== comparable(records)) {
    throw new ServiceError(
      500,
      'STACK_SHARDS_STALE',
      `the log in the database was rotated (shards ${(JSON.parse(recorded) as { dir: string }[]).map((r) => r.dir).join(', ')}) but ${stackDir} lists ${records.map((r) => r.dir).join(', ')}: copy the --dir (stack.json and the new log-N key directory) of the stack that rotated`,
    );
  }
}

export async function recordShards(first: PostgresLogStorage, records: ShardRecord[]): Promise<void> {
  await first.setMeta(SHARDS_META, comparable(records));
}

/** Refuses to rotate while a process serves the shard (its sequencer lease is held). */
export async function assertShardNotServed(store: PostgresLogStorage): Promise<void> {
  const lease = await readLease(store.pool);
  if (lease.holder !== '' && lease.remainingMs > 0) {
    throw new ServiceError(409, 'STACK_RUNNING', `a process serves this log from PostgreSQL (sequencer ${lease.holder}): stop every \`sigstack up --postgres\` process of the stack before rotating its log, then start them again with the rotated --dir`);
  }
}

/** Opens a shard of a PostgreSQL stack as a cluster front end (and, while active, a sequencer candidate). */
export async function openClusterShard(stackDir: string, record: ShardRecord, options: { postgres: string; logOptions?: LogOptions; admissionWorkers: number; logger: FastifyServerOptions['logger']; keyPassword?: string; hsm?: Pkcs11LogKeys; witnessing?: ClusterWitnessingOptions }): Promise<OpenShard> {
  const dir = join(stackDir, record.dir);
  const store = await openShardStore(options.postgres, record);
  const name = await store.getMeta('name');
  if (!name) {
    await store.close();
    throw new ServiceError(500, 'LOG_SHARD_INVALID', `schema ${shardSchema(record)} of the database has no log name: it was not made by \`sigstack log rotate --postgres\``);
  }
  const key = await openShardKeyFor(dir, record, store, name, options);
  let engine: ClusterEngine;
  try {
    // A frozen shard takes no entries: it follows, nothing to sequence.
    engine = await openClusterEngine(store, new LogSigner(name, key.key), { ...(options.logOptions ?? {}), sequence: !record.end, ...(options.witnessing && !record.end ? { witnessing: options.witnessing } : {}) });
  } catch (err) {
    key.close();
    throw err;
  }
  const admission = new AdmissionPool(record.end ? 0 : options.admissionWorkers, engine.log.signer);
  const metrics = engine.metrics;
  const app = buildLogApp({ log: engine.log, treeId: engine.treeId, admission, logger: options.logger, addMetrics: (registry) => metrics.forEach((m) => registry.registerMetric(m)) });
  const witnessView = engine.witnessing?.view;
  if (witnessView) app.get('/api/v1/log/witnesses', async () => witnessView.status());
  return {
    record,
    name,
    treeId: engine.treeId,
    log: engine.log,
    app,
    close: async () => {
      await app.close();
      await admission.close();
      await engine.close();
      key.close();
    },
  };
}
