// Three front ends of one PostgreSQL log in this process (a server of the test's own): the same
// entry sent to all three at once gets one index (201 at one, Rekor's 409 with the same UUID at
// the others); entries logged through one front end are read, proved and verified (sigstack and
// sigstore-js) through another; a clean stop hands the lease over at once; the log's key and
// origin are fixed by the first process; the metrics show the lease and pending depth.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { generateKeyPair, parseBundle, parseTrustedRoot, rootFromLeafHashes, verifyConsistency, verifyInclusion, leafHash } from '@sigstack/core';
import { TrustMaterial, Verifier } from '@sigstack/verify';
import { postgresLogFixture } from './postgres-log-fixture.js';
import { startClusterLogService, type ClusterLogService } from '../src/log/cluster/service.js';
import { bundleFromV1, bundleFromV2, get, hashedrekordV001, hashedrekordV002Request, newSigner, post, trustedRootFor } from './helpers.js';

const require = createRequire(import.meta.url);
const sigstoreVerify = require('@sigstore/verify');
const sigstoreBundle = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

const fixture = postgresLogFixture('sigstack-cluster-');
const { dir, keyPath } = fixture;

async function cluster(n: number, url: string, extra: Partial<Parameters<typeof startClusterLogService>[0]> = {}): Promise<ClusterLogService[]> {
  return Promise.all(Array.from({ length: n }, () => startClusterLogService({ postgres: url, keyPath, name: 'cluster.test', admissionWorkers: 0, leaseMs: 1000, ...extra })));
}

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the same entry at three front ends at once: one index, 201 at one, 409 with the same UUID at the others; reads and proofs anywhere', async () => {
  const url = await fixture.server.createDatabase();
  const fronts = await cluster(3, url);
  await until(() => fronts.some((f) => f.sequencer.epoch !== undefined));
  assert.equal(fronts.filter((f) => f.sequencer.epoch !== undefined).length, 1, 'exactly one sequencer');
  const signer = newSigner();
  const bodies = Array.from({ length: 20 }, (_, i) => hashedrekordV001(signer, Buffer.from(`artifact ${i}`)));
  for (const body of bodies) {
    const answers = await Promise.all(fronts.map((f) => post(`${f.url}/api/v1/log/entries`, body)));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [201, 409, 409], JSON.stringify(answers.map((a) => a.json)));
    const created = answers.find((a) => a.status === 201)!;
    const id = Object.keys(created.json)[0]!;
    for (const a of answers.filter((a) => a.status === 409)) assert.equal(a.headers.get('location'), `/api/v1/log/entries/${id}`);
  }
  // 20 distinct entries, indexes 0..19, no gap; every front end serves the whole tree.
  await until(() => fronts.every((f) => f.log.checkpoint.size === 20));
  const leaves: Buffer[] = [];
  for (let i = 0; i < 20; i++) {
    const read = await get(`${fronts[i % 3]!.url}/api/v1/log/entries?logIndex=${i}`);
    assert.equal(read.status, 200);
    const e = Object.values(read.json as Record<string, { body: string; logIndex: number }>)[0]!;
    assert.equal(e.logIndex, i);
    leaves.push(leafHash(Buffer.from(e.body, 'base64')));
  }
  const root = rootFromLeafHashes(leaves);
  for (const f of fronts) assert.deepEqual(f.log.checkpoint.rootHash, root);
  for (let i = 0; i < 20; i++) verifyInclusion(i, 20, leaves[i]!, await fronts[(i + 1) % 3]!.log.inclusionProof(i, 20), root);
  await Promise.all(fronts.map((f) => f.close()));
});

test('bundles logged through one front end and read through another verify in sigstack and sigstore-js (v1 and v2)', async () => {
  const url = await fixture.server.createDatabase();
  const [a, b] = await cluster(2, url);
  // sigstore-js matches the checkpoint's origin against the log's base URL.
  const root = trustedRootFor('https://cluster.test', a!.log.signer.spki, a!.log.logId, a!.log.signer.keyDetails);
  const signer = newSigner();
  const verifyBoth = async (bundle: unknown, artifact: Buffer, timestampThreshold = 1) => {
    await new Verifier(new TrustMaterial(parseTrustedRoot(root)), { timestampThreshold }).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, { key: signer.pem });
    const keys = { 'test-key': { rawBytes: signer.spki, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } };
    const entity = sigstoreVerify.toSignedEntity(sigstoreBundle.bundleFromJSON(bundle), artifact);
    new sigstoreVerify.Verifier(sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(root), keys), { timestampThreshold }).verify(entity);
  };
  const artifact = Buffer.from('logged at a, read at b');
  const proposed = hashedrekordV001(signer, artifact);
  const created = await post(`${a!.url}/api/v1/log/entries`, proposed);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id = Object.keys(created.json)[0]!;
  await until(() => b!.log.checkpoint.size >= 1);
  const read = await get(`${b!.url}/api/v1/log/entries/${id}`);
  assert.equal(read.status, 200);
  await verifyBoth(bundleFromV1(read.json, artifact, Buffer.from(proposed.spec.signature.content, 'base64')), artifact);

  const artifact2 = Buffer.from('v2 at b');
  const request = hashedrekordV002Request(signer, artifact2);
  const v2 = await post(`${b!.url}/api/v2/log/entries`, request);
  assert.equal(v2.status, 201, JSON.stringify(v2.json));
  await verifyBoth(bundleFromV2(v2.json, artifact2, Buffer.from(request.hashedRekordRequestV002.signature.content, 'base64')), artifact2, 0);
  // The same request at the other front end: the existing entry (v2 answers 200 with it).
  const again = await post(`${a!.url}/api/v2/log/entries`, request);
  assert.equal(again.status, 200);
  assert.equal(again.json.logIndex, v2.json.logIndex);
  // Tiles and checkpoints agree between front ends, and stay consistent.
  const [ca, cb] = [await get(`${a!.url}/checkpoint`), await get(`${b!.url}/checkpoint`)];
  await until(() => a!.log.checkpoint.size === 2);
  assert.equal((await get(`${a!.url}/checkpoint`)).bytes.toString(), (await get(`${b!.url}/checkpoint`)).bytes.toString());
  assert.ok(ca.status === 200 && cb.status === 200);
  verifyConsistency(1, 2, await a!.log.consistencyProof(1, 2), await b!.log.rootAt(1), b!.log.checkpoint.rootHash);
  // Metrics: one front end holds the lease; pending depth is 0.
  const metrics = await Promise.all([a!, b!].map(async (f) => (await get(`${f.url}/metrics`)).bytes.toString()));
  assert.equal(metrics.filter((m) => /sigstack_log_lease_changes_total\{event="acquired"\} 1/.test(m)).length, 1);
  for (const m of metrics) assert.match(m, /sigstack_log_pending_entries 0/);
  assert.ok(metrics.some((m) => /sigstack_log_batch_commit_seconds_count [1-9]/.test(m)));
  await Promise.all([a!.close(), b!.close()]);
});

