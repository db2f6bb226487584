// Managed-key signing against the real transparency log on loopback: message signatures and
// in-toto DSSE statements, Rekor v1 and v2, from keys made by generateKeyPairFiles (plain and
// encrypted); every bundle verifies in @sigstack/verify and in sigstore-js.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  INTOTO_PAYLOAD_TYPE,
  Signer,
  buildStatement,
  generateKeyPairFiles,
  loadSignerFile,
  publicKeyHint,
  resolveServices,
  servicesFromSigningConfig,
  subjectFor,
  SignError,
  type KeySigner,
} from '../src/index.js';
import { parseSigningConfig } from '@sigstack/core';
import { signingConfigFor, startStack, verifyBoth, type Stack } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-sign-key-'));
let stack: Stack;
let key: KeySigner;

before(async () => {
  stack = await startStack(dir);
  const files = generateKeyPairFiles(join(dir, 'plain'));
  key = loadSignerFile(files.privateKeyPath);
});
after(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

function keyFor(signer: KeySigner) {
  return { pem: signer.publicKeyPem, spki: signer.spki, hint: publicKeyHint(signer.spki), keyDetails: signer.keyDetails };
}

test('generate-key-pair writes a 0600 private key (encrypted with a password) that signs only with it', () => {
  const files = generateKeyPairFiles(join(dir, 'secret'), { password: 'correct horse' });
  assert.equal(statSync(files.privateKeyPath).mode & 0o777, 0o600);
  assert.match(readFileSync(files.privateKeyPath, 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
  assert.match(readFileSync(files.publicKeyPath, 'utf8'), /BEGIN PUBLIC KEY/);
  assert.throws(() => loadSignerFile(files.privateKeyPath, undefined), (err: SignError) => err.code === 'KEY_PASSWORD_REQUIRED');
  assert.throws(() => loadSignerFile(files.privateKeyPath, 'wrong'), (err: SignError) => err.code === 'KEY_INVALID');
  const signer = loadSignerFile(files.privateKeyPath, 'correct horse');
  assert.equal(signer.publicKeyPem, files.publicKeyPem);
  assert.throws(() => generateKeyPairFiles(join(dir, 'secret')), (err: SignError) => err.code === 'KEY_FILE_EXISTS');
});

test('Rekor v1: a message signature with a managed key verifies in both verifiers', async () => {
  const lines: string[] = [];
  const services = resolveServices({ explicit: { rekorUrl: stack.rekor.url } });
  const artifact = Buffer.from('signed with a managed key, logged in Rekor v1');
  const result = await new Signer({ services, key, log: (l) => lines.push(l) }).signMessage(artifact);
  const material = result.bundle.verificationMaterial;
  assert.ok('publicKey' in material && material.publicKey.hint === publicKeyHint(key.spki));
  assert.equal(material.tlogEntries.length, 1);
  assert.ok(material.tlogEntries[0]!.inclusionPromise, 'v1 entries carry a SET');
  assert.match(lines.join('\n'), /Logged in http:\/\/127\.0\.0\.1:\d+ \(Rekor v1\) at index \d+/);
  await verifyBoth(stack, result.bundle, artifact, { key: keyFor(key) });
});

test('Rekor v2 (from a signing config): message and DSSE bundles verify (timestampThreshold 0: no TSA in this test)', async () => {
  const services = servicesFromSigningConfig(parseSigningConfig(signingConfigFor(stack, 2)));
  assert.deepEqual(services.tlogs, [{ url: stack.rekor.url, majorApiVersion: 2 }]);
  const lines: string[] = [];
  const signer = new Signer({ services, key, log: (l) => lines.push(l) });
  const artifact = Buffer.from('signed with a managed key, logged in Rekor v2');
  const message = await signer.signMessage(artifact);
  const entry = message.bundle.verificationMaterial.tlogEntries[0]!;
  assert.deepEqual(entry.kindVersion, { kind: 'hashedrekord', version: '0.0.2' });
  assert.equal(entry.integratedTime, undefined);
  assert.match(lines.join('\n'), /no timestamp authority/);
  await verifyBoth(stack, message.bundle, artifact, { key: keyFor(key), timestampThreshold: 0 });

  const statement = buildStatement([subjectFor('artifact.txt', artifact)], 'https://example.test/predicate/v1', { built: true });
  const dsse = await signer.signDsse(statement, INTOTO_PAYLOAD_TYPE);
  assert.deepEqual(dsse.bundle.verificationMaterial.tlogEntries[0]!.kindVersion, { kind: 'dsse', version: '0.0.2' });
  await verifyBoth(stack, dsse.bundle, artifact, { key: keyFor(key), timestampThreshold: 0 });
});

test('Rekor v1: an in-toto statement in DSSE with an encrypted managed key verifies in both verifiers', async () => {
  const files = generateKeyPairFiles(join(dir, 'attest'), { password: 'pw' });
  const signer = loadSignerFile(files.privateKeyPath, 'pw');
  const artifact = Buffer.from('the attested artifact');
  const statement = buildStatement([subjectFor('artifact.bin', artifact)], 'https://slsa.dev/provenance/v1', { buildDefinition: {} });
  const result = await new Signer({ services: resolveServices({ explicit: { rekorUrl: stack.rekor.url, rekorVersion: 1 } }), key: signer }).signDsse(statement, INTOTO_PAYLOAD_TYPE);
  assert.equal(result.bundle.dsseEnvelope?.payloadType, INTOTO_PAYLOAD_TYPE);
  assert.deepEqual(result.bundle.verificationMaterial.tlogEntries[0]!.kindVersion, { kind: 'dsse', version: '0.0.1' });
  await verifyBoth(stack, result.bundle, artifact, { key: keyFor(signer) });
});

test('Rekor v2 with a TSA timestamp: the bundle verifies with the default threshold in both verifiers', async () => {
  const services = servicesFromSigningConfig(parseSigningConfig(signingConfigFor(stack, 2, true)));
  assert.equal(services.tsas.length, 1);
  const lines: string[] = [];
  const artifact = Buffer.from('managed key, Rekor v2, timestamped');
  const result = await new Signer({ services, key, log: (l) => lines.push(l) }).signMessage(artifact);
  assert.equal(result.bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
  assert.match(lines.join('\n'), /Timestamp from http:\/\/127\.0\.0\.1:\d+\/api\/v1\/timestamp: \d{4}-/);
  const { ours } = await verifyBoth(stack, result.bundle, artifact, { key: keyFor(key) });
  assert.equal(ours.signedAt.length, 1, 'the TSA time is the signing time');
});
