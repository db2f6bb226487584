// Backups of a PostgreSQL log with the built CLI against real processes: two `sigstack log
// serve --postgres` front ends under load while `sigstack backup --postgres` takes one
// checkpoint's snapshot; `sigstack restore --postgres` into a fresh database (a non-empty one
// refused) served by a new `log serve --postgres` process that proves the old answers' entries
// and checkpoints and takes new appends; the same archive restored into a directory and served
// from SQLite; and a stack's SQLite backup restored into PostgreSQL.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, leafHash, parseCheckpoint, parseSignedNote, verifyConsistency, verifyInclusion } from '@sigstack/core';
import { postgresLogFixture } from './postgres-log-fixture.js';
import { startClusterLogService } from '../src/log/cluster/service.js';
import { startLogService } from '../src/log/service.js';
import { startStack } from '../src/stack.js';
import { get, hashedrekordV001, hashedrekordV002Request, newSigner, post } from './helpers.js';
import { serveLogProcess, type LogProcess } from './log-serve-process.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(repo, 'packages/cli/dist/bundle/main.js');
const ORIGIN = 'backup-pg.test';
const fixture = postgresLogFixture('sigstack-backup-pg-');
const { dir, keyPath } = fixture;
const signer = newSigner();
let n = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: repo, timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

function serve(url: string): Promise<LogProcess> {
  return serveLogProcess(['--postgres', url, '--key', keyPath, '--name', ORIGIN, '--lease-ms', '1000']);
}

interface Answer {
  index: number;
  leaf: Buffer;
  treeSize: number;
  rootHash: Buffer;
  hashes: Buffer[];
  at: number;
  /** sha256 of the artifact, a search key. */
  digest: string;
}

async function append(url: string): Promise<Answer> {
  const artifact = Buffer.from(`entry ${process.pid} ${n++}`);
  const answer = await post(`${url}/api/v1/log/entries`, hashedrekordV001(signer, artifact));
  assert.equal(answer.status, 201, JSON.stringify(answer.json));
  const entry = Object.values(answer.json as Record<string, { body: string; logIndex: number; verification: { inclusionProof: { treeSize: number; rootHash: string; hashes: string[] } } }>)[0]!;
  const proof = entry.verification.inclusionProof;
  return { index: entry.logIndex, leaf: leafHash(Buffer.from(entry.body, 'base64')), treeSize: proof.treeSize, rootHash: Buffer.from(proof.rootHash, 'hex'), hashes: proof.hashes.map((h) => Buffer.from(h, 'hex')), at: Date.now(), digest: createHash('sha256').update(artifact).digest('hex') };
}

/** The old answers still hold against `url`: each entry is there, and its old checkpoint is consistent with the served tree. */
async function checkOldAnswers(url: string, answers: Answer[], size: number): Promise<void> {
  const served = (await get(`${url}/api/v1/log`)).json as { treeSize: number; rootHash: string };
  const root = Buffer.from(served.rootHash, 'hex');
  for (const a of answers.filter((_, i) => i % Math.max(1, Math.floor(answers.length / 30)) === 0)) {
    verifyInclusion(a.index, a.treeSize, a.leaf, a.hashes, a.rootHash); // the old proof, against its own checkpoint
    const consistency = await get(`${url}/api/v1/log/proof?firstSize=${a.treeSize}&lastSize=${served.treeSize}`);
    verifyConsistency(a.treeSize, served.treeSize, (consistency.json.hashes as string[]).map((h) => Buffer.from(h, 'hex')), a.rootHash, root);
    const now = Object.values((await get(`${url}/api/v1/log/entries?logIndex=${a.index}`)).json as Record<string, { body: string; verification: { inclusionProof: { treeSize: number; rootHash: string; hashes: string[] } } }>)[0]!;
    assert.deepEqual(leafHash(Buffer.from(now.body, 'base64')), a.leaf, `entry ${a.index} is the acknowledged one`);
    const p = now.verification.inclusionProof;
    verifyInclusion(a.index, p.treeSize, a.leaf, p.hashes.map((h) => Buffer.from(h, 'hex')), Buffer.from(p.rootHash, 'hex'));
  }
  assert.ok(served.treeSize >= size);
}

