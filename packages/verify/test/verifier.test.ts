// The verifier against hand-built negative cases derived from real conformance bundles:
// each tampering must be rejected with the code of the check it breaks, never a crash.

import { generateKeyPair } from '@sigstack/core';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseBundle, parseTrustedRoot } from '@sigstack/core';
import { TrustMaterial, VerificationError, Verifier, type Artifact, type VerifyPolicy } from '../src/index.js';

const cases = fileURLToPath(new URL('../../../../test/fixtures/conformance/bundle-verify/', import.meta.url));
const IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';
const POLICY: VerifyPolicy = { identity: IDENTITY, issuer: ISSUER };
const A_TXT: Artifact = { kind: 'bytes', data: readFileSync(`${cases}a.txt`) };

type Json = Record<string, any>;
const readJson = (path: string): Json => JSON.parse(readFileSync(path, 'utf8'));
const bundleJson = (name: string): Json => readJson(`${cases}${name}/bundle.sigstore.json`);
const rootJson = (name?: string): Json =>
  name ? readJson(`${cases}${name}/trusted_root.json`) : readJson(fileURLToPath(new URL('../../trust/public-good-trusted-root.json', import.meta.url)));

async function verify(bundle: Json, root: Json, artifact: Artifact | undefined = A_TXT, policy: VerifyPolicy = POLICY) {
  return new Verifier(new TrustMaterial(parseTrustedRoot(root))).verify(parseBundle(bundle), artifact, policy);
}

