// The monitor against real logs on 127.0.0.1 (tiles and Rekor v1 reads): identity matches
// reported once each, a split view served through a switch caught as the checks name it,
// bad signatures, unreachable logs (errors, not alerts), and witnesses' cosigned views.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdentityMatcher, formatAddCheckpointRequest, formatVerifierKey, parseCosignerVkey, parseMonitoredValues } from '@sigstack/core';
import { startLogService, type LogService } from '../src/log/service.js';
import { startWitnessService } from '../src/witness/service.js';
import { MonitorOutputs, RekorV1Reader, TilesReader, runMonitor, compareStates, readMonitorState, type MonitorEvent } from '../src/monitor/index.js';
import { OIDC_ISSUER, addEntry, certEntry, identityCertificate, startSwitch } from './monitor-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-monitor-'));
const ORIGIN = 'split.test/log';
const pairs: { a: LogService; b: LogService }[] = [];
let alice: Awaited<ReturnType<typeof identityCertificate>>;
let bob: Awaited<ReturnType<typeof identityCertificate>>;

/** Two logs with the same key and origin and 3 common entries: A then gets 2 more, B 1 more. */
async function splitPair(name: string) {
  const a = await startLogService({ dir: join(dir, `${name}-a`), name: ORIGIN, admissionWorkers: 0 });
  // The same key and origin: a second tree the operator could show some clients.
  const b = await startLogService({ dir: join(dir, `${name}-b`), name: ORIGIN, keyPath: join(dir, `${name}-a`, 'log-key.pem'), admissionWorkers: 0 });
  pairs.push({ a, b });
  for (let i = 0; i < 3; i++) {
    const entry = certEntry(i === 1 ? alice : bob, Buffer.from(`common ${i}`));
    await addEntry(a.url, entry);
    await addEntry(b.url, entry);
  }
  await addEntry(a.url, certEntry(bob, Buffer.from('only in A 1')));
  await addEntry(a.url, certEntry(bob, Buffer.from('only in A 2')));
  await addEntry(b.url, certEntry(bob, Buffer.from('only in B 1')));
  return { a, b };
}

