// Witnessing of a PostgreSQL log with two front ends and two real witnesses (tlog-policy file):
// the sequencing process asks, the cosignatures land in the database, and the front end that
// does not sequence serves the same cosigned checkpoint and witness status; fail-closed holds
// appends at any front end until the quorum's cosignatures are recorded; and with the log run
// as `sigstack log serve --postgres --witness-policy` processes (fail-open, then fail-closed: every
// answer then carries a quorum-cosigned checkpoint), SIGKILL of the sequencer under
// load: the new one continues witnessing from what the database records, and the witnesses
// never see a smaller tree or a fork.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { checkWitnessPolicy, formatVerifierKey, parseCheckpoint, parseSignedNote, parseTlogPolicy, verifyConsistency, type TlogPolicy } from '@sigstack/core';
import { createPublicKey } from 'node:crypto';
import { postgresLogFixture } from './postgres-log-fixture.js';
import { startClusterLogService } from '../src/log/cluster/service.js';
import { startWitnessService, type WitnessService } from '../src/witness/service.js';
import { get, hashedrekordV001, hashedrekordV002Request, newSigner, post } from './helpers.js';
import { CLI, serveLogProcess, type LogProcess } from './log-serve-process.js';

const ORIGIN = 'witnessed-cluster.test';
const fixture = postgresLogFixture('sigstack-cluster-witness-');
const { dir, keyPath, keyPem } = fixture;
const logVkey = formatVerifierKey(ORIGIN, createPublicKey(keyPem));
const signer = newSigner();
let n = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await Promise.resolve(check()).catch(() => undefined);
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

/** Two witnesses trusting the log, and a policy naming both (quorum: both). */
async function witnesses(name: string): Promise<{ ws: WitnessService[]; policyPath: string; policy: TlogPolicy; restart: (i: number) => Promise<void> }> {
  const ws: WitnessService[] = [];
  for (const w of ['w1', 'w2']) ws.push(await startWitnessService({ dir: join(dir, name, w), name: `${w}.${name}.test`, logs: [`${ORIGIN}=${logVkey}`] }));
  const lines = `witness w1 ${ws[0]!.vkey} ${ws[0]!.url}\nwitness w2 ${ws[1]!.vkey} ${ws[1]!.url}\ngroup both all w1 w2\nquorum both\n`;
  const policyPath = join(dir, name, 'policy.txt');
  writeFileSync(policyPath, `log ${logVkey}\n${lines}`);
  return {
    ws,
    policyPath,
    policy: parseTlogPolicy(lines),
    async restart(i: number) {
      const port = Number(new URL(ws[i]!.url).port);
      ws[i] = await startWitnessService({ dir: join(dir, name, `w${i + 1}`), name: `w${i + 1}.${name}.test`, port, logs: [`${ORIGIN}=${logVkey}`] });
    },
  };
}

async function appendV1(url: string) {
  const answer = await post(`${url}/api/v1/log/entries`, hashedrekordV001(signer, Buffer.from(`artifact ${process.pid} ${n++}`)));
  assert.equal(answer.status, 201, JSON.stringify(answer.json));
  return Object.values(answer.json as Record<string, { logIndex: number; verification: { inclusionProof: { checkpoint: string } } }>)[0]!;
}

async function appendV2(url: string) {
  const answer = await post(`${url}/api/v2/log/entries`, hashedrekordV002Request(signer, Buffer.from(`artifact ${process.pid} ${n++}`)));
  assert.equal(answer.status, 201, JSON.stringify(answer.json));
  return answer.json as { inclusionProof: { checkpoint: { envelope: string } } };
}

async function text(url: string): Promise<string> {
  return (await fetch(url)).text();
}

