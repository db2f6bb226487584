// Where the verifier agrees with sigstore-go and sigstore-python (and sigstore-js), each rule
// with a bundle or trusted root built for it by the real log and TSA on loopback: trusted roots
// without validFor, checkpoints signed under a name that is not the log's host, and bundles
// with several RFC 3161 timestamps (unverifiable ones skipped, duplicates and >32 refused).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBundle, parseTrustedRoot } from '@sigstack/core';
import { TrustMaterial, VerificationError, Verifier } from '@sigstack/verify';
import { startLogService, tsa as tsaModule } from '@sigstack/server';
import { Signer, TimestampClient, generateKeyPairFiles, loadSignerFile, publicKeyHint, resolveServices, type KeySigner } from '../src/index.js';
import { trustedRootFor, type Stack } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-verify-agree-'));
// A private Rekor signs its checkpoints as its pod name, not as the host of its URL.
const POD_NAME = 'rekor-00001-deployment-7c9d8f6b5-x2x4q';
let stack: Stack;
let otherTsa: tsaModule.TsaService;
let key: KeySigner;
let keyInfo: { pem: string; spki: Buffer; hint: string; keyDetails: string };
const artifact = Buffer.from('one artifact, several timestamps');
let v1Bundle: Record<string, any>;
let v2Bundle: Record<string, any>;

type Json = Record<string, any>;
const clone = <T>(value: T): T => structuredClone(value);

