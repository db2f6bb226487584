// Log shard rotation on a stack (Rekor's yearly shards): sign, rotate (`sigstack log rotate`),
// restart, sign again. The trusted root names both shards (the old one's validFor.end, the new
// one's start), the signing config the new one, as a new TUF targets version that tuf-js follows;
// every bundle verifies in sigstack and sigstore-js with the root fetched through TUF; the frozen
// shard still serves its entries and refuses new ones; search at the root covers every shard.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBundle, parseSigningConfig, parseTrustedRoot } from '@sigstack/core';
import { TrustMaterial, Verifier } from '@sigstack/verify';
import { startStack, TUF_TARGETS, type Stack } from '../src/stack.js';
import { storeOptions, storeArgs } from './stack-store.js';

const require = createRequire(import.meta.url);
const sigstoreVerify = require('@sigstore/verify');
const sigstoreBundle = require('@sigstore/bundle');
const sigstoreSign = require('@sigstore/sign');
const { TrustedRoot, SigningConfig } = require('@sigstore/protobuf-specs');
const { Updater } = require('tuf-js') as typeof import('tuf-js');
const SIGN_PACKAGE = '@sigstack/sign';
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = join(repo, 'packages/cli/dist/bundle/main.js');

const EMAIL = 'rotation@example.test';
const dir = mkdtempSync(join(tmpdir(), 'sigstack-rotate-'));
/** Exported for stack-rotation-postgres.test.ts, which runs this suite on PostgreSQL. */
export const stackDir = join(dir, 'stack');
const tufCache = join(dir, 'tuf-client');
const artifact = Buffer.from('signed before and after a rotation\n');
let stack: Stack;
let port: number;
const bundles: { what: string; bundle: Record<string, unknown> }[] = [];

before(async () => {
  stack = await startStack({ ...storeOptions(), dir: stackDir, port: 0, admissionWorkers: 0, warn: () => {} });
  port = Number(new URL(stack.urls.origin).port);
  mkdirSync(join(tufCache, 'targets'), { recursive: true });
  copyFileSync(stack.files.tufRoot, join(tufCache, 'root.json'));
});

