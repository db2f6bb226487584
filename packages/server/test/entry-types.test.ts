// The log's entry types and the x509 PKI format: canonical bodies and index keys for every kind,
// real public-good / conformance entries reproduced byte for byte, and malformed input rejected
// with a ServiceError 400 naming what is wrong (never a crash).

import { generateKeyPair } from '@sigstack/core';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalize, pemEncode, preAuthEncoding } from '@sigstack/core';
import { ServiceError } from '../src/errors.js';
import { pkiFormat } from '../src/log/pki/index.js';
import { parseX509PublicKey, x509Format, x509PublicKeyFromDer } from '../src/log/pki/x509.js';
import { canonicalizeProposedEntry, canonicalizeV2Request, entryType, supportedEntryTypes } from '../src/log/types/index.js';
import type { CanonicalEntry, IndexKey } from '../src/log/types/types.js';

type Json = Record<string, any>;
const cases = fileURLToPath(new URL('../../../../test/fixtures/conformance/bundle-verify/', import.meta.url));
const A_TXT = readFileSync(`${cases}a.txt`);
const bundle = (name: string): Json => JSON.parse(readFileSync(`${cases}${name}/bundle.sigstore.json`, 'utf8'));
const realBody = (b: Json): Buffer => Buffer.from(b.verificationMaterial.tlogEntries[0].canonicalizedBody, 'base64');
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();
const b64 = (data: Uint8Array | string) => Buffer.from(data).toString('base64');
const parse = (e: CanonicalEntry): Json => JSON.parse(e.body.toString('utf8'));

// sigstore-js's own tlog body check (the client we must interoperate with), when installed.
const require = createRequire(import.meta.url);
let sigstoreTlog: { verifyTLogBody(entry: unknown, content: unknown): void } | undefined;
try {
  sigstoreTlog = require('@sigstore/verify/dist/tlog/index.js');
} catch {
  sigstoreTlog = undefined;
}
function sigstoreAccepts(entry: CanonicalEntry, signature: Buffer, digest: Buffer): void {
  if (!sigstoreTlog) return;
  sigstoreTlog.verifyTLogBody(
    { kindVersion: { kind: entry.kind, version: entry.apiVersion }, canonicalizedBody: entry.body },
    { signature, compareSignature: (s: Buffer) => s.equals(signature), compareDigest: (d: Buffer) => d.equals(digest), verifySignature: () => true },
  );
}

