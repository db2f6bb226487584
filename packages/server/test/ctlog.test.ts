// The CT log (RFC 6962) on the shared engine: a CA's precertificate logged over HTTP and in
// process, its SCT checked by hand and in a whole keyless bundle, tree heads, proofs, entries,
// duplicates, add-chain, rejections, and a restart — real SQLite, real HTTP on 127.0.0.1.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  X509,
  generateKeyPair,
  leafHash,
  parseBundle,
  parseSctList,
  parseTrustedRoot,
  precertSignedData,
  verifyConsistency,
  verifyInclusion,
  type SignedCertificateTimestamp,
} from '@sigstack/core';
import { TrustMaterial, Verifier } from '@sigstack/verify';
import { ServiceError } from '../src/errors.js';
import { createCaHierarchy, type CaHierarchy } from '../src/ca/keys/index.js';
import { buildPrecertificate, finalizeCertificate, type Precertificate } from '../src/ca/cert/index.js';
import { startLogService } from '../src/log/service.js';
import {
  CT_FILES,
  httpCtSubmitter,
  parseExtraData,
  parseMerkleTreeLeaf,
  sctFromJson,
  startCtLogService,
  type CtLogService,
} from '../src/ctlog/index.js';
import { certificateBundle, get, post, trustedRootFor } from './helpers.js';

const require = createRequire(import.meta.url);
const sigstoreVerify = require('@sigstore/verify');
const sigstoreBundle = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

const OIDC_ISSUER = 'https://oidc.example.test';
const EMAIL = 'carol@example.test';
const dir = mkdtempSync(join(tmpdir(), 'sigstack-ctlog-'));
let ca: CaHierarchy;
let service: CtLogService;
let ctKey: KeyObject;
let ctLogId: Buffer;

