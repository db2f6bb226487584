// The log's HTTP APIs over loopback against a real SQLite file: Rekor v1 and v2 entries whose
// proofs, checkpoints and SETs verify with our verifier and with sigstore-js; duplicates,
// reads, search, tiles, consistency proofs, and clear 4xx answers to bad requests.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { TILE_WIDTH, leafHash, parseBundle, parseCheckpoint, parseSignedNote, parseTrustedRoot, rootFromLeafHashes, verifyConsistency } from '@sigstack/core';
import { TrustMaterial, Verifier } from '@sigstack/verify';
import { startLogService, type LogService } from '../src/log/service.js';
import { bundleFromV1, bundleFromV2, get, hashedrekordV001, hashedrekordV002Request, newSigner, post, signArtifact, trustedRootFor } from './helpers.js';

const require = createRequire(import.meta.url);
const sigstoreVerify = require('@sigstore/verify');
const sigstoreBundle = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

let service: LogService;
let dir: string;
let root: ReturnType<typeof trustedRootFor>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigstack-log-api-'));
  service = await startLogService({ dir, port: 0 });
  root = trustedRootFor(service.url, service.log.signer.spki, service.log.logId, service.log.signer.keyDetails);
});

after(async () => {
  await service.close();
  rmSync(dir, { recursive: true, force: true });
});

async function verifyBoth(bundle: unknown, artifact: Buffer, signer: ReturnType<typeof newSigner>, timestampThreshold = 1) {
  const ours = await new Verifier(new TrustMaterial(parseTrustedRoot(root)), { timestampThreshold }).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, { key: signer.pem });
  assert.equal(ours.tlogEntries[0]?.logUrl, service.url);
  const keys = { 'test-key': { rawBytes: signer.spki, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } };
  const trust = sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(root), keys);
  const entity = sigstoreVerify.toSignedEntity(sigstoreBundle.bundleFromJSON(bundle), artifact);
  new sigstoreVerify.Verifier(trust, { timestampThreshold }).verify(entity);
}

test('Rekor v1: a hashedrekord entry is created, and its SET, proof and checkpoint verify in both verifiers', async () => {
  const signer = newSigner();
  const artifact = Buffer.from('hello, transparency');
  const proposed = hashedrekordV001(signer, artifact);
  const created = await post(`${service.url}/api/v1/log/entries`, proposed);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const [id] = Object.keys(created.json);
  assert.match(id!, /^[0-9a-f]{80}$/);
  assert.equal(created.headers.get('etag'), id);
  assert.equal(created.headers.get('location'), `/api/v1/log/entries/${id}`);
  const { signature } = signArtifact(signer, artifact);
  // ECDSA signatures differ each time; the entry holds the one submitted.
  const submitted = Buffer.from(proposed.spec.signature.content, 'base64');
  assert.notDeepEqual(signature, submitted);
  await verifyBoth(bundleFromV1(created.json, artifact, submitted), artifact, signer);

  // The same entry again: 409 with where it is; fetching it there gives the same entry.
  const again = await post(`${service.url}/api/v1/log/entries`, proposed);
  assert.equal(again.status, 409);
  assert.equal(again.headers.get('location'), `/api/v1/log/entries/${id}`);
  assert.match(again.json.message, /already exists/);
  const fetched = await get(`${service.url}${again.headers.get('location')}`);
  assert.equal(fetched.status, 200);
  assert.equal(Object.values(fetched.json as Record<string, { body: string }>)[0]?.body, created.json[id!].body);
  await verifyBoth(bundleFromV1(fetched.json, artifact, submitted), artifact, signer);

  // By index, by 64-hex UUID, by retrieve, by search.
  const index = created.json[id!].logIndex;
  assert.equal((await get(`${service.url}/api/v1/log/entries?logIndex=${index}`)).status, 200);
  assert.equal((await get(`${service.url}/api/v1/log/entries/${id!.slice(16)}`)).status, 200);
  const retrieved = await post(`${service.url}/api/v1/log/entries/retrieve`, { logIndexes: [index], entryUUIDs: [id] });
  assert.equal(retrieved.json.length, 2);
  const byHash = await post(`${service.url}/api/v1/index/retrieve`, { hash: `sha256:${createHash('sha256').update(artifact).digest('hex')}` });
  assert.deepEqual(byHash.json, [id]);
  const byKey = await post(`${service.url}/api/v1/index/retrieve`, { publicKey: { format: 'x509', content: Buffer.from(signer.pem).toString('base64') } });
  assert.deepEqual(byKey.json, [id]);
  const both = await post(`${service.url}/api/v1/index/retrieve`, { hash: `sha256:${'0'.repeat(64)}`, publicKey: { format: 'x509', content: Buffer.from(signer.pem).toString('base64') }, operator: 'and' });
  assert.deepEqual(both.json, []);
});

