// `sigstack log info --postgres URL`: what a PostgreSQL log's database holds, read without
// writing anything: origin, tree size, the sequencer lease (holder, epoch, time left) and the
// pending entries.

import pg from 'pg';
import { ServiceError } from '../../errors.js';
import { checkSchemaName, connectionOptions, redactUrl } from '../../storage/postgres/postgres.js';
import { SCHEMA_VERSION, schemaVersion } from '../../storage/postgres/schema.js';
import { readLease } from './lease.js';
import { readRound, readWitnessStates } from '../witnessing/cluster-records.js';
import type { WitnessStatus } from '../witnessing/client.js';

export interface ClusterLogInfo {
  origin: string | undefined;
  treeSize: number;
  schemaVersion: number;
  sequencer: { holder: string; epoch: number; leaseRemainingMs: number } | undefined;
  pending: number;
  /** When the log is witnessed: the newest recorded round and each witness's state. */
  witnessing?: { roundSize: number; quorum: boolean; quorumSize: number; epoch: number; witnesses: WitnessStatus[] };
}

/** `schema`: the log's PostgreSQL schema when the database holds several logs (default: the default one). */
export async function clusterLogInfo(url: string, schema?: string): Promise<ClusterLogInfo> {
  if (schema !== undefined) checkSchemaName(schema);
  const options = connectionOptions(schema);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, application_name: 'sigstack-info', ...(options ? { options } : {}) });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new ServiceError(503, 'POSTGRES_UNREACHABLE', `cannot connect to PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}; check the URL and that the server runs`);
  }
  try {
    const version = await schemaVersion(client);
    if (version === 0) {
      // Logs in other schemas of this database (e.g. a stack's sigstack_log and sigstack_ctlog).
      const others = (await client.query("SELECT table_schema AS s FROM information_schema.tables WHERE table_name = 'sigstack_schema' ORDER BY 1")).rows.map((r) => r.s as string);
      const hint = others.length > 0 ? `; it holds logs in the schemas ${others.join(', ')}: give --schema NAME` : '; start one with sigstack log serve --postgres URL --key KEY.pem --name ORIGIN';
      throw new ServiceError(404, 'LOG_NOT_FOUND', `the database at ${redactUrl(url)} holds no sigstack log ${schema ? `in schema ${schema}` : 'in its default schema'}${hint}`);
    }
    if (version > SCHEMA_VERSION) throw new ServiceError(500, 'POSTGRES_SCHEMA_TOO_NEW', `the database has log schema version ${version}, newer than this sigstack's ${SCHEMA_VERSION}: use a newer sigstack`);
    const origin = (await client.query("SELECT value FROM meta WHERE key = 'name'")).rows[0]?.value as string | undefined;
    const treeSize = Number((await client.query('SELECT size FROM log_head WHERE id = 1')).rows[0]?.size ?? 0);
    let sequencer: ClusterLogInfo['sequencer'];
    let pending = 0;
    if (version >= 2) {
      const lease = await readLease(client);
      if (lease.holder !== '') sequencer = { holder: lease.holder, epoch: lease.epoch, leaseRemainingMs: Math.round(lease.remainingMs) };
      pending = Number((await client.query('SELECT count(*) AS n FROM pending WHERE idx IS NULL')).rows[0].n);
    }
    let witnessing: ClusterLogInfo['witnessing'];
    if (version >= 3) {
      const witnesses = [...(await readWitnessStates(client)).values()];
      if (witnesses.length > 0) {
        const round = await readRound(client);
        witnessing = { roundSize: round.size, quorum: round.quorum, quorumSize: round.quorumSize, epoch: round.epoch, witnesses };
      }
    }
    return { origin, treeSize, schemaVersion: version, sequencer, pending, ...(witnessing ? { witnessing } : {}) };
  } finally {
    await client.end().catch(() => {});
  }
}