after(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: repo, timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

async function token(): Promise<string> {
  const response = await fetch(`${stack.urls.oidc}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL }) });
  return ((await response.json()) as { id_token: string }).id_token;
}

/** Signs with sigstack (Rekor v2 and v1) and sigstore-js (Rekor v2) from the stack's signing config. */
async function signAll(when: string): Promise<void> {
  const signing = (await import(SIGN_PACKAGE)) as any;
  const config = readJson(stack.files.signingConfig);
  const identityToken = await token();
  for (const version of [2, 1]) {
    const only = { ...config, rekorTlogUrls: (config.rekorTlogUrls as { majorApiVersion: number }[]).filter((s) => s.majorApiVersion === version) };
    const services = signing.servicesFromSigningConfig(parseSigningConfig(only));
    const signer = new signing.Signer({ services, identityToken: { token: identityToken, claims: signing.parseIdentityToken(identityToken), source: 'test' } });
    bundles.push({ what: `sigstack v${version} ${when}`, bundle: (await signer.signMessage(artifact)).bundle });
  }
  const builder = sigstoreSign.bundleBuilderFromSigningConfig({ signingConfig: SigningConfig.fromJSON(config), identityProvider: { getToken: async () => identityToken }, bundleType: 'messageSignature' });
  bundles.push({ what: `sigstore-js ${when}`, bundle: sigstoreBundle.bundleToJSON(await builder.create({ data: artifact })) });
}

async function tufTrustedRoot(): Promise<{ root: Record<string, unknown>; targetsVersion: number }> {
  const updater = new Updater({ metadataDir: tufCache, metadataBaseUrl: stack.urls.tuf, targetDir: join(tufCache, 'targets'), targetBaseUrl: `${stack.urls.tuf}/targets` });
  await updater.refresh();
  const info = await updater.getTargetInfo(TUF_TARGETS.trustedRoot);
  assert.ok(info);
  const path = await updater.downloadTarget(info, join(tufCache, 'targets', TUF_TARGETS.trustedRoot));
  const targets = readJson(join(tufCache, 'targets.json')) as { signed: { version: number } };
  return { root: JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>, targetsVersion: targets.signed.version };
}

async function verifyBoth(what: string, bundle: Record<string, unknown>, root: Record<string, unknown>): Promise<void> {
  const ours = await new Verifier(new TrustMaterial(parseTrustedRoot(root))).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, { identity: EMAIL, issuer: stack.urls.oidc });
  assert.equal(ours.identity, EMAIL, what);
  const trust = sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(root));
  const signer = new sigstoreVerify.Verifier(trust).verify(sigstoreVerify.toSignedEntity(sigstoreBundle.bundleFromJSON(bundle), artifact), { subjectAlternativeName: EMAIL, extensions: { issuer: stack.urls.oidc } });
  assert.equal(signer.identity?.subjectAlternativeName, EMAIL, what);
}

test('rotation refuses a running stack; after it the stack serves both shards with the trust files updated over TUF', async () => {
  await signAll('before');
  const before = await tufTrustedRoot();
  const firstName = stack.logName;
  const firstSize = stack.log.checkpoint.size;
  assert.equal(firstSize, 3);

  const busy = await run(['log', 'rotate', '--dir', stackDir, ...storeArgs()]);
  assert.notEqual(busy.code, 0);
  assert.match(busy.stderr, /STACK_RUNNING/);
  await stack.close();
  await new Promise((r) => setTimeout(r, 1000)); // the new shard starts a second after the old one's start
  const rotated = await run(['log', 'rotate', '--dir', stackDir, ...storeArgs()]);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, new RegExp(`active: ${firstName.replace(/\./g, '\\.')}/log2`));

  stack = await startStack({ ...storeOptions(), dir: stackDir, port, admissionWorkers: 0, warn: () => {} });
  assert.equal(stack.logShards.length, 2);
  assert.equal(stack.logName, `${firstName}/log2`);
  assert.equal(stack.urls.rekor, `http://${firstName}/log2`);
  const [old, active] = stack.logShards;
  assert.ok(old!.end && !active!.end && old!.end === active!.start);
  assert.equal(old!.log.checkpoint.size, firstSize);

  // trusted_root.json: both logs, the old one ending when the new one starts; fetched through TUF as a new targets version.
  const after = await tufTrustedRoot();
  assert.equal(after.targetsVersion, before.targetsVersion + 1);
  assert.deepEqual(after.root, readJson(stack.files.trustedRoot));
  const tlogs = parseTrustedRoot(after.root).tlogs;
  assert.deepEqual(tlogs.map((t) => t.baseUrl), [`http://${firstName}`, `http://${firstName}/log2`]);
  assert.equal((after.root as any).tlogs[0].publicKey.validFor.end, old!.end);
  assert.equal((after.root as any).tlogs[1].publicKey.validFor.start, active!.start);
  assert.notEqual((after.root as any).tlogs[0].logId.keyId, (after.root as any).tlogs[1].logId.keyId, 'a new key');
  const config = parseSigningConfig(readJson(stack.files.signingConfig));
  assert.deepEqual([...new Set(config.rekorTlogUrls.map((s) => s.url))], [`http://${firstName}/log2`]);

  // The old bundles verify with the new root, in both verifiers.
  for (const { what, bundle } of bundles) await verifyBoth(what, bundle, after.root);
});

test('signing after the rotation goes to the new shard; every bundle verifies with the TUF root', async () => {
  await signAll('after');
  assert.equal(stack.log.checkpoint.size, 3);
  assert.equal(stack.logShards[0]!.log.checkpoint.size, 3);
  const { root } = await tufTrustedRoot();
  for (const { what, bundle } of bundles) await verifyBoth(what, bundle, root);
  const checkpoint = await (await fetch(`${stack.urls.rekor}/checkpoint`)).text();
  assert.equal(checkpoint.split('\n')[0], stack.logName);
});

test('the frozen shard serves entries, proofs and tiles and refuses new entries with 410', async () => {
  const base = stack.logShards[0]!.url;
  assert.equal((await fetch(`${base}/api/v1/log/entries?logIndex=0`)).status, 200);
  assert.equal((await fetch(`${base}/tile/0/000.p/3`)).status, 200);
  const info = (await (await fetch(`${base}/api/v1/log`)).json()) as { treeSize: number };
  assert.equal(info.treeSize, 3);
  for (const path of ['/api/v1/log/entries', '/api/v2/log/entries']) {
    const refused = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(refused.status, 410, path);
    const body = (await refused.json()) as { error: string; message: string };
    assert.equal(body.error, 'LOG_SHARD_FROZEN');
    assert.ok(body.message.includes(stack.urls.rekor), 'says where to write');
  }
  // `sigstack log info` on each shard.
  const infoOld = await run(['log', 'info', '--url', base]);
  assert.equal(infoOld.code, 0, infoOld.stderr);
  const infoNew = await run(['log', 'info', '--url', stack.urls.rekor]);
  assert.equal(infoNew.code, 0, infoNew.stderr);
});

test('search at the root covers every shard, and an entry ID finds its shard', async () => {
  const search = await fetch(`${stack.urls.origin}/api/v1/index/retrieve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL }) });
  assert.equal(search.status, 200);
  const ids = (await search.json()) as string[];
  // Rekor v1 entries carry the email in the index (hashedrekord v0.0.1 with a certificate): one per shard from sigstack, the rest are v2 entries.
  const trees = new Set(ids.map((id) => id.slice(0, 16)));
  assert.equal(trees.size, 2, `entries from both shards: ${ids.join(', ')}`);
  for (const id of ids) {
    const entry = await fetch(`${stack.urls.origin}/api/v1/log/entries/${id}`);
    assert.equal(entry.status, 200, id);
    const short = await fetch(`${stack.urls.origin}/api/v1/log/entries/${id.slice(16)}`);
    assert.equal(short.status, 200, `by UUID ${id.slice(16)}`);
  }
  const retrieved = await fetch(`${stack.urls.origin}/api/v1/log/entries/retrieve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entryUUIDs: ids }) });
  assert.equal(retrieved.status, 200);
  assert.equal(((await retrieved.json()) as unknown[]).length, ids.length, 'retrieve by UUIDs finds the entries of every shard');
  const cli = await run(['log', 'search', '--url', stack.urls.origin, '--email', EMAIL]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout.trim().split('\n').length >= ids.length, true);
});

