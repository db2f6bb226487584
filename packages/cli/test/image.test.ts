// Images end to end, as a user runs them (the built CLI): the whole stack in this process, Debian's
// docker-registry (distribution 2.8: no referrers API, so the bundle layout's fallback tag is
// used) on loopback, a second one behind Docker token auth, skopeo copying the legacy attachments,
// and sigstore-js (@sigstore/sign + @sigstore/oci) attaching a bundle that sigstack must find.
// Small images (one layer) are built and pushed by the test itself.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stack as stackModule } from '@sigstack/server';
import {
  ANNOTATION,
  RegistryClient,
  OCI_INDEX,
  OCI_MANIFEST,
  fallbackTag,
  legacyTag,
  parseImageIndex,
  parseImageManifest,
  legacyManifest,
  descriptorFor,
  documentBytes,
  type Descriptor,
} from '@sigstack/oci';
import type * as OciHelpers from '../../oci/test/helpers.js';

const require = createRequire(import.meta.url);
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = join(repo, 'packages/cli/dist/bundle/main.js');
const dir = mkdtempSync(join(tmpdir(), 'sigstack-image-'));
const EMAIL = 'images@example.test';

const helpers = (await import(new URL('../../../oci/dist/test/helpers.js', import.meta.url).href)) as typeof OciHelpers;

let stack: stackModule.Stack;
let open: OciHelpers.RegistryProcess;
let guarded: OciHelpers.RegistryProcess;
let secure: OciHelpers.RegistryProcess;
let token: string;
let keyless: string[];
let identity: string[];
let legacyServices: string[];
const keyPrefix = join(dir, 'signer');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: dir, timeout: 30_000, env: { ...process.env, DOCKER_CONFIG: join(dir, 'no-docker-config'), ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function ok(args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  const result = await run(args, env);
  assert.equal(result.code, 0, `sigstack ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
  return result;
}

/** Runs a command that must fail with `code`; answers the output. */
async function refused(args: string[], code: string, env?: NodeJS.ProcessEnv): Promise<Run> {
  const result = await run(args, env);
  assert.equal(result.code, code === 'USAGE' ? 2 : 1, `sigstack ${args.join(' ')} should have failed:\n${result.stderr}${result.stdout}`);
  assert.match(result.stderr, new RegExp(`\\[${code}\\]`), `expected [${code}]:\n${result.stderr}`);
  return result;
}

const client = () => new RegistryClient(open.host, { dockerConfig: false });

before(async () => {
  [stack, open, guarded, secure] = await Promise.all([
    stackModule.startStack({ dir: join(dir, 'stack'), port: 0, admissionWorkers: 0, warn: () => {} }),
    helpers.startRegistry(join(dir, 'registry')),
    helpers.startRegistry(join(dir, 'guarded'), { tokenAuth: true }),
    helpers.startRegistry(join(dir, 'secure'), { tls: true }),
  ]);
  const response = await fetch(`${stack.urls.oidc}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL }) });
  token = ((await response.json()) as { id_token: string }).id_token;
  // The stack's signing config: keyless, Rekor v2, the TSA.
  keyless = ['--signing-config', stack.files.signingConfig, '--trusted-root', stack.files.trustedRoot, '--identity-token', token];
  legacyServices = ['--fulcio-url', stack.urls.ca, '--rekor-url', stack.urls.rekor, '--rekor-version', '1', '--tsa-url', stack.urls.tsa, '--trusted-root', stack.files.trustedRoot];
  identity = ['--certificate-identity', EMAIL, '--certificate-oidc-issuer', stack.urls.oidc, '--trusted-root', stack.files.trustedRoot];
  await ok(['generate-key-pair', '--output-key-prefix', keyPrefix]);
});

