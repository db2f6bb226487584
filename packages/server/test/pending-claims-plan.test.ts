// A front end's claims of pending entries keep probing `entries` by its leaf-hash index as the
// log grows from empty: claims made on one connection while `entries` is empty, then the table
// filled to 40,000 rows, then more claims on that connection; PostgreSQL's own counters must
// show no sequential scan of `entries` by the later claims. (A prepared claim statement kept the
// plan made for the empty table, an anti-join by a full scan of `entries`, on every connection.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { PendingClaims } from '../src/log/cluster/pending-claims.js';
import { startLocalPostgres } from '../src/storage/postgres/local-server.js';
import { PostgresLogStorage } from '../src/storage/postgres/postgres.js';
import type { CanonicalEntry } from '../src/log/types/types.js';

const entry = (i: number): CanonicalEntry => ({ kind: 'test', apiVersion: '0.0.1', body: Buffer.from(`{"claim":${i}}`), indexKeys: [{ type: 'hash', value: `sha256:${i}` }] });
const leaf = (i: number) => createHash('sha256').update(`claim ${i}`).digest();

test('claims probe entries by index after the log grew from empty on the same connection', async () => {
  const server = await startLocalPostgres();
  try {
    const url = await server.createDatabase();
    const storage = await PostgresLogStorage.open(url);
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const claims = new PendingClaims(pool, { maxInFlight: 1 });
      // More claims than PostgreSQL's custom plans before it may settle on a generic one.
      for (let i = 0; i < 12; i++) assert.equal(await claims.claim(entry(i), leaf(i)), true);
      await storage.pool.query(
        "INSERT INTO entries (idx, leaf_hash, body, integrated_time, kind, api_version) SELECT g, sha256(('entry ' || g)::bytea), decode(repeat('7b7d', 400), 'hex'), 1700000000, 'test', '0.0.1' FROM generate_series(0, 39999) g",
      );
      const seqScans = async () => {
        await pool.query('SELECT pg_stat_force_next_flush()');
        await pool.query('SELECT 1'); // (the flush happens as this transaction ends)
        const { rows } = await storage.pool.query("SELECT pg_stat_clear_snapshot(), (SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'entries') AS n");
        return Number(rows[0].n);
      };
      const before = await seqScans();
      for (let i = 100; i < 110; i++) assert.equal(await claims.claim(entry(i), leaf(i)), true);
      assert.equal(await seqScans(), before, 'claims scanned the whole entries table');
      // A logged entry is still refused by the probe.
      assert.equal(await claims.claim(entry(5), createHash('sha256').update('entry 7').digest()), false);
    } finally {
      await pool.end();
      await storage.close();
    }
  } finally {
    await server.close();
  }
});
