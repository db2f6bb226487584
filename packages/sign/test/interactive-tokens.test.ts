// Interactive logins against the development OIDC issuer over real HTTP on 127.0.0.1: the browser
// flow (PKCE, localhost callback; the test plays the browser) and the RFC 8628 device flow, with
// token claims checked against the issuer's JWKS, and PKCE / redirect / expiry refusals.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type * as OidcModule from '../../server/src/oidc-dev/service.js';
import { SignError, browserTokenProvider, deviceFlowTokenProvider } from '../src/index.js';

const serverDist = new URL('../../../server/dist/src/', import.meta.url);
const DEFAULT_EMAIL = 'default@example.test';
const dir = mkdtempSync(join(tmpdir(), 'sigstack-sign-interactive-'));
let issuer: OidcModule.DevOidcIssuer;
let plain: OidcModule.DevOidcIssuer;

before(async () => {
  const { startDevOidcIssuer } = (await import(new URL('oidc-dev/service.js', serverDist).href)) as typeof OidcModule;
  issuer = await startDevOidcIssuer({ dir, port: 0, host: '127.0.0.1', warn: () => {}, interactiveFlows: true, defaultEmail: DEFAULT_EMAIL, deviceIntervalSeconds: 1 });
  plain = await startDevOidcIssuer({ dir: join(dir, 'plain'), warn: () => {} });
});

after(async () => {
  await issuer.close();
  await plain.close();
  rmSync(dir, { recursive: true, force: true });
});

async function checkToken(token: string, email: string) {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${issuer.url}/jwks`)), { issuer: issuer.url, audience: 'sigstore' });
  assert.equal(payload.iss, issuer.url);
  assert.equal(payload.aud, 'sigstore');
  assert.equal(payload['email'], email);
  assert.equal(payload['email_verified'], true);
  assert.equal(payload.sub, email);
  return payload;
}

/** Plays the browser: follows the issuer's redirect to the provider's localhost callback. */
function browser(extra: Record<string, string> = {}, seen: { url?: URL } = {}) {
  return async (href: string) => {
    const url = new URL(href);
    for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
    seen.url = url;
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const location = res.headers.get('location');
    assert.ok(location);
    const callback = await fetch(location);
    assert.equal(callback.status, 200);
    await callback.text();
  };
}

test('with interactiveFlows the discovery document advertises both flows and says it approves without a login page; off by default', async () => {
  const doc = (await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  assert.equal(doc['authorization_endpoint'], `${issuer.url}/authorize`);
  assert.equal(doc['device_authorization_endpoint'], `${issuer.url}/device/code`);
  assert.deepEqual(doc['code_challenge_methods_supported'], ['S256']);
  assert.deepEqual(doc['response_types_supported'], ['code']);
  assert.ok((doc['grant_types_supported'] as string[]).includes('authorization_code'));
  assert.ok((doc['grant_types_supported'] as string[]).includes('urn:ietf:params:oauth:grant-type:device_code'));
  assert.match(doc['description'] as string, /DEVELOPMENT ONLY.*automatically with no login page/);
  // Off by default: a plain issuer offers neither flow.
  const plainDoc = (await (await fetch(`${plain.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  assert.equal(plainDoc['authorization_endpoint'], undefined);
  assert.equal(plainDoc['device_authorization_endpoint'], undefined);
  assert.equal((await fetch(`${plain.url}/authorize`)).status, 404);
});

test('browser flow: PKCE login through the localhost callback returns an ID token for the login_hint email', async () => {
  const seen: { url?: URL } = {};
  const token = await browserTokenProvider({ issuer: issuer.url, log: () => {}, timeoutMs: 5000, openBrowser: browser({ login_hint: 'alice@example.test' }, seen) }).getToken();
  assert.ok(token);
  const payload = await checkToken(token, 'alice@example.test');
  assert.equal(seen.url?.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(payload['nonce'], seen.url?.searchParams.get('nonce'));
});

test('browser flow: without login_hint the issuer approves its default email', async () => {
  const token = await browserTokenProvider({ issuer: issuer.url, log: () => {}, timeoutMs: 5000, openBrowser: browser() }).getToken();
  await checkToken(token!, DEFAULT_EMAIL);
});

test('device flow: approving verification_uri_complete yields an ID token', async () => {
  const lines: string[] = [];
  let approval: Promise<Response> | undefined;
  const token = await deviceFlowTokenProvider({
    issuer: issuer.url,
    log: (line) => {
      lines.push(line);
      const uri = /visit (\S+)/.exec(line)?.[1];
      assert.ok(uri?.startsWith(`${issuer.url}/device?user_code=`), line);
      approval = fetch(`${uri}&login_hint=${encodeURIComponent('dev@example.test')}`);
    },
  }).getToken();
  assert.equal(lines.length, 1);
  const approved = await approval!;
  assert.equal(approved.status, 200);
  assert.equal(((await approved.json()) as { email: string }).email, 'dev@example.test');
  await checkToken(token!, 'dev@example.test');
});

/** An authorization code by hand, for the refusal tests. */
async function authorize(verifier: string, redirectUri = 'http://127.0.0.1:9/cb') {
  const url = new URL(`${issuer.url}/authorize`);
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: 'sigstore', redirect_uri: redirectUri, scope: 'openid email', code_challenge: challenge, code_challenge_method: 'S256', state: 's1' })) url.searchParams.set(k, v);
  return fetch(url, { redirect: 'manual' });
}

