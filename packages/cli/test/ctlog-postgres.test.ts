// `sigstack ctlog serve --postgres` as an operator runs it: three processes of the built CLI over
// one PostgreSQL database (a server of the test's own; the CT log in a schema of its own), real
// HTTP on 127.0.0.1. add-pre-chain and add-chain through one process, get-sth, get-entries,
// get-proof-by-hash and get-sth-consistency through another, every proof and signature checked;
// a chain sent to all processes at once is one entry with one SCT timestamp; a process with
// another key is refused; SIGKILL of the sequencing process and the others keep logging.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { X509, generateKeyPair, leafHash, pemEncode, precertSignedData, verifyConsistency, verifyInclusion } from '@sigstack/core';
import { startLocalPostgres, type LocalPostgres, ctlog as ct, ca as caModule, clusterLogInfo } from '@sigstack/server';
import { startServerChild, type ServerChild } from '../src/bench/server-child.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = join(repo, 'packages/cli/dist/bundle/main.js');
const dir = mkdtempSync(join(tmpdir(), 'sigstack-ctlog-pg-'));
const keyPath = join(dir, 'ct-key.pem');
const ctKey = generateKeyPair('ec', { namedCurve: 'P-256' });
writeFileSync(keyPath, ctKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const ctPublic = createPublicKey(ctKey.privateKey);
const ctLogId = createHash('sha256').update(ctPublic.export({ type: 'spki', format: 'der' })).digest();
const OIDC_ISSUER = 'https://oidc.example.test';

let server: LocalPostgres;
let url: string;
let authority: caModule.CaHierarchy;
const rootsPath = join(dir, 'roots.pem');
const processes: ServerChild[] = [];

function serve(extra: string[] = [], key = keyPath): Promise<ServerChild> {
  return startServerChild([cli, 'ctlog', 'serve', '--postgres', url, '--schema', 'ctlog', '--key', key, '--name', 'ct.test', '--roots', rootsPath, '--port', '0', '--lease-ms', '1000', ...extra], /RFC 6962 at (http:\/\/127\.0\.0\.1:\d+\/ct\/v1)/, 'sigstack ctlog serve');
}

before(async () => {
  server = await startLocalPostgres();
  url = await server.createDatabase();
  authority = await caModule.createCaHierarchy();
  writeFileSync(rootsPath, pemEncode('CERTIFICATE', authority.root.der));
  processes.push(...(await Promise.all([serve(), serve(), serve()])));
});
after(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = (i: number) => processes[i]!.match[1]!;
const b64 = (b: Buffer) => b.toString('base64');

async function call(method: 'GET' | 'POST', target: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(target, { method, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  return { status: response.status, json: await response.json() };
}

async function precertificate() {
  const leafKey = generateKeyPair('ec', { namedCurve: 'P-256' });
  const extension = { oid: '1.3.6.1.4.1.57264.1.8', value: Buffer.concat([Buffer.from([0x0c, OIDC_ISSUER.length]), Buffer.from(OIDC_ISSUER)]) };
  return caModule.buildPrecertificate({ subjectPublicKeySpki: leafKey.spki, san: { type: 'email', value: 'dana@example.test' }, extensions: [extension], issuer: authority.issuer });
}

function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function checkSth(sth: { tree_size: number; timestamp: number; sha256_root_hash: string; tree_head_signature: string }): void {
  const ds = Buffer.from(sth.tree_head_signature, 'base64');
  const signed = Buffer.concat([Buffer.from([0, 1]), u64(sth.timestamp), u64(sth.tree_size), Buffer.from(sth.sha256_root_hash, 'base64')]);
  assert.ok(verify('sha256', signed, ctPublic, ds.subarray(4)), 'tree head signature verifies');
}

/** get-proof-by-hash for each entry through process `via`, verified against get-sth's root. */
async function proveAll(via: number): Promise<{ size: number; root: Buffer }> {
  const sth = (await call('GET', `${api(via)}/get-sth`)).json;
  checkSth(sth);
  const root = Buffer.from(sth.sha256_root_hash, 'base64');
  const entries = (await call('GET', `${api(via)}/get-entries?start=0&end=${sth.tree_size - 1}`)).json.entries as { leaf_input: string; extra_data: string }[];
  assert.equal(entries.length, sth.tree_size);
  for (const [i, e] of entries.entries()) {
    const hash = leafHash(Buffer.from(e.leaf_input, 'base64'));
    const proof = (await call('GET', `${api(via)}/get-proof-by-hash?hash=${encodeURIComponent(b64(hash))}&tree_size=${sth.tree_size}`)).json;
    assert.equal(proof.leaf_index, i);
    verifyInclusion(i, sth.tree_size, hash, proof.audit_path.map((h: string) => Buffer.from(h, 'base64')), root);
  }
  return { size: sth.tree_size, root };
}

test('add-pre-chain and add-chain through one process; tree heads, entries and proofs through another verify', async () => {
  const precert = await precertificate();
  const res = await call('POST', `${api(0)}/add-pre-chain`, { chain: [b64(precert.der), b64(authority.intermediate.der)] });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const sct = ct.sctFromJson(res.json);
  assert.deepEqual(sct.logId, ctLogId);
  assert.ok(verify('sha256', precertSignedData(sct, precert.issuerKeyHash, precert.precertTbs), ctPublic, sct.signature), 'SCT signature verifies');
  // Answered only once a published checkpoint covers it: the other process already serves it.
  const first = await proveAll(1);
  assert.equal(first.size, 1);

  // The final certificate with that SCT embedded, by add-chain through the same process.
  const final = await caModule.finalizeCertificate(precert, [sct]);
  const added = await call('POST', `${api(0)}/add-chain`, { chain: [b64(final), b64(authority.intermediate.der)] });
  assert.equal(added.status, 200, JSON.stringify(added.json));
  // A duplicate, sent to another process: the original timestamp, no new entry.
  const again = await call('POST', `${api(2)}/add-pre-chain`, { chain: [b64(precert.der), b64(authority.intermediate.der)] });
  assert.equal(again.status, 200);
  assert.equal(ct.sctFromJson(again.json).timestamp, sct.timestamp);

  const second = await proveAll(1);
  assert.equal(second.size, 2);
  const entries = (await call('GET', `${api(2)}/get-entries?start=0&end=1`)).json.entries as { leaf_input: string; extra_data: string }[];
  const leaves = entries.map((e) => ct.parseMerkleTreeLeaf(Buffer.from(e.leaf_input, 'base64')));
  assert.deepEqual(leaves.map((l) => l.entry.type), ['precert_entry', 'x509_entry']);
  assert.equal(leaves[0]!.timestamp, sct.timestamp);
  assert.ok(X509.fromDer(final).sctListBytes, 'the final certificate carries the SCT');
  const consistency = (await call('GET', `${api(2)}/get-sth-consistency?first=1&second=2`)).json.consistency.map((h: string) => Buffer.from(h, 'base64'));
  verifyConsistency(1, 2, consistency, first.root, second.root);
});

test('one chain sent to every process at once is one entry with one SCT timestamp', async () => {
  const before = (await call('GET', `${api(0)}/get-sth`)).json.tree_size as number;
  const racing = await precertificate();
  const answers = await Promise.all([0, 1, 2, 0, 1, 2].map((i) => call('POST', `${api(i)}/add-pre-chain`, { chain: [b64(racing.der), b64(authority.intermediate.der)] })));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200]);
  assert.equal(new Set(answers.map((a) => a.json.timestamp)).size, 1);
  const after = await proveAll(2);
  assert.equal(after.size, before + 1);
});

test('a process with another key is refused; SIGKILL of the sequencing process and the others keep logging', async () => {
  const otherKey = join(dir, 'other.pem');
  writeFileSync(otherKey, generateKeyPair('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const refused = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [cli, 'ctlog', 'serve', '--postgres', url, '--schema', 'ctlog', '--key', otherKey, '--name', 'ct.test', '--roots', rootsPath, '--port', '0'], { timeout: 20_000 }, (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }));
  });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /LOG_KEY_MISMATCH/);

  const info = await clusterLogInfo(url, 'ctlog');
  assert.equal(info.origin, 'ct.test');
  const holderPid = Number(info.sequencer!.holder.split(':')[1]);
  const victim = processes.findIndex((p) => p.child.pid === holderPid);
  assert.ok(victim >= 0, `the sequencer is one of the test's processes (${info.sequencer!.holder})`);
  processes[victim]!.child.kill('SIGKILL');
  await new Promise((r) => processes[victim]!.child.once('exit', r));
  const survivor = (victim + 1) % 3;
  const precert = await precertificate();
  const started = Date.now();
  const res = await call('POST', `${api(survivor)}/add-pre-chain`, { chain: [b64(precert.der), b64(authority.intermediate.der)] });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.ok(Date.now() - started < 5000, `taken over within 5 s (${Date.now() - started} ms)`);
  await proveAll((victim + 2) % 3);
  const after = await clusterLogInfo(url, 'ctlog');
  assert.ok(after.sequencer!.epoch > info.sequencer!.epoch);
});