test('the sequencing process asks the witnesses; the other front end serves the same cosigned checkpoint and status', async () => {
  const url = await fixture.server.createDatabase();
  const w = await witnesses('open');
  const sequencing = await startClusterLogService({ postgres: url, keyPath, name: ORIGIN, admissionWorkers: 0, leaseMs: 1000, witnessPolicy: w.policyPath });
  const follower = await startClusterLogService({ postgres: url, keyPath, name: ORIGIN, admissionWorkers: 0, leaseMs: 1000, witnessPolicy: w.policyPath, sequence: false });
  try {
    await until(() => sequencing.sequencer.epoch !== undefined);
    // Appends through the front end that does not sequence: its answers carry both cosignatures.
    const v1 = await appendV1(follower.url);
    assert.deepEqual(checkWitnessPolicy(v1.verification.inclusionProof.checkpoint, w.policy), { cosigned: ['w1', 'w2'], quorum: true });
    const v2 = await appendV2(follower.url);
    assert.deepEqual(checkWitnessPolicy(v2.inclusionProof.checkpoint.envelope, w.policy), { cosigned: ['w1', 'w2'], quorum: true });
    await Promise.all(Array.from({ length: 10 }, () => appendV1(follower.url)));

    // Once the last round is recorded, both front ends serve the same cosigned checkpoint and status.
    const size = follower.log.published.size;
    await until(async () => (await get(`${follower.url}/api/v1/log/witnesses`)).json.cosignedSize === size);
    const [a, b] = await until(async () => {
      const both = await Promise.all([text(`${sequencing.url}/checkpoint`), text(`${follower.url}/checkpoint`)]);
      return both[0] === both[1] && parseCheckpoint(parseSignedNote(both[0]).body).size === size ? both : undefined;
    });
    assert.equal(a, b);
    assert.equal(checkWitnessPolicy(b, w.policy).quorum, true);
    const statuses = await Promise.all([get(`${sequencing.url}/api/v1/log/witnesses`), get(`${follower.url}/api/v1/log/witnesses`)]);
    assert.deepEqual(statuses[0].json, statuses[1].json);
    const status = statuses[1].json as { quorum: boolean; failClosed: boolean; cosignedSize: number; witnesses: { name: string; cosignedSize: number; behind: boolean; alert?: string }[] };
    assert.equal(status.quorum, true);
    assert.equal(status.failClosed, false);
    assert.deepEqual(status.witnesses.map((x) => [x.name, x.cosignedSize, x.behind, x.alert]), [['w1', size, false, undefined], ['w2', size, false, undefined]]);

    // The witnesses were asked by one caller only: the sequencing process (their answers match the database).
    for (const witness of w.ws) assert.equal(parseCheckpoint(parseSignedNote(witness.witness.latest(ORIGIN)!).body).size, size);
  } finally {
    await follower.close();
    await sequencing.close();
    for (const x of w.ws) await x.close();
  }
});

test('fail-closed: an append at either front end is answered only once the quorum\'s cosignatures are in the database', async () => {
  const url = await fixture.server.createDatabase();
  const w = await witnesses('closed');
  const options = { postgres: url, keyPath, name: ORIGIN, admissionWorkers: 0, leaseMs: 1000, witnessPolicy: w.policyPath, witnessFailClosed: true } as const;
  const sequencing = await startClusterLogService(options);
  const follower = await startClusterLogService({ ...options, sequence: false });
  try {
    await until(() => sequencing.sequencer.epoch !== undefined);
    const first = await appendV1(follower.url);
    assert.equal(checkWitnessPolicy(first.verification.inclusionProof.checkpoint, w.policy).quorum, true);
    const servedBefore = await text(`${follower.url}/checkpoint`);

    await w.ws[1]!.close();
    let answered = 0;
    const held = [appendV1(follower.url), appendV2(sequencing.url)].map((p) => p.then((r) => {
      answered++;
      return r;
    }));
    await sleep(1500);
    assert.equal(answered, 0, 'withheld at both front ends while w2 is down');
    // The entries are sequenced (the tree grew) but no front end serves the uncosigned checkpoint.
    assert.ok(follower.log.published.size > parseCheckpoint(parseSignedNote(servedBefore).body).size);
    assert.equal(await text(`${follower.url}/checkpoint`), servedBefore);
    const servedSize = parseCheckpoint(parseSignedNote(servedBefore).body).size;
    assert.equal((await get(`${follower.url}/api/v1/log/entries?logIndex=${servedSize}`)).status, 404, 'an entry beyond the served (cosigned) tree is not served yet');
    assert.equal(await text(`${sequencing.url}/checkpoint`), servedBefore);
    const status = (await get(`${follower.url}/api/v1/log/witnesses`)).json as { quorum: boolean; failClosed: boolean; witnesses: { name: string; behind: boolean; lastError?: string }[] };
    assert.equal(status.failClosed, true);
    assert.equal(status.quorum, false);
    assert.deepEqual(status.witnesses.map((x) => [x.name, x.behind]), [['w1', false], ['w2', true]]);
    assert.match(status.witnesses[1]!.lastError ?? '', /unreachable/);

    await w.restart(1);
    const [v1, v2] = (await Promise.all(held)) as [Awaited<ReturnType<typeof appendV1>>, Awaited<ReturnType<typeof appendV2>>];
    assert.equal(checkWitnessPolicy(v1.verification.inclusionProof.checkpoint, w.policy).quorum, true);
    assert.equal(checkWitnessPolicy(v2.inclusionProof.checkpoint.envelope, w.policy).quorum, true);
    assert.equal(checkWitnessPolicy(await text(`${follower.url}/checkpoint`), w.policy).quorum, true);
  } finally {
    await follower.close();
    await sequencing.close();
    for (const x of w.ws) await x.close().catch(() => {});
  }
});

