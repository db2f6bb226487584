// Witnessing of a PostgreSQL (cluster) log as the database records it: each witness's
// cosignature lines per checkpoint size, each witness's state (what it has cosigned, its last
// error or alert), and the newest round (its size, whether the quorum cosigned it, the newest
// size that ever met the quorum). The sequencer writes them; every front end reads them.

import type pg from 'pg';
import type { PostgresLogStorage } from '../../storage/postgres/postgres.js';
import { CHECKPOINT_CHANNEL } from '../cluster/fenced-storage.js';
import type { WitnessStatus } from './client.js';
import type { WitnessRound } from './witnessing.js';

/** A pool or one connection. */
type Queryable = Pick<pg.ClientBase, 'query'>;

export interface RecordedRound {
  /** Size of the newest round's checkpoint (-1: none yet). */
  size: number;
  quorum: boolean;
  /** The newest size whose cosignatures met the quorum (-1: none yet). */
  quorumSize: number;
  epoch: number;
}

export async function readRound(pool: Queryable): Promise<RecordedRound> {
  const row = (await pool.query({ name: 'witness-round', text: 'SELECT size, quorum, quorum_size, epoch FROM witness_round WHERE id = 1' })).rows[0];
  return row ? { size: Number(row.size), quorum: row.quorum as boolean, quorumSize: Number(row.quorum_size), epoch: Number(row.epoch) } : { size: -1, quorum: false, quorumSize: -1, epoch: 0 };
}

export async function readWitnessStates(pool: Queryable): Promise<Map<string, WitnessStatus>> {
  const rows = (await pool.query({ name: 'witness-states', text: 'SELECT witness, url, cosigned_size, last_error, alert FROM witness_state ORDER BY witness' })).rows;
  const states = new Map<string, WitnessStatus>();
  for (const r of rows) {
    states.set(r.witness as string, {
      name: r.witness as string,
      url: r.url as string,
      cosignedSize: Number(r.cosigned_size),
      ...(r.last_error ? { lastError: r.last_error as string } : {}),
      ...(r.alert ? { alert: r.alert as string } : {}),
    });
  }
  return states;
}

/** The recorded cosignature lines of the checkpoint of `size`, by witness name. */
export async function readCosignatures(pool: pg.Pool, size: number): Promise<Map<string, string>> {
  const rows = (await pool.query({ name: 'witness-cosignatures', text: 'SELECT witness, line FROM witness_cosignatures WHERE size = $1 ORDER BY witness', values: [size] })).rows;
  return new Map(rows.map((r) => [r.witness as string, r.line as string]));
}

export async function readCheckpointNote(pool: pg.Pool, size: number): Promise<string | undefined> {
  return (await pool.query({ name: 'checkpoint-at', text: 'SELECT note FROM checkpoints WHERE size = $1', values: [size] })).rows[0]?.note as string | undefined;
}

/**
 * Records a round in one transaction and tells the front ends. Everything only moves forward
 * (sizes are kept at their greatest); a late round of a sequencer whose epoch was taken over
 * adds its (true) cosignatures and nothing else.
 */
export async function recordRound(store: PostgresLogStorage, round: WitnessRound, epoch: number): Promise<void> {
  const size = round.checkpoint.size;
  const names = [...round.cosignatures.keys()];
  await store.transaction(async (client) => {
    if (names.length > 0) {
      await client.query({
        name: 'witness-cosignatures-insert',
        text: 'INSERT INTO witness_cosignatures (size, witness, line) SELECT $1, * FROM unnest($2::text[], $3::text[]) ON CONFLICT (size, witness) DO NOTHING',
        values: [size, names, names.map((n) => round.cosignatures.get(n))],
      });
    }
    // The state and the round only from the sequencer still in office: one that was paused and
    // has since been replaced asks with an old checkpoint, and a witness ahead of it is no alert.
    const current = await client.query({ name: 'witness-epoch-current', text: 'SELECT 1 FROM sequencer_lease WHERE id = 1 AND epoch = $1 FOR SHARE', values: [epoch] });
    if (current.rowCount !== 1) return true;
    const w = round.witnesses;
    await client.query({
      name: 'witness-states-upsert',
      text: `INSERT INTO witness_state AS s (witness, url, cosigned_size, last_error, alert, updated_at)
             SELECT n, u, c, e, a, clock_timestamp() FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[]) AS x(n, u, c, e, a)
             ON CONFLICT (witness) DO UPDATE SET url = excluded.url, cosigned_size = GREATEST(s.cosigned_size, excluded.cosigned_size),
               last_error = excluded.last_error, alert = COALESCE(excluded.alert, s.alert), updated_at = excluded.updated_at`,
      values: [w.map((x) => x.name), w.map((x) => x.url), w.map((x) => x.cosignedSize), w.map((x) => x.lastError ?? null), w.map((x) => x.alert ?? null)],
    });
    await client.query({
      name: 'witness-round-update',
      text: `UPDATE witness_round SET quorum = CASE WHEN $1 >= size THEN $2 ELSE quorum END, size = GREATEST(size, $1),
               quorum_size = CASE WHEN $2 THEN GREATEST(quorum_size, $1) ELSE quorum_size END, epoch = $3, finished_at = clock_timestamp() WHERE id = 1`,
      values: [size, round.quorum, epoch],
    });
    // Lines of checkpoints older than any a front end may still choose to serve are not needed.
    await client.query({
      name: 'witness-cosignatures-prune',
      text: 'DELETE FROM witness_cosignatures WHERE size < (SELECT CASE WHEN quorum_size >= 0 THEN LEAST(size, quorum_size) ELSE size END FROM witness_round WHERE id = 1)',
    });
    await client.query({ name: 'notify-checkpoint', text: 'SELECT pg_notify($1, $2)', values: [CHECKPOINT_CHANNEL, String(size)] });
    return true;
  });
}