test('ca rotate --root, tsa rotate and ctlog rotate: old and new bundles verify with the TUF root; the retired private keys are gone', async () => {
  const beforeCount = bundles.length;
  const rootBefore = readJson(stack.files.trustedRoot) as any;
  const busy = await run(['ca', 'rotate', '--dir', stackDir]);
  assert.match(busy.stderr, /STACK_RUNNING/);
  await stack.close();
  await new Promise((r) => setTimeout(r, 1000));
  for (const args of [['ca', 'rotate', '--dir', stackDir, '--root'], ['tsa', 'rotate', '--dir', stackDir], ['ctlog', 'rotate', '--dir', stackDir]]) {
    const result = await run(args);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stdout, /^retired the /);
  }
  for (const key of ['ca-retired-1/ca-intermediate-key.pem', 'ca-retired-1/ca-root-key.pem', 'ctlog-retired-1/ctlog-key.pem', 'tsa-retired-1/tsa-key.pem']) {
    assert.equal(existsSync(join(stackDir, key)), false, key);
  }
  const again = await run(['ctlog', 'rotate', '--dir', stackDir]);
  assert.match(again.stderr, /ROTATION_TOO_SOON|KEY_NOT_FOUND/, 'nothing to rotate before the stack made a new key');

  stack = await startStack({ ...storeOptions(), dir: stackDir, port, admissionWorkers: 0, warn: () => {} });
  const { root } = await tufTrustedRoot();
  assert.deepEqual(root, readJson(stack.files.trustedRoot));
  const r = root as any;
  assert.equal(r.certificateAuthorities.length, 2);
  assert.equal(r.timestampAuthorities.length, 2);
  assert.equal(r.ctlogs.length, 2);
  for (const part of ['certificateAuthorities', 'timestampAuthorities']) {
    assert.ok(r[part][0].validFor.end && !r[part][1].validFor.end, part);
    assert.equal(r[part][0].validFor.end, r[part][1].validFor.start, part);
    assert.deepEqual(r[part][0].certChain, rootBefore[part][0].certChain, `${part}: the retired chain is the one in use before`);
  }
  assert.notEqual(r.certificateAuthorities[1].certChain.certificates[1].rawBytes, r.certificateAuthorities[0].certChain.certificates[1].rawBytes, 'a new CA root');
  assert.equal(r.timestampAuthorities[1].certChain.certificates[1].rawBytes, r.timestampAuthorities[0].certChain.certificates[1].rawBytes, 'the same TSA root');
  assert.equal(r.ctlogs[0].publicKey.rawBytes, rootBefore.ctlogs[0].publicKey.rawBytes);
  assert.ok(r.ctlogs[0].publicKey.validFor.end && r.ctlogs[1].logId.keyId !== r.ctlogs[0].logId.keyId);

  await signAll('after the key rotation');
  const fresh = bundles.slice(beforeCount);
  const newIntermediate = Buffer.from(r.certificateAuthorities[1].certChain.certificates[0].rawBytes, 'base64');
  const { X509 } = await import('@sigstack/core');
  for (const { what, bundle } of fresh) {
    const material = (bundle as any).verificationMaterial;
    const leafBytes = material.certificate?.rawBytes ?? material.x509CertificateChain?.certificates?.[0]?.rawBytes;
    assert.ok(leafBytes, `${what}: a certificate in ${JSON.stringify(Object.keys(material))}`);
    const leaf = X509.fromDer(Buffer.from(leafBytes, 'base64'));
    assert.ok(leaf.isSignedBy(X509.fromDer(newIntermediate)), `${what}: issued by the new intermediate`);
  }
  for (const { what, bundle } of bundles) await verifyBoth(what, bundle, root);
});
