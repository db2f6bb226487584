// A production stack (startStack with a public URL and a Fulcio issuer config) behind a real
// nginx using the README's snippet: the trust files and log origins name the public URL, not the
// bind address; sigstack and sigstore-js sign through the proxy with tokens from the tests' own
// OIDC provider and both verify; the dev issuer is off and its tokens are refused; tuf-js reads
// the trust through the proxy; write endpoints are rate limited per forwarded client address.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBundle, parseSigningConfig, parseTrustedRoot } from '@sigstack/core';
import { TrustMaterial, Verifier } from '@sigstack/verify';
import { startStack, TUF_TARGETS, type Stack } from '../src/stack.js';
import { startDevOidcIssuer, type DevOidcIssuer } from '../src/oidc-dev/index.js';
import { startTestOidcProvider, type TestOidcProvider } from './oidc-provider.js';
import { freePort, readmeNginxLocation, startNginx, type Nginx } from './nginx.js';

const require = createRequire(import.meta.url);
const sigstoreVerify = require('@sigstore/verify');
const sigstoreBundle = require('@sigstore/bundle');
const sigstoreSign = require('@sigstore/sign');
const { TrustedRoot, SigningConfig } = require('@sigstore/protobuf-specs');
const { Updater } = require('tuf-js') as typeof import('tuf-js');
const SIGN_PACKAGE = '@sigstack/sign';

const EMAIL = 'alice@corp.example';
const dir = mkdtempSync(join(tmpdir(), 'sigstack-prod-'));
const artifact = Buffer.from('signed by a production stack\n');
let provider: TestOidcProvider;
let devIssuer: DevOidcIssuer;
let stack: Stack;
let nginx: Nginx;
let publicBase: string;
let bindPort: number;
let configPath: string;
const bundles: { what: string; bundle: Record<string, unknown> }[] = [];

before(async () => {
  provider = await startTestOidcProvider();
  configPath = join(dir, 'issuers.yaml');
  writeFileSync(
    configPath,
    [
      'oidc-issuers:',
      `  ${provider.issuer}:`,
      `    issuer-url: ${provider.issuer}`,
      '    client-id: sigstore',
      '    type: email',
      '  https://token.actions.githubusercontent.com:',
      '    issuer-url: https://token.actions.githubusercontent.com',
      '    client-id: sigstore',
      '    type: github-workflow',
      '',
    ].join('\n'),
  );
  const proxyPort = await freePort();
  publicBase = `http://127.0.0.1:${proxyPort}/sigstore`;
  // A dev issuer claiming the URL the stack's own dev issuer would have.
  devIssuer = await startDevOidcIssuer({ dir: join(dir, 'dev-oidc'), issuerUrl: `${publicBase}/oidc`, warn: () => {} });
  stack = await startStack({ dir: join(dir, 'stack'), port: 0, publicUrl: publicBase, oidcConfigPath: configPath, trustProxy: true, admissionWorkers: 0, warn: () => {} });
  bindPort = (stack.server.address() as { port: number }).port;
  const location = readmeNginxLocation().replace('http://127.0.0.1:3000', `http://127.0.0.1:${bindPort}`);
  assert.ok(location.includes(`127.0.0.1:${bindPort}`), 'the README snippet proxies to 127.0.0.1:3000');
  nginx = await startNginx(join(dir, 'nginx'), location, proxyPort);
});

after(async () => {
  await nginx?.close();
  await stack?.close();
  await devIssuer?.close();
  await provider?.close();
  rmSync(dir, { recursive: true, force: true });
});

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

async function verifyBoth(what: string, bundle: Record<string, unknown>, root: Record<string, unknown>): Promise<void> {
  const policy = { identity: EMAIL, issuer: provider.issuer };
  const ours = await new Verifier(new TrustMaterial(parseTrustedRoot(root))).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, policy);
  assert.equal(ours.identity, EMAIL, what);
  assert.equal(ours.tlogEntries[0]?.logUrl, publicBase, what);
  const trust = sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(root));
  const entity = sigstoreVerify.toSignedEntity(sigstoreBundle.bundleFromJSON(bundle), artifact);
  const signer = new sigstoreVerify.Verifier(trust).verify(entity, { subjectAlternativeName: EMAIL, extensions: { issuer: provider.issuer } });
  assert.equal(signer.identity?.subjectAlternativeName, EMAIL, what);
}

