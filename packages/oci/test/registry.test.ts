// The registry client and cosign's layouts against real docker-registry processes (one open, one
// behind Docker token auth), plus the pure parts: references, the image-argument rule, Docker
// config credentials, challenges.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUNDLE_ARTIFACT_TYPE,
  OciError,
  RegistryClient,
  dockerConfigCredentials,
  fallbackTag,
  looksLikeImageReference,
  parseChallenge,
  parseImageIndex,
  parseImageReference,
  readAttachments,
  readBundleAttachments,
  readLegacyAttachments,
  resolveImage,
  writeBundleAttachment,
  writeLegacyAttachment,
  SIMPLE_SIGNING_MEDIA_TYPE,
  OCI_INDEX,
  OCI_MANIFEST,
} from '../src/index.js';
import { pushImage, startRegistry, type RegistryProcess } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-oci-'));
let open: RegistryProcess;
let guarded: RegistryProcess;
let tls: RegistryProcess;

before(async () => {
  [open, guarded, tls] = await Promise.all([startRegistry(join(dir, 'open')), startRegistry(join(dir, 'guarded'), { tokenAuth: true }), startRegistry(join(dir, 'tls'), { tls: true })]);
});

after(async () => {
  await Promise.all([open?.close(), guarded?.close(), tls?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

test('image references parse as docker writes them', () => {
  assert.deepEqual(parseImageReference('127.0.0.1:5000/team/app:1.0'), { registry: '127.0.0.1:5000', repository: 'team/app', tag: '1.0' });
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(parseImageReference(`ghcr.io/org/app@${digest}`), { registry: 'ghcr.io', repository: 'org/app', digest });
  assert.deepEqual(parseImageReference('alpine:3'), { registry: 'docker.io', repository: 'library/alpine', tag: '3' });
  assert.throws(() => parseImageReference('ghcr.io/Org/app:1'), (e: OciError) => e.code === 'IMAGE_REFERENCE_INVALID');
  assert.throws(() => parseImageReference('ghcr.io/org/app@sha256:abc'), (e: OciError) => e.code === 'IMAGE_REFERENCE_INVALID');
});

test('an argument is an image only with a registry host, a tag or digest, and no such file', () => {
  const none = () => false;
  assert.equal(looksLikeImageReference('ghcr.io/org/app:1.0', none), true);
  assert.equal(looksLikeImageReference(`localhost:5000/app@sha256:${'b'.repeat(64)}`, none), true);
  assert.equal(looksLikeImageReference('ghcr.io/org/app', none), false, 'no tag or digest');
  assert.equal(looksLikeImageReference('app:1.0', none), false, 'no registry host');
  assert.equal(looksLikeImageReference('dist/app.tar', none), false);
  assert.equal(looksLikeImageReference(`sha256:${'c'.repeat(64)}`, none), false);
  assert.equal(looksLikeImageReference('out.d/file:1', () => true), false, 'an existing file wins');
});

test('credentials come from Docker config auths (base64 user:password)', () => {
  const path = join(dir, 'docker-config.json');
  writeFileSync(path, JSON.stringify({ auths: { 'reg.example:5000': { auth: Buffer.from('me:s3:cret').toString('base64') }, 'https://index.docker.io/v1/': { username: 'hub', password: 'pw' } } }));
  assert.deepEqual(dockerConfigCredentials('reg.example:5000', path), { username: 'me', password: 's3:cret' });
  assert.deepEqual(dockerConfigCredentials('docker.io', path), { username: 'hub', password: 'pw' });
  assert.equal(dockerConfigCredentials('other.example', path), undefined);
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a/b:pull' },
  });
});

test('bundle layout on distribution 2.8: no referrers API, so the fallback tag index is appended to', async () => {
  const client = new RegistryClient(open.host, { dockerConfig: false });
  const image = await pushImage(client, 'demo/app', 'v1');
  const resolved = await resolveImage(client, parseImageReference(`${open.host}/demo/app:v1`));
  assert.equal(resolved.digest, image.digest);
  assert.equal(await client.referrers('demo/app', image.digest), undefined, 'distribution 2.8 has no referrers API');

  const first = Buffer.from(JSON.stringify({ mediaType: BUNDLE_ARTIFACT_TYPE, n: 1 }));
  const second = Buffer.from(JSON.stringify({ mediaType: BUNDLE_ARTIFACT_TYPE, n: 2 }));
  const a = await writeBundleAttachment(client, 'demo/app', resolved.descriptor, first, { 'dev.sigstore.bundle.content': 'dsse-envelope' });
  const b = await writeBundleAttachment(client, 'demo/app', resolved.descriptor, second, { 'dev.sigstore.bundle.content': 'dsse-envelope' });
  assert.equal(a.fallbackTag, fallbackTag(image.digest));
  const index = parseImageIndex((await client.getManifest('demo/app', fallbackTag(image.digest)))!.bytes);
  assert.deepEqual(index.manifests.map((m) => m.digest), [a.manifestDigest, b.manifestDigest], 'appended, not replaced');
  assert.equal(index.manifests[0]?.artifactType, BUNDLE_ARTIFACT_TYPE);
  // Writing the same bundle again adds nothing.
  await writeBundleAttachment(client, 'demo/app', resolved.descriptor, first, { 'dev.sigstore.bundle.content': 'dsse-envelope' });
  const found = await readBundleAttachments(client, 'demo/app', image.digest);
  assert.deepEqual(found.map((f) => f.bundle.toString()), [first.toString(), second.toString()]);
  assert.ok(found.every((f) => f.foundVia === 'fallback tag'));
});

test('a multi-platform index is an image too: its digest is resolved and it is the subject', async () => {
  const client = new RegistryClient(open.host, { dockerConfig: false });
  const image = await pushImage(client, 'demo/multi', 'amd64');
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: image.digest, size: image.manifest.length, platform: { os: 'linux', architecture: 'amd64' } }] }));
  await client.putManifest('demo/multi', 'v1', index, OCI_INDEX);
  const resolved = await resolveImage(client, parseImageReference(`${open.host}/demo/multi:v1`));
  assert.equal(resolved.descriptor.mediaType, OCI_INDEX);
  assert.notEqual(resolved.digest, image.digest);
  await writeBundleAttachment(client, 'demo/multi', resolved.descriptor, Buffer.from('{"bundle":"index"}'), {});
  const found = await readBundleAttachments(client, 'demo/multi', resolved.digest);
  assert.equal(found.length, 1);
  assert.equal((await readBundleAttachments(client, 'demo/multi', image.digest)).length, 0, 'the platform manifest has its own attachments');
});

