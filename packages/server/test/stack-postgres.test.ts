// The whole-stack tests (stack.test.ts: sigstack and sigstore-js sign and verify, trust files,
// TUF, a restart) again with the logs in PostgreSQL (`up --postgres`), on a server of the test's
// own; then: the logs are in their schemas, SQLite logs are not moved, and production stacks on
// copies of one directory publish the same trust files.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from '../src/stack.js';
import { hashedrekordV001, newSigner, post } from './helpers.js';
import { startLocalPostgres } from '../src/storage/postgres/local-server.js';
import { stackStore } from './stack-store.js';

const server = await startLocalPostgres();
stackStore.postgres = await server.createDatabase();
await import('./stack.test.js');
// Registered after the imported files' hooks: the stacks close before their database stops.
test('the stack kept its logs in PostgreSQL, a schema each (and nothing in the default schema)', async () => {
  const client = new pg.Client({ connectionString: stackStore.postgres });
  await client.connect();
  try {
    const schemas = (await client.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sigstack_%' ORDER BY nspname")).rows.map((r) => r.nspname as string);
    assert.ok(schemas.includes('sigstack_log') && schemas.includes('sigstack_ctlog'), schemas.join(', '));
    const counts = (await client.query('SELECT (SELECT count(*) FROM sigstack_log.entries)::int AS log, (SELECT count(*) FROM sigstack_ctlog.entries)::int AS ct')).rows[0];
    assert.ok(counts.log > 0 && counts.ct > 0, JSON.stringify(counts));
    assert.equal((await client.query("SELECT to_regclass('public.entries') AS t")).rows[0].t, null);
  } finally {
    await client.end();
  }
});
test('an unreachable database fails the start and marks nothing; a stack whose logs are SQLite files is not moved into PostgreSQL', async () => {
  const sqliteDir = mkdtempSync(join(tmpdir(), 'sigstack-stack-sqlite-'));
  try {
    await assert.rejects(startStack({ dir: sqliteDir, port: 0, admissionWorkers: 0, postgres: 'postgres://postgres@127.0.0.1:1/none', warn: () => {} }), (err: { code?: string }) => err.code === 'POSTGRES_UNREACHABLE');
    assert.equal(JSON.parse(readFileSync(join(sqliteDir, 'stack.json'), 'utf8')).logStore, undefined);
    const stack = await startStack({ dir: sqliteDir, port: 0, admissionWorkers: 0, warn: () => {} });
    await stack.close();
    await assert.rejects(startStack({ dir: sqliteDir, port: 0, admissionWorkers: 0, postgres: stackStore.postgres!, warn: () => {} }), (err: { code?: string }) => err.code === 'LOG_STORE_CONFLICT');
  } finally {
    rmSync(sqliteDir, { recursive: true, force: true });
  }
});
test('production stacks on one directory, or copies of it, and one database publish byte-identical trust files and serve one log', async () => {
  const base = mkdtempSync(join(tmpdir(), 'sigstack-stack-copies-'));
  const postgres = await server.createDatabase();
  const options = { port: 0, postgres, publicUrl: 'https://sigstore.example.test', devIssuer: true, admissionWorkers: 0, warn: () => {} };
  let first: Awaited<ReturnType<typeof startStack>> | undefined;
  let second: Awaited<ReturnType<typeof startStack>> | undefined;
  let third: Awaited<ReturnType<typeof startStack>> | undefined;
  try {
    first = await startStack({ ...options, dir: join(base, 'a') });
    cpSync(join(base, 'a'), join(base, 'b'), { recursive: true });
    second = await startStack({ ...options, dir: join(base, 'b') });
    // A third on the very same directory as the first.
    third = await startStack({ ...options, dir: join(base, 'a') });
    for (const file of ['trusted_root.json', 'signing_config.json', 'tuf/root.json']) {
      assert.ok(readFileSync(join(base, 'a', file)).equals(readFileSync(join(base, 'b', file))), `${file} is the same in both`);
    }
    assert.equal(second.logName, 'sigstore.example.test');
    assert.deepEqual(second.log.checkpoint.rootHash, first.log.checkpoint.rootHash);
    assert.deepEqual(second.ctLog.logId, first.ctLog.logId);
    // An entry written through the first is served by the other two.
    const port = (first.server.address() as { port: number }).port;
    const written = await post(`http://127.0.0.1:${port}/api/v1/log/entries`, hashedrekordV001(newSigner(), Buffer.from('through the first')));
    assert.equal(written.status, 201, JSON.stringify(written.json));
    const deadline = Date.now() + 5000;
    while ((second.log.checkpoint.size < 1 || third.log.checkpoint.size < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(second.log.checkpoint.rootHash, first.log.checkpoint.rootHash);
    assert.deepEqual(third.log.checkpoint.rootHash, first.log.checkpoint.rootHash);
    assert.equal(third.log.checkpoint.size, 1);
  } finally {
    await first?.close();
    await second?.close();
    await third?.close();
    rmSync(base, { recursive: true, force: true });
  }
});
after(async () => {
  await server.close();
});
