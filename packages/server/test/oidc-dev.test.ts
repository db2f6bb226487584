// The development OIDC issuer over loopback: discovery and JWKS, tokens for JSON and form
// requests that verify with jose, its key file (PKCS#8, 0600, reused across restarts), ES256 and
// RS256, its loud development-only warnings, and clear 4xx answers to bad requests.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { generateKeyPair, pemEncode } from '@sigstack/core';
import { buildDevOidcApp, startDevOidcIssuer, DEV_OIDC_WARNING, type DevOidcIssuer } from '../src/oidc-dev/index.js';

let dir: string;
let dev: DevOidcIssuer;
const warnings: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigstack-oidc-dev-'));
  dev = await startDevOidcIssuer({ dir, port: 0, host: '127.0.0.1', warn: (m) => warnings.push(m) });
});

after(async () => {
  await dev.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown, contentType = 'application/json') {
  const res = await fetch(`${dev.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('it says loudly that it is for development only: at startup and in its discovery document', async () => {
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /DEVELOPMENT ONLY/);
  assert.ok(warnings[0]!.includes(dev.url));
  const doc = (await (await fetch(`${dev.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  assert.equal(doc['description'], DEV_OIDC_WARNING);
  assert.equal(doc['issuer'], dev.url);
  assert.equal(doc['jwks_uri'], `${dev.url}/jwks`);
  assert.equal(doc['token_endpoint'], `${dev.url}/token`);
  assert.deepEqual(doc['id_token_signing_alg_values_supported'], ['ES256']);
});

test('the key is generated on first start: PKCS#8 PEM, mode 0600, and reused by the next start', async () => {
  const pem = readFileSync(dev.keyPath, 'utf8');
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.equal(statSync(dev.keyPath).mode & 0o777, 0o600);
  const again = await startDevOidcIssuer({ dir, warn: () => {} });
  try {
    assert.equal(again.key.kid, dev.key.kid);
    assert.notEqual(again.url, dev.url);
    const jwks = (await (await fetch(`${again.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    assert.equal(jwks.keys[0]!['kid'], dev.key.kid);
  } finally {
    await again.close();
  }
});

test('an email token (JSON request) carries email and email_verified, audience sigstore, and verifies against the JWKS', async () => {
  const { status, json } = await post('/token', { email: 'alice@example.com' });
  assert.equal(status, 200);
  assert.equal(json['token_type'], 'Bearer');
  assert.equal(json['expires_in'], 600);
  const token = json['id_token'] as string;
  assert.equal(json['access_token'], token);
  assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', kid: dev.key.kid, typ: 'JWT' });
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${dev.url}/jwks`)), { issuer: dev.url, audience: 'sigstore' });
  assert.equal(payload['email'], 'alice@example.com');
  assert.equal(payload['email_verified'], true);
  assert.equal(payload.sub, 'alice@example.com');
  assert.equal(payload.exp! - payload.iat!, 600);
});

test('a subject token from a form request, with audiences, lifetime and GitHub Actions-shaped extra claims', async () => {
  const form = new URLSearchParams({ subject: 'repo:octo/app:ref:refs/heads/main', audience: 'my-ca', expires_in: '60', claims: JSON.stringify({ job_workflow_ref: 'octo/app/.github/workflows/release.yml@refs/heads/main', run_attempt: '1' }) });
  const { status, json } = await post('/token', form.toString(), 'application/x-www-form-urlencoded');
  assert.equal(status, 200, JSON.stringify(json));
  const jwks = createLocalJWKSet((await (await fetch(`${dev.url}/jwks`)).json()) as { keys: [] });
  const { payload } = await jwtVerify(json['id_token'] as string, jwks, { issuer: dev.url, audience: 'my-ca' });
  assert.equal(payload.sub, 'repo:octo/app:ref:refs/heads/main');
  assert.equal(payload['email'], undefined);
  assert.equal(payload['job_workflow_ref'], 'octo/app/.github/workflows/release.yml@refs/heads/main');
  assert.equal(payload.exp! - payload.iat!, 60);

  const multi = await post('/token', { subject: 'x', audience: ['a', 'sigstore'] });
  assert.deepEqual((await jwtVerify(multi.json['id_token'] as string, jwks, { audience: 'sigstore' })).payload.aud, ['a', 'sigstore']);
});

test('bad token requests are 4xx with a code and a message that says what to send', async () => {
  const cases: [unknown, RegExp][] = [
    [{}, /give "email".*or "subject"/],
    [{ email: 'not-an-email' }, /not an email address/],
    [{ subject: 42 }, /"subject" must be a string/],
    [{ subject: 'x', audience: [] }, /"audience" must be/],
    [{ subject: 'x', expires_in: 0 }, /whole number of seconds/],
    [{ subject: 'x', expires_in: 10 ** 9 }, /whole number of seconds/],
    [{ subject: 'x', claims: [1] }, /"claims" must be an object/],
    [{ subject: 'x', claims: { iss: 'https://accounts.google.com' } }, /cannot set "iss"/],
    [[1, 2], /send a JSON object/],
  ];
  for (const [body, pattern] of cases) {
    const { status, json } = await post('/token', body);
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(json['error'], 'REQUEST_INVALID');
    assert.equal(json['code'], 400);
    assert.match(json['message'] as string, pattern);
  }
  assert.equal((await post('/token', 'claims=%7Bnope', 'application/x-www-form-urlencoded')).status, 400);
  const unsupported = await post('/token', 'email: a@b.c', 'text/yaml');
  assert.equal(unsupported.status, 415);
  assert.equal(unsupported.json['error'], 'UNSUPPORTED_MEDIA_TYPE');
  const missing = await fetch(`${dev.url}/authorize`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as Record<string, unknown>)['error'], 'NOT_FOUND');
});

test('RS256: a key generated with alg RS256 signs RS256 tokens that verify', async () => {
  const rsaDir = mkdtempSync(join(tmpdir(), 'sigstack-oidc-dev-rsa-'));
  const rsa = await startDevOidcIssuer({ dir: rsaDir, alg: 'RS256', warn: () => {} });
  try {
    const jwks = (await (await fetch(`${rsa.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    assert.equal(jwks.keys[0]!['kty'], 'RSA');
    assert.equal(jwks.keys[0]!['alg'], 'RS256');
    const res = await fetch(`${rsa.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'r@example.com' }) });
    const token = ((await res.json()) as { id_token: string }).id_token;
    assert.equal(decodeProtectedHeader(token).alg, 'RS256');
    await jwtVerify(token, createLocalJWKSet(jwks as { keys: [] }), { issuer: rsa.url, audience: 'sigstore' });
  } finally {
    await rsa.close();
    rmSync(rsaDir, { recursive: true, force: true });
  }
});

test('buildDevOidcApp works with a given PEM key and issuer URL, and refuses keys it cannot sign ES256/RS256 with', async () => {
  const pair = generateKeyPair('ec', { namedCurve: 'P-256' });
  const app = buildDevOidcApp({ issuerUrl: 'https://oidc.dev.example/', key: pemEncode('PRIVATE KEY', pair.pkcs8) });
  try {
    const doc = (await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json() as Record<string, unknown>;
    assert.equal(doc['issuer'], 'https://oidc.dev.example/');
    assert.equal(doc['jwks_uri'], 'https://oidc.dev.example/jwks');
    const res = await app.inject({ method: 'POST', url: '/token', payload: { email: 'a@example.com' } });
    const token = (res.json() as { id_token: string }).id_token;
    const { payload } = await jwtVerify(token, pair.publicKey, { issuer: 'https://oidc.dev.example/' });
    assert.equal(payload['email'], 'a@example.com');
  } finally {
    await app.close();
  }
  const ed = generateKeyPair('ed25519');
  assert.throws(() => buildDevOidcApp({ issuerUrl: 'https://x.example', key: ed.privateKey }), /ES256\) or RSA \(RS256\)/);
  assert.throws(() => buildDevOidcApp({ issuerUrl: 'https://x.example' }), /needs a key or a keyPath/);
});