test('legacy layout: layers are appended to the .sig tag', async () => {
  const client = new RegistryClient(open.host, { dockerConfig: false });
  const image = await pushImage(client, 'demo/legacy', 'v1');
  for (const n of [1, 2]) {
    await writeLegacyAttachment(client, 'demo/legacy', image.digest, 'sig', { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, data: Buffer.from(`payload ${n}`), annotations: { 'dev.cosignproject.cosign/signature': `sig${n}` } });
  }
  const layers = await readLegacyAttachments(client, 'demo/legacy', image.digest, 'sig');
  assert.deepEqual(layers.map((l) => [l.data.toString(), l.layer.annotations?.['dev.cosignproject.cosign/signature']]), [['payload 1', 'sig1'], ['payload 2', 'sig2']]);
  assert.equal((await readAttachments(client, 'demo/legacy', image.digest)).length, 2);
});

test('Docker token auth: the Bearer challenge is answered by the token server with the credentials', async () => {
  const token = guarded.token!;
  const client = new RegistryClient(guarded.host, { credentials: { username: token.username, password: token.password }, dockerConfig: false });
  const image = await pushImage(client, 'private/app', 'v1');
  assert.ok(token.requests.includes('repository:private/app:pull,push'), `scopes asked: ${token.requests.join(' ')}`);
  const reader = new RegistryClient(guarded.host, { credentials: { username: token.username, password: token.password }, dockerConfig: false });
  assert.equal((await resolveImage(reader, parseImageReference(`${guarded.host}/private/app:v1`))).digest, image.digest);
  assert.ok(token.requests.includes('repository:private/app:pull'));

  // From Docker's config file.
  const configPath = join(dir, 'guarded-config.json');
  writeFileSync(configPath, JSON.stringify({ auths: { [guarded.host]: { auth: Buffer.from(`${token.username}:${token.password}`).toString('base64') } } }));
  const fromConfig = new RegistryClient(guarded.host, { dockerConfig: configPath });
  assert.equal((await resolveImage(fromConfig, parseImageReference(`${guarded.host}/private/app@${image.digest}`))).digest, image.digest);

  const anonymous = new RegistryClient(guarded.host, { dockerConfig: false });
  await assert.rejects(resolveImage(anonymous, parseImageReference(`${guarded.host}/private/app:v1`)), (e: OciError) => {
    assert.equal(e.code, 'REGISTRY_AUTH_FAILED');
    assert.match(e.message, new RegExp(`registry ${guarded.host}, repository private/app`));
    assert.equal(e.status, 401);
    return true;
  });
  const wrong = new RegistryClient(guarded.host, { credentials: { username: token.username, password: 'wrong' }, dockerConfig: false });
  await assert.rejects(resolveImage(wrong, parseImageReference(`${guarded.host}/private/app:v1`)), (e: OciError) => e.code === 'REGISTRY_AUTH_FAILED');
});

test('plain HTTP only for loopback registries unless --allow-insecure-registry', async () => {
  // 0.0.0.0 is this machine but not a loopback name: HTTPS only, so the plain-HTTP port is refused.
  const client = new RegistryClient(`0.0.0.0:${open.host.split(':')[1]}`, { dockerConfig: false });
  await assert.rejects(client.getManifest('a/b', 'v1'), (e: OciError) => e.code === 'REGISTRY_UNREACHABLE' && /allow-insecure-registry/.test(e.message));
  const insecure = new RegistryClient(`0.0.0.0:${open.host.split(':')[1]}`, { dockerConfig: false, allowInsecure: true });
  assert.equal(await insecure.getManifest('a/b', 'v1'), undefined, 'with allowInsecure, plain HTTP is used');
  const missing = new RegistryClient(open.host, { dockerConfig: false });
  await assert.rejects(resolveImage(missing, parseImageReference(`${open.host}/demo/none:v1`)), (e: OciError) => e.code === 'IMAGE_NOT_FOUND' && e.status === 404);
});

test('HTTPS: an untrusted certificate is REGISTRY_TLS_UNTRUSTED (not a fall back to HTTP); --allow-insecure-registry skips the check', async () => {
  const strict = new RegistryClient(tls.host, { dockerConfig: false });
  await assert.rejects(strict.getManifest('demo/tls', 'v1'), (e: OciError) => e.code === 'REGISTRY_TLS_UNTRUSTED' && /NODE_EXTRA_CA_CERTS/.test(e.message));
  const insecure = new RegistryClient(tls.host, { dockerConfig: false, allowInsecure: true });
  const image = await pushImage(insecure, 'demo/tls', 'v1');
  assert.equal((await resolveImage(insecure, parseImageReference(`${tls.host}/demo/tls:v1`))).digest, image.digest);
});