before(async () => {
  alice = await identityCertificate('alice@example.test', [{ oid: '1.3.6.1.4.1.57264.1.12', value: 'https://github.com/acme/app' }]);
  bob = await identityCertificate('bob@example.test');
});
after(async () => {
  for (const { a, b } of pairs) {
    await a.close();
    await b.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

const matcher = new IdentityMatcher(parseMonitoredValues({ monitoredValues: { certIdentities: [{ certSubject: '^alice@example\\.test$', issuers: ['oidc\\.example\\.test'] }] } }));

function collect() {
  const events: MonitorEvent[] = [];
  return { events, outputs: new MonitorOutputs({ stdout: (line) => events.push(JSON.parse(line) as MonitorEvent) }) };
}

for (const api of ['tiles', 'v1'] as const) {
  test(`${api}: a cold monitor reports each watched entry once, then only new ones, then nothing`, async () => {
    const state = join(dir, `quiet-${api}.json`);
    const log = await startLogService({ dir: join(dir, `quiet-${api}`), admissionWorkers: 0 });
    try {
      const key = log.log.signer.publicKey;
      const reader = api === 'tiles' ? new TilesReader(log.url, key) : new RekorV1Reader(log.url, key);
      // Appended concurrently (batched by the log); the watched ones' indexes come from the answers.
      const added = await Promise.all(Array.from({ length: 270 }, (_, i) => addEntry(log.url, certEntry(i % 100 === 7 ? alice : bob, Buffer.from(`${api} ${i}`)))));
      const watched = added.filter((_, i) => i % 100 === 7).map((r) => r.logIndex).sort((x, y) => x - y);
      const run = async () => {
        const { events, outputs } = collect();
        const result = await runMonitor({ logUrl: log.url, reader, logKey: key, statePath: state, matcher, outputs });
        return { result, events };
      };
      const first = await run();
      assert.deepEqual([first.result.alerts, first.result.errors, first.result.matches, first.result.scanned], [0, 0, 3, 270], JSON.stringify(first.events));
      assert.deepEqual(first.events.map((e) => e.logIndex), watched);
      const m = first.events[0] as Record<string, unknown>;
      assert.equal(m.identityType, 'certIdentity');
      assert.deepEqual(m.matched, { certSubject: 'alice@example.test', issuer: OIDC_ISSUER });
      assert.match(String(m.uuid), /^[0-9a-f]{64,80}$/);
      assert.equal(readMonitorState(state)?.size, 270);

      await addEntry(log.url, certEntry(alice, Buffer.from(`${api} later`)));
      await addEntry(log.url, certEntry(bob, Buffer.from(`${api} later bob`)));
      const second = await run();
      assert.deepEqual(second.events.map((e) => [e.type, e.logIndex]), [['match', 270]]);
      const third = await run();
      assert.deepEqual([third.events, third.result.alerts, third.result.errors], [[], 0, 0]);
      assert.equal(readMonitorState(state)?.size, 272);
    } finally {
      await log.close();
    }
  });
}

test('fingerprint, OID (Fulcio extension by name) and subject matchers', async () => {
  const log = await startLogService({ dir: join(dir, 'matchers'), admissionWorkers: 0 });
  try {
    const { X509 } = await import('@sigstack/core');
    const fp = (await import('node:crypto')).createHash('sha256').update(X509.fromPem(bob.pem).der).digest('hex');
    await addEntry(log.url, certEntry(alice, Buffer.from('m1')));
    await addEntry(log.url, certEntry(bob, Buffer.from('m2')));
    const config = parseMonitoredValues({ monitoredValues: { fingerprints: [fp.toUpperCase()], oidMatchers: { fulcioExtensions: { 'source-repository-uri': ['https://github.com/acme/app'] } } } });
    const { events, outputs } = collect();
    const key = log.log.signer.publicKey;
    await runMonitor({ logUrl: log.url, reader: new TilesReader(log.url, key), logKey: key, statePath: join(dir, 'matchers.json'), matcher: new IdentityMatcher(config), outputs });
    assert.deepEqual(events.map((e) => [e.logIndex, e.identityType]), [[0, 'oidExtension'], [1, 'fingerprint']]);
  } finally {
    await log.close();
  }
});

for (const api of ['tiles', 'v1'] as const) {
  test(`${api}: a split view served through a switch is caught, named, and never saved`, async () => {
    const { a, b } = await splitPair(api);
    const sw = await startSwitch(a.url);
    const state = join(dir, `split-${api}.json`);
    const key = a.log.signer.publicKey;
    const reader = api === 'tiles' ? new TilesReader(sw.url, key) : new RekorV1Reader(sw.url, key);
    const run = async () => {
      const { events, outputs } = collect();
      const result = await runMonitor({ logUrl: sw.url, reader, logKey: key, statePath: state, matcher, outputs });
      return { result, alerts: events.filter((e) => e.type === 'alert') };
    };
    try {
      assert.equal((await run()).result.alerts, 0);
      const saved = readFileSync(state, 'utf8');
      sw.to(b.url); // B: size 4 < 5
      let r = await run();
      assert.deepEqual(r.alerts.map((e) => e.check), ['smaller than seen']);
      await addEntry(b.url, certEntry(bob, Buffer.from('only in B 2')));
      r = await run(); // B: size 5, another root
      assert.deepEqual(r.alerts.map((e) => e.check), ['different root at size N']);
      assert.match(String(r.alerts[0]?.message), /different root at size 5/);
      const evidence = r.alerts[0]?.evidence as Record<string, string>;
      assert.ok(evidence.saved?.includes('\n5\n') && evidence.latest?.includes('\n5\n'), 'both signed checkpoints are the evidence');
      await addEntry(b.url, certEntry(bob, Buffer.from('only in B 3')));
      r = await run(); // B: size 6, not an extension of A's 5
      assert.deepEqual(r.alerts.map((e) => e.check), ['not consistent']);
      const ev = r.alerts[0]?.evidence as Record<string, unknown>;
      assert.ok(api === 'tiles' ? typeof ev.computedOldRoot === 'string' : Array.isArray(ev.proof), JSON.stringify(ev));
      assert.equal(readFileSync(state, 'utf8'), saved, 'an alert never becomes the saved state');
      sw.to(a.url);
      assert.equal((await run()).result.alerts, 0, 'the honest view is still consistent with the state');

      // Gossip: the states of two monitors, one shown each tree.
      const other = join(dir, `split-${api}-b.json`);
      sw.to(b.url);
      const { outputs } = collect();
      await runMonitor({ logUrl: sw.url, reader, logKey: key, statePath: other, outputs });
      const verdict = await compareStates(readMonitorState(state)!, readMonitorState(other)!, api === 'tiles' ? new TilesReader(b.url, key) : new RekorV1Reader(b.url, key));
      assert.equal(verdict.consistent, false);
    } finally {
      await sw.close();
    }
  });
}

test('bad signature, and an unreachable log is an error, not an alert', async () => {
  const { a } = pairs[0]!;
  const stranger = generateKeyPairSync('ed25519').publicKey;
  let { events, outputs } = collect();
  const r1 = await runMonitor({ logUrl: a.url, reader: new TilesReader(a.url, stranger), logKey: stranger, statePath: join(dir, 'bad.json'), outputs });
  assert.deepEqual([r1.alerts, events[0]?.check], [1, 'bad signature']);
  assert.equal(existsSync(join(dir, 'bad.json')), false);
  ({ events, outputs } = collect());
  const r2 = await runMonitor({ logUrl: 'http://127.0.0.1:9', reader: new RekorV1Reader('http://127.0.0.1:9', stranger), logKey: stranger, statePath: join(dir, 'down.json'), outputs });
  assert.deepEqual([r2.alerts, r2.errors, events[0]?.type, events[0]?.code], [0, 1, 'error', 'MONITOR_UNREACHABLE']);
  // An unreachable witness is an error too, and the state is not advanced past it.
  ({ events, outputs } = collect());
  const key = a.log.signer.publicKey;
  const w = { url: 'http://127.0.0.1:9', key: parseCosignerVkey((await import('@sigstack/core')).formatCosignerVkey('w.test', generateKeyPairSync('ed25519').publicKey)) };
  const r3 = await runMonitor({ logUrl: a.url, reader: new TilesReader(a.url, key), logKey: key, statePath: join(dir, 'witness-down.json'), witnesses: [w], outputs });
  assert.deepEqual([r3.alerts, r3.errors, events[0]?.code], [0, 1, 'MONITOR_UNREACHABLE']);
  assert.equal(existsSync(join(dir, 'witness-down.json')), false);
});

test('a witness that cosigned one tree exposes the other to a monitor shown only the fork', async () => {
  const { a, b } = await splitPair('witness');
  await addEntry(b.url, certEntry(bob, Buffer.from('only in B 2')));
  await addEntry(b.url, certEntry(bob, Buffer.from('only in B 3')));
  const w = await startWitnessService({ dir: join(dir, 'w'), name: 'witness.test/w', logs: [`${ORIGIN}=${formatVerifierKey(ORIGIN, a.log.signer.publicKey)}`] });
  const sw = await startSwitch(b.url);
  try {
    const cosign = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest(0, [], a.log.checkpoint.note) });
    assert.equal(cosign.status, 200);
    // A fork the witness refuses: B's tree is not an extension of A's.
    const proof = await b.log.consistencyProof(a.log.checkpoint.size);
    const refused = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest(a.log.checkpoint.size, proof, b.log.checkpoint.note) });
    assert.ok([409, 422].includes(refused.status), String(refused.status));
    const key = b.log.signer.publicKey;
    const { events, outputs } = collect();
    const result = await runMonitor({ logUrl: sw.url, reader: new TilesReader(sw.url, key), logKey: key, statePath: join(dir, 'witnessed.json'), witnesses: [{ url: w.url, key: parseCosignerVkey(w.vkey) }], outputs });
    assert.equal(result.alerts, 1, JSON.stringify(events));
    assert.match(String(events[0]?.message), /witness witness\.test\/w/);
    assert.ok((events[0]?.evidence as Record<string, string>).witnessed.includes('\u2014 witness.test/w '));
    // Shown A, the same witness agrees: quiet.
    sw.to(a.url);
    const quiet = collect();
    const ok = await runMonitor({ logUrl: sw.url, reader: new TilesReader(sw.url, key), logKey: key, statePath: join(dir, 'witnessed-a.json'), witnesses: [{ url: w.url, key: parseCosignerVkey(w.vkey) }], outputs: quiet.outputs });
    assert.deepEqual([ok.alerts, ok.errors], [0, 0], JSON.stringify(quiet.events));
  } finally {
    await sw.close();
    await w.close();
  }
});