after(async () => {
  await Promise.all([stack?.close(), open?.close(), guarded?.close(), secure?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

test('keyless, bundle layout: the tag is resolved and its digest signed; verify and tree find it through the fallback tag', async () => {
  // The image: an OCI layout on disk, pushed by skopeo.
  const layoutDigest = helpers.writeOciLayout(join(dir, 'web-layout'), 'v1');
  helpers.skopeoPush(join(dir, 'web-layout'), 'v1', `${open.host}/apps/web:v1`);
  const image = { digest: layoutDigest };
  const ref = `${open.host}/apps/web:v1`;
  const signed = await ok(['sign', ref, ...keyless]);
  assert.match(signed.stderr, new RegExp(`Resolved ${open.host}/apps/web:v1 to ${image.digest}: signing the digest`));
  assert.match(signed.stderr, /fallback tag sha256-[0-9a-f]{64}: the registry has no referrers API/);

  // Stored as cosign v3 does: an artifact manifest with the empty config, the subject, the annotations.
  const index = parseImageIndex((await client().getManifest('apps/web', fallbackTag(image.digest)))!.bytes);
  assert.equal(index.manifests.length, 1);
  const artifact = parseImageManifest((await client().getManifest('apps/web', index.manifests[0]!.digest))!.bytes);
  assert.equal(artifact.artifactType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
  assert.deepEqual(artifact.config, { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 });
  assert.equal(artifact.subject?.digest, image.digest);
  assert.equal(artifact.annotations?.[ANNOTATION.bundleContent], 'dsse-envelope');
  assert.equal(artifact.annotations?.[ANNOTATION.bundlePredicateType], 'https://sigstore.dev/cosign/sign/v1');
  const bundle = JSON.parse((await client().getBlob('apps/web', artifact.layers[0]!.digest, 1 << 20)).toString());
  assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
  assert.equal(statement.predicateType, 'https://sigstore.dev/cosign/sign/v1');
  assert.deepEqual(statement.subject[0].digest, { sha256: image.digest.slice(7) });
  // sigstore-js accepts the bundle as pushed.
  const sigstoreVerify = require('@sigstore/verify');
  const { TrustedRoot } = require('@sigstore/protobuf-specs');
  const trust = sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(readFileSync(stack.files.trustedRoot, 'utf8'))));
  const signer = new sigstoreVerify.Verifier(trust).verify(sigstoreVerify.toSignedEntity(require('@sigstore/bundle').bundleFromJSON(bundle)), {
    subjectAlternativeName: EMAIL,
    extensions: { issuer: stack.urls.oidc },
  });
  assert.ok(signer.identity);

  // A second signature is appended to the fallback index.
  await ok(['sign', `${open.host}/apps/web@${image.digest}`, ...keyless]);
  assert.equal(parseImageIndex((await client().getManifest('apps/web', fallbackTag(image.digest)))!.bytes).manifests.length, 2);

  const verified = await ok(['verify', ref, ...identity]);
  assert.match(verified.stderr, /The following checks were performed on each of these signatures/);
  assert.match(verified.stderr, /The code-signing certificate was verified using trusted certificate authority certificates/);
  const payloads = JSON.parse(verified.stdout);
  assert.equal(payloads.length, 2);
  assert.equal(payloads[0].predicateType, 'https://sigstore.dev/cosign/sign/v1');

  const tree = await ok(['tree', ref]);
  assert.match(tree.stdout, new RegExp(`Sigstore bundles \\(bundle layout, via fallback tag ${fallbackTag(image.digest)}\\): 2`));
});

test('managed key, legacy layout (Rekor v1 + TSA): .sig layers cosign ≤ 2 reads, appended per signature', async () => {
  const image = await helpers.pushImage(client(), 'apps/legacy', 'v1');
  const ref = `${open.host}/apps/legacy:v1`;
  for (let i = 0; i < 2; i++) await ok(['sign', ref, '--registry-layout', 'legacy', '--key', `${keyPrefix}.key`, ...legacyServices]);
  const manifest = parseImageManifest((await client().getManifest('apps/legacy', legacyTag(image.digest, 'sig')))!.bytes);
  assert.equal(manifest.layers.length, 2);
  const layer = manifest.layers[0]!;
  assert.equal(layer.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
  assert.ok(layer.annotations?.[ANNOTATION.signature]);
  const rekorBundle = JSON.parse(layer.annotations![ANNOTATION.rekorBundle]!);
  assert.ok(rekorBundle.SignedEntryTimestamp && rekorBundle.Payload.body && rekorBundle.Payload.logID && Number.isInteger(rekorBundle.Payload.logIndex));
  assert.ok(JSON.parse(layer.annotations![ANNOTATION.rfc3161Timestamp]!).SignedRFC3161Timestamp);
  const payload = JSON.parse((await client().getBlob('apps/legacy', layer.digest, 1 << 20)).toString());
  assert.deepEqual(payload, {
    critical: { identity: { 'docker-reference': `${open.host}/apps/legacy` }, image: { 'docker-manifest-digest': image.digest }, type: 'cosign container image signature' },
    optional: null,
  });

  const verified = await ok(['verify', ref, '--key', `${keyPrefix}.pub`, '--trusted-root', stack.files.trustedRoot]);
  assert.match(verified.stderr, /The signatures were verified against the specified public key/);
  assert.equal(JSON.parse(verified.stdout).length, 2);
  // Rekor v2 has no signed entry timestamp for the legacy annotations.
  await refused(['sign', ref, '--registry-layout', 'legacy', ...keyless], 'LEGACY_NEEDS_REKOR_V1');
});

test('attest in both layouts; verify-attestation filters on the signed predicate type', async () => {
  const image = await helpers.pushImage(client(), 'apps/attested', 'v1');
  const ref = `${open.host}/apps/attested:v1`;
  const predicate = join(dir, 'provenance.json');
  writeFileSync(predicate, JSON.stringify({ buildDefinition: { buildType: 'https://example.test/build' }, runDetails: {} }));
  await ok(['attest', ref, '--predicate', predicate, '--type', 'slsaprovenance1', '--registry-layout', 'both', ...legacyServices, '--identity-token', token]);
  const att = parseImageManifest((await client().getManifest('apps/attested', legacyTag(image.digest, 'att')))!.bytes);
  assert.equal(att.layers[0]?.mediaType, 'application/vnd.dsse.envelope.v1+json');
  assert.equal(att.layers[0]?.annotations?.predicateType, 'https://slsa.dev/provenance/v1');

  const verified = await ok(['verify-attestation', ref, '--type', 'slsaprovenance1', ...identity]);
  const envelopes = verified.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(envelopes.length, 2, 'one per layout');
  for (const e of envelopes) assert.equal(JSON.parse(Buffer.from(e.payload, 'base64').toString()).predicateType, 'https://slsa.dev/provenance/v1');
  const wrongType = await refused(['verify-attestation', ref, '--type', 'spdxjson', ...identity], 'ATTESTATION_TYPE_MISMATCH');
  assert.match(wrongType.stderr, /none of the attestations matched the predicate type: https:\/\/spdx.dev\/Document, found: https:\/\/slsa.dev\/provenance\/v1/);
  // Attestations are not signatures.
  await refused(['verify', ref, ...identity], 'IMAGE_NO_SIGNATURES');
  const tree = await ok(['tree', ref]);
  assert.match(tree.stdout, /Attestations \(legacy layout, tag sha256-[0-9a-f]{64}\.att\): 1/);
  assert.match(tree.stdout, /https:\/\/slsa.dev\/provenance\/v1 \(dsse-envelope/);
});

/** Replaces the `.sig` tag of `digest` with these layers (as an attacker with push access could). */
async function putLegacySig(repository: string, digest: string, layers: { descriptor: Descriptor; data: Buffer }[]): Promise<void> {
  const c = client();
  let built: ReturnType<typeof legacyManifest> | undefined;
  let kept: Descriptor[] = [];
  for (const { descriptor, data } of layers) {
    await c.putBlob(repository, data);
    built = legacyManifest(kept.length ? { schemaVersion: 2, config: descriptor, layers: kept } : undefined, descriptor);
    kept = (JSON.parse(built.manifest.toString()) as { layers: Descriptor[] }).layers;
  }
  await c.putBlob(repository, built!.config);
  await c.putManifest(repository, legacyTag(digest, 'sig'), built!.manifest, OCI_MANIFEST);
}

test('refused, each with its own code: moved tag, moved signature, flipped payload byte, flipped signature, wrong key, wrong identity', async () => {
  const repository = 'apps/tampered';
  const first = await helpers.pushImage(client(), repository, 'v1');
  const ref = `${open.host}/${repository}:v1`;
  await ok(['sign', ref, '--registry-layout', 'legacy', ...legacyServices, '--identity-token', token]);
  const original = parseImageManifest((await client().getManifest(repository, legacyTag(first.digest, 'sig')))!.bytes).layers[0]!;
  const payload = await client().getBlob(repository, original.digest, 1 << 20);
  const codes = new Map<string, string>();

  // The tag now names another image: no signature is for it.
  const second = await helpers.pushImage(client(), repository, 'v1');
  codes.set('tag moved', 'IMAGE_NO_SIGNATURES');
  await refused(['verify', ref, ...identity], 'IMAGE_NO_SIGNATURES');
  // Its .sig copied next to the new image: the signed payload names the first digest.
  await putLegacySig(repository, second.digest, [{ descriptor: original, data: payload }]);
  codes.set('signature moved', 'IMAGE_DIGEST_MISMATCH');
  await refused(['verify', ref, ...identity], 'IMAGE_DIGEST_MISMATCH');

  const pinned = `${open.host}/${repository}@${first.digest}`;
  await ok(['verify', pinned, ...identity]);
  // A flipped payload byte (a new blob, same annotations).
  const flipped = Buffer.from(payload);
  flipped[flipped.length - 3] ^= 0x01;
  await putLegacySig(repository, first.digest, [{ descriptor: { ...descriptorFor(original.mediaType, flipped), annotations: original.annotations! }, data: flipped }]);
  const payloadRun = await run(['verify', pinned, ...identity]);
  // A flipped signature byte.
  const sig = Buffer.from(original.annotations![ANNOTATION.signature]!, 'base64');
  sig[sig.length - 1] ^= 0x01;
  await putLegacySig(repository, first.digest, [{ descriptor: { ...original, annotations: { ...original.annotations!, [ANNOTATION.signature]: sig.toString('base64') } }, data: payload }]);
  const sigRun = await run(['verify', pinned, ...identity]);
  for (const [what, r] of [['flipped payload byte', payloadRun], ['flipped signature', sigRun]] as const) {
    assert.equal(r.code, 1, `${what} must be refused:\n${r.stderr}`);
    codes.set(what, /\[([A-Z0-9_]+)\]/.exec(r.stderr)![1]!);
  }

  // Put the real signature back: a wrong key and a wrong identity are refused on it.
  await putLegacySig(repository, first.digest, [{ descriptor: original, data: payload }]);
  await ok(['verify', pinned, ...identity]);
  await ok(['generate-key-pair', '--output-key-prefix', join(dir, 'other')]);
  const keyImage = await helpers.pushImage(client(), repository, 'keyed');
  await ok(['sign', `${open.host}/${repository}:keyed`, '--key', `${keyPrefix}.key`, ...keyless.filter((a, i, all) => a !== '--identity-token' && all[i - 1] !== '--identity-token')]);
  await ok(['verify', `${open.host}/${repository}@${keyImage.digest}`, '--key', `${keyPrefix}.pub`, '--trusted-root', stack.files.trustedRoot]);
  const wrongKey = await run(['verify', `${open.host}/${repository}@${keyImage.digest}`, '--key', join(dir, 'other.pub'), '--trusted-root', stack.files.trustedRoot]);
  assert.equal(wrongKey.code, 1);
  codes.set('wrong key', /\[([A-Z0-9_]+)\]/.exec(wrongKey.stderr)![1]!);
  codes.set('wrong identity', 'IDENTITY_MISMATCH');
  await refused(['verify', pinned, '--certificate-identity', 'someone@else.test', '--certificate-oidc-issuer', stack.urls.oidc, '--trusted-root', stack.files.trustedRoot], 'IDENTITY_MISMATCH');
  assert.equal(new Set(codes.values()).size, codes.size, `each refusal has its own code: ${JSON.stringify([...codes])}`);
});

test('Docker token auth: sign and verify with --registry-username/--registry-password and from ~/.docker/config.json', async () => {
  const auth = guarded.token!;
  const pusher = new RegistryClient(guarded.host, { credentials: { username: auth.username, password: auth.password }, dockerConfig: false });
  const image = await helpers.pushImage(pusher, 'private/app', 'v1');
  const ref = `${guarded.host}/private/app:v1`;
  await ok(['sign', ref, ...keyless, '--registry-username', auth.username, '--registry-password', auth.password]);
  const dockerConfig = join(dir, 'docker');
  mkdirSync(dockerConfig, { recursive: true });
  writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [guarded.host]: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } } }));
  const verified = await ok(['verify', `${guarded.host}/private/app@${image.digest}`, ...identity], { DOCKER_CONFIG: dockerConfig });
  assert.equal(JSON.parse(verified.stdout).length, 1);
  assert.ok(auth.requests.includes('repository:private/app:pull,push') && auth.requests.includes('repository:private/app:pull'));
  const anonymous = await refused(['verify', ref, ...identity], 'REGISTRY_AUTH_FAILED');
  assert.match(anonymous.stderr, new RegExp(`registry ${guarded.host}, repository private/app: .*401`));
});

