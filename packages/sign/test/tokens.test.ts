// Identity token sources in order, with real dev-issuer tokens: --identity-token (token or file),
// SIGSTORE_ID_TOKEN, the GitHub Actions ambient token (its endpoint a loopback stand-in), expiry,
// the proof-of-possession subject. The interactive logins are not exercised (no issuer offers them).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignError, browserAvailable, deviceFlowTokenProvider, parseIdentityToken, resolveIdentityToken, tokenSubject } from '../src/index.js';
import { issueToken, startDevIssuer } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-sign-tokens-'));
let issuer: Awaited<ReturnType<typeof startDevIssuer>>;
let actions: Server;
let actionsUrl: string;
const actionsRequests: { authorization?: string; audience: string | null }[] = [];

before(async () => {
  issuer = await startDevIssuer(join(dir, 'oidc'));
  // The GitHub Actions token request endpoint: bearer-authenticated GET, audience in the query.
  actions = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    actionsRequests.push({ ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), audience: url.searchParams.get('audience') });
    if (req.headers.authorization !== 'bearer request-token') {
      res.writeHead(401).end('{"message":"bad request token"}');
      return;
    }
    const value = await issueToken(issuer, { subject: 'repo:octo/app:ref:refs/heads/main', audience: url.searchParams.get('audience') ?? 'none' });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value }));
  });
  await new Promise<void>((resolve) => actions.listen(0, '127.0.0.1', resolve));
  actionsUrl = `http://127.0.0.1:${(actions.address() as { port: number }).port}/token?api-version=2.0`;
});
after(async () => {
  actions.close();
  await issuer.close();
  rmSync(dir, { recursive: true, force: true });
});

test('--identity-token takes a token or a file, before SIGSTORE_ID_TOKEN and the ambient token', async () => {
  const explicit = await issueToken(issuer, { email: 'explicit@example.test' });
  const fromEnv = await issueToken(issuer, { email: 'env@example.test' });
  const env = { SIGSTORE_ID_TOKEN: fromEnv, ACTIONS_ID_TOKEN_REQUEST_URL: actionsUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token' };

  const direct = await resolveIdentityToken({ identityToken: explicit, env });
  assert.equal(direct.source, '--identity-token');
  assert.equal(direct.claims.email, 'explicit@example.test');
  assert.equal(direct.claims.iss, issuer.url);

  const file = join(dir, 'token.txt');
  writeFileSync(file, `${explicit}\n`);
  assert.equal((await resolveIdentityToken({ identityToken: file, env })).token, explicit);

  const viaEnv = await resolveIdentityToken({ env });
  assert.equal(viaEnv.source, 'SIGSTORE_ID_TOKEN');
  assert.equal(tokenSubject(viaEnv.claims), 'env@example.test');
  assert.equal(actionsRequests.length, 0, 'the ambient token is not asked for when an earlier source has one');

  await assert.rejects(resolveIdentityToken({ identityToken: join(dir, 'missing.txt'), env }), (err: SignError) => err.code === 'TOKEN_INVALID');
});

test('GitHub Actions: the ambient token is requested with the request token and audience sigstore', async () => {
  const token = await resolveIdentityToken({ env: { ACTIONS_ID_TOKEN_REQUEST_URL: actionsUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token' } });
  assert.equal(token.source, 'GitHub Actions');
  assert.deepEqual(actionsRequests.at(-1), { authorization: 'bearer request-token', audience: 'sigstore' });
  assert.equal(token.claims.aud, 'sigstore');
  assert.equal(token.claims.email, undefined);
  assert.equal(tokenSubject(token.claims), 'repo:octo/app:ref:refs/heads/main', 'without an email the proof signs sub');

  await assert.rejects(
    resolveIdentityToken({ env: { ACTIONS_ID_TOKEN_REQUEST_URL: actionsUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' } }),
    (err: SignError) => err.code === 'TOKEN_UNAVAILABLE' && /GitHub Actions OIDC token service at http:\/\/127\.0\.0\.1:\d+\/token\?api-version=2\.0&audience=sigstore gave no token .*HTTP 401: bad request token/.test(err.message),
  );
});

test('expired, malformed and missing tokens are refused with a code', async () => {
  const expired = await issueToken(issuer, { email: 'old@example.test', claims: { exp: Math.floor(Date.now() / 1000) - 60 } });
  await assert.rejects(resolveIdentityToken({ identityToken: expired, env: {} }), (err: SignError) => err.code === 'TOKEN_EXPIRED' && /--identity-token expired at/.test(err.message));
  assert.throws(() => parseIdentityToken('a.b'), (err: SignError) => err.code === 'TOKEN_INVALID');
  await assert.rejects(resolveIdentityToken({ env: {} }), (err: SignError) => err.code === 'TOKEN_MISSING' && /--identity-token/.test(err.message));
  const unverified = parseIdentityToken(await issueToken(issuer, { email: 'u@example.test', claims: { email_verified: false } }));
  assert.throws(() => tokenSubject(unverified), (err: SignError) => err.code === 'TOKEN_EMAIL_UNVERIFIED');
});

test('interactive login: the browser is chosen only with a display; the device flow needs the issuer to offer it', async () => {
  assert.equal(browserAvailable({}, 'linux'), false);
  assert.equal(browserAvailable({ DISPLAY: ':0' }, 'linux'), true);
  assert.equal(browserAvailable({}, 'darwin'), true);
  // The dev issuer offers neither the authorization code nor the device grant.
  await assert.rejects(deviceFlowTokenProvider({ issuer: issuer.url, log: () => {} }).getToken(), (err: SignError) => err.code === 'OIDC_DEVICE_FLOW_UNSUPPORTED');
});