test('--ct: a CT log is monitored through get-sth / get-sth-consistency / get-entries; precertificates are matched', async () => {
  const { startCtLogService, } = await import('../src/ctlog/index.js');
  const { createCaHierarchy } = await import('../src/ca/keys/index.js');
  const { buildPrecertificate } = await import('../src/ca/cert/index.js');
  const { CtReader } = await import('../src/monitor/index.js');
  const { generateKeyPair } = await import('@sigstack/core');
  const hierarchy = await createCaHierarchy();
  const ct = await startCtLogService({ dir: join(dir, 'ct'), roots: [hierarchy.root.x509] });
  try {
    const issue = async (email: string) => {
      const leaf = generateKeyPair('ec', { namedCurve: 'P-256' });
      const precert = await buildPrecertificate({ subjectPublicKeySpki: leaf.spki, san: { type: 'email', value: email }, extensions: [{ oid: '1.3.6.1.4.1.57264.1.8', value: Buffer.concat([Buffer.from([0x0c, OIDC_ISSUER.length]), Buffer.from(OIDC_ISSUER)]) }], issuer: hierarchy.issuer });
      const res = await fetch(`${ct.apiUrl}/add-pre-chain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chain: [precert.der.toString('base64'), hierarchy.intermediate.der.toString('base64')] }) });
      assert.equal(res.status, 200, await res.text());
    };
    for (const who of ['bob', 'alice', 'bob', 'alice']) await issue(`${who}@example.test`);
    const reader = new CtReader(ct.url, ct.ctLog.publicKey);
    const state = join(dir, 'ct.json');
    let { events, outputs } = collect();
    let result = await runMonitor({ logUrl: ct.url, reader, logKey: ct.ctLog.publicKey, statePath: state, matcher, outputs });
    assert.deepEqual([result.alerts, result.errors, events.map((e) => e.logIndex)], [0, 0, [1, 3]], JSON.stringify(events));
    await issue('alice@example.test');
    ({ events, outputs } = collect());
    result = await runMonitor({ logUrl: ct.url, reader, logKey: ct.ctLog.publicKey, statePath: state, matcher, outputs });
    assert.deepEqual(events.map((e) => e.logIndex), [4]);
    // A stranger's key: the STH signature does not verify.
    ({ events, outputs } = collect());
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    result = await runMonitor({ logUrl: ct.url, reader: new CtReader(ct.url, stranger), logKey: stranger, statePath: state, outputs });
    assert.deepEqual([result.alerts, events[0]?.check], [1, 'bad signature']);
  } finally {
    await ct.close();
  }
});

test('outputs: the webhook is retried with back-off, --output-file gets the same lines, metrics count the run', async () => {
  const { createServer } = await import('node:http');
  const { MonitorMetrics } = await import('../src/monitor/index.js');
  const received: string[] = [];
  let calls = 0;
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls++;
      if (calls <= 2) return void res.writeHead(503).end();
      received.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const log = await startLogService({ dir: join(dir, 'outputs'), admissionWorkers: 0 });
  const metrics = new MonitorMetrics();
  const server = await metrics.serve(0);
  try {
    await addEntry(log.url, certEntry(alice, Buffer.from('hooked')));
    const file = join(dir, 'outputs.jsonl');
    const lines: string[] = [];
    const outputs = new MonitorOutputs({ stdout: (l) => lines.push(l), outputFile: file, webhook: `http://127.0.0.1:${(hook.address() as { port: number }).port}/`, webhookBaseDelayMs: 20 });
    const key = log.log.signer.publicKey;
    await runMonitor({ logUrl: log.url, reader: new TilesReader(log.url, key), logKey: key, statePath: join(dir, 'outputs.json'), matcher, outputs, metrics });
    await outputs.flush();
    assert.equal(lines.length, 1);
    assert.equal(readFileSync(file, 'utf8'), `${lines[0]}\n`);
    assert.deepEqual([calls, received], [3, [lines[0]]]);
    const text = await (await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`)).text();
    for (const line of ['sigstack_monitor_checkpoints_verified_total 1', 'sigstack_monitor_entries_scanned_total 1', 'sigstack_monitor_matches_total 1', 'sigstack_monitor_tree_size 1']) assert.ok(text.includes(line), line);
    assert.match(text, /sigstack_monitor_last_success_timestamp_seconds \d/);
  } finally {
    server.close();
    hook.close();
    await log.close();
  }
});