test('HTTPS registry: trusted through NODE_EXTRA_CA_CERTS, refused untrusted, or unchecked with --allow-insecure-registry', async () => {
  await helpers.pushImage(new RegistryClient(secure.host, { dockerConfig: false, allowInsecure: true }), 'apps/tls', 'v1');
  const ref = `${secure.host}/apps/tls:v1`;
  await ok(['sign', ref, ...keyless], { NODE_EXTRA_CA_CERTS: secure.certificate! });
  await refused(['verify', ref, ...identity], 'REGISTRY_TLS_UNTRUSTED');
  const verified = await ok(['verify', ref, ...identity, '--allow-insecure-registry']);
  assert.equal(JSON.parse(verified.stdout).length, 1);
});

test('skopeo copy (use-sigstore-attachments) carries the .sig across; the copy and a dir: export verify, the latter offline', async () => {
  const image = await helpers.pushImage(client(), 'apps/source', 'v1');
  await ok(['sign', `${open.host}/apps/source:v1`, '--registry-layout', 'legacy', ...legacyServices, '--identity-token', token]);
  const registriesD = join(dir, 'registries.d');
  mkdirSync(registriesD, { recursive: true });
  writeFileSync(join(registriesD, 'default.yaml'), 'default-docker:\n  use-sigstore-attachments: true\n');
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const skopeo = (args: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile('skopeo', ['--registries.d', registriesD, '--policy', policy, 'copy', '--src-tls-verify=false', ...args], { timeout: 30_000 }, (err, _o, stderr) => (err ? reject(new Error(`skopeo: ${stderr}`)) : resolve())),
    );
  const exported = join(dir, 'exported');
  await Promise.all([
    skopeo(['--dest-tls-verify=false', `docker://${open.host}/apps/source:v1`, `docker://${open.host}/apps/copy:v1`]),
    skopeo([`docker://${open.host}/apps/source:v1`, `dir:${exported}`]),
  ]);
  assert.ok(await client().getManifest('apps/copy', legacyTag(image.digest, 'sig')), 'skopeo wrote the .sig tag');
  const copy = await ok(['verify', `${open.host}/apps/copy:v1`, ...identity]);
  assert.equal(JSON.parse(copy.stdout)[0].critical.image['docker-manifest-digest'], image.digest);
  // Offline: no registry is asked (this one is gone).
  const offline = await ok(['verify', '--offline', '--local-image', exported, ...identity]);
  assert.match(offline.stderr, new RegExp(`Verification for ${exported}@${image.digest}`));
});