test('a cluster log backed up under load restores into a fresh database, served by a new process, and into a directory', async () => {
  const source = await fixture.server.createDatabase();
  const fronts = await Promise.all([serve(source), serve(source)]);
  const answers: Answer[] = [];
  let running = true;
  const loader = async () => {
    while (running) answers.push(await append(fronts[n % 2]!.url).catch(async () => (await sleep(10), undefined as unknown as Answer)));
  };
  const load = Array.from({ length: 4 }, loader);
  let restoredFront: LogProcess | undefined;
  try {
    while (answers.filter(Boolean).length < 300) await sleep(50);
    const out = join(dir, 'cluster.tar.gz');
    const startedAt = Date.now();
    const made = await run(['backup', '--postgres', source, '--key', keyPath, '--out', out]);
    assert.equal(made.code, 0, made.stderr);
    const logLine = /log\s+log\/log\.db: (\S+) size (\d+) root ([0-9a-f]{64})/.exec(made.stdout);
    assert.ok(logLine, made.stdout);
    assert.equal(logLine[1], ORIGIN);
    const size = Number(logLine[2]);
    await sleep(300);
    running = false;
    await Promise.all(load);
    const acked = answers.filter(Boolean);
    const before = acked.filter((a) => a.at < startedAt);
    assert.ok(before.every((a) => a.index < size), 'everything acknowledged before the backup began is in it');
    const grown = (await get(`${fronts[0]!.url}/api/v1/log`)).json as { treeSize: number; rootHash: string };
    assert.ok(grown.treeSize > size, `entries kept arriving during and after the backup (${grown.treeSize} > ${size})`);
    // The snapshot is the live log at that size: its root is the one the live log proves for it.
    const liveRoot = await get(`${fronts[0]!.url}/api/v1/log/proof?firstSize=${size}&lastSize=${grown.treeSize}`);
    verifyConsistency(size, grown.treeSize, (liveRoot.json.hashes as string[]).map((h) => Buffer.from(h, 'hex')), Buffer.from(logLine[3], 'hex'), Buffer.from(grown.rootHash, 'hex'));

    const target = await fixture.server.createDatabase();
    const restored = await run(['restore', out, '--postgres', target, '--key', keyPath]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, new RegExp(`verified\\s+${ORIGIN} size ${size} root ${logLine[3]}, \\d+ tiles recomputed`));
    const again = await run(['restore', out, '--postgres', target]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /RESTORE_TARGET_NOT_EMPTY/);
    const intoLive = await run(['restore', out, '--postgres', source]);
    assert.match(intoLive.stderr, /RESTORE_TARGET_NOT_EMPTY/);
    const wrongKey = join(dir, 'other-key.pem');
    writeFileSync(wrongKey, generateKeyPair('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const refused = await run(['restore', out, '--postgres', await fixture.server.createDatabase(), '--key', wrongKey]);
    assert.match(refused.stderr, /LOG_KEY_MISMATCH/);

    // A damaged archive is refused before anything is written to the database.
    const damaged = join(dir, 'damaged.tar.gz');
    writeFileSync(damaged, readFileSync(out).subarray(0, Math.floor(readFileSync(out).length / 2)));
    const empty = await fixture.server.createDatabase();
    const refusedDamaged = await run(['restore', damaged, '--postgres', empty]);
    assert.match(refusedDamaged.stderr, /BACKUP_CORRUPT/);
    const probe = new pg.Client({ connectionString: empty });
    await probe.connect();
    assert.equal((await probe.query("SELECT to_regclass('entries') IS NULL AS none")).rows[0].none, true, 'nothing written');
    await probe.end();

    restoredFront = await serve(target);
    const served = (await get(`${restoredFront.url}/api/v1/log`)).json as { treeSize: number; rootHash: string };
    assert.equal(served.treeSize, size);
    assert.equal(served.rootHash, logLine[3]);
    await checkOldAnswers(restoredFront.url, acked.filter((a) => a.index < size && a.treeSize <= size), size);
    // It takes new entries, continuing the tree.
    const next = await append(restoredFront.url);
    assert.equal(next.index, size);
    // Searches were restored with the entries.
    const search = await post(`${restoredFront.url}/api/v1/index/retrieve`, { hash: `sha256:${acked.find((a) => a.index < size)!.digest}` });
    assert.equal(search.status, 200);
    assert.equal((search.json as string[]).length, 1);

    // The same archive into a directory: served from SQLite at the same size and root.
    const restoredDir = join(dir, 'to-sqlite');
    const toDir = await run(['restore', out, '--dir', restoredDir]);
    assert.equal(toDir.code, 0, toDir.stderr);
    const sqlite = await startLogService({ dir: join(restoredDir, 'log'), keyPath, name: ORIGIN, admissionWorkers: 0 });
    try {
      assert.equal(sqlite.log.checkpoint.size, size);
      assert.equal((await sqlite.log.rootAt(size)).toString('hex'), logLine[3]);
      await checkOldAnswers(sqlite.url, acked.filter((a) => a.index < size && a.treeSize <= size).slice(0, 40), size);
    } finally {
      await sqlite.close();
    }
  } finally {
    running = false;
    await Promise.all(load);
    for (const f of [...fronts, ...(restoredFront ? [restoredFront] : [])]) f.child.kill('SIGTERM');
  }
});

test('a stack\'s SQLite backup restores into PostgreSQL and is served there', async () => {
  const stackDir = join(dir, 'stack');
  const stack = await startStack({ dir: stackDir, port: 0, admissionWorkers: 0, warn: () => {} });
  const v2 = [];
  try {
    for (let i = 0; i < 20; i++) {
      const answer = await post(`${stack.urls.rekor}/api/v2/log/entries`, hashedrekordV002Request(signer, Buffer.from(`stack entry ${i}`)));
      assert.equal(answer.status, 201);
      v2.push(answer.json as { logIndex: string; inclusionProof: { treeSize: string; rootHash: string; checkpoint: { envelope: string } } });
    }
  } finally {
    await stack.close();
  }
  const out = join(dir, 'stack.tar.gz');
  const made = await run(['backup', '--dir', stackDir, '--out', out]);
  assert.equal(made.code, 0, made.stderr);
  const target = await fixture.server.createDatabase();
  // Keys left out: the checkpoint is checked against the backup's trusted root.
  const restored = await run(['restore', out, '--postgres', target]);
  assert.equal(restored.code, 0, restored.stderr);
  const origin = /verified\s+(\S+) size 20 root/.exec(restored.stdout)?.[1];
  assert.ok(origin, restored.stdout);
  // The log ID was worked out from the key its checkpoint verified with: another key is refused.
  await assert.rejects(startClusterLogService({ postgres: target, keyPath, name: origin, admissionWorkers: 0 }), (err: { code?: string }) => err.code === 'LOG_KEY_MISMATCH');
  const service = await startClusterLogService({ postgres: target, keyPath: join(stackDir, 'log', 'log-key.pem'), name: origin, admissionWorkers: 0, leaseMs: 1000 });
  try {
    assert.equal(service.log.checkpoint.size, 20);
    const last = v2[v2.length - 1]!;
    assert.equal(service.log.checkpoint.rootHash.toString('base64'), last.inclusionProof.rootHash);
    assert.equal(parseCheckpoint(parseSignedNote(service.log.checkpoint.note).body).origin, origin);
    const more = await post(`${service.url}/api/v2/log/entries`, hashedrekordV002Request(signer, Buffer.from('after the move')));
    assert.equal(more.status, 201, JSON.stringify(more.json));
    assert.equal((more.json as { logIndex: string }).logIndex, '20');
  } finally {
    await service.close();
  }
});
