// The monitor's entry decoding on real entries: the canonicalized bodies of the conformance
// suite's bundles (hashedrekord 0.0.1 and 0.0.2, dsse 0.0.1 and 0.0.2, intoto) yield the
// bundle's certificate identity; a managed-key entry yields its key fingerprint.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { IdentityMatcher, X509, parseMonitoredValues } from '@sigstack/core';
import { EntryDecoder } from '../src/monitor/decode.js';

const root = new URL('../../../../test/fixtures/conformance/bundle-verify/', import.meta.url);

function bundle(name: string) {
  return JSON.parse(readFileSync(new URL(`${name}/bundle.sigstore.json`, root), 'utf8')) as {
    verificationMaterial: { certificate?: { rawBytes: string }; x509CertificateChain?: { certificates: { rawBytes: string }[] }; tlogEntries: { kindVersion: { kind: string; version: string }; canonicalizedBody: string }[] };
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

for (const name of ['happy-path-v0.3', 'happy-path-v0.1', 'happy-path-intoto-in-dsse-v3', 'intoto-with-custom-trust-root', 'rekor2-happy-path', 'rekor2-dsse-happy-path']) {
  test(`${name}: the entry decodes to the bundle's certificate identity`, () => {
    const b = bundle(name);
    const der = Buffer.from(b.verificationMaterial.certificate?.rawBytes ?? b.verificationMaterial.x509CertificateChain!.certificates[0]!.rawBytes, 'base64');
    const cert = X509.fromDer(der);
    const san = cert.subjectAltNames[0]!.value;
    const entry = b.verificationMaterial.tlogEntries[0]!;
    const matcher = new IdentityMatcher(parseMonitoredValues({ certIdentities: [{ certSubject: `^${escape(san)}$`, issuers: [`^${escape(cert.oidcIssuer!)}$`] }], fingerprints: [createHash('sha256').update(der).digest('hex')] }));
    const found = matcher.match(new EntryDecoder(false, true).rekorEntry(Buffer.from(entry.canonicalizedBody, 'base64')));
    assert.deepEqual(found.map((m) => m.type), ['certIdentity', 'fingerprint'], `${entry.kindVersion.kind} ${entry.kindVersion.version}`);
    assert.deepEqual(found[0]!.matched, { certSubject: san, issuer: cert.oidcIssuer });
  });
}

test('managed-key-happy-path: the key fingerprint matches; garbage bodies decode to nothing', () => {
  const b = bundle('managed-key-happy-path');
  const entry = b.verificationMaterial.tlogEntries[0]!;
  const body = JSON.parse(Buffer.from(entry.canonicalizedBody, 'base64').toString()) as { spec: { signature: { publicKey: { content: string } } } };
  const pem = Buffer.from(body.spec.signature.publicKey.content, 'base64').toString();
  const spki = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const decoder = new EntryDecoder(false, true);
  const ids = decoder.rekorEntry(Buffer.from(entry.canonicalizedBody, 'base64'));
  assert.deepEqual(ids.keys.map((k) => k.fingerprint), [createHash('sha256').update(spki).digest('hex')]);
  assert.deepEqual(decoder.rekorEntry(Buffer.from('not json')), { certificates: [], keys: [] });
  assert.deepEqual(decoder.rekorEntry(Buffer.from('{"kind":"hashedrekord","apiVersion":"0.0.1","spec":{"signature":{"publicKey":{"content":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmdhcmJhZ2UKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="}}}}')), { certificates: [], keys: [] });
});