test('offline --local-image reads an OCI image layout holding the image and its attachments', async () => {
  const image = await helpers.pushImage(client(), 'apps/layout', 'v1');
  const ref = `${open.host}/apps/layout:v1`;
  await ok(['sign', ref, ...keyless]);
  await ok(['sign', ref, '--registry-layout', 'legacy', ...legacyServices, '--identity-token', token]);
  // An OCI layout: blobs/sha256/<hex>, and index.json naming the image and its attachments by tag.
  const layout = join(dir, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const c = client();
  const entries: Descriptor[] = [];
  const copyManifest = async (reference: string, name?: string) => {
    const m = (await c.getManifest('apps/layout', reference))!;
    writeFileSync(join(layout, 'blobs', 'sha256', m.digest.slice(7)), m.bytes);
    entries.push({ mediaType: m.mediaType, digest: m.digest, size: m.bytes.length, ...(name ? { annotations: { [ANNOTATION.refName]: name } } : {}) });
    const doc = JSON.parse(m.bytes.toString()) as { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
    for (const b of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) writeFileSync(join(layout, 'blobs', 'sha256', b.digest.slice(7)), await c.getBlob('apps/layout', b.digest, 1 << 20));
    for (const d of doc.manifests ?? []) await copyManifest(d.digest);
  };
  await copyManifest(image.digest, 'v1');
  await copyManifest(legacyTag(image.digest, 'sig'), legacyTag(image.digest, 'sig'));
  const fallback = (await c.getManifest('apps/layout', fallbackTag(image.digest)))!;
  for (const d of parseImageIndex(fallback.bytes).manifests) await copyManifest(d.digest);
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(layout, 'index.json'), documentBytes({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }));
  const verified = await ok(['verify', '--offline', '--local-image', layout, ...identity]);
  const payloads = JSON.parse(verified.stdout);
  assert.equal(payloads.length, 2, 'the bundle (found as a referrer in the layout) and the legacy signature');
  await refused(['verify', '--local-image', layout, ...identity], 'USAGE');
});

test('sigstore-js: a bundle from @sigstore/sign attached by @sigstore/oci as a referrer is found by verify-attestation', async () => {
  const sign = require('@sigstore/sign');
  const specs = require('@sigstore/protobuf-specs');
  const bundleLib = require('@sigstore/bundle');
  const oci = require('@sigstore/oci');
  // @sigstore/oci signs in first, so it needs a registry that asks: the token-auth one.
  const auth = guarded.token!;
  const credentials = { username: auth.username, password: auth.password };
  const image = await helpers.pushImage(new RegistryClient(guarded.host, { credentials, dockerConfig: false }), 'apps/js', 'v1');
  const statement = Buffer.from(JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: `${guarded.host}/apps/js`, digest: { sha256: image.digest.slice(7) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: { buildDefinition: { buildType: 'https://example.test/js' } },
  }));
  const builder = sign.bundleBuilderFromSigningConfig({
    signingConfig: specs.SigningConfig.fromJSON(JSON.parse(readFileSync(stack.files.signingConfig, 'utf8'))),
    identityProvider: { getToken: async () => token },
    bundleType: 'dsseEnvelope',
  });
  const bundle = bundleLib.bundleToJSON(await builder.create({ data: statement, type: 'application/vnd.in-toto+json' }));
  const attach = (options: Record<string, unknown>) =>
    oci.attachArtifactToImage(options).catch((err: { message: string; cause?: unknown }) => {
      throw new Error(`@sigstore/oci: ${err.message}: ${String((err.cause as Error)?.message ?? err.cause)}`);
    });
  await attach({
    imageName: `${guarded.host}/apps/js`,
    imageDigest: image.digest,
    artifact: Buffer.from(JSON.stringify(bundle)),
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1' },
    credentials,
  });
  const verified = await ok(['verify-attestation', `${guarded.host}/apps/js:v1`, '--type', 'slsaprovenance1', ...identity, '--registry-username', auth.username, '--registry-password', auth.password]);
  assert.match(verified.stderr, /bundle layout, fallback tag/);
  assert.equal(verified.stdout.trim().split('\n').length, 1);
});

test('an image argument is told from a file by the documented rule; bad references are usage errors', async () => {
  // `app:1` is a file name (no registry host), so `verify` wants --bundle.
  await refused(['verify', 'app:1', ...identity], 'USAGE');
  // An existing file that looks like a reference stays a file.
  const file = join(dir, '127.0.0.1:1', 'x:1');
  mkdirSync(join(dir, '127.0.0.1:1'), { recursive: true });
  writeFileSync(file, 'a file');
  const asFile = await run(['verify', '127.0.0.1:1/x:1', ...identity]);
  assert.match(asFile.stderr, /--bundle is required/);
});