type Process = LogProcess;

function serve(url: string, policyPath: string, failClosed: boolean): Promise<Process> {
  return serveLogProcess(['--postgres', url, '--key', keyPath, '--name', ORIGIN, '--lease-ms', '1000', '--witness-policy', policyPath, ...(failClosed ? ['--witness-fail-closed'] : [])]);
}

const cases = [
  { stop: 'SIGKILL', failClosed: false },
  { stop: 'SIGKILL', failClosed: true },
  { stop: 'SIGSTOP', failClosed: false },
] as const;
for (const { stop, failClosed } of cases) test(`${stop} of the sequencer under load (${failClosed ? 'fail-closed' : 'fail-open'}): the new one continues witnessing; the witnesses see no rollback or fork`, async () => {
  const url = await fixture.server.createDatabase();
  const w = await witnesses(`${stop}-${failClosed ? 'closed' : 'open'}`);
  // Every answer the witnesses give, and every checkpoint they cosign.
  const answers: number[] = [];
  const cosigned: string[] = [];
  for (const witness of w.ws) {
    const add = witness.witness.addCheckpoint.bind(witness.witness);
    witness.witness.addCheckpoint = (body: string) => {
      const result = add(body);
      answers.push(result.status);
      if (result.status === 200) cosigned.push(parseSignedNote(body.slice(body.indexOf('\n\n') + 2)).body);
      return result;
    };
  }
  const db = new pg.Client({ connectionString: url });
  db.on('error', () => {});
  await db.connect();
  const holder = async () => {
    const row = (await db.query('SELECT holder, epoch FROM sequencer_lease WHERE expires_at > clock_timestamp()')).rows[0];
    return row ? { pid: Number(String(row.holder).split(':')[1]), epoch: Number(row.epoch) } : undefined;
  };
  let fronts: Process[] = await Promise.all([serve(url, w.policyPath, failClosed), serve(url, w.policyPath, failClosed)]);
  // Where the load goes: every front end but a stopped one (an append sent to it waits for SIGCONT).
  let targets = fronts;
  let stopped: Process | undefined;
  let running = true;
  const seen: string[] = [];
  const loader = async () => {
    while (running) {
      const front = targets[n % targets.length]!;
      try {
        const answer = await post(`${front.url}/api/v1/log/entries`, hashedrekordV001(signer, Buffer.from(`load ${process.pid} ${n++}`)));
        if (answer.status === 201) seen.push(Object.values(answer.json as Record<string, { verification: { inclusionProof: { checkpoint: string } } }>)[0]!.verification.inclusionProof.checkpoint);
      } catch {
        await sleep(10);
      }
    }
  };
  const load = Array.from({ length: 4 }, loader);
  try {
    const first = await until(holder);
    await until(async () => Number((await db.query('SELECT size FROM witness_round')).rows[0].size) > 5);
    const victim = fronts.find((f) => f.pid === first.pid)!;
    victim.child.kill(stop);
    targets = fronts.filter((f) => f !== victim);
    if (stop === 'SIGSTOP') stopped = victim;
    const conflictsBefore = answers.filter((s) => s === 409).length;
    if (stop === 'SIGKILL') {
      // As if it died between the witnesses' answers and recording them: the database is behind the witnesses.
      await db.query('UPDATE witness_state SET cosigned_size = 0');
      fronts = fronts.filter((f) => f !== victim);
      fronts.push(await serve(url, w.policyPath, failClosed));
      targets = fronts;
    }
    const second = await until(async () => {
      const now = await holder();
      return now && now.epoch > first.epoch ? now : undefined;
    });
    // The new sequencer records rounds under its epoch, above what the old one reached.
    const before = Number((await db.query('SELECT size FROM witness_round')).rows[0].size);
    await until(async () => {
      const row = (await db.query('SELECT size, epoch FROM witness_round')).rows[0];
      return Number(row.epoch) === second.epoch && Number(row.size) > before;
    });
    if (stop === 'SIGSTOP') {
      // Resumed past its lease: whatever it still sends the witnesses is old, and is neither recorded as their state nor an alert.
      victim.child.kill('SIGCONT');
      stopped = undefined;
      await until(async () => (await get(`${victim.url}/metrics`)).bytes.toString().includes('sigstack_log_sequencer_epoch 0'));
    }
    await sleep(500);
    running = false;
    await Promise.all(load);

    const size = Number((await db.query('SELECT size FROM log_head')).rows[0].size);
    const final = await until(async () => {
      const note = await text(`${fronts[0]!.url}/checkpoint`);
      return parseCheckpoint(parseSignedNote(note).body).size === size && checkWitnessPolicy(note, w.policy).quorum ? note : undefined;
    });
    const finalRoot = parseCheckpoint(parseSignedNote(final).body).rootHash;
    const status = (await get(`${fronts[1]!.url}/api/v1/log/witnesses`)).json as { quorum: boolean; sequencerEpoch: number; witnesses: { cosignedSize: number; alert?: string; lastError?: string }[] };
    assert.equal(status.quorum, true);
    assert.equal(status.sequencerEpoch, second.epoch);
    for (const x of status.witnesses) {
      assert.equal(x.alert, undefined, 'no witness saw a larger tree than the log');
      assert.equal(x.cosignedSize, size);
    }
    if (stop === 'SIGKILL') assert.ok(answers.filter((s) => s === 409).length > conflictsBefore, 'the new sequencer caught the witnesses up from the size they named');
    // Fail-closed: every answer came with a checkpoint the quorum had cosigned, across the takeover too.
    if (failClosed) for (const note of seen) assert.equal(checkWitnessPolicy(note, w.policy).quorum, true);
    // The witnesses only ever answered 200 or a catch-up 409, and every checkpoint they cosigned is consistent with the final tree.
    assert.ok(answers.every((s) => s === 200 || s === 409), `witness answers: ${[...new Set(answers)].join(', ')}`);
    const roots = new Map<number, Buffer>();
    for (const body of [...cosigned, ...seen.map((note) => parseSignedNote(note).body)]) {
      const cp = parseCheckpoint(body);
      const known = roots.get(cp.size);
      if (known) assert.deepEqual(known, cp.rootHash, `one root at size ${cp.size}`);
      roots.set(cp.size, cp.rootHash);
    }
    for (const [s, root] of [...roots].filter((_, i) => i % Math.max(1, Math.floor(roots.size / 30)) === 0)) {
      if (s === 0) continue;
      const proof = await get(`${fronts[0]!.url}/api/v1/log/proof?firstSize=${s}&lastSize=${size}`);
      verifyConsistency(s, size, (proof.json.hashes as string[]).map((h) => Buffer.from(h, 'hex')), root, finalRoot);
    }
    const { execFileSync } = await import('node:child_process');
    const info = JSON.parse(execFileSync(process.execPath, [CLI, 'log', 'info', '--postgres', url]).toString()) as { witnessing: { roundSize: number; quorum: boolean; epoch: number; witnesses: { name: string; cosignedSize: number }[] } };
    assert.deepEqual([info.witnessing.roundSize, info.witnessing.quorum, info.witnessing.epoch], [size, true, second.epoch]);
    assert.deepEqual(info.witnessing.witnesses.map((x) => [x.name, x.cosignedSize]), [['w1', size], ['w2', size]]);
    process.stdout.write(`# witnessed across a takeover (${stop}, ${failClosed ? 'fail-closed' : 'fail-open'}): ${seen.length} acknowledged, final size ${size}, ${answers.filter((s) => s === 409).length} catch-up 409s, epochs ${first.epoch} → ${second.epoch}\n`);
  } finally {
    running = false;
    stopped?.child.kill('SIGCONT');
    await Promise.all(load);
    for (const f of fronts) f.child.kill('SIGTERM');
    await db.end();
    for (const x of w.ws) await x.close();
  }
});