before(async () => {
  ca = await createCaHierarchy();
  service = await startCtLogService({ dir: join(dir, 'ct'), roots: [ca.root.x509] });
  ctKey = service.ctLog.publicKey;
  ctLogId = createHash('sha256').update(ctKey.export({ type: 'spki', format: 'der' })).digest();
});
after(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

const issuerExtension = { oid: '1.3.6.1.4.1.57264.1.8', value: Buffer.concat([Buffer.from([0x0c, OIDC_ISSUER.length]), Buffer.from(OIDC_ISSUER)]) };

async function precertificate(authority = ca, leafKey = generateKeyPair('ec', { namedCurve: 'P-256' })): Promise<Precertificate & { leafKey: typeof leafKey }> {
  const precert = await buildPrecertificate({ subjectPublicKeySpki: leafKey.spki, san: { type: 'email', value: EMAIL }, extensions: [issuerExtension], issuer: authority.issuer });
  return { ...precert, leafKey };
}

const b64 = (b: Buffer) => b.toString('base64');
const api = (path: string) => `${service.apiUrl}/${path}`;

function u64(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** An SCT checked by hand: this log's ID, ECDSA over core's precertSignedData (RFC 6962 §3.2). */
function assertPrecertSct(sct: SignedCertificateTimestamp, precert: Precertificate, tbs = precert.precertTbs): void {
  assert.equal(sct.version, 0);
  assert.deepEqual(sct.logId, ctLogId);
  assert.equal(sct.hashAlgorithm, 'sha256');
  assert.equal(sct.signatureAlgorithm, 'ecdsa');
  assert.equal(sct.extensions.length, 0);
  assert.ok(verify('sha256', precertSignedData(sct, precert.issuerKeyHash, tbs), ctKey, sct.signature), 'SCT signature verifies');
}

test('add-pre-chain over HTTP and in process: the SCT verifies and survives into the final certificate; duplicates keep their timestamp', async () => {
  const precert = await precertificate();
  const before = Date.now();
  const res = await post(api('add-pre-chain'), { chain: [b64(precert.der), b64(ca.intermediate.der)] });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.deepEqual(Object.keys(res.json).sort(), ['extensions', 'id', 'timestamp', 'signature', 'sct_version'].sort());
  assert.equal(res.json.sct_version, 0);
  assert.equal(res.json.id, b64(ctLogId));
  assert.equal(res.json.extensions, '');
  const ds = Buffer.from(res.json.signature, 'base64');
  assert.deepEqual([...ds.subarray(0, 2)], [4, 3], 'DigitallySigned: sha256, ecdsa');
  assert.equal(ds.readUInt16BE(2), ds.length - 4);
  const sct = sctFromJson(res.json);
  assert.ok(Number(sct.timestamp) >= before && Number(sct.timestamp) <= Date.now());
  assertPrecertSct(sct, precert);
  assert.equal(service.log.checkpoint.size, 1, 'durable before answering');

  // The CA finalizes with it; the final certificate's rebuilt precert TBS verifies too.
  const final = X509.fromDer(await finalizeCertificate(precert, [sct]));
  assert.deepEqual(parseSctList(final.sctListBytes!), [sct]);
  assertPrecertSct(sct, precert, final.precertificateTbs());

  // The HTTP client (checking the SCT against the CT key) and the in-process CtSubmitter.
  const client = httpCtSubmitter(service.url, { publicKey: ctKey });
  assert.equal(client.apiUrl, service.apiUrl);
  const viaClient = await precertificate();
  assertPrecertSct(await client.addPreChain([viaClient.der, ca.intermediate.der, ca.root.der]), viaClient);
  const inProcess = await precertificate();
  assertPrecertSct(await service.ctLog.addPreChain([inProcess.der, ca.intermediate.der]), inProcess);
  assert.equal(service.log.checkpoint.size, 3);

  // Duplicates: the original timestamp, a fresh valid signature, no new entry.
  const again = sctFromJson((await post(api('add-pre-chain'), { chain: [b64(precert.der), b64(ca.intermediate.der), b64(ca.root.der)] })).json);
  assert.equal(again.timestamp, sct.timestamp);
  assertPrecertSct(again, precert);
  assert.equal((await service.ctLog.addPreChain([precert.der, ca.intermediate.der])).timestamp, sct.timestamp);
  assert.equal((await client.addPreChain([viaClient.der, ca.intermediate.der])).timestamp, (await service.ctLog.addPreChain([viaClient.der, ca.intermediate.der])).timestamp);
  // Concurrent first submissions of one precertificate share one entry.
  const racing = await precertificate();
  const results = await Promise.all([
    service.ctLog.addPreChain([racing.der, ca.intermediate.der]),
    service.ctLog.addPreChain([racing.der, ca.intermediate.der]),
    client.addPreChain([racing.der, ca.intermediate.der]),
  ]);
  assert.equal(new Set(results.map((r) => r.timestamp)).size, 1);
  assert.equal(service.log.checkpoint.size, 4);
});

test('a keyless bundle whose certificate carries the CT log\'s SCT verifies in @sigstack/verify and sigstore-js', async () => {
  const rekor = await startLogService({ dir: join(dir, 'rekor'), port: 0, admissionWorkers: 0 });
  try {
    const precert = await precertificate();
    const sct = await httpCtSubmitter(service.apiUrl, { publicKey: ctKey }).addPreChain([precert.der, ca.intermediate.der]);
    const final = await finalizeCertificate(precert, [sct]);
    const artifact = Buffer.from('an artifact whose certificate was logged to the sigstack CT log');
    const bundle = await certificateBundle(rekor.url, final, precert.leafKey.privateKey, artifact);
    const start = new Date(Date.now() - 3600_000).toISOString();
    const trustedRoot = {
      ...trustedRootFor(rekor.url, rekor.log.signer.spki, rekor.log.logId, rekor.log.signer.keyDetails),
      certificateAuthorities: [
        {
          subject: { organization: 'sigstack', commonName: 'sigstack-intermediate' },
          uri: 'https://ca.sigstack.test',
          certChain: { certificates: [{ rawBytes: b64(ca.intermediate.der) }, { rawBytes: b64(ca.root.der) }] },
          validFor: { start },
        },
      ],
      ctlogs: [
        {
          baseUrl: service.url,
          hashAlgorithm: 'SHA2_256',
          publicKey: { rawBytes: b64(service.ctLog.spki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
          logId: { keyId: b64(service.ctLog.logId) },
        },
      ],
    };
    const result = await new Verifier(new TrustMaterial(parseTrustedRoot(trustedRoot))).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, { identity: EMAIL, issuer: OIDC_ISSUER });
    assert.equal(result.identity, EMAIL);

    const entity = sigstoreVerify.toSignedEntity(sigstoreBundle.bundleFromJSON(bundle), artifact);
    const signer = new sigstoreVerify.Verifier(sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(trustedRoot))).verify(entity, { subjectAlternativeName: EMAIL, extensions: { issuer: OIDC_ISSUER } });
    assert.equal(signer.identity.subjectAlternativeName, EMAIL);

    // Without this CT log in the trusted root the SCT is not accepted.
    const noCt = { ...trustedRoot, ctlogs: [] };
    await assert.rejects(
      new Verifier(new TrustMaterial(parseTrustedRoot(noCt))).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, { identity: EMAIL, issuer: OIDC_ISSUER }),
      (err: { code?: string }) => err.code === 'SCT_INVALID',
    );
  } finally {
    await rekor.close();
  }
});

test('get-sth is signed by the CT key; consistency and inclusion proofs verify; get-entries returns leaf and chain', async () => {
  const sth1 = (await get(api('get-sth'))).json;
  const checkSth = (sth: any) => {
    const ds = Buffer.from(sth.tree_head_signature, 'base64');
    assert.deepEqual([...ds.subarray(0, 2)], [4, 3]);
    const signed = Buffer.concat([Buffer.from([0, 1]), u64(sth.timestamp), u64(sth.tree_size), Buffer.from(sth.sha256_root_hash, 'base64')]);
    assert.ok(verify('sha256', signed, ctKey, ds.subarray(4)), 'tree head signature verifies');
  };
  checkSth(sth1);
  assert.equal(sth1.tree_size, service.log.checkpoint.size);

  const precert = await precertificate();
  const sct = await service.ctLog.addPreChain([precert.der, ca.intermediate.der]);
  const sth2 = (await get(api('get-sth'))).json;
  checkSth(sth2);
  assert.equal(sth2.tree_size, sth1.tree_size + 1);
  assert.ok(sth2.timestamp >= Number(sct.timestamp));

  const consistency = (await get(api(`get-sth-consistency?first=${sth1.tree_size}&second=${sth2.tree_size}`))).json;
  verifyConsistency(sth1.tree_size, sth2.tree_size, consistency.consistency.map((h: string) => Buffer.from(h, 'base64')), Buffer.from(sth1.sha256_root_hash, 'base64'), Buffer.from(sth2.sha256_root_hash, 'base64'));
  assert.deepEqual((await get(api(`get-sth-consistency?first=${sth2.tree_size}&second=${sth2.tree_size}`))).json, { consistency: [] });

  const entries = (await get(api(`get-entries?start=0&end=${sth2.tree_size + 10}`))).json.entries as { leaf_input: string; extra_data: string }[];
  assert.equal(entries.length, sth2.tree_size);
  const last = entries.at(-1)!;
  const leafInput = Buffer.from(last.leaf_input, 'base64');
  // MerkleTreeLeaf v1 / timestamped_entry has the same bytes as the SCT's signed data.
  assert.deepEqual(leafInput, precertSignedData(sct, precert.issuerKeyHash, precert.precertTbs));
  const leaf = parseMerkleTreeLeaf(leafInput);
  assert.equal(leaf.timestamp, sct.timestamp);
  assert.equal(leaf.entry.type, 'precert_entry');
  const extra = parseExtraData('precert_entry', Buffer.from(last.extra_data, 'base64'));
  assert.deepEqual(extra.precertificate, precert.der);
  assert.deepEqual(extra.chain, [ca.intermediate.der, ca.root.der]);
  assert.equal((await get(api('get-entries?start=1&end=1'))).json.entries.length, 1);

  const hash = leafHash(leafInput);
  const byHash = (await get(api(`get-proof-by-hash?hash=${encodeURIComponent(b64(hash))}&tree_size=${sth2.tree_size}`))).json;
  assert.equal(byHash.leaf_index, sth2.tree_size - 1);
  verifyInclusion(byHash.leaf_index, sth2.tree_size, hash, byHash.audit_path.map((h: string) => Buffer.from(h, 'base64')), Buffer.from(sth2.sha256_root_hash, 'base64'));
  // An unescaped '+' (read as a space) is tolerated.
  const first = leafHash(Buffer.from(entries[0]!.leaf_input, 'base64'));
  const loose = await get(api(`get-proof-by-hash?hash=${b64(first)}&tree_size=${sth2.tree_size}`));
  assert.equal(loose.status, 200);
  verifyInclusion(0, sth2.tree_size, first, loose.json.audit_path.map((h: string) => Buffer.from(h, 'base64')), Buffer.from(sth2.sha256_root_hash, 'base64'));

  assert.deepEqual((await get(api('get-roots'))).json, { certificates: [b64(ca.root.der)] });
});

test('add-chain logs a final certificate as an x509_entry', async () => {
  const precert = await precertificate();
  const final = await finalizeCertificate(precert, [await service.ctLog.addPreChain([precert.der, ca.intermediate.der])]);
  const res = await post(api('add-chain'), { chain: [b64(final), b64(ca.intermediate.der)] });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const sct = sctFromJson(res.json);
  const length = Buffer.alloc(3);
  length.writeUIntBE(final.length, 0, 3);
  const signed = Buffer.concat([Buffer.from([0, 0]), u64(sct.timestamp), Buffer.from([0, 0]), length, final, Buffer.from([0, 0])]);
  assert.ok(verify('sha256', signed, ctKey, sct.signature), 'x509_entry SCT verifies');
  const size = service.log.checkpoint.size;
  const [entry] = (await get(api(`get-entries?start=${size - 1}&end=${size - 1}`))).json.entries;
  assert.deepEqual(Buffer.from(entry.leaf_input, 'base64'), signed, 'the leaf is the signed structure');
  assert.deepEqual(parseExtraData('x509_entry', Buffer.from(entry.extra_data, 'base64')).chain, [ca.intermediate.der, ca.root.der]);
  // The same certificate again: the original timestamp.
  assert.equal((await service.ctLog.addChain([final, ca.intermediate.der, ca.root.der])).timestamp, sct.timestamp);
});

test('requests the log refuses, with a JSON reason', async () => {
  const precert = await precertificate();
  const final = await finalizeCertificate(precert, [await service.ctLog.addPreChain([precert.der, ca.intermediate.der])]);
  const other = await createCaHierarchy({ organization: 'elsewhere' });
  const foreign = await precertificate(other);
  const size = service.log.checkpoint.size;

  const refused = async (path: string, body: unknown, code: string, status = 400) => {
    const res = await post(api(path), body);
    assert.equal(res.status, status, JSON.stringify(res.json));
    assert.equal(res.json.error, code, res.json.message);
    assert.equal(typeof res.json.message, 'string');
    return res.json.message as string;
  };
  assert.match(await refused('add-pre-chain', { chain: [b64(foreign.der), b64(other.intermediate.der), b64(other.root.der)] }, 'CHAIN_NOT_TRUSTED'), /get-roots/);
  await refused('add-pre-chain', { chain: [b64(foreign.der), b64(ca.intermediate.der)] }, 'CHAIN_BROKEN');
  await refused('add-pre-chain', { chain: [b64(precert.der), b64(ca.root.der)] }, 'CHAIN_BROKEN');
  await refused('add-pre-chain', { chain: [b64(precert.der)] }, 'CHAIN_NOT_TRUSTED');
  assert.match(await refused('add-pre-chain', { chain: [b64(final), b64(ca.intermediate.der)] }, 'PRECERT_POISON_MISSING'), /add-chain/);
  assert.match(await refused('add-chain', { chain: [b64(precert.der), b64(ca.intermediate.der)] }, 'PRECERT_TO_ADD_CHAIN'), /add-pre-chain/);
  await refused('add-chain', { chain: ['not base64!', b64(ca.intermediate.der)] }, 'BASE64_INVALID');
  await refused('add-chain', { chain: [b64(Buffer.from('not a certificate'))] }, 'CERTIFICATE_INVALID');
  await refused('add-chain', { chain: [] }, 'CHAIN_EMPTY');
  await refused('add-chain', { certificates: [] }, 'CHAIN_MISSING');
  await refused('add-chain', [b64(final)], 'CHAIN_MISSING');
  await refused('add-chain', { chain: Array(11).fill(b64(final)) }, 'CHAIN_TOO_LONG');
  const big = await fetch(api('add-chain'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chain: ['A'.repeat(2 * 1024 * 1024)] }) });
  assert.equal(big.status, 413);
  assert.equal(((await big.json()) as { error: string }).error, 'REQUEST_TOO_LARGE');
  const notJson = await fetch(api('add-chain'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"chain":' });
  assert.equal(notJson.status, 400);
  assert.equal(service.log.checkpoint.size, size, 'nothing was logged');

  const bad = async (path: string, code: string, status = 400) => {
    const res = await get(api(path));
    assert.equal(res.status, status, JSON.stringify(res.json));
    assert.equal(res.json.error, code);
  };
  await bad(`get-entries?start=${size}&end=${size + 5}`, 'CT_RANGE_INVALID');
  await bad('get-entries?start=3&end=1', 'CT_RANGE_INVALID');
  await bad('get-entries?start=-1&end=1', 'PARAMETER_INVALID');
  await bad('get-entries?start=0', 'PARAMETER_INVALID');
  await bad(`get-sth-consistency?first=1&second=${size + 1}`, 'CT_RANGE_INVALID');
  await bad(`get-proof-by-hash?hash=${encodeURIComponent(b64(Buffer.alloc(32, 7)))}&tree_size=${size}`, 'CT_ENTRY_NOT_FOUND', 404);
  await bad(`get-proof-by-hash?hash=abc&tree_size=${size}`, 'BASE64_INVALID');
  await bad('get-nothing', 'NOT_FOUND', 404);

  // The CA's HTTP client reports a refusal, and an SCT from another key, as ServiceErrors.
  await assert.rejects(httpCtSubmitter(service.url).addPreChain([foreign.der, other.intermediate.der]), (err: unknown) => {
    assert.ok(err instanceof ServiceError);
    assert.equal(err.code, 'CT_LOG_REJECTED');
    assert.match(err.message, /HTTP 400: .*accepts/);
    return true;
  });
  const wrongKey = generateKeyPair('ec', { namedCurve: 'P-256' }).publicKey;
  await assert.rejects(httpCtSubmitter(service.url, { publicKey: wrongKey }).addPreChain([precert.der, ca.intermediate.der]), (err: unknown) => err instanceof ServiceError && err.code === 'CT_LOG_SCT_INVALID');
  await assert.rejects(httpCtSubmitter('http://127.0.0.1:1').addPreChain([precert.der]), (err: unknown) => err instanceof ServiceError && err.code === 'CT_LOG_UNAVAILABLE');
});

test('a restart keeps the key (0600), the entries and their chains', async () => {
  const { logId, spki } = service.ctLog;
  const size = service.log.checkpoint.size;
  const sth = await service.ctLog.getSth();
  await service.close();
  service = await startCtLogService({ dir: join(dir, 'ct'), rootsPem: ca.root.pem, prefix: '/test/ct/v1' });
  assert.equal(statSync(join(dir, 'ct', CT_FILES.key)).mode & 0o777, 0o600);
  assert.deepEqual(service.ctLog.logId, logId);
  assert.deepEqual(service.ctLog.publicKey.export({ type: 'spki', format: 'der' }), spki);
  assert.equal(service.log.checkpoint.size, size);
  assert.deepEqual(service.log.checkpoint.rootHash, sth.rootHash);
  assert.ok(service.apiUrl.endsWith('/test/ct/v1'));
  const entries = (await get(`${service.apiUrl}/get-entries?start=0&end=0`)).json.entries;
  assert.equal(parseExtraData('precert_entry', Buffer.from(entries[0].extra_data, 'base64')).chain.length, 2);
  // Fulcio-style base URL (without /ct/v1) through the client.
  const precert = await precertificate();
  assertPrecertSct(await httpCtSubmitter(`${service.url}/test`, { publicKey: ctKey }).addPreChain([precert.der, ca.intermediate.der]), precert);
});

test('the CA\'s CT client gives up on a log that does not answer in time or answers too much', async () => {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.url?.includes('/slow/')) return; // never answers
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(Buffer.alloc(2 << 20, 0x20));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const unavailable = (pattern: RegExp) => (err: unknown) => err instanceof ServiceError && err.code === 'CT_LOG_UNAVAILABLE' && pattern.test(err.message);
    await assert.rejects(httpCtSubmitter(`${base}/slow`, { timeoutMs: 200 }).addPreChain([Buffer.from('x')]), unavailable(/within 200 ms/));
    await assert.rejects(httpCtSubmitter(`${base}/big`).addPreChain([Buffer.from('x')]), unavailable(/larger than/));
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