test('the trust files and the log origins come from --public-url, never from the bind address', async () => {
  const rootText = readFileSync(stack.files.trustedRoot, 'utf8');
  const configText = readFileSync(stack.files.signingConfig, 'utf8');
  for (const text of [rootText, configText]) assert.ok(!text.includes(`:${bindPort}`), 'the bind port appears nowhere');
  const root = parseTrustedRoot(JSON.parse(rootText));
  assert.equal(root.tlogs[0]?.baseUrl, publicBase);
  assert.equal(stack.logName, publicBase.replace(/^http:\/\//, ''));
  const config = parseSigningConfig(JSON.parse(configText));
  assert.deepEqual(config.caUrls.map((s) => s.url), [publicBase]);
  assert.deepEqual(config.tsaUrls.map((s) => s.url), [`${publicBase}/api/v1/timestamp`]);
  assert.deepEqual([...new Set(config.rekorTlogUrls.map((s) => s.url))], [publicBase]);
  assert.deepEqual(config.oidcUrls.map((s) => s.url), [provider.issuer], 'the email issuer, not the dev issuer');
  SigningConfig.fromJSON(JSON.parse(configText));
  // Through nginx: the checkpoint's origin line, the CT log's name, the CA's issuers.
  const checkpoint = await (await fetch(`${publicBase}/checkpoint`)).text();
  assert.equal(checkpoint.split('\n')[0], stack.logName);
  assert.equal(stack.ctLog.log.signer.name, `${stack.logName}/ct`);
  const configuration = (await (await fetch(`${publicBase}/api/v2/configuration`)).json()) as { issuers: { issuerUrl?: string }[] };
  assert.ok(configuration.issuers.some((i) => i.issuerUrl === provider.issuer));
  // The dev issuer is not served.
  assert.equal((await fetch(`${publicBase}/oidc/.well-known/openid-configuration`)).status, 404);
  const index = (await (await fetch(`${publicBase}/`)).json()) as { services: Record<string, unknown> };
  assert.equal(index.services.oidc, undefined);
});

test('sigstack signs through the proxy with a token from the configured issuer; both verifiers accept it', async () => {
  const signing = (await import(SIGN_PACKAGE)) as any;
  const token = await provider.token(EMAIL);
  const services = signing.servicesFromSigningConfig(parseSigningConfig(readJson(stack.files.signingConfig)));
  const signer = new signing.Signer({ services, identityToken: { token, claims: signing.parseIdentityToken(token), source: 'test' } });
  const { bundle } = await signer.signMessage(artifact);
  bundles.push({ what: 'sigstack', bundle });
  await verifyBoth('sigstack', bundle, readJson(stack.files.trustedRoot));
});

test('sigstore-js signs through the proxy (Rekor v1 and v2, TSA); both verifiers accept it', async () => {
  const token = await provider.token(EMAIL);
  const full = readJson(stack.files.signingConfig);
  for (const version of [1, 2]) {
    const json = { ...full, rekorTlogUrls: (full.rekorTlogUrls as { majorApiVersion: number }[]).filter((s) => s.majorApiVersion === version) };
    const builder = sigstoreSign.bundleBuilderFromSigningConfig({ signingConfig: SigningConfig.fromJSON(json), identityProvider: { getToken: async () => token }, bundleType: 'messageSignature' });
    const bundle = sigstoreBundle.bundleToJSON(await builder.create({ data: artifact }));
    bundles.push({ what: `sigstore-js v${version}`, bundle });
    await verifyBoth(`sigstore-js Rekor v${version}`, bundle, readJson(stack.files.trustedRoot));
  }
});

test('tokens of a dev issuer are refused by the production CA', async () => {
  const minted = await fetch(`http://127.0.0.1:${(devIssuer.app.server.address() as { port: number }).port}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL }) });
  const devToken = ((await minted.json()) as { id_token: string }).id_token;
  const { privateKey, publicKey } = await import('node:crypto').then((c) => c.generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  const { createSign } = await import('node:crypto');
  const proof = createSign('sha256').update(EMAIL).sign(privateKey).toString('base64');
  const response = await fetch(`${publicBase}/api/v2/signingCert`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      credentials: { oidcIdentityToken: devToken },
      publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: publicKey.export({ type: 'spki', format: 'pem' }) }, proofOfPossession: proof },
    }),
  });
  const body = (await response.json()) as { code?: unknown; message: string };
  assert.equal(response.status, 400, body.message);
  assert.match(JSON.stringify(body), /TOKEN_UNKNOWN_ISSUER/);
});

test('tuf-js fetches the trusted root and signing config through the proxy', async () => {
  const cache = join(dir, 'tuf-client');
  mkdirSync(join(cache, 'targets'), { recursive: true });
  copyFileSync(stack.files.tufRoot, join(cache, 'root.json'));
  const tufUrl = `${publicBase}/tuf`;
  const updater = new Updater({ metadataDir: cache, metadataBaseUrl: tufUrl, targetDir: join(cache, 'targets'), targetBaseUrl: `${tufUrl}/targets` });
  await updater.refresh();
  const info = await updater.getTargetInfo(TUF_TARGETS.trustedRoot);
  assert.ok(info);
  const path = await updater.downloadTarget(info, join(cache, 'targets', TUF_TARGETS.trustedRoot));
  const root = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  assert.ok(readFileSync(path).equals(readFileSync(stack.files.trustedRoot)));
  for (const { what, bundle } of bundles) await verifyBoth(`${what} (TUF root)`, bundle, root);
});

test('a restart with another public URL is refused: the log keeps its name', async () => {
  await assert.rejects(
    startStack({ dir: join(dir, 'stack'), port: 0, publicUrl: 'https://elsewhere.example.test', oidcConfigPath: configPath, admissionWorkers: 0, warn: () => {} }),
    (err: { code?: string }) => err.code === 'LOG_NAME_MISMATCH',
  );
  await assert.rejects(startStack({ dir: join(dir, 'other'), port: 0, publicUrl: 'https://x.example.test' }), (err: { code?: string }) => err.code === 'NO_OIDC_ISSUERS');
  await assert.rejects(startStack({ dir: join(dir, 'other'), port: 0, publicUrl: 'https://x.example.test/a?b' }), (err: { code?: string }) => err.code === 'PUBLIC_URL_INVALID');
});

test('write endpoints are rate limited per client (the forwarded address behind a proxy): 429 with Retry-After', async () => {
  const limited = await startStack({ dir: join(dir, 'limited'), port: 0, publicUrl: 'https://limited.example.test', oidcConfigPath: configPath, trustProxy: true, rateLimitPerMinute: 6, admissionWorkers: 0, warn: () => {} });
  try {
    const port = (limited.server.address() as { port: number }).port;
    const post = (client: string) =>
      fetch(`http://127.0.0.1:${port}/api/v1/timestamp`, { method: 'POST', headers: { 'content-type': 'application/timestamp-query', 'x-forwarded-for': `198.51.100.9, ${client}` }, body: 'not a query' });
    for (let i = 0; i < 10; i++) assert.equal((await post('203.0.113.7')).status, 400, `request ${i + 1} is within the burst`);
    const refused = await post('203.0.113.7');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
    assert.equal(((await refused.json()) as { error: string }).error, 'RATE_LIMITED');
    assert.equal((await post('203.0.113.8')).status, 400, 'another client has its own bucket');
    // Reads are not limited.
    for (let i = 0; i < 15; i++) assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/log`)).status, 200);
  } finally {
    await limited.close();
  }
});
