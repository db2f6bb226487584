// The PostgreSQL schema of a log, versioned: each migration takes the database from one
// version to the next, applied in order on start under a transaction-scoped advisory lock so
// that front ends starting together migrate once. A database of a newer version is refused
// (an older binary must not write a layout it does not know).

import type pg from 'pg';
import { ServiceError } from '../../errors.js';
import { DEFAULT_RUN_POLICY } from '../search-runs.js';

/** The version this build writes. */
export const SCHEMA_VERSION = 5;

/** Migration n (index n - 1) takes a database from version n - 1 to n. */
const MIGRATIONS: string[] = [
  `
CREATE TABLE entries (
  idx bigint PRIMARY KEY,
  leaf_hash bytea NOT NULL UNIQUE,
  body bytea NOT NULL,
  integrated_time bigint NOT NULL,
  kind text NOT NULL,
  api_version text NOT NULL,
  extra bytea
);
CREATE INDEX entries_by_time ON entries (integrated_time, idx);
CREATE TABLE tiles (
  level integer NOT NULL,
  idx bigint NOT NULL,
  hashes bytea NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE search_index (
  key text COLLATE "C" NOT NULL,
  idx bigint NOT NULL,
  PRIMARY KEY (key, idx)
);
CREATE INDEX search_by_entry ON search_index (idx, key);
CREATE TABLE search_reversed (
  rkey text COLLATE "C" NOT NULL,
  idx bigint NOT NULL,
  PRIMARY KEY (rkey, idx)
);
-- The published tree size: one row, compare-and-swapped by every batch.
CREATE TABLE log_head (
  id integer PRIMARY KEY CHECK (id = 1),
  size bigint NOT NULL
);
INSERT INTO log_head (id, size) VALUES (1, 0);
-- Every published checkpoint, keyed by its size: a second root at one size cannot be stored.
CREATE TABLE checkpoints (
  size bigint PRIMARY KEY,
  note text NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE meta (
  key text PRIMARY KEY,
  value text NOT NULL
);
`,
  // 2: several front ends and one fenced sequencer (log/cluster).
  `
-- Entries admitted by any front end, waiting for the sequencer. The leaf hash is the claim: one
-- submission per entry ever wins (others are duplicates); a sequenced row keeps its index (its
-- body dropped) until it is old enough that the entries table answers for it alone.
CREATE TABLE pending (
  leaf_hash bytea PRIMARY KEY,
  seq bigserial NOT NULL,
  body bytea,
  kind text NOT NULL,
  api_version text NOT NULL,
  extra bytea,
  index_keys text[],
  submitted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  idx bigint,
  sequenced_at timestamptz
);
CREATE INDEX pending_waiting ON pending (seq) WHERE idx IS NULL;
CREATE INDEX pending_sequenced ON pending (sequenced_at) WHERE idx IS NOT NULL;
-- Who sequences: a lease timed by the database clock; the epoch grows on every takeover and
-- every sequencing transaction checks it (the fence).
CREATE TABLE sequencer_lease (
  id integer PRIMARY KEY CHECK (id = 1),
  holder text NOT NULL,
  epoch bigint NOT NULL,
  expires_at timestamptz NOT NULL,
  acquired_at timestamptz NOT NULL
);
INSERT INTO sequencer_lease (id, holder, epoch, expires_at, acquired_at) VALUES (1, '', 0, 'epoch', 'epoch');
`,
  // 3: witnessing of a cluster log (log/witnessing/cluster-*.ts): the sequencer asks, every front end serves.
  `
-- Each witness's cosignature of a checkpoint, as the note line(s) it gave: every front end adds
-- the lines of the checkpoint it serves.
CREATE TABLE witness_cosignatures (
  size bigint NOT NULL,
  witness text NOT NULL,
  line text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (size, witness)
);
-- What each witness (by its tlog-policy name) has cosigned and its last error: a new sequencer
-- continues from here, and every front end reports it at /api/v1/log/witnesses.
CREATE TABLE witness_state (
  witness text PRIMARY KEY,
  url text NOT NULL,
  cosigned_size bigint NOT NULL DEFAULT 0,
  last_error text,
  alert text,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- The newest witnessing round: the size it was for, whether the quorum cosigned it, and the
-- newest size that ever met the quorum (what fail-closed front ends serve).
CREATE TABLE witness_round (
  id integer PRIMARY KEY CHECK (id = 1),
  size bigint NOT NULL,
  quorum boolean NOT NULL,
  quorum_size bigint NOT NULL,
  epoch bigint NOT NULL,
  finished_at timestamptz NOT NULL
);
INSERT INTO witness_round (id, size, quorum, quorum_size, epoch, finished_at) VALUES (1, -1, false, -1, 0, 'epoch');
`,
  // 4: a CT log's SCT timestamps (ctlog/cluster-service.ts); unused by a transparency log.
  `
-- The first submission of a CT entry (its identity: the certificate, or the precertificate's TBS
-- and issuer key) fixes its SCT timestamp for every process, so concurrent duplicates are one leaf.
-- (IF NOT EXISTS: CT logs made before this migration created it on start.)
CREATE TABLE IF NOT EXISTS ct_timestamps (
  identity bytea PRIMARY KEY,
  sct_timestamp bigint NOT NULL
);
`,
  // 5: search runs (storage/search-runs.ts): the search tables gain a run column, entry_keys replaces search_by_entry.
  `
CREATE SEQUENCE search_run_ids;
CREATE TABLE search_runs (
  run bigint PRIMARY KEY,
  lo bigint NOT NULL,
  hi bigint,
  level integer NOT NULL,
  state text NOT NULL,
  phase integer NOT NULL DEFAULT 0,
  cursor text NOT NULL DEFAULT ''
);
-- Every entry's keys in entry order, written once at append and never moved.
CREATE TABLE entry_keys (
  idx bigint NOT NULL,
  key text COLLATE "C" NOT NULL,
  PRIMARY KEY (idx, key)
);
INSERT INTO entry_keys (idx, key) SELECT idx, key FROM search_index ORDER BY idx, key;
DROP INDEX search_by_entry;
-- The rows so far are one sealed run [0, size) (level high enough that it is merged only with
-- runs of its size), then an open one; an empty log has one open run at 0.
ALTER TABLE search_index ADD COLUMN run bigint NOT NULL DEFAULT 0;
ALTER TABLE search_index ALTER COLUMN run DROP DEFAULT;
ALTER TABLE search_index DROP CONSTRAINT search_index_pkey;
ALTER TABLE search_index ADD CONSTRAINT search_index_pkey PRIMARY KEY (run, key, idx);
ALTER TABLE search_reversed ADD COLUMN run bigint NOT NULL DEFAULT 0;
ALTER TABLE search_reversed ALTER COLUMN run DROP DEFAULT;
ALTER TABLE search_reversed DROP CONSTRAINT search_reversed_pkey;
ALTER TABLE search_reversed ADD CONSTRAINT search_reversed_pkey PRIMARY KEY (run, rkey, idx);
INSERT INTO search_runs (run, lo, hi, level, state)
  SELECT 0, 0, size, (SELECT min(l) FROM generate_series(0, 64) l WHERE power(${DEFAULT_RUN_POLICY.fanout}::numeric, l) * ${DEFAULT_RUN_POLICY.entries} >= size), 'sealed'
  FROM log_head WHERE id = 1 AND size > 0;
INSERT INTO search_runs (run, lo, hi, level, state)
  SELECT CASE WHEN size > 0 THEN nextval('search_run_ids') ELSE 0 END, size, NULL, 0, 'open' FROM log_head WHERE id = 1;
`,
];

