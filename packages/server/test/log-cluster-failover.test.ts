// Failover of a PostgreSQL log run as three `sigstack log serve --postgres` processes under
// load: the sequencer SIGKILLed again and again (takeover times recorded, each < 5 s); the
// sequencer SIGSTOPped past its lease and resumed (it steps down, another sequences, nothing
// forks); its database connections terminated and PostgreSQL restarted (writes resume by
// themselves). After each: every acknowledged entry is in the final log with a verifying
// inclusion proof, every checkpoint seen is consistent with the final one, no index gap.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { leafHash, parseCheckpoint, parseSignedNote, verifyConsistency, verifyInclusion } from '@sigstack/core';
import { postgresLogFixture } from './postgres-log-fixture.js';
import { hashedrekordV001, newSigner, post, get } from './helpers.js';
import { CLI, serveLogProcess, type LogProcess } from './log-serve-process.js';

const fixture = postgresLogFixture('sigstack-failover-');
const { keyPath } = fixture;

type FrontEnd = LogProcess;

function startFrontEnd(url: string): Promise<FrontEnd> {
  return serveLogProcess(['--postgres', url, '--key', keyPath, '--name', 'failover.test', '--lease-ms', '1000']);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lease(db: pg.Client): Promise<{ pid: number; epoch: number }> {
  const row = (await db.query('SELECT holder, epoch FROM sequencer_lease WHERE id = 1 AND expires_at > clock_timestamp()')).rows[0];
  return row ? { pid: Number(String(row.holder).split(':')[1]), epoch: Number(row.epoch) } : { pid: 0, epoch: 0 };
}

async function waitFor<T>(fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

/** Appends distinct entries round-robin over the live front ends until stopped; records what was acknowledged. */
function load(fronts: () => FrontEnd[]) {
  const signer = newSigner();
  const acked: { index: number; leaf: Buffer }[] = [];
  const checkpoints: string[] = [];
  let n = 0;
  let running = true;
  const worker = async () => {
    while (running) {
      const live = fronts();
      const front = live[n % live.length];
      const body = hashedrekordV001(signer, Buffer.from(`load ${process.pid} ${n++}`));
      if (!front) {
        await sleep(10);
        continue;
      }
      try {
        const answer = await post(`${front.url}/api/v1/log/entries`, body);
        if (answer.status === 201) {
          const entry = Object.values(answer.json as Record<string, { body: string; logIndex: number; verification: { inclusionProof: { checkpoint: string } } }>)[0]!;
          acked.push({ index: entry.logIndex, leaf: leafHash(Buffer.from(entry.body, 'base64')) });
          checkpoints.push(entry.verification.inclusionProof.checkpoint);
        }
      } catch {
        await sleep(10); // a killed or paused front end: the client moves on
      }
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  return {
    acked,
    checkpoints,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** The invariants: nothing acknowledged lost, every checkpoint consistent with the final one, no gap. */
async function checkLog(front: FrontEnd, db: pg.Client, acked: { index: number; leaf: Buffer }[], checkpoints: string[]): Promise<number> {
  await waitFor(async () => (Number((await db.query('SELECT count(*) AS n FROM pending WHERE idx IS NULL')).rows[0].n) === 0 ? true : undefined), 10_000).catch(async (err) => {
    const state = { pending: (await db.query('SELECT count(*) AS n FROM pending WHERE idx IS NULL')).rows[0].n, lease: (await db.query('SELECT *, clock_timestamp() AS now FROM sequencer_lease')).rows[0] };
    throw new Error(`${(err as Error).message}: pending entries not sequenced: ${JSON.stringify(state)}`);
  });
  const size = Number((await db.query('SELECT size FROM log_head')).rows[0].size);
  const stats = (await db.query('SELECT count(*) AS n, COALESCE(max(idx), -1) AS max FROM entries')).rows[0];
  assert.equal(Number(stats.n), size, 'no index gap');
  assert.equal(Number(stats.max), size - 1);
  const final = await waitFor(async () => {
    const answer = await get(`${front.url}/api/v1/log`);
    return answer.json?.treeSize === size ? answer.json : undefined;
  }, 5000).catch(async (err) => {
    throw new Error(`${(err as Error).message}: the front end serves ${JSON.stringify((await get(`${front.url}/api/v1/log`).catch((e) => ({ json: String(e) }))).json)}, the log has ${size}`);
  });
  const finalRoot = Buffer.from(final.rootHash, 'hex');
  for (const { index, leaf } of acked) {
    const stored = (await db.query('SELECT leaf_hash FROM entries WHERE idx = $1', [index])).rows[0];
    assert.ok(stored, `acknowledged entry ${index} is in the log`);
    assert.deepEqual(stored.leaf_hash, leaf, `entry ${index} is the acknowledged one`);
  }
  // Inclusion proofs of a sample of acknowledged entries against the final tree.
  for (const { index, leaf } of acked.filter((_, i) => i % Math.max(1, Math.floor(acked.length / 40)) === 0)) {
    const proof = await get(`${front.url}/api/v1/log/entries?logIndex=${index}`);
    const hashes = (Object.values(proof.json as Record<string, { verification: { inclusionProof: { hashes: string[]; treeSize: number; rootHash: string } } }>)[0]!).verification.inclusionProof;
    verifyInclusion(index, hashes.treeSize, leaf, hashes.hashes.map((h) => Buffer.from(h, 'hex')), Buffer.from(hashes.rootHash, 'hex'));
  }
  // Every checkpoint any front end published is consistent with the final tree.
  const seen = new Map<number, Buffer>();
  for (const note of checkpoints) {
    const cp = parseCheckpoint(parseSignedNote(note).body);
    const known = seen.get(cp.size);
    if (known) assert.deepEqual(known, cp.rootHash, `one root at size ${cp.size}`);
    seen.set(cp.size, cp.rootHash);
  }
  for (const [s, root] of [...seen].filter((_, i) => i % Math.max(1, Math.floor(seen.size / 40)) === 0)) {
    const proof = await get(`${front.url}/api/v1/log/proof?firstSize=${s}&lastSize=${size}`);
    verifyConsistency(s, size, (proof.json.hashes as string[]).map((h) => Buffer.from(h, 'hex')), root, finalRoot);
  }
  return size;
}

test('the sequencer SIGKILLed under load, three times: takeover < 5 s each, nothing acknowledged lost, no fork, no gap', async () => {
  const url = await fixture.server.createDatabase();
  const db = new pg.Client({ connectionString: url });
  db.on('error', () => {});
  await db.connect();
  let fronts: FrontEnd[] = await Promise.all([startFrontEnd(url), startFrontEnd(url), startFrontEnd(url)]);
  const traffic = load(() => fronts);
  const takeovers: number[] = [];
  for (let round = 0; round < 3; round++) {
    await sleep(700);
    const before = await waitFor(async () => ((await lease(db)).pid ? lease(db) : undefined), 5000);
    const victim = fronts.find((f) => f.pid === before.pid)!;
    assert.ok(victim, 'the lease holder is one of the front ends');
    const killed = Date.now();
    victim.child.kill('SIGKILL');
    fronts = fronts.filter((f) => f !== victim);
    const after = await waitFor(async () => {
      const now = await lease(db);
      return now.epoch > before.epoch && now.pid !== before.pid && now.pid !== 0 ? now : undefined;
    }, 5000);
    takeovers.push(Date.now() - killed);
    assert.ok(fronts.some((f) => f.pid === after.pid));
    fronts.push(await startFrontEnd(url));
  }
  await sleep(500);
  await traffic.stop();
  assert.ok(traffic.acked.length > 50, `entries acknowledged under load: ${traffic.acked.length}`);
  const size = await checkLog(fronts[0]!, db, traffic.acked, traffic.checkpoints);
  process.stdout.write(`# takeover after SIGKILL: ${takeovers.join(', ')} ms; ${traffic.acked.length} acknowledged, final size ${size}\n`);
  for (const t of takeovers) assert.ok(t < 5000, `takeover in ${t} ms`);
  for (const f of fronts) f.child.kill('SIGTERM');
  await db.end();
});

test('the sequencer SIGSTOPped past its lease steps down on SIGCONT; its connections terminated and PostgreSQL restarted, writes resume', async () => {
  const url = await fixture.server.createDatabase();
  const db = new pg.Client({ connectionString: url });
  db.on('error', () => {});
  await db.connect();
  const fronts = await Promise.all([startFrontEnd(url), startFrontEnd(url), startFrontEnd(url)]);
  const live = new Set(fronts);
  const traffic = load(() => [...live]);
  await sleep(500);
  const first = await waitFor(async () => ((await lease(db)).pid ? lease(db) : undefined), 5000);
  const paused = fronts.find((f) => f.pid === first.pid)!;
  live.delete(paused);
  paused.child.kill('SIGSTOP');
  const next = await waitFor(async () => {
    const now = await lease(db);
    return now.epoch > first.epoch && now.pid !== 0 ? now : undefined;
  }, 5000);
  assert.notEqual(next.pid, paused.pid);
  const sizeWhilePaused = Number((await db.query('SELECT size FROM log_head')).rows[0].size);
  await sleep(700); // others append meanwhile
  assert.ok(Number((await db.query('SELECT size FROM log_head')).rows[0].size) > sizeWhilePaused, 'another sequences');
  paused.child.kill('SIGCONT');
  await sleep(1000);
  // It stepped down (its renewal found another epoch, its writes are fenced) and still serves reads and appends.
  const metrics = (await get(`${paused.url}/metrics`)).bytes.toString();
  assert.match(metrics, /sigstack_log_lease_changes_total\{event="lost"\} 1/);
  assert.match(metrics, /sigstack_log_sequencer_epoch 0/);
  assert.equal((await lease(db)).pid, next.pid);
  live.add(paused);

  // The sequencer's database connections cut.
  const holder = await lease(db);
  await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [`sigstack-log:${holder.pid}`]);
  await sleep(700);
  // PostgreSQL itself restarted under load.
  await db.end();
  await fixture.server.restart();
  const db2 = new pg.Client({ connectionString: url });
  db2.on('error', () => {});
  await db2.connect();
  const sizeAfterRestart = Number((await db2.query('SELECT size FROM log_head')).rows[0].size);
  await waitFor(async () => (Number((await db2.query('SELECT size FROM log_head')).rows[0].size) > sizeAfterRestart + 20 ? true : undefined), 8000);
  await traffic.stop();
  await checkLog(fronts[0]!, db2, traffic.acked, traffic.checkpoints);
  for (const f of fronts) f.child.kill('SIGTERM');
  await db2.end();
});

test('sigstack log info --postgres: size, sequencer and pending; an unreachable database is exit 1 with a clear error', async () => {
  const url = await fixture.server.createDatabase();
  const front = await startFrontEnd(url);
  assert.equal((await post(`${front.url}/api/v1/log/entries`, hashedrekordV001(newSigner(), Buffer.from('info')))).status, 201);
  const { execFileSync, spawnSync } = await import('node:child_process');
  const info = JSON.parse(execFileSync(process.execPath, [CLI, 'log', 'info', '--postgres', url]).toString());
  assert.equal(info.origin, 'failover.test');
  assert.equal(info.treeSize, 1);
  assert.equal(info.pending, 0);
  assert.equal(info.sequencer.holder.split(':')[1], String(front.pid));
  assert.ok(info.sequencer.epoch >= 1 && info.sequencer.leaseRemainingMs > 0);
  front.child.kill('SIGTERM');
  const down = spawnSync(process.execPath, [CLI, 'log', 'info', '--postgres', `postgres://u:pw@127.0.0.1:${fixture.server.port + 1}/x`]);
  assert.equal(down.status, 1);
  assert.match(down.stderr.toString(), /POSTGRES_UNREACHABLE.*cannot connect to PostgreSQL at postgres:\/\/u:\*\*\*@/);
  const serve = spawnSync(process.execPath, [CLI, 'log', 'serve', '--postgres', `postgres://u:pw@127.0.0.1:${fixture.server.port + 1}/x`, '--key', keyPath, '--name', 'x']);
  assert.equal(serve.status, 1);
  assert.match(serve.stderr.toString(), /POSTGRES_UNREACHABLE/);
});