test('a cleanly stopped sequencer hands over at once; the log keeps its key and origin', async () => {
  const url = await fixture.server.createDatabase();
  const [first] = await cluster(1, url, { leaseMs: 30_000 });
  await until(() => first!.sequencer.epoch !== undefined);
  const signer = newSigner();
  assert.equal((await post(`${first!.url}/api/v1/log/entries`, hashedrekordV001(signer, Buffer.from('one')))).status, 201);
  const [second] = await cluster(1, url, { leaseMs: 30_000 });
  assert.equal(second!.sequencer.epoch, undefined);
  const started = Date.now();
  await first!.close();
  // A 30 s lease, released on close: the other takes over well within it.
  await until(() => second!.sequencer.epoch !== undefined, 3000);
  assert.ok(Date.now() - started < 3000);
  assert.equal(second!.sequencer.epoch, 2);
  assert.equal((await post(`${second!.url}/api/v1/log/entries`, hashedrekordV001(signer, Buffer.from('two')))).status, 201);
  assert.equal(second!.log.checkpoint.size, 2);

  const otherKey = join(dir, 'other-key.pem');
  writeFileSync(otherKey, generateKeyPair('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  await assert.rejects(startClusterLogService({ postgres: url, keyPath: otherKey, name: 'cluster.test', admissionWorkers: 0 }), (err: { code?: string }) => err.code === 'LOG_KEY_MISMATCH');
  await assert.rejects(startClusterLogService({ postgres: url, keyPath, name: 'another.origin', admissionWorkers: 0 }), (err: { code?: string; message: string }) => err.code === 'LOG_ORIGIN_MISMATCH' && /--name cluster\.test/.test(err.message));
  await second!.close();
});

test('the fence: once another took the lease over, the old epoch writes nothing (not even a checkpoint at a new size)', async () => {
  const url = await fixture.server.createDatabase();
  const [front] = await cluster(1, url, { sequence: false });
  const store = front!.storage;
  const { SequencerLease } = await import('../src/log/cluster/lease.js');
  const { FencedStorage } = await import('../src/log/cluster/fenced-storage.js');
  const old = new SequencerLease(store.pool, 'old', 60_000);
  const oldEpoch = (await old.tryAcquire())!;
  assert.equal(await new SequencerLease(store.pool, 'new', 60_000).tryAcquire(), undefined, 'a held lease is not taken');
  // The old holder is paused past its lease (its expiry passes by the database clock).
  await store.pool.query("UPDATE sequencer_lease SET expires_at = clock_timestamp() - interval '1 second'");
  const newEpoch = (await new SequencerLease(store.pool, 'new', 60_000).tryAcquire())!;
  assert.equal(newEpoch, oldEpoch + 1);
  assert.equal(await old.renew(oldEpoch), false, 'the old holder learns it lost the lease');
  const stale = new FencedStorage(store, 'old', oldEpoch);
  const e = { index: 0, leafHash: leafHash(Buffer.from('x')), body: Buffer.from('x'), integratedTime: 1, kind: 'k', apiVersion: 'v' };
  assert.equal(await stale.appendBatch({ entries: [e], tiles: [], index: [], previousSize: 0, checkpoint: { size: 1, note: 'stale' } }), false);
  assert.equal(stale.fenced, true);
  assert.equal(await stale.publishCheckpoint(0, { size: 1, note: 'stale' }), false);
  assert.equal(await store.entryCount(), 0);
  assert.equal((await store.latestCheckpoint())!.size, 0);
  // The new epoch writes.
  const current = new FencedStorage(store, 'new', newEpoch);
  assert.equal(await current.appendBatch({ entries: [e], tiles: [{ level: 0, index: 0, hashes: e.leafHash }], index: [], previousSize: 0, checkpoint: { size: 1, note: 'new' } }), true);
  assert.equal(await store.entryCount(), 1);
  await front!.close();
});