/** The SQL of migrations 1..version (tests build databases of an older layout with it). */
export function migrationsUpTo(version: number): string {
  return MIGRATIONS.slice(0, version).join('\n');
}

/** Brings the database to SCHEMA_VERSION; refuses one that is newer. */
export async function migrate(client: pg.ClientBase, schema?: string): Promise<void> {
  await client.query('BEGIN');
  try {
    // One migrator at a time across every process of this log (its schema) on this database.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [schema ? `sigstack-schema:${schema}` : 'sigstack-schema']);
    // The connection's search_path names the schema already; it takes effect once it exists. A
    // schema made beforehand (by an administrator) needs no CREATE right on the database.
    if (schema && (await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 0) await client.query(`CREATE SCHEMA ${schema}`);
    await client.query('CREATE TABLE IF NOT EXISTS sigstack_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)');
    const row = (await client.query<{ version: number }>('SELECT version FROM sigstack_schema WHERE id = 1')).rows[0];
    const version = row?.version ?? 0;
    if (version > SCHEMA_VERSION) {
      throw new ServiceError(
        500,
        'POSTGRES_SCHEMA_TOO_NEW',
        `the database has log schema version ${version}, newer than this sigstack's ${SCHEMA_VERSION}: run a sigstack at least as new as the one that migrated it`,
      );
    }
    for (let v = version; v < SCHEMA_VERSION; v++) await client.query(MIGRATIONS[v]!);
    if (version < SCHEMA_VERSION) {
      await client.query('INSERT INTO sigstack_schema (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version', [SCHEMA_VERSION]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The stored schema version without changing anything (0: none), for `log info`. */
export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = (await client.query("SELECT to_regclass('sigstack_schema') IS NOT NULL AS e")).rows[0]?.e === true;
  if (!exists) return 0;
  return (await client.query<{ version: number }>('SELECT version FROM sigstack_schema WHERE id = 1')).rows[0]?.version ?? 0;
}