test('search: a field of the wrong type or shape is a 400 that names it', async () => {
  const cases: [unknown, RegExp][] = [
    [{ email: 123 }, /^email must be an email address string, not number/],
    [{ email: 'not an address' }, /^email must be an email address/],
    [{ hash: ['sha256:00'] }, /^hash must be a string/],
    [{ hash: 'sha256:abc' }, /^hash must be "sha256:<64 hex>"/],
    [{ subject: { a: 1 } }, /^subject must be a string/],
    [{ publicKey: 'abc' }, /^publicKey must be an object/],
    [{ publicKey: { format: 7, content: 'AAAA' } }, /^publicKey\.format must be a string/],
    [{ publicKey: { format: 'x509', content: 5 } }, /^publicKey\.content must be the base64 key/],
    [{ hash: `sha256:${'0'.repeat(64)}`, operator: 'xor' }, /^operator must be "and" or "or"/],
    [[{ hash: `sha256:${'0'.repeat(64)}` }], /must be a JSON object/],
    [{}, /at least one of hash, email, subject or publicKey/],
  ];
  for (const [body, message] of cases) {
    const response = await post(`${service.url}/api/v1/index/retrieve`, body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(response.json.error, 'PARAMETER_INVALID');
    assert.match(response.json.message, message, JSON.stringify(body));
  }
  const ok = await post(`${service.url}/api/v1/index/retrieve`, { email: 'nobody@example.test' });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json, []);
});

test('Rekor v2: a hashedrekord 0.0.2 request answers a TransparencyLogEntry that verifies in both verifiers', async () => {
  const signer = newSigner();
  const artifact = Buffer.from('hello, rekor v2');
  const request = hashedrekordV002Request(signer, artifact);
  const created = await post(`${service.url}/api/v2/log/entries`, request);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  assert.deepEqual(created.json.kindVersion, { kind: 'hashedrekord', version: '0.0.2' });
  assert.equal(created.json.inclusionProof.checkpoint.envelope, (await get(`${service.url}/checkpoint`)).bytes.toString());
  const signature = Buffer.from(request.hashedRekordRequestV002.signature.content, 'base64');
  // Rekor v2 entries carry no signed time; without a TSA both verifiers are told not to require one.
  await verifyBoth(bundleFromV2(created.json, artifact, signature), artifact, signer, 0);
  const again = await post(`${service.url}/api/v2/log/entries`, request);
  assert.equal(again.status, 200);
  assert.equal(again.json.logIndex, created.json.logIndex);
});

test('bad requests get a 4xx that says why', async () => {
  const signer = newSigner();
  const proposed = hashedrekordV001(signer, Buffer.from('a'));
  proposed.spec.data.hash.value = createHash('sha256').update('b').digest('hex');
  const badSig = await post(`${service.url}/api/v1/log/entries`, proposed);
  assert.equal(badSig.status, 400);
  assert.match(badSig.json.message, /signature|verify/i);
  assert.equal(typeof badSig.json.error, 'string');
  const unknown = await post(`${service.url}/api/v1/log/entries`, { kind: 'nonsense', apiVersion: '9', spec: {} });
  assert.equal(unknown.status, 400);
  const notJson = await fetch(`${service.url}/api/v1/log/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":' });
  assert.equal(notJson.status, 400);
  const huge = await fetch(`${service.url}/api/v1/log/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) }) });
  assert.equal(huge.status, 413);
  assert.match(((await huge.json()) as { message: string }).message, /larger than/);
  assert.equal((await get(`${service.url}/api/v1/log/entries?logIndex=999999`)).status, 404);
  assert.equal((await get(`${service.url}/api/v1/log/entries/zz`)).status, 400);
  assert.equal((await get(`${service.url}/tile/0/x001/000`)).status, 404);
  assert.equal((await get(`${service.url}/tile/0/1`)).status, 400);
});

test('tiles, entry bundles and consistency proofs describe the same tree as the checkpoint', async () => {
  const signer = newSigner();
  for (let i = 0; i < 300; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => post(`${service.url}/api/v1/log/entries`, hashedrekordV001(signer, Buffer.from(`tile test ${i + j}`)))));
  }
  const note = (await get(`${service.url}/checkpoint`)).bytes.toString();
  const checkpoint = parseCheckpoint(parseSignedNote(note).body);
  const size = checkpoint.size;
  assert.ok(size > TILE_WIDTH);
  const full = await get(`${service.url}/tile/0/000`);
  assert.equal(full.status, 200);
  assert.match(full.headers.get('cache-control') ?? '', /immutable/);
  const partialWidth = size - TILE_WIDTH;
  const partial = await get(`${service.url}/tile/0/001.p/${partialWidth}`);
  assert.equal(partial.status, 200);
  const hashes: Buffer[] = [];
  for (const tile of [full.bytes, partial.bytes]) for (let i = 0; i < tile.length; i += 32) hashes.push(tile.subarray(i, i + 32));
  assert.deepEqual(rootFromLeafHashes(hashes), checkpoint.rootHash);
  // Entry bundles: uint16-length-prefixed bodies whose leaf hashes are the tile's hashes.
  const bundle = (await get(`${service.url}/tile/entries/000`)).bytes;
  let offset = 0;
  for (let i = 0; i < TILE_WIDTH; i++) {
    const length = bundle.readUInt16BE(offset);
    assert.deepEqual(leafHash(bundle.subarray(offset + 2, offset + 2 + length)), hashes[i]);
    offset += 2 + length;
  }
  assert.equal(offset, bundle.length);
  const proof = await get(`${service.url}/api/v1/log/proof?firstSize=10&lastSize=${size}`);
  assert.equal(proof.status, 200);
  verifyConsistency(10, size, proof.json.hashes.map((h: string) => Buffer.from(h, 'hex')), rootFromLeafHashes(hashes.slice(0, 10)), checkpoint.rootHash);
  const info = await get(`${service.url}/api/v1/log`);
  assert.equal(info.json.treeSize, size);
  const metrics = (await get(`${service.url}/metrics`)).bytes.toString();
  assert.match(metrics, /sigstack_log_tree_size \d+/);
  assert.equal((await get(`${service.url}/api/v1/openapi.json`)).json.openapi, '3.0.3');
});
