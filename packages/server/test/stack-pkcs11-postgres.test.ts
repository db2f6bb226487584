// `sigstack up --postgres` with its CA, TSA and log keys on a PKCS#11 token: the PKCS#11 stack
// tests (stack-pkcs11.test.ts, including the rotation onto another token key) with the logs in
// PostgreSQL, on a server of the test's own.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startLocalPostgres } from '../src/storage/postgres/local-server.js';
import { stackStore } from './stack-store.js';

const server = await startLocalPostgres();
stackStore.postgres = await server.createDatabase();
await import('./stack-pkcs11.test.js');
test('the token-signed logs were in PostgreSQL', async () => {
  const client = new pg.Client({ connectionString: stackStore.postgres });
  await client.connect();
  try {
    const counts = (await client.query('SELECT (SELECT count(*) FROM sigstack_log.entries)::int AS log, (SELECT count(*) FROM sigstack_log_2.entries)::int AS log2')).rows[0];
    assert.ok(counts.log > 0 && counts.log2 > 0, JSON.stringify(counts));
  } finally {
    await client.end();
  }
});
after(async () => {
  await server.close();
});
