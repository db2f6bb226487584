// The log and key rotation tests (stack-rotation.test.ts) with the logs in PostgreSQL (`up
// --postgres`, `log rotate --postgres`): a new shard is a new schema of the same database.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from '../src/stack.js';
import { rotateLogShard } from '../src/log/shards.js';
import { startLocalPostgres } from '../src/storage/postgres/local-server.js';
import { stackStore } from './stack-store.js';

const server = await startLocalPostgres();
stackStore.postgres = await server.createDatabase();
const { stackDir } = await import('./stack-rotation.test.js');

test('a copy of the directory that misses a rotation is refused; rotating while a process serves the log is refused', async () => {
  const stale = `${stackDir}-stale`;
  cpSync(stackDir, stale, { recursive: true });
  try {
    const state = JSON.parse(readFileSync(join(stale, 'stack.json'), 'utf8'));
    const { end: _end, ...first } = state.logShards[0];
    writeFileSync(join(stale, 'stack.json'), JSON.stringify({ ...state, logShards: [first] }));
    await assert.rejects(startStack({ dir: stale, port: 0, postgres: stackStore.postgres!, admissionWorkers: 0, warn: () => {} }), (err: { code?: string; message: string }) => err.code === 'STACK_SHARDS_STALE' && /copy the --dir/.test(err.message));
    await assert.rejects(rotateLogShard(stale, new Date(), undefined, undefined, stackStore.postgres), (err: { code?: string }) => err.code === 'STACK_SHARDS_STALE');
    // A current copy, while the suite's stack still serves the log: its sequencer lease is held.
    cpSync(join(stackDir, 'stack.json'), join(stale, 'stack.json'));
    await assert.rejects(rotateLogShard(stale, new Date(Date.now() + 5000), undefined, undefined, stackStore.postgres), (err: { code?: string }) => err.code === 'STACK_RUNNING');
    await assert.rejects(rotateLogShard(stale, new Date(Date.now() + 5000)), (err: { code?: string }) => err.code === 'STACK_NEEDS_POSTGRES');
  } finally {
    rmSync(stale, { recursive: true, force: true });
  }
});
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