async function rejects(promise: Promise<unknown> | (() => unknown), code: string, message?: RegExp): Promise<void> {
  const run = typeof promise === 'function' ? async () => promise() : () => promise;
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof ServiceError, `expected a ServiceError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

function hasKey(keys: IndexKey[], type: IndexKey['type'], value: string): void {
  assert.ok(keys.some((k) => k.type === type && k.value === value), `missing index key ${type} ${value} in ${JSON.stringify(keys)}`);
}

const ec = () => generateKeyPair('ec', { namedCurve: 'P-256' });
const ed = () => generateKeyPair('ed25519');
const spkiPem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string;
const spkiDer = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
const fingerprint = (pem: string) => sha256(Buffer.from(pem)).toString('hex');

// A self-made certificate with an email and a URI SAN, and a two-certificate chain (openssl).
const dir = mkdtempSync(join(tmpdir(), 'sigstack-entry-types-'));
function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}
openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.pem', '-days', '2',
  '-subj', '/CN=leaf', '-addext', 'subjectAltName=email:Alice@Example.COM,URI:https://github.com/acme/repo/.github/workflows/ci.yml@refs/heads/main,DNS:acme.test');
openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3', '-subj', '/CN=test CA',
  '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'sub.key', '-out', 'sub.csr', '-subj', '/CN=sub');
openssl('x509', '-req', '-in', 'sub.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'sub.pem', '-days', '1');
const leaf = { certPem: readFileSync(join(dir, 'leaf.pem'), 'utf8'), key: readFileSync(join(dir, 'leaf.key'), 'utf8') };
const chainPem = readFileSync(join(dir, 'sub.pem'), 'utf8') + readFileSync(join(dir, 'ca.pem'), 'utf8');
const caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
rmSync(dir, { recursive: true, force: true });

// ---------------------------------------------------------------------------------------------
// x509 PKI format

test('x509: public keys canonicalize to SPKI PEM (PKCS#1 RSA too), certificates to certificate PEM', () => {
  const { publicKey } = ec();
  const key = x509Format.parsePublicKey(Buffer.from(`\n\n${spkiPem(publicKey)}\n`));
  assert.equal(key.canonicalValue().toString(), spkiPem(publicKey));
  assert.deepEqual(key.subjects(), []);

  const rsa = generateKeyPair('rsa', { modulusLength: 2048 }).publicKey;
  const pkcs1 = rsa.export({ type: 'pkcs1', format: 'pem' }) as string;
  assert.match(pkcs1, /BEGIN RSA PUBLIC KEY/);
  assert.equal(parseX509PublicKey(pkcs1).canonicalValue().toString(), spkiPem(rsa));

  const cert = parseX509PublicKey(leaf.certPem);
  assert.equal(cert.canonicalValue().toString(), leaf.certPem);
  assert.ok(cert.certificate);
  // Rekor's Subjects(): DNS names, emails (as written), IPs, URIs.
  assert.deepEqual(cert.subjects(), ['acme.test', 'Alice@Example.COM', 'https://github.com/acme/repo/.github/workflows/ci.yml@refs/heads/main']);
  assert.deepEqual(cert.emails(), ['alice@example.com']);

  const chain = parseX509PublicKey(chainPem);
  assert.equal(chain.chain.length, 2);
  assert.equal(chain.canonicalValue().toString(), chainPem);
  assert.ok(x509PublicKeyFromDer(spkiDer(publicKey), 'spki').spki.equals(spkiDer(publicKey)));
});

test('x509: weak, unsupported and malformed keys are refused with PUBLIC_KEY_INVALID', async () => {
  const weak = generateKeyPair('rsa', { modulusLength: 1024 }).publicKey;
  await rejects(() => parseX509PublicKey(spkiPem(weak)), 'PUBLIC_KEY_INVALID', /1024-bit RSA/);
  const k1 = generateKeyPair('ec', { namedCurve: 'secp256k1' }).publicKey;
  await rejects(() => parseX509PublicKey(spkiPem(k1)), 'PUBLIC_KEY_INVALID', /secp256k1/);
  const x448 = generateKeyPair('ed448').publicKey;
  await rejects(() => parseX509PublicKey(spkiPem(x448)), 'PUBLIC_KEY_INVALID');
  await rejects(() => parseX509PublicKey('not pem'), 'PUBLIC_KEY_INVALID', /PEM/);
  await rejects(() => parseX509PublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), 'PUBLIC_KEY_INVALID');
  await rejects(() => parseX509PublicKey('-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n'), 'PUBLIC_KEY_INVALID', /certificate/);
  await rejects(() => parseX509PublicKey('-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n'), 'PUBLIC_KEY_INVALID', /PRIVATE KEY/);
  // A "chain" whose first certificate is not issued by the second.
  await rejects(() => parseX509PublicKey(leaf.certPem + caPem), 'PUBLIC_KEY_INVALID', /chain/);
  await rejects(() => x509Format.parseSignature(Buffer.alloc(0)), 'SIGNATURE_INVALID_FORMAT');
});

test('x509: signatures verify over data with the hash the key implies (ECDSA P-256/P-384, RSA PKCS#1 and PSS, Ed25519)', async () => {
  const data = Buffer.from('hello');
  const p384 = generateKeyPair('ec', { namedCurve: 'P-384' });
  const rsa = generateKeyPair('rsa', { modulusLength: 2048 });
  const e = ed();
  const cases: [KeyObject, Buffer][] = [
    [p384.publicKey, sign('sha384', data, p384.privateKey)],
    [rsa.publicKey, sign('sha256', data, rsa.privateKey)],
    [rsa.publicKey, sign('sha256', data, { key: rsa.privateKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */ })],
    [e.publicKey, sign(null, data, e.privateKey)],
  ];
  for (const [pub, sig] of cases) {
    const key = x509Format.parsePublicKey(Buffer.from(spkiPem(pub)));
    assert.equal(await x509Format.parseSignature(sig).verify(data, key), true);
    assert.equal(await x509Format.parseSignature(sig).verify(Buffer.from('other'), key), false);
  }
});

// ---------------------------------------------------------------------------------------------
// hashedrekord 0.0.1

function hashedrekord(signature: Buffer, keyPem: string, digestHex: string, algorithm = 'sha256'): Json {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: { data: { hash: { algorithm, value: digestHex } }, signature: { content: b64(signature), publicKey: { content: b64(keyPem) } } },
  };
}

test('hashedrekord 0.0.1: canonical body and index keys for a P-256 key', async () => {
  const { publicKey, privateKey } = ec();
  const artifact = Buffer.from('artifact');
  const sig = sign('sha256', artifact, privateKey);
  const digest = sha256(artifact).toString('hex');
  const entry = await canonicalizeProposedEntry(hashedrekord(sig, spkiPem(publicKey), digest));
  assert.equal(entry.kind, 'hashedrekord');
  assert.equal(entry.apiVersion, '0.0.1');
  const expected = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: { data: { hash: { algorithm: 'sha256', value: digest } }, signature: { content: b64(sig), publicKey: { content: b64(spkiPem(publicKey)) } } },
  };
  assert.equal(entry.body.toString(), canonicalize(expected));
  assert.deepEqual(entry.indexKeys, [
    { type: 'publicKey', value: fingerprint(spkiPem(publicKey)) },
    { type: 'hash', value: `sha256:${digest}` },
  ]);
  sigstoreAccepts(entry, sig, sha256(artifact));
});

test('hashedrekord 0.0.1: certificate verifier gives email and subject index keys; RSA and SHA-384 digests work', async () => {
  const artifact = Buffer.from('signed with a certificate');
  const sig = sign('sha256', artifact, leaf.key);
  const entry = await canonicalizeProposedEntry(JSON.stringify(hashedrekord(sig, leaf.certPem, sha256(artifact).toString('hex'))));
  assert.equal(Buffer.from(parse(entry).spec.signature.publicKey.content, 'base64').toString(), leaf.certPem);
  hasKey(entry.indexKeys, 'email', 'alice@example.com');
  hasKey(entry.indexKeys, 'subject', 'https://github.com/acme/repo/.github/workflows/ci.yml@refs/heads/main');
  hasKey(entry.indexKeys, 'subject', 'acme.test');
  hasKey(entry.indexKeys, 'publicKey', fingerprint(leaf.certPem));

  const rsa = generateKeyPair('rsa', { modulusLength: 2048 });
  const rsaSig = sign('sha384', artifact, rsa.privateKey);
  const digest384 = createHash('sha384').update(artifact).digest('hex').toUpperCase();
  const rsaEntry = await canonicalizeProposedEntry(hashedrekord(rsaSig, rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string, digest384, 'sha384'));
  // The digest is kept as given (Rekor does); the index key is lowercased.
  assert.equal(parse(rsaEntry).spec.data.hash.value, digest384);
  hasKey(rsaEntry.indexKeys, 'hash', `sha384:${digest384.toLowerCase()}`);
  assert.match(Buffer.from(parse(rsaEntry).spec.signature.publicKey.content, 'base64').toString(), /^-----BEGIN PUBLIC KEY-----\n/);
});

test('hashedrekord 0.0.1: reproduces the real happy-path-v0.3 entry byte for byte', async () => {
  const b = bundle('happy-path-v0.3');
  const certPem = pemEncode('CERTIFICATE', Buffer.from(b.verificationMaterial.certificate.rawBytes, 'base64'));
  const sig = Buffer.from(b.messageSignature.signature, 'base64');
  const entry = await canonicalizeProposedEntry(hashedrekord(sig, certPem, sha256(A_TXT).toString('hex')));
  assert.equal(entry.body.toString(), realBody(b).toString());
  assert.ok(entry.body.equals(realBody(b)));
  sigstoreAccepts(entry, sig, sha256(A_TXT));
});

test('hashedrekord 0.0.1: wrong signature, digest mismatch, Ed25519 and missing or malformed fields are refused', async () => {
  const { publicKey, privateKey } = ec();
  const artifact = Buffer.from('x');
  const sig = sign('sha256', artifact, privateKey);
  const digest = sha256(artifact).toString('hex');
  const pem = spkiPem(publicKey);
  await rejects(canonicalizeProposedEntry(hashedrekord(sign('sha256', Buffer.from('y'), privateKey), pem, digest)), 'ENTRY_SIGNATURE_INVALID', /does not verify over the given sha256 digest/);
  await rejects(canonicalizeProposedEntry(hashedrekord(sig, pem, sha256(Buffer.from('y')).toString('hex'))), 'ENTRY_SIGNATURE_INVALID');
  await rejects(canonicalizeProposedEntry(hashedrekord(sig, spkiPem(ec().publicKey), digest)), 'ENTRY_SIGNATURE_INVALID');
  const e = ed();
  await rejects(canonicalizeProposedEntry(hashedrekord(sign(null, artifact, e.privateKey), spkiPem(e.publicKey), digest)), 'ENTRY_ALGORITHM_UNSUPPORTED', /Ed25519/);

  const good = hashedrekord(sig, pem, digest);
  const without = (mutate: (spec: Json) => void): Json => {
    const copy = structuredClone(good);
    mutate(copy.spec);
    return copy;
  };
  await rejects(canonicalizeProposedEntry(without((s) => delete s.signature)), 'ENTRY_INVALID', /spec\.signature is missing/);
  await rejects(canonicalizeProposedEntry(without((s) => delete s.signature.content)), 'ENTRY_INVALID', /spec\.signature\.content/);
  await rejects(canonicalizeProposedEntry(without((s) => delete s.signature.publicKey)), 'ENTRY_INVALID', /spec\.signature\.publicKey/);
  await rejects(canonicalizeProposedEntry(without((s) => delete s.data.hash)), 'ENTRY_INVALID', /spec\.data\.hash is missing/);
  await rejects(canonicalizeProposedEntry(without((s) => (s.data.hash.algorithm = 'md5'))), 'ENTRY_INVALID', /algorithm/);
  await rejects(canonicalizeProposedEntry(without((s) => (s.data.hash.value = 'abc'))), 'ENTRY_INVALID', /64 hex/);
  await rejects(canonicalizeProposedEntry(without((s) => (s.signature.content = '%%%'))), 'ENTRY_INVALID', /base64/);
  await rejects(canonicalizeProposedEntry(without((s) => (s.signature.publicKey.content = b64('garbage')))), 'PUBLIC_KEY_INVALID');
  await rejects(canonicalizeProposedEntry(without((s) => (s.data = [1, 2]))), 'ENTRY_INVALID', /spec\.data must be an object/);
});

// ---------------------------------------------------------------------------------------------
// rekord 0.0.1

test('rekord 0.0.1: x509 (P-256 and Ed25519) entries keep the recomputed hash, not the content', async () => {
  const artifact = Buffer.from('rekord artifact');
  for (const pair of [ec(), ed()]) {
    const sig = sign(pair.publicKey.asymmetricKeyType === 'ed25519' ? null : 'sha256', artifact, pair.privateKey);
    const proposed = {
      apiVersion: '0.0.1',
      kind: 'rekord',
      spec: { data: { content: b64(artifact) }, signature: { format: 'x509', content: b64(sig), publicKey: { content: b64(spkiPem(pair.publicKey)) } } },
    };
    const entry = await canonicalizeProposedEntry(proposed);
    const expected = {
      apiVersion: '0.0.1',
      kind: 'rekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: sha256(artifact).toString('hex') } },
        signature: { content: b64(sig), format: 'x509', publicKey: { content: b64(spkiPem(pair.publicKey)) } },
      },
    };
    assert.equal(entry.body.toString(), canonicalize(expected));
    hasKey(entry.indexKeys, 'hash', `sha256:${sha256(artifact).toString('hex')}`);
    hasKey(entry.indexKeys, 'publicKey', fingerprint(spkiPem(pair.publicKey)));

    const wrongHash = structuredClone(proposed) as Json;
    wrongHash.spec.data.hash = { algorithm: 'sha256', value: sha256(Buffer.from('other')).toString('hex') };
    await rejects(canonicalizeProposedEntry(wrongHash), 'ENTRY_HASH_MISMATCH');
    const wrongData = structuredClone(proposed) as Json;
    wrongData.spec.data.content = b64('tampered');
    await rejects(canonicalizeProposedEntry(wrongData), 'ENTRY_SIGNATURE_INVALID', /given data/);
  }
  const noContent = { apiVersion: '0.0.1', kind: 'rekord', spec: { data: {}, signature: { format: 'x509', content: 'AA==', publicKey: { content: 'AA==' } } } };
  await rejects(canonicalizeProposedEntry(noContent), 'ENTRY_INVALID', /spec\.data\.content/);
  const badFormat = structuredClone(noContent) as Json;
  badFormat.spec.signature.format = 'tuf';
  await rejects(canonicalizeProposedEntry(badFormat), 'ENTRY_INVALID', /format/);
  assert.equal(pkiFormat('x509'), x509Format);
});

// ---------------------------------------------------------------------------------------------
// DSSE envelopes: intoto 0.0.1 / 0.0.2, dsse 0.0.1

const STATEMENT = Buffer.from(JSON.stringify({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'a.txt', digest: { sha256: sha256(A_TXT).toString('hex') } }],
  predicateType: 'https://slsa.dev/provenance/v0.2',
  predicate: { materials: [{ uri: 'git+https://x', digest: { sha1: 'ABCDEF0123' } }] },
}));
const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

function envelopeSig(privateKey: KeyObject | string, payload = STATEMENT, type = PAYLOAD_TYPE): Buffer {
  const pae = preAuthEncoding(type, payload);
  const isEd = typeof privateKey !== 'string' && privateKey.asymmetricKeyType === 'ed25519';
  return sign(isEd ? null : 'sha256', pae, privateKey);
}

test('intoto 0.0.1: body keeps the key and the envelope / payload hashes; index has the statement subjects', async () => {
  const { publicKey, privateKey } = ec();
  const envelope = JSON.stringify({ payloadType: PAYLOAD_TYPE, payload: b64(STATEMENT), signatures: [{ keyid: '', sig: b64(envelopeSig(privateKey)) }] });
  const proposed = { apiVersion: '0.0.1', kind: 'intoto', spec: { content: { envelope }, publicKey: b64(spkiPem(publicKey)) } };
  const entry = await canonicalizeProposedEntry(proposed);
  const expected = {
    apiVersion: '0.0.1',
    kind: 'intoto',
    spec: {
      content: { hash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope)).toString('hex') }, payloadHash: { algorithm: 'sha256', value: sha256(STATEMENT).toString('hex') } },
      publicKey: b64(spkiPem(publicKey)),
    },
  };
  assert.equal(entry.body.toString(), canonicalize(expected));
  hasKey(entry.indexKeys, 'hash', `sha256:${sha256(A_TXT).toString('hex')}`);
  hasKey(entry.indexKeys, 'hash', 'sha1:abcdef0123');
  hasKey(entry.indexKeys, 'hash', `sha256:${sha256(STATEMENT).toString('hex')}`);

  const other = ec();
  await rejects(canonicalizeProposedEntry({ ...proposed, spec: { ...proposed.spec, publicKey: b64(spkiPem(other.publicKey)) } }), 'ENTRY_SIGNATURE_INVALID');
  await rejects(canonicalizeProposedEntry({ ...proposed, spec: { ...proposed.spec, content: { envelope: '{not json' } } }), 'ENTRY_INVALID', /envelope is not valid JSON/);
  await rejects(canonicalizeProposedEntry({ ...proposed, spec: { publicKey: proposed.spec.publicKey } }), 'ENTRY_INVALID', /spec\.content is missing/);
});

function intotoV002(payload: Buffer, sigs: { sig: Buffer; pem: string; keyid?: string }[], hash = 'ab'.repeat(32)): Json {
  return {
    apiVersion: '0.0.2',
    kind: 'intoto',
    spec: {
      content: {
        envelope: {
          payloadType: PAYLOAD_TYPE,
          payload: b64(b64(payload)),
          signatures: sigs.map((s) => ({ ...(s.keyid ? { keyid: s.keyid } : {}), sig: b64(b64(s.sig)), publicKey: b64(s.pem) })),
        },
        hash: { algorithm: 'sha256', value: hash },
        payloadHash: { algorithm: 'sha256', value: sha256(payload).toString('hex') },
      },
    },
  };
}

test('intoto 0.0.2: double-encoded signatures and keys kept, payload dropped; every signature must verify', async () => {
  const a = ec();
  const e = ed();
  const sigA = envelopeSig(a.privateKey);
  const sigE = envelopeSig(e.privateKey);
  const proposed = intotoV002(STATEMENT, [{ sig: sigA, pem: spkiPem(a.publicKey), keyid: 'k1' }, { sig: sigE, pem: spkiPem(e.publicKey) }]);
  const entry = await canonicalizeProposedEntry(proposed);
  const body = parse(entry);
  assert.deepEqual(body.spec.content.envelope, {
    payloadType: PAYLOAD_TYPE,
    signatures: [
      { keyid: 'k1', publicKey: b64(spkiPem(a.publicKey)), sig: b64(b64(sigA)) },
      { publicKey: b64(spkiPem(e.publicKey)), sig: b64(b64(sigE)) },
    ],
  });
  assert.deepEqual(body.spec.content.payloadHash, { algorithm: 'sha256', value: sha256(STATEMENT).toString('hex') });
  assert.deepEqual(body.spec.content.hash, { algorithm: 'sha256', value: 'ab'.repeat(32) });
  hasKey(entry.indexKeys, 'publicKey', fingerprint(spkiPem(e.publicKey)));

  const bad = intotoV002(STATEMENT, [{ sig: sigA, pem: spkiPem(a.publicKey) }, { sig: envelopeSig(e.privateKey, Buffer.from('other')), pem: spkiPem(e.publicKey) }]);
  await rejects(canonicalizeProposedEntry(bad), 'ENTRY_SIGNATURE_INVALID');
  const noHash = intotoV002(STATEMENT, [{ sig: sigA, pem: spkiPem(a.publicKey) }]);
  delete noHash.spec.content.hash;
  await rejects(canonicalizeProposedEntry(noHash), 'ENTRY_INVALID', /spec\.content\.hash is missing/);
  const single = intotoV002(STATEMENT, [{ sig: sigA, pem: spkiPem(a.publicKey) }]);
  single.spec.content.envelope.signatures[0].sig = b64(sigA); // not double-encoded
  await rejects(canonicalizeProposedEntry(single), 'ENTRY_INVALID', /base64 inside base64/);
});

test('intoto 0.0.2: a conformance entry is reproduced (the real body minus the payload Rekor never stores)', async () => {
  const b = bundle('intoto-with-custom-trust-root');
  const real = JSON.parse(realBody(b).toString());
  const env = b.dsseEnvelope;
  const realSig = real.spec.content.envelope.signatures[0];
  const proposed = {
    apiVersion: '0.0.2',
    kind: 'intoto',
    spec: {
      content: {
        envelope: { payloadType: env.payloadType, payload: b64(env.payload), signatures: [{ sig: realSig.sig, publicKey: realSig.publicKey }] },
        hash: real.spec.content.hash,
      },
    },
  };
  const entry = await canonicalizeProposedEntry(proposed);
  delete real.spec.content.envelope.payload;
  assert.equal(entry.body.toString(), canonicalize(real));
  const sig = Buffer.from(env.signatures[0].sig, 'base64');
  sigstoreAccepts(entry, sig, sha256(Buffer.from(env.payload, 'base64')));
});

function dsseV001(envelope: string, pems: string[]): Json {
  return { apiVersion: '0.0.1', kind: 'dsse', spec: { proposedContent: { envelope, verifiers: pems.map(b64) } } };
}

test('dsse 0.0.1: reproduces the real happy-path-intoto-in-dsse-v3 entry byte for byte', async () => {
  const b = bundle('happy-path-intoto-in-dsse-v3');
  const certPem = pemEncode('CERTIFICATE', Buffer.from(b.verificationMaterial.certificate.rawBytes, 'base64'));
  const entry = await canonicalizeProposedEntry(dsseV001(JSON.stringify(b.dsseEnvelope), [certPem]));
  assert.ok(entry.body.equals(realBody(b)), `${entry.body.toString().slice(0, 300)}\n!=\n${realBody(b).toString().slice(0, 300)}`);
  const sig = Buffer.from(b.dsseEnvelope.signatures[0].sig, 'base64');
  sigstoreAccepts(entry, sig, sha256(Buffer.from(b.dsseEnvelope.payload, 'base64')));
  hasKey(entry.indexKeys, 'hash', `sha256:${JSON.parse(realBody(b).toString()).spec.envelopeHash.value}`);
});

test('dsse 0.0.1: signatures sorted with their verifiers; unverified signatures and unused keys are refused', async () => {
  const a = ec();
  const e = ed();
  const sigs = [envelopeSig(a.privateKey), envelopeSig(e.privateKey)].map((s) => b64(s));
  const envelope = JSON.stringify({ payload: b64(STATEMENT), payloadType: PAYLOAD_TYPE, signatures: sigs.map((sig) => ({ sig })) });
  const entry = await canonicalizeProposedEntry(dsseV001(envelope, [spkiPem(e.publicKey), spkiPem(a.publicKey)]));
  const spec = parse(entry).spec;
  const byKey = new Map([[sigs[0], b64(spkiPem(a.publicKey))], [sigs[1], b64(spkiPem(e.publicKey))]]);
  const sorted = [...sigs].sort();
  assert.deepEqual(spec.signatures, sorted.map((signature) => ({ signature, verifier: byKey.get(signature) })));
  assert.deepEqual(spec.envelopeHash, { algorithm: 'sha256', value: sha256(Buffer.from(envelope)).toString('hex') });
  assert.deepEqual(spec.payloadHash, { algorithm: 'sha256', value: sha256(STATEMENT).toString('hex') });
  assert.equal(spec.proposedContent, undefined);

  await rejects(canonicalizeProposedEntry(dsseV001(envelope, [spkiPem(a.publicKey)])), 'ENTRY_SIGNATURE_INVALID', /not verified by any given key/);
  await rejects(canonicalizeProposedEntry(dsseV001(envelope, [spkiPem(ec().publicKey), spkiPem(a.publicKey), spkiPem(e.publicKey)])), 'ENTRY_SIGNATURE_INVALID', /verifiers\[0\]/);
  const withSigs = dsseV001(envelope, [spkiPem(a.publicKey)]);
  withSigs.spec.signatures = [];
  await rejects(canonicalizeProposedEntry(withSigs), 'ENTRY_INVALID', /computed by the log/);
  await rejects(canonicalizeProposedEntry(dsseV001(envelope, [])), 'ENTRY_INVALID', /verifiers must not be empty/);
  await rejects(canonicalizeProposedEntry(dsseV001(JSON.stringify({ payload: b64(STATEMENT), payloadType: PAYLOAD_TYPE, signatures: [] }), [spkiPem(a.publicKey)])), 'ENTRY_INVALID', /signatures/);
});

// ---------------------------------------------------------------------------------------------
// rfc3161 0.0.1

test('rfc3161 0.0.1: a real TimeStampResp with its signer certificate is accepted; others are refused', async () => {
  const withCert = Buffer.from(bundle('rekor2-timestamp-with-embedded-cert').verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp, 'base64');
  const entry = await canonicalizeProposedEntry({ apiVersion: '0.0.1', kind: 'rfc3161', spec: { tsr: { content: b64(withCert) } } });
  assert.equal(entry.body.toString(), canonicalize({ apiVersion: '0.0.1', kind: 'rfc3161', spec: { tsr: { content: b64(withCert) } } }));
  assert.deepEqual(entry.indexKeys, [{ type: 'hash', value: `sha256:${sha256(withCert).toString('hex')}` }]);

  const withoutCert = Buffer.from(bundle('rekor2-timestamp-without-embedded-cert').verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp, 'base64');
  await rejects(canonicalizeProposedEntry({ apiVersion: '0.0.1', kind: 'rfc3161', spec: { tsr: { content: b64(withoutCert) } } }), 'ENTRY_SIGNATURE_INVALID', /certificate/);
  const tampered = Buffer.from(withCert);
  tampered[tampered.length - 3]! ^= 0x01;
  await rejects(canonicalizeProposedEntry({ apiVersion: '0.0.1', kind: 'rfc3161', spec: { tsr: { content: b64(tampered) } } }), 'ENTRY_SIGNATURE_INVALID');
  await rejects(canonicalizeProposedEntry({ apiVersion: '0.0.1', kind: 'rfc3161', spec: { tsr: { content: b64('garbage') } } }), 'ENTRY_INVALID', /TimeStampResp/);
  await rejects(canonicalizeProposedEntry({ apiVersion: '0.0.1', kind: 'rfc3161', spec: { tsr: { content: b64(Buffer.alloc(11 * 1024, 0x30)) } } }), 'ENTRY_INVALID', /10 KiB/);
  await rejects(canonicalizeProposedEntry({ apiVersion: '0.0.1', kind: 'rfc3161', spec: {} }), 'ENTRY_INVALID', /spec\.tsr is missing/);
});

// ---------------------------------------------------------------------------------------------
// Rekor v2: hashedrekord 0.0.2, dsse 0.0.2

function v2Verifier(kind: 'x509Certificate' | 'publicKey', der: Buffer, keyDetails = 'PKIX_ECDSA_P256_SHA_256'): Json {
  return { [kind]: { rawBytes: b64(der) }, keyDetails };
}

test('hashedrekord 0.0.2: reproduces the real rekor2-happy-path and rekor2-dsse-happy-path entries byte for byte', async () => {
  for (const name of ['rekor2-happy-path', 'rekor2-dsse-happy-path']) {
    const b = bundle(name);
    const cert = Buffer.from(b.verificationMaterial.certificate.rawBytes, 'base64');
    let digest: Buffer;
    let sig: Buffer;
    if (b.messageSignature) {
      digest = sha256(A_TXT);
      sig = Buffer.from(b.messageSignature.signature, 'base64');
    } else {
      // Rekor v2 logs a DSSE envelope as a hashedrekord over its PAE.
      const env = b.dsseEnvelope;
      digest = sha256(preAuthEncoding(env.payloadType, Buffer.from(env.payload, 'base64')));
      sig = Buffer.from(env.signatures[0].sig, 'base64');
    }
    const request = { hashedRekordRequestV002: { digest: b64(digest), signature: { content: b64(sig), verifier: v2Verifier('x509Certificate', cert) } } };
    const entry = await canonicalizeV2Request(request);
    assert.equal(entry.kind, 'hashedrekord');
    assert.equal(entry.apiVersion, '0.0.2');
    assert.ok(entry.body.equals(realBody(b)), `${name}: ${entry.body.toString().slice(0, 200)}`);
    sigstoreAccepts(entry, sig, digest);
    if (name === 'rekor2-happy-path') {
      hasKey(entry.indexKeys, 'hash', `sha256:${digest.toString('hex')}`);
      hasKey(entry.indexKeys, 'subject', 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main');
    }
  }
});

test('hashedrekord 0.0.2: public key verifiers, proto field names; mismatched keyDetails, digest sizes and signatures are refused', async () => {
  const { publicKey, privateKey } = ec();
  const artifact = Buffer.from('v2 artifact');
  const digest = sha256(artifact);
  const sig = sign('sha256', artifact, privateKey);
  const request = { digest: b64(digest), signature: { content: b64(sig), verifier: v2Verifier('publicKey', spkiDer(publicKey)) } };
  const entry = await entryType('hashedrekord', '0.0.2').canonicalize(request);
  const expected = {
    apiVersion: '0.0.2',
    kind: 'hashedrekord',
    spec: { hashedRekordV002: { data: { algorithm: 'SHA2_256', digest: b64(digest) }, signature: { content: b64(sig), verifier: { keyDetails: 'PKIX_ECDSA_P256_SHA_256', publicKey: { rawBytes: b64(spkiDer(publicKey)) } } } } },
  };
  assert.equal(entry.body.toString(), canonicalize(expected));
  hasKey(entry.indexKeys, 'publicKey', fingerprint(spkiPem(publicKey)));
  sigstoreAccepts(entry, sig, digest);

  // proto names, URL-safe unpadded base64 and a numeric enum read as protojson reads them
  const protoStyle = { hashed_rekord_request_v002: { digest: digest.toString('base64url'), signature: { content: sig.toString('base64url'), verifier: { public_key: { raw_bytes: spkiDer(publicKey).toString('base64url') }, key_details: 5 } } } };
  assert.ok((await canonicalizeV2Request(protoStyle)).body.equals(entry.body));

  const withVerifier = (verifier: Json, d = digest, s = sig) => ({ hashedRekordRequestV002: { digest: b64(d), signature: { content: b64(s), verifier } } });
  await rejects(canonicalizeV2Request(withVerifier(v2Verifier('publicKey', spkiDer(publicKey), 'PKIX_ECDSA_P384_SHA_384'))), 'ENTRY_ALGORITHM_UNSUPPORTED', /does not fit the ECDSA P-256 key/);
  await rejects(canonicalizeV2Request(withVerifier(v2Verifier('publicKey', spkiDer(publicKey), 'PKIX_RSA_PSS_2048_SHA256'))), 'ENTRY_ALGORITHM_UNSUPPORTED', /not accepted/);
  await rejects(canonicalizeV2Request(withVerifier(v2Verifier('publicKey', spkiDer(publicKey)), digest.subarray(0, 20))), 'ENTRY_INVALID', /20 bytes/);
  await rejects(canonicalizeV2Request(withVerifier(v2Verifier('publicKey', spkiDer(publicKey)), sha256(Buffer.from('other')))), 'ENTRY_SIGNATURE_INVALID', /given sha256 digest/);
  await rejects(canonicalizeV2Request(withVerifier(v2Verifier('publicKey', spkiDer(ec().publicKey)))), 'ENTRY_SIGNATURE_INVALID');
  await rejects(canonicalizeV2Request(withVerifier({ keyDetails: 'PKIX_ECDSA_P256_SHA_256' })), 'ENTRY_INVALID', /publicKey or x509Certificate/);
  await rejects(canonicalizeV2Request(withVerifier({ ...v2Verifier('publicKey', spkiDer(publicKey)), x509Certificate: { rawBytes: 'AA==' } })), 'ENTRY_INVALID', /not both/);
  await rejects(canonicalizeV2Request(withVerifier({ publicKey: { rawBytes: b64(spkiDer(publicKey)) } })), 'ENTRY_INVALID', /keyDetails is missing/);
  const e = ed();
  await rejects(canonicalizeV2Request(withVerifier(v2Verifier('publicKey', spkiDer(e.publicKey), 'PKIX_ED25519'))), 'ENTRY_ALGORITHM_UNSUPPORTED');
  await rejects(canonicalizeV2Request({ hashedRekordRequestV002: { signature: request.signature } }), 'ENTRY_INVALID', /digest is missing/);
});

test('dsse 0.0.2: payload hash and sorted signatures with their verifiers; every signature must verify', async () => {
  const a = ec();
  const e = ed();
  const sigA = envelopeSig(a.privateKey);
  const sigE = envelopeSig(e.privateKey);
  const request = {
    dsseRequestV002: {
      envelope: { payload: b64(STATEMENT), payloadType: PAYLOAD_TYPE, signatures: [{ sig: b64(sigA), keyid: '' }, { sig: b64(sigE) }] },
      verifiers: [v2Verifier('publicKey', spkiDer(e.publicKey), 'PKIX_ED25519'), v2Verifier('publicKey', spkiDer(a.publicKey))],
    },
  };
  const entry = await canonicalizeV2Request(request);
  assert.equal(entry.kind, 'dsse');
  const pairs = [
    { content: b64(sigA), verifier: { keyDetails: 'PKIX_ECDSA_P256_SHA_256', publicKey: { rawBytes: b64(spkiDer(a.publicKey)) } } },
    { content: b64(sigE), verifier: { keyDetails: 'PKIX_ED25519', publicKey: { rawBytes: b64(spkiDer(e.publicKey)) } } },
  ].sort((x, y) => Buffer.compare(Buffer.from(x.content, 'base64'), Buffer.from(y.content, 'base64')));
  const expected = { apiVersion: '0.0.2', kind: 'dsse', spec: { dsseV002: { payloadHash: { algorithm: 'SHA2_256', digest: b64(sha256(STATEMENT)) }, signatures: pairs } } };
  assert.equal(entry.body.toString(), canonicalize(expected));
  hasKey(entry.indexKeys, 'hash', `sha256:${sha256(A_TXT).toString('hex')}`);

  const one = structuredClone(request);
  one.dsseRequestV002.envelope.signatures = [{ sig: b64(sigA), keyid: '' }];
  one.dsseRequestV002.verifiers = [v2Verifier('publicKey', spkiDer(a.publicKey))];
  sigstoreAccepts(await canonicalizeV2Request(one), sigA, sha256(STATEMENT));

  const missingKey = structuredClone(request);
  missingKey.dsseRequestV002.verifiers = [v2Verifier('publicKey', spkiDer(a.publicKey))];
  await rejects(canonicalizeV2Request(missingKey), 'ENTRY_SIGNATURE_INVALID', /not verified by any given key/);
  const dup = structuredClone(request);
  dup.dsseRequestV002.verifiers = [v2Verifier('publicKey', spkiDer(a.publicKey)), v2Verifier('publicKey', spkiDer(a.publicKey))];
  await rejects(canonicalizeV2Request(dup), 'ENTRY_INVALID', /duplicates/);
  const tooMany = structuredClone(request);
  tooMany.dsseRequestV002.envelope.signatures = Array.from({ length: 11 }, () => ({ sig: b64(sigA), keyid: '' }));
  await rejects(canonicalizeV2Request(tooMany), 'ENTRY_INVALID', /at most 10/);
  await rejects(canonicalizeV2Request({ dsseRequestV002: { verifiers: request.dsseRequestV002.verifiers } }), 'ENTRY_INVALID', /envelope is missing/);
});

// ---------------------------------------------------------------------------------------------
// Registry and garbage

test('registry: one table, unknown kinds and versions name the supported ones', async () => {
  assert.deepEqual(supportedEntryTypes('v1').map((t) => `${t.kind}/${t.apiVersion}`).sort(),
    ['dsse/0.0.1', 'hashedrekord/0.0.1', 'intoto/0.0.1', 'intoto/0.0.2', 'rekord/0.0.1', 'rfc3161/0.0.1']);
  assert.deepEqual(supportedEntryTypes('v2').map((t) => `${t.kind}/${t.apiVersion}`).sort(), ['dsse/0.0.2', 'hashedrekord/0.0.2']);
  assert.equal(entryType('hashedrekord', '0.0.1').kind, 'hashedrekord');
  await rejects(() => entryType('helm', '0.0.1'), 'ENTRY_KIND_UNSUPPORTED', /hashedrekord 0\.0\.1.*dsse 0\.0\.2/);
  await rejects(() => entryType('hashedrekord', '0.0.9'), 'ENTRY_KIND_UNSUPPORTED');
  await rejects(canonicalizeProposedEntry({ kind: 'alpine', apiVersion: '0.0.1', spec: {} }), 'ENTRY_KIND_UNSUPPORTED', /v1 API/);
  // v2 kinds are not proposed entries of the v1 API
  await rejects(canonicalizeProposedEntry({ kind: 'hashedrekord', apiVersion: '0.0.2', spec: {} }), 'ENTRY_KIND_UNSUPPORTED');
  await rejects(canonicalizeProposedEntry({ apiVersion: '0.0.1', spec: {} }), 'ENTRY_INVALID', /kind is missing/);
  await rejects(entryType('dsse', '0.0.1').canonicalize({ kind: 'intoto', apiVersion: '0.0.1', spec: {} }), 'ENTRY_INVALID', /not dsse 0\.0\.1/);
  await rejects(canonicalizeV2Request({}), 'ENTRY_INVALID', /hashedRekordRequestV002 or dsseRequestV002/);
  await rejects(canonicalizeV2Request({ hashedRekordRequestV002: {}, dsseRequestV002: {} }), 'ENTRY_INVALID', /exactly one/);
  await rejects(canonicalizeProposedEntry('{"kind":'), 'ENTRY_INVALID', /not valid JSON/);
});

test('garbage of every JSON type is refused with a 400, never a crash', async () => {
  const garbage: unknown[] = [null, undefined, 0, 1.5, true, 'x', [], [1], {}, { a: null }, Buffer.from('x'), { toString: 1 }];
  const shapes = (g: unknown): unknown[] => [
    g,
    { kind: g, apiVersion: '0.0.1', spec: {} },
    { kind: 'hashedrekord', apiVersion: g, spec: {} },
    ...supportedEntryTypes('v1').flatMap((t) => [
      { kind: t.kind, apiVersion: t.apiVersion, spec: g },
      { kind: t.kind, apiVersion: t.apiVersion, spec: { signature: g, data: g, content: g, publicKey: g, proposedContent: g, tsr: g } },
      { kind: t.kind, apiVersion: t.apiVersion, spec: { signature: { content: g, publicKey: { content: g }, format: g }, data: { hash: g, content: g }, content: { envelope: g, hash: g }, publicKey: g, proposedContent: { envelope: g, verifiers: [g] }, tsr: { content: g } } },
      { kind: t.kind, apiVersion: t.apiVersion, spec: { content: { envelope: { payload: g, payloadType: g, signatures: [g, { sig: g, publicKey: g }] } } } },
    ]),
  ];
  const v2Shapes = (g: unknown): unknown[] => [
    g,
    { hashedRekordRequestV002: g },
    { dsseRequestV002: g },
    { hashedRekordRequestV002: { digest: g, signature: g } },
    { hashedRekordRequestV002: { digest: 'AA==', signature: { content: g, verifier: g } } },
    { hashedRekordRequestV002: { digest: 'AA==', signature: { content: 'AA==', verifier: { publicKey: g, keyDetails: g } } } },
    { hashedRekordRequestV002: { digest: 'AA==', signature: { content: 'AA==', verifier: { x509Certificate: { rawBytes: g }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } } } },
    { dsseRequestV002: { envelope: g, verifiers: g } },
    { dsseRequestV002: { envelope: { payload: g, payloadType: g, signatures: [g, { sig: g, keyid: g }] }, verifiers: [g] } },
  ];
  for (const g of garbage) {
    for (const input of shapes(g)) {
      await assert.rejects(canonicalizeProposedEntry(input), (err: unknown) => err instanceof ServiceError && err.status === 400, `v1 ${typeof g}`);
    }
    for (const input of v2Shapes(g)) {
      await assert.rejects(canonicalizeV2Request(input), (err: unknown) => err instanceof ServiceError && err.status === 400, `v2 ${typeof g}`);
    }
  }
});
