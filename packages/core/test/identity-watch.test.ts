// Tests for identity-watch.ts and cert-scan.ts: the rekor-monitor configuration shape and its
// errors, matching semantics, and the fast certificate walk agreeing with the full X.509 parse
// on real certificates (the conformance bundles' Fulcio certificates).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { IdentityMatcher, certificateIdentity, extensionText, parseMonitoredValues } from '../src/identity-watch.js';
import { scanCertificate } from '../src/cert-scan.js';
import { X509 } from '../src/x509.js';
import { CoreError } from '../src/errors.js';

const conformance = new URL('../../../../test/fixtures/conformance/bundle-verify/', import.meta.url);

function fulcioCertificates(): Buffer[] {
  if (!existsSync(conformance)) return [];
  const out: Buffer[] = [];
  for (const name of readdirSync(conformance)) {
    const file = new URL(`${name}/bundle.sigstore.json`, conformance);
    if (!existsSync(file)) continue;
    let b;
    try {
      b = JSON.parse(readFileSync(file, 'utf8')) as { verificationMaterial?: { certificate?: { rawBytes: string }; x509CertificateChain?: { certificates: { rawBytes: string }[] } } };
    } catch {
      continue; // some _fail cases are not even JSON
    }
    const raw = b.verificationMaterial?.certificate?.rawBytes ?? b.verificationMaterial?.x509CertificateChain?.certificates[0]?.rawBytes;
    if (raw) out.push(Buffer.from(raw, 'base64'));
  }
  return out;
}

test('the DER walk finds the same SANs, issuer and extensions as the full parse', () => {
  const certs = fulcioCertificates();
  assert.ok(certs.length >= 5, `conformance certificates found: ${certs.length}`);
  for (const der of certs) {
    let x: X509;
    try {
      x = X509.fromDer(der);
    } catch {
      continue; // some _fail cases carry broken certificates on purpose
    }
    const scanned = scanCertificate(der);
    assert.deepEqual(scanned.subjects, x.subjectAltNames.map((s) => s.value));
    assert.deepEqual([...scanned.extensions.keys()], x.extensions.map((e) => e.oid));
    const id = certificateIdentity(der, 'fp', true);
    assert.equal(id.issuer, x.oidcIssuer);
  }
});

test('rekor-monitor configuration: every section, and errors that name the field', () => {
  const mv = parseMonitoredValues({
    monitoredValues: {
      certIdentities: [{ certSubject: 'user@domain\\.com' }, { certSubject: '^https://github\\.com/acme/', issuers: ['https://token\\.actions\\.githubusercontent\\.com'] }],
      subjects: ['subject@domain\\.com'],
      fingerprints: ['A0:B1:C2'],
      oidMatchers: {
        fulcioExtensions: { 'build-config-uri': ['https://example.com/build.yml'], issuer: ['https://accounts.google.com'] },
        oidExtensions: [{ objectIdentifier: [1, 3, 6, 1, 4, 1, 57264, 1, 9], extensionValues: ['x'] }],
        customExtensions: [{ objectIdentifier: '1.3.6.1.4.1.57264.1.12', extensionValues: ['https://github.com/acme/app'] }],
      },
    },
  });
  assert.deepEqual(mv.fingerprints, ['a0b1c2']);
  assert.deepEqual(mv.oidMatchers.map((o) => o.oid), ['1.3.6.1.4.1.57264.1.9', '1.3.6.1.4.1.57264.1.12', '1.3.6.1.4.1.57264.1.18', '1.3.6.1.4.1.57264.1.8', '1.3.6.1.4.1.57264.1.1']);
  const cases: [unknown, RegExp][] = [
    [{}, /watches nothing/],
    [{ certIdentities: [{ issuers: ['x'] }] }, /certIdentities\[0\]\.certSubject/],
    [{ certIdentities: [{ certSubject: '(' }] }, /not a valid regular expression/],
    [{ fingerprints: ['zz'] }, /not hex/],
    [{ oidMatchers: { fulcioExtensions: { 'no-such': ['x'] } } }, /not a Fulcio extension/],
    [{ oidMatchers: { customExtensions: [{ objectIdentifier: 'abc', extensionValues: ['x'] }] } }, /must be an OID/],
    [{ oidMatchers: { customExtensions: [{ objectIdentifier: '1.2.3', extensionValues: [] }] } }, /at least one value/],
  ];
  for (const [doc, re] of cases) assert.throws(() => parseMonitoredValues(doc), (e: CoreError) => e.code === 'MONITOR_CONFIG_INVALID' && re.test(e.message), JSON.stringify(doc));
});

test('matching: unanchored regexps, issuers required when listed, exact OID values, key subjects', () => {
  const m = new IdentityMatcher(parseMonitoredValues({ certIdentities: [{ certSubject: 'alice', issuers: ['^https://good'] }], subjects: ['@pgp\\.example$'], fingerprints: ['ab'], oidMatchers: { customExtensions: [{ objectIdentifier: '1.2.3', extensionValues: ['v'] }] } }));
  const cert = (issuer: string | undefined, ext = 'v') => ({ subjects: ['mail: alice@x'], ...(issuer ? { issuer } : {}), fingerprint: 'ab', extensions: new Map([['1.2.3', ext]]) });
  assert.deepEqual(m.match({ certificates: [cert('https://good.example')], keys: [] }).map((x) => x.type), ['certIdentity', 'fingerprint', 'oidExtension']);
  assert.deepEqual(m.match({ certificates: [cert('https://bad.example', 'vv')], keys: [] }).map((x) => x.type), ['fingerprint']);
  assert.deepEqual(m.match({ certificates: [cert(undefined, 'w')], keys: [{ fingerprint: 'cd', subjects: ['Carol <carol@pgp.example>'.replace('>', '')] }] }).map((x) => x.type), ['fingerprint', 'subject']);
  assert.equal(extensionText(Buffer.from([0x0c, 2, 0x68, 0x69])), 'hi');
  assert.equal(extensionText(Buffer.from('raw-issuer')), 'raw-issuer');
  assert.equal(createHash('sha256').update('').digest('hex').length, 64);
});
