// Fulcio-profile certificates end to end: precertificate → SCT from a test CT key → final
// certificate, checked with our X509, node, openssl, the RFC 6962 TBS equality, and a whole
// keyless bundle (with a real log entry) in our verifier and sigstore-js; plus proof of possession.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate, constants, createHash, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  OID_PRECERT_POISON,
  OID_SCT_LIST,
  X509,
  generateKeyPair,
  parseBundle,
  parseSctList,
  parseTrustedRoot,
  pemEncode,
  precertSignedData,
  type GeneratedKeyPair,
  type SignedCertificateTimestamp,
} from '@sigstack/core';
import { TrustMaterial, Verifier } from '@sigstack/verify';
import { createCaHierarchy, type CaHierarchy } from '../src/ca/keys/index.js';
import {
  buildCertificate,
  buildPrecertificate,
  finalizeCertificate,
  verifyProofOfPossession,
  type Precertificate,
  type SubjectAltNameInput,
} from '../src/ca/cert/index.js';
import { startLogService, type LogService } from '../src/log/service.js';
import { bundleFromV1, post, rejectsWith, trustedRootFor } from './helpers.js';

const require = createRequire(import.meta.url);
const sigstoreVerify = require('@sigstore/verify');
const sigstoreBundle = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

const OIDC_ISSUER = 'https://oidc.example.test';
const EMAIL = 'alice@example.test';
const dir = mkdtempSync(join(tmpdir(), 'sigstack-ca-cert-'));
let ca: CaHierarchy;
let ct: GeneratedKeyPair & { logId: Buffer };

before(async () => {
  // P-384, the curve Fulcio's certificate specification advises (the default hierarchy is P-256: ca-keys, ca-api tests).
  ca = await createCaHierarchy({ rootKeyType: 'P-384', intermediateKeyType: 'P-384' });
  const pair = generateKeyPair('ec', { namedCurve: 'P-256' });
  ct = { ...pair, logId: createHash('sha256').update(pair.spki).digest() };
});
after(() => rmSync(dir, { recursive: true, force: true }));

function utf8String(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  assert.ok(bytes.length < 128);
  return Buffer.concat([Buffer.from([0x0c, bytes.length]), bytes]);
}

/** Fulcio's issuer extensions: .1.1 raw bytes (deprecated), .1.8 a DER UTF8String. */
const issuerExtensions = [
  { oid: '1.3.6.1.4.1.57264.1.1', value: Buffer.from(OIDC_ISSUER) },
  { oid: '1.3.6.1.4.1.57264.1.8', value: utf8String(OIDC_ISSUER) },
];

/** An SCT from the test CT log, signed over the precertificate entry (RFC 6962 §3.2). */
function makeSct(precert: Precertificate, key = ct): SignedCertificateTimestamp {
  const sct: SignedCertificateTimestamp = {
    version: 0,
    logId: key.logId,
    timestamp: BigInt(Date.now()),
    extensions: Buffer.alloc(0),
    hashAlgorithm: 'sha256',
    signatureAlgorithm: 'ecdsa',
    signature: Buffer.alloc(0),
  };
  sct.signature = sign('sha256', precertSignedData(sct, precert.issuerKeyHash, precert.precertTbs), key.privateKey);
  return sct;
}

async function issue(san: SubjectAltNameInput = { type: 'email', value: EMAIL }, leafKey = generateKeyPair('ec', { namedCurve: 'P-256' })) {
  const precert = await buildPrecertificate({ subjectPublicKeySpki: leafKey.spki, san, extensions: issuerExtensions, issuer: ca.issuer });
  const sct = makeSct(precert);
  const final = await finalizeCertificate(precert, [sct]);
  return { precert, sct, final, leafKey };
}

