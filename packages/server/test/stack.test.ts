// The whole stack in one process (startStack, port 0, a temporary directory): sigstack and
// sigstore-js sign against it (Rekor v1 and v2, the TSA), both verify; tuf-js fetches its trust
// files; a restart keeps the logs and the trust.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { INTOTO_PAYLOAD_TYPE, parseBundle, parseSigningConfig, parseTrustedRoot, TRUSTED_ROOT_V02_MEDIA_TYPE, SIGNING_CONFIG_V02_MEDIA_TYPE } from '@sigstack/core';
import { TrustMaterial, Verifier } from '@sigstack/verify';
import { startStack, TUF_TARGETS, type Stack } from '../src/stack.js';
import { storeOptions } from './stack-store.js';

const require = createRequire(import.meta.url);
const sigstoreVerify = require('@sigstore/verify');
const sigstoreBundle = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Updater } = require('tuf-js') as typeof import('tuf-js');

/** @sigstore/sign: the repository's copy, else the one npm itself ships (same major, 4.x). */
function loadSigstoreSign(): { sign: any; specs: any; bundle: any } | undefined {
  const candidates = [import.meta.url, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', '@sigstore', 'sign', 'package.json')];
  for (const base of candidates) {
    try {
      const from = createRequire(base);
      const sign = from('@sigstore/sign');
      if (typeof sign.bundleBuilderFromSigningConfig !== 'function') continue;
      const signRequire = createRequire(from.resolve('@sigstore/sign'));
      return { sign, specs: signRequire('@sigstore/protobuf-specs'), bundle: signRequire('@sigstore/bundle') };
    } catch {
      // next candidate
    }
  }
  return undefined;
}
const sigstoreSign = loadSigstoreSign();

/** What this test uses of @sigstack/sign (loaded at run time: the server package does not build against it). */
interface SignModule {
  Signer: new (options: { services: unknown; identityToken: { token: string; claims: unknown; source: string } }) => {
    signMessage(data: Uint8Array): Promise<{ bundle: Record<string, unknown> }>;
    signDsse(payload: Uint8Array, payloadType: string): Promise<{ bundle: Record<string, unknown> }>;
  };
  servicesFromSigningConfig(config: unknown): { tlogs: { url: string; majorApiVersion: number }[]; tsas: unknown[] };
  parseIdentityToken(token: string): unknown;
  buildStatement(subjects: { name: string; digest: Record<string, string> }[], predicateType: string, predicate?: unknown): Buffer;
  subjectFor(name: string, data: Uint8Array): { name: string; digest: Record<string, string> };
}
const SIGN_PACKAGE = '@sigstack/sign';

const EMAIL = 'stack@example.test';
const dir = mkdtempSync(join(tmpdir(), 'sigstack-stack-'));
const stackDir = join(dir, 'stack');
const artifact = Buffer.from('an artifact signed against the whole stack\n');
let stack: Stack;
let port: number;
let signing: SignModule;

interface Signed {
  what: string;
  bundle: Record<string, unknown>;
  /** The artifact for the verifiers (for DSSE: the statement's subject). */
  artifact: Buffer;
  dsse: boolean;
}
const signed: Signed[] = [];

before(async () => {
  stack = await startStack({ ...storeOptions(), dir: stackDir, port: 0, admissionWorkers: 0, warn: () => {} });
  port = Number(new URL(stack.urls.origin).port);
  signing = (await import(SIGN_PACKAGE)) as SignModule;
});

after(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

async function token(): Promise<string> {
  const response = await fetch(`${stack.urls.oidc}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL }) });
  assert.equal(response.status, 200);
  return ((await response.json()) as { id_token: string }).id_token;
}

/** The stack's signing config with only the Rekor API `version`. */
function signingConfigFor(version: 1 | 2): Record<string, unknown> {
  const config = readJson(stack.files.signingConfig);
  return { ...config, rekorTlogUrls: (config.rekorTlogUrls as { majorApiVersion: number }[]).filter((s) => s.majorApiVersion === version) };
}

async function verifyBoth(item: Signed, rootJson: Record<string, unknown>): Promise<void> {
  const ours = await new Verifier(new TrustMaterial(parseTrustedRoot(rootJson))).verify(parseBundle(item.bundle), { kind: 'bytes', data: item.artifact }, { identity: EMAIL, issuer: stack.urls.oidc });
  assert.equal(ours.identity, EMAIL, item.what);
  assert.equal(ours.tlogEntries[0]?.logUrl, `http://${stack.logName}`, item.what);
  const trust = sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(rootJson));
  const entity = sigstoreVerify.toSignedEntity(sigstoreBundle.bundleFromJSON(item.bundle), item.dsse ? undefined : item.artifact);
  const signer = new sigstoreVerify.Verifier(trust).verify(entity, { subjectAlternativeName: EMAIL, extensions: { issuer: stack.urls.oidc } });
  assert.equal(signer.identity?.subjectAlternativeName, EMAIL, item.what);
}

function statement(): Buffer {
  return signing.buildStatement([signing.subjectFor('artifact.txt', artifact)], 'https://slsa.dev/provenance/v1', { builder: { id: 'stack-test' } });
}

test('the stack writes a v0.2 trusted root and signing config that sigstack and sigstore-js read', () => {
  const root = readJson(stack.files.trustedRoot);
  assert.equal(root.mediaType, TRUSTED_ROOT_V02_MEDIA_TYPE);
  const parsed = parseTrustedRoot(root);
  assert.equal(parsed.tlogs[0]?.baseUrl, `http://${stack.logName}`);
  assert.equal(stack.logName, `127.0.0.1:${port}`);
  assert.equal(parsed.certificateAuthorities[0]?.certChain.length, 2);
  assert.equal(parsed.ctlogs.length, 1);
  assert.equal(parsed.timestampAuthorities.length, 1);
  sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(root));

  const config = readJson(stack.files.signingConfig);
  assert.equal(config.mediaType, SIGNING_CONFIG_V02_MEDIA_TYPE);
  const services = parseSigningConfig(config);
  assert.deepEqual(services.rekorTlogUrls.map((s) => s.majorApiVersion).sort(), [1, 2]);
  assert.equal(services.tsaUrls[0]?.url, `${stack.urls.origin}/api/v1/timestamp`);
  assert.equal(services.oidcUrls[0]?.url, `${stack.urls.origin}/oidc`);
  if (sigstoreSign) sigstoreSign.specs.SigningConfig.fromJSON(config);

  // Keys under the directory, private ones mode 0600.
  for (const key of ['log/log-key.pem', 'ctlog/ctlog-key.pem', 'oidc/oidc-dev-key.pem', 'tuf/keys/root.pem', 'tuf/keys/timestamp.pem']) {
    assert.equal(statSync(join(stackDir, key)).mode & 0o777, 0o600, key);
  }
});

test('sigstack signs a file and an in-toto statement against the stack (Rekor v2 + TSA, and Rekor v1)', async () => {
  const identityToken = await token();
  const tokenInfo = { token: identityToken, claims: signing.parseIdentityToken(identityToken), source: 'test' };
  const preferred = signing.servicesFromSigningConfig(parseSigningConfig(readJson(stack.files.signingConfig)));
  assert.deepEqual(preferred.tlogs, [{ url: stack.urls.rekor, majorApiVersion: 2 }]);
  assert.equal(preferred.tsas.length, 1);
  const v2 = new signing.Signer({ services: preferred, identityToken: tokenInfo });
  const v1 = new signing.Signer({ services: signing.servicesFromSigningConfig(parseSigningConfig(signingConfigFor(1))), identityToken: tokenInfo });

  signed.push({ what: 'sigstack message, Rekor v2', bundle: (await v2.signMessage(artifact)).bundle, artifact, dsse: false });
  signed.push({ what: 'sigstack in-toto, Rekor v2', bundle: (await v2.signDsse(statement(), INTOTO_PAYLOAD_TYPE)).bundle, artifact, dsse: true });
  signed.push({ what: 'sigstack message, Rekor v1', bundle: (await v1.signMessage(artifact)).bundle, artifact, dsse: false });
  signed.push({ what: 'sigstack in-toto, Rekor v1', bundle: (await v1.signDsse(statement(), INTOTO_PAYLOAD_TYPE)).bundle, artifact, dsse: true });
  const root = readJson(stack.files.trustedRoot);
  for (const item of signed) await verifyBoth(item, root);
});

test('sigstore-js signs against the stack from its signing config (Rekor v1 and v2, with the TSA)', { skip: sigstoreSign ? false : '@sigstore/sign is not installed' }, async () => {
  const { sign, specs, bundle } = sigstoreSign!;
  const identityToken = await token();
  const identityProvider = { getToken: async () => identityToken };
  for (const version of [1, 2] as const) {
    const signingConfig = specs.SigningConfig.fromJSON(signingConfigFor(version));
    const message = sign.bundleBuilderFromSigningConfig({ signingConfig, identityProvider, bundleType: 'messageSignature' });
    const made = bundle.bundleToJSON(await message.create({ data: artifact }));
    assert.equal(made.verificationMaterial.tlogEntries[0].kindVersion.version, version === 1 ? '0.0.1' : '0.0.2');
    assert.equal(made.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
    signed.push({ what: `sigstore-js message, Rekor v${version}`, bundle: made, artifact, dsse: false });
    const dsse = sign.bundleBuilderFromSigningConfig({ signingConfig, identityProvider, bundleType: 'dsseEnvelope' });
    const envelope = bundle.bundleToJSON(await dsse.create({ data: statement(), type: INTOTO_PAYLOAD_TYPE }));
    signed.push({ what: `sigstore-js in-toto, Rekor v${version}`, bundle: envelope, artifact, dsse: true });
  }
  const root = readJson(stack.files.trustedRoot);
  for (const item of signed.filter((s) => s.what.startsWith('sigstore-js'))) await verifyBoth(item, root);
});

const tufCache = join(dir, 'tuf-client');

async function fetchTufTargets(): Promise<{ trustedRoot: Buffer; signingConfig: Buffer }> {
  const updater = new Updater({
    metadataDir: tufCache,
    metadataBaseUrl: stack.urls.tuf,
    targetDir: join(tufCache, 'targets'),
    targetBaseUrl: `${stack.urls.tuf}/targets`,
  });
  await updater.refresh();
  const out: Record<string, Buffer> = {};
  for (const name of Object.values(TUF_TARGETS)) {
    const info = await updater.getTargetInfo(name);
    assert.ok(info, `TUF target ${name}`);
    const path = await updater.downloadTarget(info, join(tufCache, 'targets', name));
    out[name] = readFileSync(path);
  }
  return { trustedRoot: out[TUF_TARGETS.trustedRoot]!, signingConfig: out[TUF_TARGETS.signingConfig]! };
}

test('tuf-js fetches the trusted root and signing config from the stack\'s TUF repository', async () => {
  mkdirSync(join(tufCache, 'targets'), { recursive: true });
  copyFileSync(stack.files.tufRoot, join(tufCache, 'root.json'));
  const fetched = await fetchTufTargets();
  assert.ok(fetched.trustedRoot.equals(readFileSync(stack.files.trustedRoot)));
  assert.ok(fetched.signingConfig.equals(readFileSync(stack.files.signingConfig)));
  // Consistent snapshots: versioned metadata and hash-prefixed targets.
  const sha = createHash('sha256').update(fetched.trustedRoot).digest('hex');
  assert.equal((await fetch(`${stack.urls.tuf}/targets/${sha}.trusted_root.json`)).status, 200);
  assert.equal((await fetch(`${stack.urls.tuf}/1.targets.json`)).status, 200);
  assert.equal((await fetch(`${stack.urls.tuf}/../stack.json`)).status, 404);
  const timestamp = JSON.parse(readFileSync(join(tufCache, 'timestamp.json'), 'utf8')) as { signed: { expires: string } };
  const lifetime = Date.parse(timestamp.signed.expires) - Date.now();
  assert.ok(lifetime > 23 * 3600_000 && lifetime <= 24 * 3600_000, `timestamp expires in a day (${lifetime} ms)`);
});

test('a restart keeps the logs and the trust: every bundle still verifies, with both verifiers', async () => {
  const rootBefore = readFileSync(stack.files.trustedRoot);
  const configBefore = readFileSync(stack.files.signingConfig);
  const sizeBefore = stack.log.checkpoint.size;
  const ctSizeBefore = stack.ctLog.log.checkpoint.size;
  const timestampVersion = stack.tuf.versions.timestamp;
  const targetsVersion = stack.tuf.versions.targets;
  assert.ok(sizeBefore >= 4 && ctSizeBefore >= 1);
  await stack.close();

  stack = await startStack({ ...storeOptions(), dir: stackDir, port, admissionWorkers: 0, warn: (message) => assert.fail(`unexpected warning: ${message}`) });
  assert.equal(stack.created, false);
  assert.ok(readFileSync(stack.files.trustedRoot).equals(rootBefore), 'trusted_root.json is byte-identical');
  assert.ok(readFileSync(stack.files.signingConfig).equals(configBefore), 'signing_config.json is byte-identical');
  assert.equal(stack.log.checkpoint.size, sizeBefore);
  assert.equal(stack.ctLog.log.checkpoint.size, ctSizeBefore);
  // TUF: same targets version, a fresh timestamp; the client updates from its cache.
  assert.equal(stack.tuf.versions.targets, targetsVersion);
  assert.equal(stack.tuf.versions.timestamp, timestampVersion + 1);
  const fetched = await fetchTufTargets();
  assert.ok(fetched.trustedRoot.equals(rootBefore));

  const root = readJson(stack.files.trustedRoot);
  assert.equal(signed.length, sigstoreSign ? 8 : 4);
  for (const item of signed) await verifyBoth(item, root);
  // The entries are still served: Rekor v1 by index.
  const entry = await fetch(`${stack.urls.rekor}/api/v1/log/entries?logIndex=0`);
  assert.equal(entry.status, 200);

  // And signing goes on in the same log.
  const identityToken = await token();
  const signer = new signing.Signer({ services: signing.servicesFromSigningConfig(parseSigningConfig(readJson(stack.files.signingConfig))), identityToken: { token: identityToken, claims: signing.parseIdentityToken(identityToken), source: 'test' } });
  const after = { what: 'sigstack after restart', bundle: (await signer.signMessage(artifact)).bundle, artifact, dsse: false };
  await verifyBoth(after, root);
  assert.equal(stack.log.checkpoint.size, sizeBefore + 1);
  assert.equal(stack.tuf.versions.root, 1);
});

test('the TUF repository re-signs targets when they change and each role as it nears expiry', async () => {
  const { TufRepository } = await import('../src/tuf/repository.js');
  const { Metadata, MetadataKind } = await import('@tufjs/models');
  const tufDir = join(dir, 'tuf-unit');
  const now = new Date();
  const later = (ms: number) => new Date(now.getTime() + ms);
  const repo = TufRepository.open({ dir: tufDir });
  const a = [{ name: 'trusted_root.json', data: Buffer.from('{"a":1}') }];
  assert.deepEqual(repo.publish(a, { now }), ['root', 'targets', 'snapshot', 'timestamp']);
  assert.deepEqual(repo.publish(a, { now }), []);
  assert.deepEqual(repo.publish(a, { now, forceTimestamp: true }), ['timestamp']);
  assert.deepEqual(repo.publish([{ name: 'trusted_root.json', data: Buffer.from('{"a":2}') }], { now }), ['targets', 'snapshot', 'timestamp']);
  // Reopened from disk: same versions; near the timestamp's expiry only it is re-signed.
  const reopened = TufRepository.open({ dir: tufDir });
  assert.deepEqual(reopened.versions, { root: 1, targets: 2, snapshot: 2, timestamp: 3 });
  assert.deepEqual(reopened.refresh(later(13 * 3600_000)), ['timestamp']);
  assert.deepEqual(reopened.refresh(later(20 * 86400_000)), ['snapshot', 'timestamp']);
  assert.deepEqual(reopened.refresh(later(300 * 86400_000)), ['root', 'targets', 'snapshot', 'timestamp']);
  // Root 2 is signed by the (same) root key that root 1 trusts.
  const root1 = Metadata.fromJSON(MetadataKind.Root, JSON.parse(reopened.read('1.root.json')!.toString()));
  const root2 = Metadata.fromJSON(MetadataKind.Root, JSON.parse(reopened.read('2.root.json')!.toString()));
  root1.verifyDelegate('root', root2);
  root2.verifyDelegate('root', root2);
  assert.equal(reopened.read('../keys/root.pem'), undefined);
});
