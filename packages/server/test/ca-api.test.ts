// The CA's HTTP API over loopback (dev OIDC issuer → CA → CT log → Rekor log): a certificate for a
// fresh key, used in a bundle that verifies in @sigstack/verify and sigstore-js; the CSR flow; a
// coded 400 for every token check and proof-of-possession failure; trustBundle and configuration.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509, generateKeyPair, parseBundle, parseTrustedRoot, pemDecodeAll, pemEncode } from '@sigstack/core';
import { TrustMaterial, Verifier } from '@sigstack/verify';
import { createCaHierarchy } from '../src/ca/keys/index.js';
import { startCtLogService, type CtLogService } from '../src/ctlog/index.js';
import { startCaService, type CaService } from '../src/ca/service.js';
import { startDevOidcIssuer, type DevOidcIssuer } from '../src/oidc-dev/index.js';
import { startLogService, type LogService } from '../src/log/service.js';
import { certificateBundle, get, post, trustedRootFor } from './helpers.js';

const require = createRequire(import.meta.url);
const sigstoreVerify = require('@sigstore/verify');
const sigstoreBundle = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

const EMAIL = 'alice@example.test';
const dir = mkdtempSync(join(tmpdir(), 'sigstack-ca-api-'));
const caDir = join(dir, 'ca');
let dev: DevOidcIssuer;
let stranger: DevOidcIssuer;
let ct: CtLogService;
let ca: CaService;
let rekor: LogService;

function emailConfig(url: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ OIDCIssuers: { [url]: { IssuerURL: url, ClientID: 'sigstore', Type: 'email', ...extra } } });
}

before(async () => {
  dev = await startDevOidcIssuer({ dir: join(dir, 'oidc'), warn: () => {} });
  stranger = await startDevOidcIssuer({ dir: join(dir, 'oidc-stranger'), warn: () => {} });
  // The CT log accepts chains up to the CA's root, so the hierarchy comes first; the CA reuses it.
  const hierarchy = await createCaHierarchy({ dir: caDir });
  ct = await startCtLogService({ dir: join(dir, 'ct'), rootsPem: hierarchy.root.pem });
  ca = await startCaService({ dir: caDir, oidcConfig: emailConfig(dev.url), ctUrl: ct.url, ctPublicKey: ct.ctLog.publicKey });
  rekor = await startLogService({ dir: join(dir, 'rekor'), port: 0 });
});