test('precertificate and final certificate: Fulcio profile, embedded SCT, RFC 6962 TBS equality', async () => {
  const { precert, sct, final, leafKey } = await issue();

  // The precertificate: critical poison (NULL), no SCTs, signed by the intermediate.
  const pre = X509.fromDer(precert.der);
  const poison = pre.extension(OID_PRECERT_POISON);
  assert.ok(poison?.critical);
  assert.deepEqual(poison.value, Buffer.from([0x05, 0x00]));
  assert.equal(pre.extension(OID_SCT_LIST), undefined);
  assert.equal(pre.extensions.at(-1)?.oid, OID_PRECERT_POISON);
  assert.ok(new X509Certificate(precert.der).verify(ca.intermediate.x509.publicKey));

  // The final certificate.
  const leaf = X509.fromDer(final);
  assert.equal(leaf.extension(OID_PRECERT_POISON), undefined);
  assert.equal(leaf.extension(OID_SCT_LIST)?.critical, false);
  assert.deepEqual(parseSctList(leaf.sctListBytes!), [sct]);
  assert.deepEqual(leaf.serialNumber, pre.serialNumber);
  assert.deepEqual(leaf.serialNumber, precert.serialNumber);
  assert.equal(leaf.serialNumber.length, 20);
  assert.equal((leaf.serialNumber[0] ?? 0) & 0x80, 0, 'positive');
  assert.ok(leaf.serialNumber.some((b) => b !== 0));
  assert.deepEqual(leaf.subjectDer, Buffer.from([0x30, 0x00]), 'empty subject');
  assert.deepEqual(leaf.issuerDer, ca.intermediate.x509.subjectDer);
  assert.deepEqual(leaf.publicKeySpki, leafKey.spki);
  assert.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime(), 10 * 60 * 1000);
  assert.ok(Math.abs(leaf.notBefore.getTime() - Date.now()) < 5000);
  assert.deepEqual(leaf.subjectAltNames, [{ kind: 'email', value: EMAIL }]);
  assert.equal(leaf.extension('2.5.29.17')?.critical, true, 'SAN critical (empty subject)');
  assert.deepEqual(leaf.keyUsage, { digitalSignature: true, keyCertSign: false });
  assert.equal(leaf.extension('2.5.29.15')?.critical, true);
  assert.deepEqual(leaf.extension('2.5.29.15')?.value, Buffer.from('03020780', 'hex'), 'digitalSignature only');
  assert.deepEqual(leaf.extendedKeyUsage, ['1.3.6.1.5.5.7.3.3']);
  assert.equal(leaf.isCA, false);
  // SKID: SHA-1 of the subjectPublicKey bits (for P-256 the last 65 bytes of the SPKI); AKID: the intermediate's SKID.
  assert.deepEqual(leaf.subjectKeyIdentifier, createHash('sha1').update(leafKey.spki.subarray(-65)).digest());
  assert.deepEqual(leaf.authorityKeyIdentifier, ca.intermediate.x509.subjectKeyIdentifier);
  assert.equal(leaf.oidcIssuer, OIDC_ISSUER);
  assert.equal(leaf.extension('1.3.6.1.4.1.57264.1.1')?.value.toString(), OIDC_ISSUER);
  assert.deepEqual(
    leaf.extensions.map((e) => e.oid),
    ['2.5.29.15', '2.5.29.37', '2.5.29.14', '2.5.29.35', '2.5.29.17', '1.3.6.1.4.1.57264.1.1', '1.3.6.1.4.1.57264.1.8', OID_SCT_LIST],
  );
  assert.equal(leaf.signatureAlgorithm.name, 'ecdsa-with-SHA384', 'signed by the P-384 intermediate');

  // RFC 6962 §3.2: the final certificate's TBS without SCTs is what the log signed, byte for byte:
  // the precertificate's TBS minus its poison extension.
  assert.deepEqual(leaf.precertificateTbs(), precert.precertTbs);
  const marked = Buffer.from(precert.der);
  const poisonOid = Buffer.from('060a2b06010401d679020403', 'hex');
  const at = marked.indexOf(poisonOid);
  assert.ok(at > 0 && marked.indexOf(poisonOid, at + 1) < 0);
  marked[at + poisonOid.length - 1] = 0x02; // relabel the poison as the SCT list, which precertificateTbs drops
  assert.deepEqual(X509.fromDer(marked).precertificateTbs(), precert.precertTbs);
  assert.ok(precert.precertTbs.length < pre.tbs.length);

  // The SCT verifies with the CT key over the final certificate's rebuilt precertificate entry.
  const issuerKeyHash = createHash('sha256').update(ca.intermediate.x509.publicKeySpki).digest();
  assert.deepEqual(precert.issuerKeyHash, issuerKeyHash);
  assert.ok(verify('sha256', precertSignedData(sct, issuerKeyHash, leaf.precertificateTbs()), ct.publicKey, sct.signature));

  // node: parses, chain verifies.
  const nodeLeaf = new X509Certificate(final);
  const nodeIntermediate = new X509Certificate(ca.intermediate.der);
  const nodeRoot = new X509Certificate(ca.root.der);
  assert.ok(nodeLeaf.verify(nodeIntermediate.publicKey));
  assert.ok(nodeIntermediate.verify(nodeRoot.publicKey));
  assert.ok(nodeRoot.verify(nodeRoot.publicKey));
  assert.ok(nodeLeaf.checkIssued(nodeIntermediate));
  assert.equal(nodeLeaf.subjectAltName, `email:${EMAIL}`);
  assert.deepEqual(nodeLeaf.keyUsage, ['1.3.6.1.5.5.7.3.3']);
  assert.ok(!nodeLeaf.subject, 'node sees no subject');
  assert.equal(nodeLeaf.ca, false);

  // openssl: prints it, verifies the chain strictly; refuses the precertificate (critical poison).
  const files = { root: join(dir, 'root.pem'), intermediate: join(dir, 'intermediate.pem'), leaf: join(dir, 'leaf.pem'), precert: join(dir, 'precert.pem') };
  writeFileSync(files.root, ca.root.pem);
  writeFileSync(files.intermediate, ca.intermediate.pem);
  writeFileSync(files.leaf, pemEncode('CERTIFICATE', final));
  writeFileSync(files.precert, pemEncode('CERTIFICATE', precert.der));
  const text = execFileSync('openssl', ['x509', '-in', files.leaf, '-noout', '-text'], { encoding: 'utf8' });
  assert.match(text, /Subject: *\n/);
  assert.match(text, /X509v3 Subject Alternative Name: critical\s+email:alice@example\.test/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
  assert.match(text, /X509v3 Extended Key Usage: *\n\s+Code Signing/);
  assert.match(text, /CT Precertificate SCTs/);
  assert.match(text, /Signed Certificate Timestamp/);
  const ok = execFileSync('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-CAfile', files.root, '-untrusted', files.intermediate, files.leaf], { encoding: 'utf8' });
  assert.match(ok, /leaf\.pem: OK/);
  const refused = spawnSync('openssl', ['verify', '-purpose', 'any', '-CAfile', files.root, '-untrusted', files.intermediate, files.precert], { encoding: 'utf8' });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stdout + refused.stderr, /unhandled critical extension|unsupported critical extension/i);
});

