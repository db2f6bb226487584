// A log asking two real witnesses (tlog-policy file) on 127.0.0.1: cosigned /checkpoint and v2
// answers, fail-open with a witness down (reported as behind), fail-closed withholding answers
// until the quorum cosigns, catch-up on 409 after a log restart, and a 409 above the log's size
// (a rolled-back log) reported as an alert.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkWitnessPolicy, formatVerifierKey, parseTlogPolicy } from '@sigstack/core';
import { loadOrCreateKey } from '../src/keys.js';
import { startLogService, type LogService } from '../src/log/service.js';
import { startWitnessService, type WitnessService } from '../src/witness/service.js';
import { hashedrekordV001, hashedrekordV002Request, newSigner } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-witnessing-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ORIGIN = 'witnessed.test/log';
const signer = newSigner();
let n = 0;

async function append(url: string, version: 1 | 2 = 1) {
  const artifact = Buffer.from(`artifact ${n++}`);
  const res = await fetch(`${url}/api/v${version}/log/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(version === 1 ? hashedrekordV001(signer, artifact) : hashedrekordV002Request(signer, artifact)) });
  assert.equal(res.status, 201);
  return res.json() as Promise<Record<string, unknown>>;
}

async function setup(name: string, quorum: string) {
  const logDir = join(dir, name, 'log');
  const key = loadOrCreateKey(join(logDir, 'log-key.pem'));
  const logVkey = formatVerifierKey(ORIGIN, key.publicKey);
  const witnesses: WitnessService[] = [];
  for (const w of ['w1', 'w2']) witnesses.push(await startWitnessService({ dir: join(dir, name, w), name: `${w}.test`, logs: [`${ORIGIN}=${logVkey}`] }));
  const policyPath = join(dir, name, 'policy.txt');
  writeFileSync(policyPath, `log ${logVkey}\nwitness w1 ${witnesses[0]!.vkey} ${witnesses[0]!.url}\nwitness w2 ${witnesses[1]!.vkey} ${witnesses[1]!.url}\n${quorum}\n`);
  return { logDir, policyPath, witnesses, policy: parseTlogPolicy(`witness w1 ${witnesses[0]!.vkey}\nwitness w2 ${witnesses[1]!.vkey}\n${quorum}\n`) };
}

async function restartWitness(w: WitnessService, dirOf: string, name: string, logVkey: string): Promise<WitnessService> {
  const port = Number(new URL(w.url).port);
  return startWitnessService({ dir: dirOf, name, port, logs: [`${ORIGIN}=${logVkey}`] });
}

test('checkpoints and v2 answers carry both witnesses\' cosignatures; the log reports the quorum', async () => {
  const s = await setup('both', 'group all-of all w1 w2\nquorum all-of');
  const log = await startLogService({ dir: s.logDir, name: ORIGIN, witnessPolicy: s.policyPath, admissionWorkers: 0 });
  try {
    await append(log.url);
    const v2 = (await append(log.url, 2)) as { inclusionProof: { checkpoint: { envelope: string } } };
    assert.deepEqual(checkWitnessPolicy(v2.inclusionProof.checkpoint.envelope, s.policy), { cosigned: ['w1', 'w2'], quorum: true });
    const served = await (await fetch(`${log.url}/checkpoint`)).text();
    assert.equal(checkWitnessPolicy(served, s.policy).quorum, true);
    const status = (await (await fetch(`${log.url}/api/v1/log/witnesses`)).json()) as { quorum: boolean; witnesses: { behind: boolean }[] };
    assert.equal(status.quorum, true);
    assert.deepEqual(status.witnesses.map((w) => w.behind), [false, false]);
  } finally {
    await log.close();
    for (const w of s.witnesses) await w.close();
  }
});

test('fail-open: a witness that is down never blocks; fail-closed withholds answers until the quorum cosigns', async () => {
  const s = await setup('down', 'group all-of all w1 w2\nquorum all-of');
  const logVkey = formatVerifierKey(ORIGIN, loadOrCreateKey(join(s.logDir, 'log-key.pem')).publicKey);
  await s.witnesses[1]!.close();
  let log: LogService = await startLogService({ dir: s.logDir, name: ORIGIN, witnessPolicy: s.policyPath, admissionWorkers: 0 });
  try {
    const started = Date.now();
    await append(log.url);
    assert.ok(Date.now() - started < 3000, 'fail-open answers promptly');
    const status = (await (await fetch(`${log.url}/api/v1/log/witnesses`)).json()) as { quorum: boolean; witnesses: { name: string; behind: boolean; lastError?: string }[] };
    assert.equal(status.quorum, false);
    assert.deepEqual(status.witnesses.map((w) => [w.name, w.behind]), [['w1', false], ['w2', true]]);
    assert.match(status.witnesses[1]?.lastError ?? '', /unreachable/);
    const served = await (await fetch(`${log.url}/checkpoint`)).text();
    assert.deepEqual(checkWitnessPolicy(served, s.policy).cosigned, ['w1']);
    await log.close();

    // Fail-closed: the answer waits for w2; it comes once w2 is back (and w1, restarted with the log, is caught up after a 409).
    log = await startLogService({ dir: s.logDir, name: ORIGIN, witnessPolicy: s.policyPath, witnessFailClosed: true, admissionWorkers: 0 });
    let answered = false;
    const pending = append(log.url).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(answered, false, 'withheld while the quorum is missing');
    s.witnesses[1] = await restartWitness(s.witnesses[1]!, join(dir, 'down', 'w2'), 'w2.test', logVkey);
    const entry = Object.values(await pending)[0] as { verification: { inclusionProof: { checkpoint: string } } };
    assert.equal(checkWitnessPolicy(entry.verification.inclusionProof.checkpoint, s.policy).quorum, true);
    const status2 = (await (await fetch(`${log.url}/api/v1/log/witnesses`)).json()) as { witnesses: { cosignedSize: number }[] };
    assert.deepEqual(status2.witnesses.map((w) => w.cosignedSize), [log.log.checkpoint.size, log.log.checkpoint.size]);
  } finally {
    await log.close();
    for (const w of s.witnesses) await w.close().catch(() => {});
  }
});

test('a rolled-back log: the witness answers 409 with a size above the log\'s, reported as an alert', async () => {
  const s = await setup('rollback', 'group any-of any w1 w2\nquorum any-of');
  let log = await startLogService({ dir: s.logDir, name: ORIGIN, witnessPolicy: s.policyPath, admissionWorkers: 0 });
  await append(log.url);
  await log.close();
  cpSync(s.logDir, `${s.logDir}-backup`, { recursive: true });
  log = await startLogService({ dir: s.logDir, name: ORIGIN, witnessPolicy: s.policyPath, admissionWorkers: 0 });
  await append(log.url);
  await append(log.url);
  await log.close();
  // Restore the older copy: the witnesses have cosigned size 3, the log is back at 1.
  rmSync(s.logDir, { recursive: true, force: true });
  cpSync(`${s.logDir}-backup`, s.logDir, { recursive: true });
  log = await startLogService({ dir: s.logDir, name: ORIGIN, witnessPolicy: s.policyPath, admissionWorkers: 0 });
  try {
    await append(log.url);
    const status = (await (await fetch(`${log.url}/api/v1/log/witnesses`)).json()) as { quorum: boolean; witnesses: { alert?: string }[] };
    assert.equal(status.quorum, false);
    for (const w of status.witnesses) assert.match(w.alert ?? '', /cosigned size 3 of this log, above the log's own size \d: a fork or a rollback/);
  } finally {
    await log.close();
    for (const w of s.witnesses) await w.close();
  }
});