async function rejects(promise: Promise<unknown>, code: string | RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected a VerificationError, got ${String(err)}`);
    if (typeof code === 'string') assert.equal(err.code, code, err.message);
    else assert.match(err.code, code, err.message);
    return true;
  });
}

const flipBase64 = (b64: string): string => {
  const bytes = Buffer.from(b64, 'base64');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
  return bytes.toString('base64');
};

test('happy paths verify and say who signed, where and when', async () => {
  const result = await verify(bundleJson('happy-path-v0.3'), rootJson());
  assert.equal(result.identity, IDENTITY);
  assert.equal(result.issuer, ISSUER);
  assert.deepEqual(result.tlogEntries, [{ logUrl: 'https://rekor.sigstore.dev', logIndex: 79571823 }]);
  assert.equal(result.signedAt[0]?.toISOString(), '2024-03-19T17:26:26.000Z');
  const v2 = await verify(bundleJson('rekor2-happy-path'), rootJson('rekor2-happy-path'));
  assert.equal(v2.tlogEntries[0]?.logIndex, 735);
});

test('wrong root hash: an inclusion proof hash changed does not lead to the checkpoint', async () => {
  const bundle = bundleJson('rekor2-happy-path');
  const proof = bundle.verificationMaterial.tlogEntries[0].inclusionProof;
  proof.hashes[2] = flipBase64(proof.hashes[2]);
  await rejects(verify(bundle, rootJson('rekor2-happy-path')), 'TLOG_INCLUSION_PROOF_INVALID');
});

test('wrong root hash: a proof root that is not the checkpoint root', async () => {
  const bundle = bundleJson('rekor2-happy-path');
  const proof = bundle.verificationMaterial.tlogEntries[0].inclusionProof;
  proof.rootHash = flipBase64(proof.rootHash);
  await rejects(verify(bundle, rootJson('rekor2-happy-path')), 'TLOG_CHECKPOINT_INVALID');
});

test('wrong checkpoint key: the log key in the trusted root is not the one that signed', async () => {
  const root = rootJson('rekor2-happy-path');
  const log = root.tlogs.find((t: Json) => t.baseUrl.includes('log2025-alpha1'));
  log.publicKey.rawBytes = generateKeyPair('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  await rejects(verify(bundleJson('rekor2-happy-path'), root), 'TLOG_CHECKPOINT_INVALID');
});

test('tampered body: the signed entry timestamp and the inclusion proof no longer hold', async () => {
  const bundle = bundleJson('happy-path-v0.3');
  const entry = bundle.verificationMaterial.tlogEntries[0];
  const body = JSON.parse(Buffer.from(entry.canonicalizedBody, 'base64').toString());
  body.spec.data.hash.value = '0'.repeat(64);
  entry.canonicalizedBody = Buffer.from(JSON.stringify(body)).toString('base64');
  await rejects(verify(bundle, rootJson()), 'TLOG_SET_INVALID');
  delete entry.inclusionPromise;
  await rejects(verify(bundle, rootJson()), /TLOG_INCLUSION_PROOF_INVALID|TIMESTAMP_MISSING/);
});

test('tampered body with a valid proof elsewhere: a body for another artifact is refused', async () => {
  await rejects(verify(bundleJson('happy-path-v0.3'), rootJson(), { kind: 'bytes', data: Buffer.from('another file') }), 'ARTIFACT_DIGEST_MISMATCH');
});

test('expired certificate: the CA is trusted only before the signing time', async () => {
  const root = rootJson();
  for (const ca of root.certificateAuthorities) ca.validFor.end = '2022-01-01T00:00:00Z';
  await rejects(verify(bundleJson('happy-path-v0.3'), root), 'CERTIFICATE_EXPIRED');
});

test('timestamp outside validity: the TSA is not trusted at the stamped time', async () => {
  const root = rootJson('rekor2-happy-path');
  for (const tsa of root.timestampAuthorities) tsa.validFor = { start: '2020-01-01T00:00:00Z', end: '2021-01-01T00:00:00Z' };
  await rejects(verify(bundleJson('rekor2-happy-path'), root), 'TIMESTAMP_UNTRUSTED');
});

test('timestamp outside validity: the log key is not trusted at the integrated time', async () => {
  const root = rootJson();
  for (const log of root.tlogs) log.publicKey.validFor = { start: '2020-01-01T00:00:00Z', end: '2021-01-01T00:00:00Z' };
  await rejects(verify(bundleJson('happy-path-v0.3'), root), 'TLOG_KEY_NOT_VALID');
});

test('identity mismatch: SAN and issuer, exact and regular expression', async () => {
  const bundle = bundleJson('happy-path-v0.3');
  await rejects(verify(bundle, rootJson(), A_TXT, { identity: 'someone@example.com', issuer: ISSUER }), 'IDENTITY_MISMATCH');
  await rejects(verify(bundle, rootJson(), A_TXT, { identity: IDENTITY, issuer: 'https://accounts.google.com' }), 'ISSUER_MISMATCH');
  await rejects(verify(bundle, rootJson(), A_TXT, { identityRegexp: '^https://github\\.com/other/', issuer: ISSUER }), 'IDENTITY_MISMATCH');
  await rejects(verify(bundle, rootJson(), A_TXT, { identity: IDENTITY, issuerRegexp: '(' }), 'POLICY_INVALID');
  const ok = await verify(bundle, rootJson(), A_TXT, { identityRegexp: '^https://github\\.com/sigstore-conformance/', issuerRegexp: 'githubusercontent' });
  assert.equal(ok.identity, IDENTITY);
});

test('managed keys: the right key verifies, another key does not, and flags must fit the bundle', async () => {
  const key = readFileSync(`${cases}managed-key-happy-path/key.pub`, 'utf8');
  const bundle = bundleJson('managed-key-happy-path');
  const result = await verify(bundle, rootJson(), A_TXT, { key });
  assert.equal(result.identity, undefined);
  const other = generateKeyPair('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
  await rejects(verify(bundle, rootJson(), A_TXT, { key: other }), /KEY_MISMATCH|SIGNATURE_INVALID/);
  await rejects(verify(bundle, rootJson()), 'KEY_REQUIRED');
  await rejects(verify(bundleJson('happy-path-v0.3'), rootJson(), A_TXT, { key }), 'KEY_MATERIAL_MISMATCH');
});

test('a digest stands in for the artifact, and a wrong digest is refused', async () => {
  const { createHash } = await import('node:crypto');
  const digest = createHash('sha256').update(A_TXT.kind === 'bytes' ? A_TXT.data : '').digest();
  const result = await verify(bundleJson('happy-path-v0.3'), rootJson(), { kind: 'digest', algorithm: 'sha256', digest });
  assert.equal(result.identity, IDENTITY);
  await rejects(verify(bundleJson('happy-path-v0.3'), rootJson(), { kind: 'digest', algorithm: 'sha256', digest: Buffer.alloc(32) }), 'ARTIFACT_DIGEST_MISMATCH');
});

test('DSSE: the artifact must be a subject of the in-toto statement', async () => {
  const bundle = bundleJson('happy-path-intoto-in-dsse-v3');
  await verify(bundle, rootJson());
  await rejects(verify(bundle, rootJson(), { kind: 'bytes', data: Buffer.from('not a subject') }), 'ARTIFACT_MISMATCH');
});

test('untrusted certificate authority: a trusted root without the issuing CA', async () => {
  const root = rootJson();
  root.certificateAuthorities = root.certificateAuthorities.slice(0, 1);
  await rejects(verify(bundleJson('happy-path-v0.3'), root), 'CERTIFICATE_UNTRUSTED');
});

test('SCTs: from a CT log missing from the trusted root', async () => {
  const root = rootJson();
  root.ctlogs = [];
  await rejects(verify(bundleJson('happy-path-v0.3'), root), 'SCT_INVALID');
});

test('mutations anywhere in a bundle are rejected with a code, never a crash', async () => {
  const original = bundleJson('rekor2-happy-path');
  const root = rootJson('rekor2-happy-path');
  const paths: string[][] = [];
  const walk = (node: unknown, path: string[]) => {
    if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
    else paths.push(path);
  };
  walk(original, []);
  const replacements: unknown[] = [null, 0, -1, '', 'AAAA', '!!', [], {}, 'x'.repeat(3), 1e309];
  let rejected = 0;
  for (const path of paths) {
    for (const value of replacements) {
      const bundle = structuredClone(original);
      let node = bundle;
      for (const key of path.slice(0, -1)) node = node[key];
      node[path[path.length - 1] as string] = value;
      try {
        await verify(bundle, root);
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        assert.ok(/^[A-Z0-9_]+$/.test(code) && code !== 'INTERNAL_ERROR', `${path.join('.')} = ${JSON.stringify(value)}: ${String(err)}`);
        rejected++;
      }
    }
  }
  assert.ok(rejected > paths.length * 5, `only ${rejected} mutations were rejected`);
});

test('one verifier, many bundles: trust keys are prepared once, but every bundle is checked in full', async () => {
  const key = readFileSync(`${cases}managed-key-happy-path/key.pub`, 'utf8');
  const verifier = new Verifier(new TrustMaterial(parseTrustedRoot(rootJson())));
  const good = bundleJson('managed-key-happy-path');
  for (let i = 0; i < 3; i++) await verifier.verify(parseBundle(good), A_TXT, { key });
  // The same bundle with its TSA token's signature altered, then its message signature altered.
  const badTimestamp = bundleJson('managed-key-happy-path');
  const stamps = badTimestamp.verificationMaterial.timestampVerificationData.rfc3161Timestamps;
  stamps[0].signedTimestamp = flipBase64(stamps[0].signedTimestamp);
  // The altered token is skipped (the log's signed entry timestamp still gives a time), and it
  // does not count: a threshold of two signing times is no longer met.
  assert.equal((await verifier.verify(parseBundle(good), A_TXT, { key })).signedAt.length, 2);
  assert.equal((await verifier.verify(parseBundle(badTimestamp), A_TXT, { key })).signedAt.length, 1);
  const strict = new Verifier(verifier.trust, { timestampThreshold: 2 });
  await strict.verify(parseBundle(good), A_TXT, { key });
  await rejects(strict.verify(parseBundle(badTimestamp), A_TXT, { key }), /^TIMESTAMP_(UNTRUSTED|INVALID)$/);
  const badSignature = bundleJson('managed-key-happy-path');
  badSignature.messageSignature.signature = flipBase64(badSignature.messageSignature.signature);
  await rejects(verifier.verify(parseBundle(badSignature), A_TXT, { key }), /^(SIGNATURE_INVALID|TLOG_BODY_MISMATCH|TLOG_.*)$/);
  // And keyless: a leaf whose signature no longer verifies under the (prepared) P-384 intermediate.
  const keyless = new Verifier(new TrustMaterial(parseTrustedRoot(rootJson())));
  await keyless.verify(parseBundle(bundleJson('happy-path-v0.3')), A_TXT, POLICY);
  const badLeaf = bundleJson('happy-path-v0.3');
  const cert = Buffer.from(badLeaf.verificationMaterial.certificate.rawBytes, 'base64');
  cert[cert.length - 2] = (cert[cert.length - 2] ?? 0) ^ 1;
  badLeaf.verificationMaterial.certificate.rawBytes = cert.toString('base64');
  await rejects(keyless.verify(parseBundle(badLeaf), A_TXT, POLICY), /^(CERTIFICATE_|TLOG_)/);
  await keyless.verify(parseBundle(bundleJson('happy-path-v0.3')), A_TXT, POLICY);
});

test('prepared keys: a P-256 --key checks the message signature over bytes and over a digest; the log key refuses an altered SET or checkpoint after good bundles', async () => {
  const { ManagedKeys } = await import('../src/managed-keys.js');
  const { verifyContentSignature } = await import('../src/signature-check.js');
  const { createHash, sign } = await import('node:crypto');
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new ManagedKeys().signerFor(pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  assert.ok(signer.fixedKey, 'a P-256 --key is prepared once');
  const data = Buffer.from('prepared key message');
  const signature = sign('sha256', data, pair.privateKey);
  const digest = createHash('sha256').update(data).digest();
  const bytes = (sig: Buffer, d = data) => ({ kind: 'message' as const, signature: sig, digest, hash: 'sha256' as const, artifact: { kind: 'bytes' as const, data: d } });
  const digestOnly = (sig: Buffer, dg = digest) => ({ kind: 'message' as const, signature: sig, digest: dg, hash: 'sha256' as const, artifact: { kind: 'digest' as const, algorithm: 'sha256' as const, digest: dg } });
  const flipped = Buffer.from(signature);
  flipped[flipped.length - 1]! ^= 1;
  assert.equal(await verifyContentSignature(bytes(signature), signer), true);
  assert.equal(await verifyContentSignature(bytes(flipped), signer), false);
  assert.equal(await verifyContentSignature(bytes(signature, Buffer.from('other message')), signer), false);
  assert.equal(await verifyContentSignature(digestOnly(signature), signer), true);
  assert.equal(await verifyContentSignature(digestOnly(flipped), signer), false);
  assert.equal(await verifyContentSignature(digestOnly(signature, createHash('sha256').update('x').digest()), signer), false);

  const key = readFileSync(`${cases}managed-key-happy-path/key.pub`, 'utf8');
  const verifier = new Verifier(new TrustMaterial(parseTrustedRoot(rootJson())));
  await verifier.verify(parseBundle(bundleJson('managed-key-happy-path')), A_TXT, { key });
  const badSet = bundleJson('managed-key-happy-path');
  const promise = badSet.verificationMaterial.tlogEntries[0].inclusionPromise;
  promise.signedEntryTimestamp = flipBase64(promise.signedEntryTimestamp);
  await rejects(verifier.verify(parseBundle(badSet), A_TXT, { key }), 'TLOG_SET_INVALID');
  const badCheckpoint = bundleJson('managed-key-happy-path');
  const checkpoint = badCheckpoint.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
  const lines: string[] = checkpoint.envelope.split('\n');
  const signatureLine = lines.findIndex((line) => line.startsWith('— '));
  const [dash, name, sig] = lines[signatureLine]!.split(' ');
  const raw = Buffer.from(sig!, 'base64');
  raw[raw.length - 1]! ^= 1;
  lines[signatureLine] = `${dash} ${name} ${raw.toString('base64')}`;
  checkpoint.envelope = lines.join('\n');
  await rejects(verifier.verify(parseBundle(badCheckpoint), A_TXT, { key }), 'TLOG_CHECKPOINT_INVALID');
  await verifier.verify(parseBundle(bundleJson('managed-key-happy-path')), A_TXT, { key });
});