before(async () => {
  const rekor = await startLogService({ dir: join(dir, 'rekor'), port: 0, admissionWorkers: 0, name: POD_NAME });
  const tsa = await tsaModule.startTsaService({ dir: join(dir, 'tsa') });
  otherTsa = await tsaModule.startTsaService({ dir: join(dir, 'tsa-other') });
  stack = { rekor, tsa, close: async () => { await tsa.close(); await rekor.close(); } };
  key = loadSignerFile(generateKeyPairFiles(join(dir, 'key')).privateKeyPath);
  keyInfo = { pem: key.publicKeyPem, spki: key.spki, hint: publicKeyHint(key.spki), keyDetails: key.keyDetails };
  const sign = (rekorVersion: 1 | 2) =>
    new Signer({ services: resolveServices({ explicit: { rekorUrl: rekor.url, rekorVersion, tsaUrls: [tsa.url] } }), key, log: () => {} }).signMessage(artifact);
  v1Bundle = (await sign(1)).bundle as Json;
  v2Bundle = (await sign(2)).bundle as Json;
});
after(async () => {
  await otherTsa.close();
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

function ours(bundle: Json, root: Json, options: { timestampThreshold?: number } = {}) {
  return new Verifier(new TrustMaterial(parseTrustedRoot(root)), options).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, { key: keyInfo.pem });
}

async function refused(promise: Promise<unknown>, code: string, message?: RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VerificationError, String(err));
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

function withoutValidFor(root: Json): Json {
  const copy = clone(root);
  for (const log of [...copy.tlogs, ...copy.ctlogs]) delete log.publicKey.validFor;
  for (const ca of [...copy.certificateAuthorities, ...copy.timestampAuthorities]) delete ca.validFor;
  return copy;
}

const timestampsOf = (bundle: Json): Json[] => bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps;
const stampedBy = async (url: string, signature: Buffer) => ({ signedTimestamp: (await new TimestampClient(url).timestamp(signature)).der.toString('base64') });
const signatureOf = (bundle: Json) => Buffer.from(bundle.messageSignature.signature, 'base64');

test('optional validFor: a trusted root whose keys and authorities have none is valid at every time', async () => {
  const root = withoutValidFor(trustedRootFor(stack));
  for (const bundle of [v1Bundle, v2Bundle]) {
    const result = await ours(bundle, root);
    assert.equal(result.tlogEntries[0]?.logUrl, stack.rekor.url);
  }
});

test('optional validFor: present without a start is still a malformed root, in every list', () => {
  const lists: [string, (root: Json) => Json][] = [
    ['tlogs[0].publicKey.validFor.start', (r) => r.tlogs[0].publicKey],
    ['timestampAuthorities[0].validFor.start', (r) => r.timestampAuthorities[0]],
  ];
  for (const [path, at] of lists) {
    const root = withoutValidFor(trustedRootFor(stack));
    at(root).validFor = { end: '2099-01-01T00:00:00Z' };
    assert.throws(() => parseTrustedRoot(root), (err: Error & { code?: string }) => err.code === 'TRUSTED_ROOT_INVALID' && err.message.includes(path));
  }
  // And a validFor that is present still bounds the key: a TSA trusted only in the past stamps nothing.
  const root = withoutValidFor(trustedRootFor(stack));
  root.timestampAuthorities[0].validFor = { start: '2020-01-01T00:00:00Z', end: '2021-01-01T00:00:00Z' };
  return refused(ours(v2Bundle, root), 'TIMESTAMP_UNTRUSTED');
});

test('checkpoint signer found by key hint, not by the host of baseUrl: a log signing as its pod name verifies', async () => {
  const checkpoint: string = v2Bundle.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope;
  assert.ok(checkpoint.startsWith(`${POD_NAME}\n`), 'the checkpoint origin is the pod name');
  assert.match(checkpoint, new RegExp(`\\n\u2014 ${POD_NAME} `), 'and so is its signature line');
  assert.ok(!stack.rekor.url.includes(POD_NAME));
  const result = await ours(v2Bundle, trustedRootFor(stack));
  assert.equal(result.tlogEntries[0]?.logUrl, stack.rekor.url);
  await ours(v1Bundle, trustedRootFor(stack));
});

test('checkpoint signer: a line under another key hint, or one whose signature does not verify, is not the log', async () => {
  const root = trustedRootFor(stack) as Json;
  // The trusted key's hint (here: its checkpointKeyId) matches no signature line.
  const otherHint = clone(root);
  otherHint.tlogs[0].checkpointKeyId = { keyId: Buffer.alloc(32, 9).toString('base64') };
  await refused(ours(v2Bundle, otherHint), 'TLOG_CHECKPOINT_INVALID', /no signature with the key hint 09090909/);
  // The right hint, but the signature bytes do not verify (name changed too: names are not what is checked).
  const bundle = clone(v2Bundle);
  const proof = bundle.verificationMaterial.tlogEntries[0].inclusionProof;
  const [body, sigLine] = (proof.checkpoint.envelope as string).split('\n\n');
  const [, , b64] = sigLine!.trim().split(' ');
  const sig = Buffer.from(b64!, 'base64');
  sig[sig.length - 1]! ^= 1;
  proof.checkpoint.envelope = `${body}\n\n\u2014 ${stack.rekor.url.replace('http://', '')} ${sig.toString('base64')}\n`;
  await refused(ours(bundle, root), 'TLOG_CHECKPOINT_INVALID', /no checkpoint signature .* verifies/);
});

test('several RFC 3161 timestamps: one from an unknown TSA or over another message is skipped, not fatal', async () => {
  const bundle = clone(v2Bundle);
  timestampsOf(bundle).push(await stampedBy(otherTsa.url, signatureOf(bundle)), await stampedBy(stack.tsa.url, Buffer.from('another message')));
  const result = await ours(bundle, trustedRootFor(stack));
  assert.equal(result.signedAt.length, 1, 'only the verified timestamp counts');
  // Two verified timestamps from the trusted TSA meet a threshold of 2; the skipped ones do not count.
  timestampsOf(bundle).push(await stampedBy(stack.tsa.url, signatureOf(bundle)));
  assert.equal((await ours(bundle, trustedRootFor(stack), { timestampThreshold: 2 })).signedAt.length, 2);
  await refused(ours(bundle, trustedRootFor(stack), { timestampThreshold: 3 }), 'TIMESTAMP_UNTRUSTED', /2 verifiable signing time\(s\), 3 required/);
});

test('several RFC 3161 timestamps: with only unverifiable ones, or a root without TSAs, nothing gives a time', async () => {
  const bundle = clone(v2Bundle);
  bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps = [await stampedBy(otherTsa.url, signatureOf(bundle))];
  await refused(ours(bundle, trustedRootFor(stack)), 'TIMESTAMP_UNTRUSTED');
  const noTsas = trustedRootFor(stack) as Json;
  noTsas.timestampAuthorities = [];
  await refused(ours(v2Bundle, noTsas), 'TIMESTAMP_UNTRUSTED');
  // A v1 entry's signed entry timestamp still gives a time without any TSA.
  assert.equal((await ours(v1Bundle, noTsas)).signedAt.length, 1);
});

test('several RFC 3161 timestamps: the same timestamp twice, or more than 32, refuses the bundle', async () => {
  const twice = clone(v2Bundle);
  timestampsOf(twice).push(clone(timestampsOf(twice)[0]));
  await refused(ours(twice, trustedRootFor(stack)), 'TIMESTAMP_INVALID', /same timestamp twice/);
  const many = clone(v2Bundle);
  const signature = signatureOf(many);
  const extra = await Promise.all(Array.from({ length: 32 }, () => stampedBy(stack.tsa.url, signature)));
  timestampsOf(many).push(...extra.slice(0, 31));
  assert.equal((await ours(many, trustedRootFor(stack), { timestampThreshold: 32 })).signedAt.length, 32);
  timestampsOf(many).push(extra[31]!);
  await refused(ours(many, trustedRootFor(stack)), 'TIMESTAMP_INVALID', /33 RFC 3161 timestamps; at most 32/);
});
