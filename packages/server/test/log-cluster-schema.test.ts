// Several logs in one PostgreSQL database, each in a schema of its own: two cluster logs (and
// one in the default schema) side by side do not see each other's entries, checkpoints, leases
// or notifications; the schema is created on first start; a bad schema name is refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { generateKeyPair } from '@sigstack/core';
import { postgresLogFixture } from './postgres-log-fixture.js';
import { PostgresLogStorage } from '../src/storage/postgres/postgres.js';
import { SCHEMA_VERSION } from '../src/storage/postgres/schema.js';
import { startClusterLogService } from '../src/log/cluster/service.js';
import { clusterLogInfo } from '../src/log/cluster/info.js';
import { CHECKPOINT_CHANNEL } from '../src/log/cluster/fenced-storage.js';
import { hashedrekordV001, newSigner, post } from './helpers.js';

const fixture = postgresLogFixture('sigstack-schema-');
const { dir } = fixture;
const keyA = fixture.keyPath;
const keyB = join(dir, 'b.pem');
writeFileSync(keyB, generateKeyPair('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);

test('two logs in two schemas of one database keep apart: entries, checkpoints, leases, notifications', async () => {
  const url = await fixture.server.createDatabase();
  const [a1, a2, b, plain] = await Promise.all([
    startClusterLogService({ postgres: url, schema: 'log_a', keyPath: keyA, name: 'a.test', admissionWorkers: 0, leaseMs: 1000 }),
    startClusterLogService({ postgres: url, schema: 'log_a', keyPath: keyA, name: 'a.test', admissionWorkers: 0, leaseMs: 1000 }),
    startClusterLogService({ postgres: url, schema: 'log_b', keyPath: keyB, name: 'b.test', admissionWorkers: 0, leaseMs: 1000 }),
    // The default schema still holds a log of its own (a database made before schemas keeps working).
    startClusterLogService({ postgres: url, keyPath: keyB, name: 'plain.test', admissionWorkers: 0, leaseMs: 1000 }),
  ]);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const heard: string[] = [];
  admin.on('notification', (n) => heard.push(`${n.channel}:${n.payload}`));
  await admin.query(`LISTEN ${CHECKPOINT_CHANNEL}__log_a`);
  await admin.query(`LISTEN ${CHECKPOINT_CHANNEL}__log_b`);
  await admin.query(`LISTEN ${CHECKPOINT_CHANNEL}`);
  try {
    const signer = newSigner();
    // Three entries into log a (through both of its front ends), one into log b.
    for (let i = 0; i < 3; i++) assert.equal((await post(`${[a1, a2][i % 2]!.url}/api/v1/log/entries`, hashedrekordV001(signer, Buffer.from(`a ${i}`)))).status, 201);
    const shared = hashedrekordV001(signer, Buffer.from('in both'));
    // The same entry is fresh in each log (the claim is per log, not per database).
    assert.equal((await post(`${b.url}/api/v1/log/entries`, shared)).status, 201);
    assert.equal((await post(`${a1.url}/api/v1/log/entries`, shared)).status, 201);
    assert.equal((await post(`${a2.url}/api/v1/log/entries`, shared)).status, 409);

    assert.equal(a1.log.checkpoint.size, 4);
    assert.equal(b.log.checkpoint.size, 1);
    assert.equal(plain.log.checkpoint.size, 0);
    assert.match(a1.log.checkpoint.note, /^a\.test\n4\n/);
    assert.match(b.log.checkpoint.note, /^b\.test\n1\n/);

    // Tables in their schemas; the default schema's log untouched.
    const counts = (await admin.query("SELECT (SELECT count(*) FROM log_a.entries)::int AS a, (SELECT count(*) FROM log_b.entries)::int AS b, (SELECT count(*) FROM public.entries)::int AS p")).rows[0];
    assert.deepEqual(counts, { a: 4, b: 1, p: 0 });
    // One sequencer per log.
    const infoA = await clusterLogInfo(url, 'log_a');
    const infoB = await clusterLogInfo(url, 'log_b');
    const infoPlain = await clusterLogInfo(url);
    assert.equal(infoA.origin, 'a.test');
    assert.equal(infoA.treeSize, 4);
    assert.equal(infoB.origin, 'b.test');
    assert.equal(infoB.treeSize, 1);
    assert.equal(infoPlain.origin, 'plain.test');
    assert.equal(infoPlain.treeSize, 0);
    assert.ok(infoA.sequencer && infoB.sequencer && infoPlain.sequencer);
    assert.equal([a1, a2].filter((s) => s.sequencer.epoch !== undefined).length, 1);
    assert.notEqual(b.sequencer.epoch, undefined);
    assert.notEqual(plain.sequencer.epoch, undefined);

    // Each log's checkpoints on its own channel only.
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(heard.includes(`${CHECKPOINT_CHANNEL}__log_a:4`), heard.join(' '));
    assert.ok(heard.includes(`${CHECKPOINT_CHANNEL}__log_b:1`), heard.join(' '));
    assert.ok(!heard.some((h) => h.startsWith(`${CHECKPOINT_CHANNEL}:`)), heard.join(' '));
  } finally {
    await admin.end();
    await Promise.all([a1, a2, b, plain].map((s) => s.close()));
  }
});

test('a schema is created on first open and migrated once, or used as an administrator made it; a bad schema name is refused; info on a missing log says so', async () => {
  const url = await fixture.server.createDatabase();
  const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresLogStorage.open(url, { schema: 'shard_2' })));
  assert.equal(stores[0]!.schema, 'shard_2');
  const row = (await stores[0]!.pool.query('SELECT current_schema() AS s, (SELECT version FROM sigstack_schema) AS v')).rows[0];
  assert.deepEqual(row, { s: 'shard_2', v: SCHEMA_VERSION });
  await Promise.all(stores.map((s) => s.close()));
  await assert.rejects(PostgresLogStorage.open(url, { schema: 'Bad-Name; DROP' }), (err: { code?: string }) => err.code === 'POSTGRES_SCHEMA_NAME_INVALID');
  await assert.rejects(clusterLogInfo(url, 'nothing_here'), (err: { code?: string; message: string }) => err.code === 'LOG_NOT_FOUND' && /schema nothing_here/.test(err.message));
  // A schema an administrator made for a role that may not create schemas in the database.
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('CREATE ROLE sigstack_limited LOGIN');
  await admin.query('CREATE SCHEMA given AUTHORIZATION sigstack_limited');
  await admin.end();
  const limitedUrl = url.replace('postgres://postgres@', 'postgres://sigstack_limited@');
  const limited = await PostgresLogStorage.open(limitedUrl, { schema: 'given' });
  assert.equal(await limited.entryCount(), 0);
  await limited.close();
  await assert.rejects(PostgresLogStorage.open(limitedUrl, { schema: 'not_given' }), (err: { code?: string; message: string }) => err.code === 'POSTGRES_PERMISSION_DENIED' && /CREATE SCHEMA not_given AUTHORIZATION/.test(err.message));
  // The default schema is empty: the shard's tables stayed in its own.
  await assert.rejects(clusterLogInfo(url), (err: { code?: string; message: string }) => err.code === 'LOG_NOT_FOUND' && /in the schemas given, shard_2: give --schema/.test(err.message));
});
