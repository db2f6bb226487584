// The pure parts of cosign's layouts: the bundle artifact manifest, the fallback index append,
// legacy manifests, simple-signing payloads, and legacy annotations ↔ bundle.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  ANNOTATION,
  BUNDLE_ARTIFACT_TYPE,
  EMPTY_BLOB,
  EMPTY_DIGEST,
  OciError,
  SIMPLE_SIGNING_MEDIA_TYPE,
  appendToIndex,
  bundleArtifactManifest,
  bundleFromLegacyLayer,
  checkSimpleSigningPayload,
  descriptorFor,
  fallbackTag,
  legacyAnnotations,
  legacyManifest,
  legacyTag,
  simpleSigningPayload,
} from '../src/index.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

test('the empty descriptor is sha256 of {} and the tags follow the schemas', () => {
  assert.equal(`sha256:${createHash('sha256').update(EMPTY_BLOB).digest('hex')}`, EMPTY_DIGEST);
  assert.equal(fallbackTag(DIGEST), `sha256-${'ab'.repeat(32)}`);
  assert.equal(legacyTag(DIGEST, 'sig'), `sha256-${'ab'.repeat(32)}.sig`);
  assert.equal(legacyTag(DIGEST, 'att'), `sha256-${'ab'.repeat(32)}.att`);
  assert.throws(() => fallbackTag('sha512:00'), (e: OciError) => e.code === 'DIGEST_INVALID');
});

test('a bundle artifact manifest: artifactType, empty config, one layer, the subject; the index is appended to', () => {
  const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: DIGEST, size: 400 };
  const artifact = bundleArtifactManifest(subject, Buffer.from('{"bundle":1}'), { [ANNOTATION.bundleContent]: 'dsse-envelope' });
  const doc = JSON.parse(artifact.bytes.toString());
  assert.equal(doc.artifactType, BUNDLE_ARTIFACT_TYPE);
  assert.deepEqual(doc.config, { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_DIGEST, size: 2 });
  assert.equal(doc.layers.length, 1);
  assert.equal(doc.layers[0].mediaType, BUNDLE_ARTIFACT_TYPE);
  assert.deepEqual(doc.subject, subject);
  assert.equal(artifact.descriptor.digest, `sha256:${createHash('sha256').update(artifact.bytes).digest('hex')}`);
  assert.equal(artifact.descriptor.artifactType, BUNDLE_ARTIFACT_TYPE);

  const other = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'cd'.repeat(32)}`, size: 10 };
  const first = appendToIndex(undefined, other);
  const second = appendToIndex(first.index, artifact.descriptor);
  assert.deepEqual(second.index.manifests.map((m) => m.digest), [other.digest, artifact.descriptor.digest]);
  assert.equal(appendToIndex(second.index, artifact.descriptor).changed, false);
});

test('legacy manifests keep earlier layers and skip a layer already there', () => {
  const a = { ...descriptorFor(SIMPLE_SIGNING_MEDIA_TYPE, Buffer.from('a')), annotations: { [ANNOTATION.signature]: 'x' } };
  const b = { ...descriptorFor(SIMPLE_SIGNING_MEDIA_TYPE, Buffer.from('b')), annotations: { [ANNOTATION.signature]: 'y' } };
  const one = legacyManifest(undefined, a);
  const two = legacyManifest(JSON.parse(one.manifest.toString()), b);
  const doc = JSON.parse(two.manifest.toString());
  assert.deepEqual(doc.layers.map((l: { digest: string }) => l.digest), [a.digest, b.digest]);
  assert.deepEqual(JSON.parse(two.config.toString()).rootfs.diff_ids, [a.digest, b.digest]);
  assert.equal(legacyManifest(doc, b).added, false);
});

test('simple-signing payloads name the digest; a payload for another digest is IMAGE_DIGEST_MISMATCH', () => {
  const payload = simpleSigningPayload('reg.example/app', DIGEST);
  assert.equal(payload.toString(), `{"critical":{"identity":{"docker-reference":"reg.example/app"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`);
  assert.equal(checkSimpleSigningPayload(payload, DIGEST).critical.identity['docker-reference'], 'reg.example/app');
  assert.throws(() => checkSimpleSigningPayload(payload, `sha256:${'00'.repeat(32)}`), (e: OciError) => e.code === 'IMAGE_DIGEST_MISMATCH');
  assert.throws(() => checkSimpleSigningPayload(Buffer.from('{"critical":{"type":"x"}}'), DIGEST), (e: OciError) => e.code === 'PAYLOAD_INVALID');
});

test('legacy annotations round-trip to a v0.1 bundle; without a SET (Rekor v2) the legacy layout is refused', () => {
  const body = Buffer.from(JSON.stringify({ apiVersion: '0.0.1', kind: 'hashedrekord', spec: {} })).toString('base64');
  const bundle = {
    verificationMaterial: {
      certificate: { rawBytes: Buffer.from('not really DER').toString('base64') },
      tlogEntries: [{ logIndex: '7', logId: { keyId: Buffer.from('0102', 'hex').toString('base64') }, integratedTime: '1700000000', inclusionPromise: { signedEntryTimestamp: 'U0VU' }, canonicalizedBody: body }],
      timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: 'VFNB' }] },
    },
    messageSignature: { signature: 'U0lH' },
  };
  const annotations = legacyAnnotations(bundle, [Buffer.from('chain')]);
  assert.equal(annotations[ANNOTATION.signature], 'U0lH');
  assert.match(annotations[ANNOTATION.certificate]!, /^-----BEGIN CERTIFICATE-----\n/);
  assert.match(annotations[ANNOTATION.chain]!, /BEGIN CERTIFICATE/);
  assert.deepEqual(JSON.parse(annotations[ANNOTATION.rekorBundle]!), { SignedEntryTimestamp: 'U0VU', Payload: { body, integratedTime: 1700000000, logIndex: 7, logID: '0102' } });
  assert.deepEqual(JSON.parse(annotations[ANNOTATION.rfc3161Timestamp]!), { SignedRFC3161Timestamp: 'VFNB' });

  const payload = Buffer.from('payload');
  const back = bundleFromLegacyLayer({ ...descriptorFor(SIMPLE_SIGNING_MEDIA_TYPE, payload), annotations }, payload) as Record<string, any>;
  assert.equal(back.mediaType, 'application/vnd.dev.sigstore.bundle+json;version=0.1');
  assert.deepEqual(back.verificationMaterial.tlogEntries[0].kindVersion, { kind: 'hashedrekord', version: '0.0.1' });
  assert.equal(back.verificationMaterial.tlogEntries[0].logId.keyId, bundle.verificationMaterial.tlogEntries[0]!.logId.keyId);
  assert.equal(back.verificationMaterial.x509CertificateChain.certificates[0].rawBytes, bundle.verificationMaterial.certificate.rawBytes);
  assert.equal(back.messageSignature.messageDigest.digest, createHash('sha256').update(payload).digest('base64'));

  const v2 = { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [{ ...bundle.verificationMaterial.tlogEntries[0]!, inclusionPromise: undefined }] } };
  assert.throws(() => legacyAnnotations(v2 as never), (e: OciError) => e.code === 'LEGACY_NEEDS_REKOR_V1');
  assert.throws(() => bundleFromLegacyLayer({ ...descriptorFor(SIMPLE_SIGNING_MEDIA_TYPE, payload), annotations: {} }, payload), (e: OciError) => e.code === 'LEGACY_TLOG_MISSING');
});
