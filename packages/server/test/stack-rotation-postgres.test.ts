// The log and key rotation tests (stack-rotation.test.ts) with the logs in PostgreSQL (`up
// --postgres`, `log rotate --postgres`): a new shard is a new schema of the same database.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startLocalPostgres } from '../src/storage/postgres/local-server.js';
import { stackStore } from './stack-store.js';

const server = await startLocalPostgres();
stackStore.postgres = await server.createDatabase();
await import('./stack-rotation.test.js');
test('the stack kept its logs in PostgreSQL, a schema per shard and per CT key (and nothing in the default schema)', async () => {
  const client = new pg.Client({ connectionString: stackStore.postgres });
  await client.connect();
  try {
    const schemas = (await client.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sigstack_%' ORDER BY nspname")).rows.map((r) => r.nspname as string);
    // The rotated log shard and the CT log of the rotated CT key are new schemas of the same database.
    assert.deepEqual(schemas, ['sigstack_ctlog', 'sigstack_ctlog_2', 'sigstack_log', 'sigstack_log_2']);
    const counts = (await client.query('SELECT (SELECT count(*) FROM sigstack_log.entries)::int AS log, (SELECT count(*) FROM sigstack_ctlog.entries)::int AS ct')).rows[0];
    assert.ok(counts.log > 0 && counts.ct > 0, JSON.stringify(counts));
    assert.equal((await client.query("SELECT to_regclass('public.entries') AS t")).rows[0].t, null);
  } finally {
    await client.end();
  }
});
after(async () => {
  await server.close();
});