async function redeem(code: string, verifier: string) {
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, client_id: 'sigstore', redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: verifier });
  const res = await fetch(`${issuer.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('authorization code refusals: wrong code_verifier, reused code, non-loopback redirect_uri, plain PKCE', async () => {
  const verifier = 'v'.repeat(50);
  const res = await authorize(verifier);
  assert.equal(res.status, 302);
  const location = new URL(res.headers.get('location')!);
  assert.equal(location.searchParams.get('state'), 's1');
  const wrong = await redeem(location.searchParams.get('code')!, 'w'.repeat(50));
  assert.equal(wrong.status, 400);
  assert.equal(wrong.json['error'], 'invalid_grant');
  assert.match(wrong.json['error_description'] as string, /code_verifier/);

  const again = await authorize(verifier);
  const code = new URL(again.headers.get('location')!).searchParams.get('code')!;
  const ok = await redeem(code, verifier);
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  await checkToken(ok.json['id_token'] as string, DEFAULT_EMAIL);
  assert.equal((await redeem(code, verifier)).json['error'], 'invalid_grant');

  for (const uri of ['https://evil.example/cb', 'http://example.com:8080/cb', 'http://127.0.0.1.evil.example/cb']) {
    const bad = await authorize(verifier, uri);
    assert.equal(bad.status, 400, uri);
    assert.match(((await bad.json()) as { message: string }).message, /redirect_uri/);
  }
  const plainPkce = new URL(`${issuer.url}/authorize?response_type=code&client_id=sigstore&scope=openid&redirect_uri=http://localhost:9/cb&code_challenge=${'a'.repeat(43)}&code_challenge_method=plain`);
  const refused = await fetch(plainPkce, { redirect: 'manual' });
  assert.equal(refused.status, 302);
  assert.equal(new URL(refused.headers.get('location')!).searchParams.get('error'), 'invalid_request');
});

test('browser flow: a refused login (bad login_hint) fails the provider with a clear error', async () => {
  const opener = async (href: string) => {
    const url = new URL(href);
    url.searchParams.set('login_hint', 'not-an-email');
    const res = await fetch(url, { redirect: 'manual' });
    await (await fetch(res.headers.get('location')!)).text();
  };
  await assert.rejects(browserTokenProvider({ issuer: issuer.url, log: () => {}, timeoutMs: 5000, openBrowser: opener }).getToken(), (err: SignError) => err.code === 'OIDC_LOGIN_FAILED' && /login_required/.test(err.message));
});

test('device flow: polling too fast is slow_down; an unapproved code expires and the provider says so', async () => {
  const { startDevOidcIssuer } = (await import(new URL('oidc-dev/service.js', serverDist).href)) as typeof OidcModule;
  const short = await startDevOidcIssuer({ dir: join(dir, 'short'), warn: () => {}, interactiveFlows: true, defaultEmail: DEFAULT_EMAIL, deviceIntervalSeconds: 1, deviceCodeLifetimeSeconds: 1 });
  try {
    const form = (fields: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
    const device = (await (await fetch(`${short.url}/device/code`, form({ client_id: 'sigstore', scope: 'openid email' }))).json()) as Record<string, string>;
    const poll = async () => (await (await fetch(`${short.url}/token`, form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device['device_code']!, client_id: 'sigstore' }))).json()) as Record<string, string>;
    assert.equal((await poll())['error'], 'authorization_pending');
    assert.equal((await poll())['error'], 'slow_down');

    const started = Date.now();
    await assert.rejects(deviceFlowTokenProvider({ issuer: short.url, log: () => {}, timeoutMs: 5000 }).getToken(), (err: SignError) => err.code === 'OIDC_LOGIN_TIMEOUT' && /expired/.test(err.message));
    assert.ok(Date.now() - started < 5000, 'the issuer answered expired_token before the client gave up');
  } finally {
    await short.close();
  }
});