test('identities: URI and username (OtherName) SANs, keys of every accepted type, a certificate without CT', async () => {
  const uri = 'https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main';
  const { final: uriCert } = await issue({ type: 'uri', value: uri });
  assert.deepEqual(X509.fromDer(uriCert).subjectAltNames, [{ kind: 'uri', value: uri }]);
  assert.match(execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', '-ext', 'subjectAltName'], { input: uriCert, encoding: 'utf8' }), /URI:https:\/\/github\.com\/example/);

  const { final: userCert } = await issue({ type: 'otherName', value: 'alice!example.test' });
  const userLeaf = X509.fromDer(userCert);
  assert.deepEqual(userLeaf.subjectAltNames, [{ kind: 'otherName', typeId: '1.3.6.1.4.1.57264.1.7', value: 'alice!example.test' }]);
  assert.equal(userLeaf.extension('2.5.29.17')?.critical, true);

  for (const key of [generateKeyPair('ed25519'), generateKeyPair('ec', { namedCurve: 'P-384' }), generateKeyPair('rsa', { modulusLength: 2048 })]) {
    const { final } = await issue(undefined, key);
    assert.deepEqual(X509.fromDer(final).publicKeySpki, key.spki);
    assert.ok(new X509Certificate(final).verify(ca.intermediate.x509.publicKey));
  }

  const plain = X509.fromDer(await buildCertificate({ subjectPublicKeySpki: generateKeyPair('ec', { namedCurve: 'P-256' }).spki, san: { type: 'email', value: EMAIL }, issuer: ca.issuer, validityMinutes: 10 }));
  assert.equal(plain.extension(OID_PRECERT_POISON), undefined);
  assert.equal(plain.extension(OID_SCT_LIST), undefined);
  assert.deepEqual(plain.extendedKeyUsage, ['1.3.6.1.5.5.7.3.3']);
});

test('requests the CA refuses: weak keys, bad identities, reserved extensions; finalize guards', async () => {
  const issuer = ca.issuer;
  const spki = generateKeyPair('ec', { namedCurve: 'P-256' }).spki;
  const email = { type: 'email' as const, value: EMAIL };
  await assert.rejects(buildPrecertificate({ subjectPublicKeySpki: generateKeyPair('rsa', { modulusLength: 1024 }).spki, san: email, issuer }), rejectsWith('WEAK_KEY', /1024-bit RSA key is too weak: use an ECDSA P-256 key/));
  await assert.rejects(buildPrecertificate({ subjectPublicKeySpki: generateKeyPair('ec', { namedCurve: 'secp256k1' }).spki, san: email, issuer }), rejectsWith('WEAK_KEY', /secp256k1/));
  await assert.rejects(buildPrecertificate({ subjectPublicKeySpki: Buffer.from('not a key'), san: email, issuer }), rejectsWith('PUBLIC_KEY_INVALID'));
  await assert.rejects(buildPrecertificate({ subjectPublicKeySpki: spki, san: { type: 'email', value: 'no-at-sign' }, issuer }), rejectsWith('IDENTITY_INVALID', /email address/));
  await assert.rejects(buildPrecertificate({ subjectPublicKeySpki: spki, san: { type: 'email', value: 'ünïcode@example.test' }, issuer }), rejectsWith('IDENTITY_INVALID'));
  await assert.rejects(buildPrecertificate({ subjectPublicKeySpki: spki, san: { type: 'uri', value: 'not a uri' }, issuer }), rejectsWith('IDENTITY_INVALID', /URI/));
  await assert.rejects(buildPrecertificate({ subjectPublicKeySpki: spki, san: { type: 'otherName', value: '' }, issuer }), rejectsWith('IDENTITY_INVALID', /empty/));
  await assert.rejects(buildPrecertificate({ subjectPublicKeySpki: spki, san: email, issuer, extensions: [{ oid: '2.5.29.17', value: Buffer.from([0x30, 0x00]) }] }), rejectsWith('CA_EXTENSION_INVALID', /set by the CA/));
  await assert.rejects(buildPrecertificate({ subjectPublicKeySpki: spki, san: email, issuer, extensions: [...issuerExtensions, issuerExtensions[0]!] }), rejectsWith('CA_EXTENSION_INVALID', /twice/));
  await assert.rejects(buildPrecertificate({ subjectPublicKeySpki: spki, san: email, issuer, notBefore: new Date(ca.intermediate.x509.notAfter.getTime() - 60_000) }), rejectsWith('CA_CERTIFICATE_EXPIRED', /renew/));
  await assert.rejects(buildPrecertificate({ subjectPublicKeySpki: spki, san: email, issuer: { cert: ca.root.der, signer: issuer.signer } }), rejectsWith('CA_INTERNAL', /does not belong/));

  const { precert, sct, final } = await issue();
  await assert.rejects(finalizeCertificate(precert, []), rejectsWith('CA_INTERNAL', /at least one SCT/));
  const other = await createCaHierarchy();
  await assert.rejects(finalizeCertificate({ der: precert.der, issuer: other.issuer }, [sct]), rejectsWith('CA_INTERNAL', /not signed by this CA/));
  await assert.rejects(finalizeCertificate({ der: final, issuer }, [sct]), rejectsWith('CA_INTERNAL', /poison/));
  // Two SCTs (two logs) are fine; both land in the list.
  const twice = X509.fromDer(await finalizeCertificate(precert, [sct, makeSct(precert)]));
  assert.equal(parseSctList(twice.sctListBytes!).length, 2);
});

test('proof of possession: ECDSA by curve, Ed25519, RSA PKCS#1 v1.5 and PSS; weak keys and bad signatures refused', () => {
  const subject = EMAIL;
  const message = Buffer.from(subject);
  for (const [curve, hash] of [['P-256', 'sha256'], ['P-384', 'sha384'], ['P-521', 'sha512']] as const) {
    const key = generateKeyPair('ec', { namedCurve: curve });
    const checked = verifyProofOfPossession(key.spki, sign(hash, message, key.privateKey), subject);
    assert.equal(checked.hash, hash);
    if (curve !== 'P-256') {
      // Fulcio (sigstore's default verifier) hashes by curve: SHA-256 over P-384/521 does not pass.
      assert.throws(() => verifyProofOfPossession(key.spki, sign('sha256', message, key.privateKey), subject), rejectsWith('PROOF_OF_POSSESSION_INVALID'));
    }
  }
  const ed = generateKeyPair('ed25519');
  assert.equal(verifyProofOfPossession(ed.spki, sign(null, message, ed.privateKey), subject).keyDetails, 'PKIX_ED25519');
  const rsa = generateKeyPair('rsa', { modulusLength: 2048 });
  assert.equal(verifyProofOfPossession(rsa.spki, sign('sha256', message, rsa.privateKey), subject).keyDetails, 'PKIX_RSA_PKCS1V15_2048_SHA256');
  const pss = sign('sha256', message, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  verifyProofOfPossession(rsa.spki, pss, subject);
  // PEM works as well as DER.
  const p256 = generateKeyPair('ec', { namedCurve: 'P-256' });
  verifyProofOfPossession(pemEncode('PUBLIC KEY', p256.spki), sign('sha256', message, p256.privateKey), subject);

  assert.throws(
    () => verifyProofOfPossession(p256.spki, sign('sha256', Buffer.from('someone else'), p256.privateKey), subject),
    rejectsWith('PROOF_OF_POSSESSION_INVALID', /sign the identity token's subject \("alice@example\.test"/),
  );
  assert.throws(() => verifyProofOfPossession(p256.spki, Buffer.alloc(0), subject), rejectsWith('PROOF_OF_POSSESSION_INVALID'));
  assert.throws(() => verifyProofOfPossession(p256.spki, Buffer.from('garbage'), subject), rejectsWith('PROOF_OF_POSSESSION_INVALID'));
  const small = generateKeyPair('rsa', { modulusLength: 1024 });
  assert.throws(() => verifyProofOfPossession(small.spki, sign('sha256', message, small.privateKey), subject), rejectsWith('WEAK_KEY', /1024-bit/));
  const k1 = generateKeyPair('ec', { namedCurve: 'secp256k1' });
  assert.throws(() => verifyProofOfPossession(k1.spki, sign('sha256', message, k1.privateKey), subject), rejectsWith('WEAK_KEY', /curve secp256k1/));
  const ed448 = generateKeyPair('ed448');
  assert.throws(() => verifyProofOfPossession(ed448.spki, sign(null, message, ed448.privateKey), subject), rejectsWith('WEAK_KEY', /ed448/));
  assert.throws(() => verifyProofOfPossession(Buffer.from('nope'), Buffer.from('x'), subject), rejectsWith('PUBLIC_KEY_INVALID'));
  assert.throws(() => verifyProofOfPossession('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', Buffer.from('x'), subject), rejectsWith('PUBLIC_KEY_INVALID'));
});

test('a whole keyless bundle: certificate + embedded SCT + Rekor v1 entry verify in @sigstack/verify and sigstore-js', async () => {
  let service: LogService | undefined;
  try {
    service = await startLogService({ dir: join(dir, 'log'), port: 0 });
    const { final, leafKey } = await issue();
    const artifact = Buffer.from('an artifact signed with a sigstack certificate');
    const signature = sign('sha256', artifact, leafKey.privateKey);
    const digest = createHash('sha256').update(artifact).digest();
    const certPem = pemEncode('CERTIFICATE', final);
    const created = await post(`${service.url}/api/v1/log/entries`, {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
        signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(certPem).toString('base64') } },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const bundle = bundleFromV1(created.json, artifact, signature, { certificate: final });
    const start = new Date(Date.now() - 3600_000).toISOString();
    const trustedRoot = {
      ...trustedRootFor(service.url, service.log.signer.spki, service.log.logId, service.log.signer.keyDetails),
      certificateAuthorities: [
        {
          subject: { organization: 'sigstack', commonName: 'sigstack-intermediate' },
          uri: 'https://ca.sigstack.test',
          certChain: { certificates: [{ rawBytes: ca.intermediate.der.toString('base64') }, { rawBytes: ca.root.der.toString('base64') }] },
          validFor: { start },
        },
      ],
      ctlogs: [
        {
          baseUrl: 'https://ctlog.sigstack.test',
          hashAlgorithm: 'SHA2_256',
          publicKey: { rawBytes: ct.spki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
          logId: { keyId: ct.logId.toString('base64') },
        },
      ],
    };

    const ours = await new Verifier(new TrustMaterial(parseTrustedRoot(trustedRoot))).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, { identity: EMAIL, issuer: OIDC_ISSUER });
    assert.equal(ours.identity, EMAIL);
    assert.equal(ours.issuer, OIDC_ISSUER);
    assert.equal(ours.tlogEntries[0]?.logUrl, service.url);

    const trust = sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(trustedRoot));
    const entity = sigstoreVerify.toSignedEntity(sigstoreBundle.bundleFromJSON(bundle), artifact);
    const signer = new sigstoreVerify.Verifier(trust).verify(entity, { subjectAlternativeName: EMAIL, extensions: { issuer: OIDC_ISSUER } });
    assert.equal(signer.identity.subjectAlternativeName, EMAIL);

    // A trusted root whose CT log has another key: the SCT no longer verifies, in either verifier.
    const otherCt = generateKeyPair('ec', { namedCurve: 'P-256' });
    const wrongCt = structuredClone(trustedRoot);
    wrongCt.ctlogs[0]!.publicKey.rawBytes = otherCt.spki.toString('base64');
    await assert.rejects(
      new Verifier(new TrustMaterial(parseTrustedRoot(wrongCt))).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, { identity: EMAIL, issuer: OIDC_ISSUER }),
      (err: { code?: string }) => err.code === 'SCT_INVALID',
    );
    assert.throws(() => new sigstoreVerify.Verifier(sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(wrongCt))).verify(entity), /SCT|signed certificate timestamp/i);
  } finally {
    await service?.close();
  }
});

test('extension DER assembled around library-encoded OIDs equals the schema\'s encoding', async () => {
  const { AsnConvert } = await import('@peculiar/asn1-schema');
  const { extension, extensionDer } = await import('../src/ca/cert/builder.js');
  for (const [oid, value, critical] of [
    ['1.3.6.1.4.1.57264.1.8', Buffer.from('0c1368747470733a2f2f6578616d706c652e636f6d', 'hex'), false],
    ['2.5.29.17', Buffer.from('3011810f616c696365406578616d706c652e636f6d', 'hex'), true],
    ['1.3.6.1.4.1.11129.2.4.2', Buffer.alloc(300, 7), false],
  ] as const) {
    assert.deepEqual(extensionDer(oid, value, critical), Buffer.from(AsnConvert.serialize(extension(oid, new Uint8Array(value), critical))));
  }
});