after(async () => {
  await Promise.all([ca?.close(), rekor?.close(), dev?.close(), stranger?.close(), ct?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function token(body: Record<string, unknown> = { email: EMAIL }, issuer = dev): Promise<string> {
  const res = await post(`${issuer.url}/token`, body);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json.id_token as string;
}

function p256() {
  return generateKeyPair('ec', { namedCurve: 'P-256' });
}

function publicKeyRequest(tok: string | undefined, spki: Buffer, proof: Buffer) {
  return {
    ...(tok !== undefined ? { credentials: { oidcIdentityToken: tok } } : {}),
    publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: pemEncode('PUBLIC KEY', spki) }, proofOfPossession: proof.toString('base64') },
  };
}

async function signingCert(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${ca.url}/api/v2/signingCert`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** Asserts a coded error answer, and that it never echoes the token. */
function assertError(res: { status: number; json: any }, status: number, code: string, pattern?: RegExp, tok?: string) {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.equal(res.json.code, status);
  assert.equal(res.json.error, code, res.json.message);
  assert.equal(typeof res.json.message, 'string');
  assert.doesNotMatch(res.json.message, /error processing the identity token/i);
  if (pattern) assert.match(res.json.message, pattern);
  if (tok) {
    assert.ok(!res.json.message.includes(tok), 'the token is never echoed');
    assert.ok(!res.json.message.includes(tok.split('.')[2]!), 'nor its signature');
  }
}

function chainOf(res: { json: any }): Buffer[] {
  const certs = res.json.signedCertificateEmbeddedSct.chain.certificates as string[];
  return certs.map((pem) => pemDecodeAll(pem)[0]!.der);
}

function trustedRoot(caChain: Buffer[]) {
  const start = new Date(Date.now() - 3600_000).toISOString();
  return {
    ...trustedRootFor(rekor.url, rekor.log.signer.spki, rekor.log.logId, rekor.log.signer.keyDetails),
    certificateAuthorities: [
      { subject: { organization: 'sigstack', commonName: 'sigstack-intermediate' }, uri: ca.url, certChain: { certificates: caChain.map((der) => ({ rawBytes: der.toString('base64') })) }, validFor: { start } },
    ],
    ctlogs: [{ baseUrl: ct.url, hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: ct.ctLog.spki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } }, logId: { keyId: ct.ctLog.logId.toString('base64') } }],
  };
}

async function verifyBoth(bundle: unknown, artifact: Buffer, root: ReturnType<typeof trustedRoot>) {
  const ours = await new Verifier(new TrustMaterial(parseTrustedRoot(root))).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, { identity: EMAIL, issuer: dev.url });
  assert.equal(ours.identity, EMAIL);
  assert.equal(ours.issuer, dev.url);
  const entity = sigstoreVerify.toSignedEntity(sigstoreBundle.bundleFromJSON(bundle), artifact);
  const signer = new sigstoreVerify.Verifier(sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(root))).verify(entity, { subjectAlternativeName: EMAIL, extensions: { issuer: dev.url } });
  assert.equal(signer.identity.subjectAlternativeName, EMAIL);
}

test('a dev token and a fresh P-256 key get a certificate whose bundle verifies in @sigstack/verify and sigstore-js', async () => {
  const key = p256();
  const tok = await token();
  const before = ct.log.checkpoint.size;
  const res = await signingCert(publicKeyRequest(tok, key.spki, sign('sha256', Buffer.from(EMAIL), key.privateKey)));
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.deepEqual(Object.keys(res.json), ['signedCertificateEmbeddedSct']);
  const [leafDer, intermediate, root] = chainOf(res);
  assert.ok(leafDer && intermediate && root);
  assert.equal(ct.log.checkpoint.size, before + 1, 'the precertificate is in the CT log');
  assert.deepEqual([intermediate, root], ca.chain);

  const leaf = X509.fromDer(leafDer);
  assert.deepEqual(leaf.publicKeySpki, key.spki);
  assert.deepEqual(leaf.subjectAltNames, [{ kind: 'email', value: EMAIL }]);
  assert.equal(leaf.oidcIssuer, dev.url);
  assert.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime(), 10 * 60_000);
  assert.ok(leaf.sctListBytes, 'SCT embedded');
  assert.equal(leaf.extension('1.3.6.1.4.1.11129.2.4.3'), undefined, 'no poison in the final certificate');

  const artifact = Buffer.from('an artifact signed with a certificate from the sigstack CA');
  const bundle = await certificateBundle(rekor.url, leafDer, key.privateKey, artifact);
  await verifyBoth(bundle, artifact, trustedRoot([intermediate, root]));

  // The identity policy is enforced: another email or issuer fails.
  await assert.rejects(
    new Verifier(new TrustMaterial(parseTrustedRoot(trustedRoot([intermediate, root])))).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, { identity: 'mallory@example.test', issuer: dev.url }),
    (err: { code?: string }) => typeof err.code === 'string',
  );
});

test('the token may come as Authorization: Bearer; snake_case field names are read too; Ed25519 and P-384 keys work', async () => {
  const tok = await token();
  const ed = generateKeyPair('ed25519');
  const viaHeader = await signingCert(publicKeyRequest(undefined, ed.spki, sign(null, Buffer.from(EMAIL), ed.privateKey)), { authorization: `Bearer ${tok}` });
  assert.equal(viaHeader.status, 200, JSON.stringify(viaHeader.json));
  assert.deepEqual(X509.fromDer(chainOf(viaHeader)[0]!).publicKeySpki, ed.spki);

  const p384 = generateKeyPair('ec', { namedCurve: 'P-384' });
  const snake = await signingCert({
    credentials: { oidc_identity_token: tok },
    public_key_request: { public_key: { algorithm: 2, content: pemEncode('PUBLIC KEY', p384.spki) }, proof_of_possession: sign('sha384', Buffer.from(EMAIL), p384.privateKey).toString('base64') },
  });
  assert.equal(snake.status, 200, JSON.stringify(snake.json));
  assert.deepEqual(X509.fromDer(chainOf(snake)[0]!).publicKeySpki, p384.spki);

  const missing = await signingCert(publicKeyRequest(undefined, ed.spki, Buffer.from('x')));
  assertError(missing, 400, 'TOKEN_MISSING', /Authorization: Bearer/);
  assertError(await signingCert(publicKeyRequest(undefined, ed.spki, Buffer.from('x')), { authorization: 'Basic abc' }), 400, 'TOKEN_MISSING');
});

test('CSR flow: a PKCS#10 request (base64 of PEM) gets a certificate for its key; a broken CSR is refused', async () => {
  const key = p256();
  const keyPath = join(dir, 'csr-key.pem');
  writeFileSync(keyPath, pemEncode('PRIVATE KEY', key.pkcs8), { mode: 0o600 });
  const csrPem = execFileSync('openssl', ['req', '-new', '-key', keyPath, '-subj', '/CN=ignored', '-sha256'], { encoding: 'utf8' });
  const tok = await token();
  const res = await signingCert({ credentials: { oidcIdentityToken: tok }, certificateSigningRequest: Buffer.from(csrPem).toString('base64') });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const [leafDer, intermediate, root] = chainOf(res);
  assert.deepEqual(X509.fromDer(leafDer!).publicKeySpki, key.spki);
  assert.deepEqual(X509.fromDer(leafDer!).subjectDer, Buffer.from([0x30, 0x00]), 'the CSR subject is ignored');
  const artifact = Buffer.from('signed after a CSR');
  await verifyBoth(await certificateBundle(rekor.url, leafDer!, key.privateKey, artifact), artifact, trustedRoot([intermediate!, root!]));

  // DER works as well as PEM.
  const der = pemDecodeAll(csrPem)[0]!.der;
  assert.equal((await signingCert({ credentials: { oidcIdentityToken: tok }, certificateSigningRequest: der.toString('base64') })).status, 200);

  const tampered = Buffer.from(der);
  tampered[tampered.length - 5]! ^= 0x01;
  assertError(await signingCert({ credentials: { oidcIdentityToken: tok }, certificateSigningRequest: tampered.toString('base64') }), 400, 'CSR_SIGNATURE_INVALID', /does not verify/, tok);
  assertError(await signingCert({ credentials: { oidcIdentityToken: tok }, certificateSigningRequest: Buffer.from('not a csr').toString('base64') }), 400, 'CSR_INVALID');
  // A CSR by a weak key.
  const weak = generateKeyPair('rsa', { modulusLength: 1024 });
  writeFileSync(keyPath, pemEncode('PRIVATE KEY', weak.pkcs8), { mode: 0o600 });
  const weakCsr = execFileSync('openssl', ['req', '-new', '-key', keyPath, '-subj', '/CN=weak', '-sha256'], { encoding: 'utf8' });
  assertError(await signingCert({ credentials: { oidcIdentityToken: tok }, certificateSigningRequest: Buffer.from(weakCsr).toString('base64') }), 400, 'WEAK_KEY', /1024-bit/);
  // Both kinds of key at once.
  assertError(await signingCert({ ...publicKeyRequest(tok, key.spki, Buffer.from('x')), certificateSigningRequest: der.toString('base64') }), 400, 'REQUEST_INVALID', /not both/);
});

test('every token check answers a 400 that names it, never the token', async () => {
  const key = p256();
  const proof = sign('sha256', Buffer.from(EMAIL), key.privateKey);
  const request = (tok: string) => signingCert(publicKeyRequest(tok, key.spki, proof));
  const now = Math.floor(Date.now() / 1000);

  const expired = await token({ email: EMAIL, claims: { iat: now - 7200, nbf: now - 7200, exp: now - 3600 } });
  assertError(await request(expired), 400, 'TOKEN_EXPIRED', /expired at/, expired);

  const audience = await token({ email: EMAIL, audience: 'not-sigstore' });
  assertError(await request(audience), 400, 'TOKEN_WRONG_AUDIENCE', /"not-sigstore".*audience "sigstore"/, audience);

  const unknown = await token({ email: EMAIL }, stranger);
  assertError(await request(unknown), 400, 'TOKEN_UNKNOWN_ISSUER', new RegExp(stranger.url.replace(/[.]/g, '\\.')), unknown);

  // Signature: another token's signature on these claims, and a token from another key claiming this issuer.
  const [h, p] = (await token()).split('.');
  const other = (await token({ email: 'bob@example.test' })).split('.')[2];
  const forged = `${h}.${p}.${other}`;
  assertError(await request(forged), 400, 'TOKEN_SIGNATURE_INVALID', /signature does not verify/, forged);
  const { buildDevOidcApp } = await import('../src/oidc-dev/index.js');
  const impostor = buildDevOidcApp({ issuerUrl: dev.url, key: generateKeyPair('ec', { namedCurve: 'P-256' }).privateKey });
  const impostorToken = (await impostor.inject({ method: 'POST', url: '/token', payload: { email: EMAIL } })).json().id_token as string;
  await impostor.close();
  assertError(await request(impostorToken), 400, 'TOKEN_SIGNATURE_INVALID', /key id/, impostorToken);

  const unverified = await token({ email: EMAIL, claims: { email_verified: false } });
  assertError(await request(unverified), 400, 'TOKEN_EMAIL_UNVERIFIED', /not verified/, unverified);

  assertError(await request('not-a-jwt'), 400, 'TOKEN_MALFORMED');
  assertError(await request('e30.e30.sig'), 400, 'TOKEN_MALFORMED', /alg/);
  const notYet = await token({ email: EMAIL, claims: { nbf: now + 3600, iat: now } });
  assertError(await request(notYet), 400, 'TOKEN_NOT_YET_VALID', undefined, notYet);
  const noEmail = await token({ subject: 'robot' });
  assertError(await request(noEmail), 400, 'TOKEN_CLAIM_INVALID', /email/, noEmail);
});

test('a configuration with SkipEmailVerification accepts the unverified email; a CA started on the same directory reuses its hierarchy', async () => {
  const again = await startCaService({ dir: caDir, oidcConfig: emailConfig(dev.url, { SkipEmailVerification: true }), ctUrl: ct.url });
  try {
    assert.equal(again.created, false);
    assert.deepEqual(again.chain, ca.chain);
    const key = p256();
    const unverified = await token({ email: EMAIL, claims: { email_verified: false } });
    const res = await post(`${again.url}/api/v2/signingCert`, publicKeyRequest(unverified, key.spki, sign('sha256', Buffer.from(EMAIL), key.privateKey)));
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual((await get(`${again.url}/api/v2/configuration`)).json.issuers[0].skipEmailVerification, true);
  } finally {
    await again.close();
  }
});

test('every proof-of-possession failure answers a 400 that names it', async () => {
  const tok = await token();
  const key = p256();
  const request = (spki: Buffer, proof: Buffer) => signingCert(publicKeyRequest(tok, spki, proof));

  assertError(await request(key.spki, Buffer.from('not a signature')), 400, 'PROOF_OF_POSSESSION_INVALID', /sign the identity token's subject \("alice@example\.test"/, tok);
  assertError(await request(key.spki, sign('sha256', Buffer.from('bob@example.test'), key.privateKey)), 400, 'PROOF_OF_POSSESSION_INVALID', /does not verify/);
  assertError(await request(key.spki, sign('sha256', Buffer.from(EMAIL), p256().privateKey)), 400, 'PROOF_OF_POSSESSION_INVALID', /does not verify/);

  const weak = generateKeyPair('rsa', { modulusLength: 1024 });
  assertError(await request(weak.spki, sign('sha256', Buffer.from(EMAIL), weak.privateKey)), 400, 'WEAK_KEY', /1024-bit RSA key is too weak/);
  const k1 = generateKeyPair('ec', { namedCurve: 'secp256k1' });
  assertError(await request(k1.spki, sign('sha256', Buffer.from(EMAIL), k1.privateKey)), 400, 'WEAK_KEY', /curve secp256k1/);

  const noProof = publicKeyRequest(tok, key.spki, Buffer.alloc(0));
  delete (noProof.publicKeyRequest as { proofOfPossession?: string }).proofOfPossession;
  assertError(await signingCert(noProof), 400, 'PROOF_OF_POSSESSION_INVALID', /missing/);
  const badKey = publicKeyRequest(tok, key.spki, Buffer.from('x'));
  badKey.publicKeyRequest.publicKey.content = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
  assertError(await signingCert(badKey), 400, 'PUBLIC_KEY_INVALID', /PUBLIC KEY/);
  badKey.publicKeyRequest.publicKey.content = 'garbage!';
  assertError(await signingCert(badKey), 400, 'PUBLIC_KEY_INVALID');
  badKey.publicKeyRequest.proofOfPossession = '%%%';
  badKey.publicKeyRequest.publicKey.content = pemEncode('PUBLIC KEY', key.spki);
  assertError(await signingCert(badKey), 400, 'REQUEST_INVALID', /base64/);
});

test('malformed and oversized requests: 400, 413, 415, 404 with coded bodies', async () => {
  assertError(await signingCert('{'), 400, 'REQUEST_INVALID');
  assertError(await signingCert('[]'), 400, 'REQUEST_INVALID', /JSON object/);
  assertError(await signingCert({ credentials: { oidcIdentityToken: await token() } }), 400, 'REQUEST_INVALID', /no key/);
  assertError(await signingCert({ credentials: 'x' }), 400, 'REQUEST_INVALID');
  assertError(await signingCert({ credentials: { oidcIdentityToken: 'x'.repeat(70 * 1024) } }), 413, 'REQUEST_TOO_LARGE');
  const text = await fetch(`${ca.url}/api/v2/signingCert`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
  assertError({ status: text.status, json: await text.json() }, 415, 'UNSUPPORTED_MEDIA_TYPE');
  assertError(await get(`${ca.url}/api/v2/nothing`), 404, 'NOT_FOUND');
});

test('a CT log that cannot be reached, or answers with another key\'s SCT, is a 502 and no certificate', async () => {
  const key = p256();
  const body = publicKeyRequest(await token(), key.spki, sign('sha256', Buffer.from(EMAIL), key.privateKey));
  const down = await startCaService({ dir: caDir, oidcConfig: emailConfig(dev.url), ctUrl: 'http://127.0.0.1:1' });
  const otherKey = await startCaService({ dir: caDir, oidcConfig: emailConfig(dev.url), ctUrl: ct.url, ctPublicKey: p256().publicKey });
  try {
    const unreachable = await post(`${down.url}/api/v2/signingCert`, body);
    assertError(unreachable, 502, 'CT_LOG_UNAVAILABLE', /could not be reached/);
    const wrong = await post(`${otherKey.url}/api/v2/signingCert`, body);
    assertError(wrong, 502, 'CT_LOG_SCT_INVALID', /another log/);
  } finally {
    await Promise.all([down.close(), otherKey.close()]);
  }
});

test('trustBundle, configuration and metrics', async () => {
  const bundle = await get(`${ca.url}/api/v2/trustBundle`);
  assert.equal(bundle.status, 200);
  assert.equal(bundle.json.chains.length, 1);
  const certs = (bundle.json.chains[0].certificates as string[]).map((pem) => pemDecodeAll(pem)[0]!.der);
  assert.deepEqual(certs, ca.chain);
  assert.ok(X509.fromDer(certs[1]!).isSelfIssued, 'the chain ends at the root');

  const configuration = await get(`${ca.url}/api/v2/configuration`);
  assert.equal(configuration.status, 200);
  assert.deepEqual(configuration.json, { issuers: [{ issuerUrl: dev.url, audience: 'sigstore', challengeClaim: 'email', issuerType: 'email' }] });

  // A file CA (Fulcio's fileca): the intermediate's key and the chain, from the hierarchy's files.
  const chainPath = join(dir, 'chain.pem');
  writeFileSync(chainPath, ca.chain.map((der) => pemEncode('CERTIFICATE', der)).join(''));
  const meta = await startCaService({
    dir: join(dir, 'ca-meta'),
    caKeyPath: join(caDir, 'ca-intermediate-key.pem'),
    caChainPath: chainPath,
    oidcConfig: JSON.stringify({
      OIDCIssuers: { 'https://spiffe.example.com': { IssuerURL: 'https://spiffe.example.com', ClientID: 'sigstore', Type: 'spiffe', SPIFFETrustDomain: 'example.com' } },
      MetaIssuers: { 'https://oidc.eks.*.amazonaws.com/id/*': { ClientID: 'sigstore', Type: 'kubernetes' } },
    }),
    ctUrl: ct.url,
  });
  try {
    assert.deepEqual(meta.chain, ca.chain);
    assert.deepEqual((await get(`${meta.url}/api/v2/configuration`)).json, {
      issuers: [
        { issuerUrl: 'https://spiffe.example.com', audience: 'sigstore', challengeClaim: 'sub', spiffeTrustDomain: 'example.com', issuerType: 'spiffe' },
        { wildcardIssuerUrl: 'https://oidc.eks.*.amazonaws.com/id/*', audience: 'sigstore', challengeClaim: 'sub', issuerType: 'kubernetes' },
      ],
    });
  } finally {
    await meta.close();
  }

  const metrics = await fetch(`${ca.url}/metrics`);
  const text = await metrics.text();
  assert.match(text, /sigstack_ca_certificates_issued_total [1-9]/);
  assert.match(text, /sigstack_ca_requests_refused_total\{code="TOKEN_EXPIRED"\} 1/);
});
