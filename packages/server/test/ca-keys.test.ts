// CA key backends and the CA hierarchy: ephemeral and external signers, encrypted PEM keys
// (round trip, wrong or missing password), the PKCS#11 "not available" error, and a root +
// intermediate persisted in a data directory (mode 0600 keys), reused on restart, accepted by openssl.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509, generateKeyPair } from '@sigstack/core';
import {
  CA_FILES,
  createCaHierarchy,
  createEncryptedPemKey,
  ecdsaP1363ToDer,
  encodePrivateKeyPem,
  ephemeralSigner,
  externalSigner,
  keyObjectSigner,
  loadFileCa,
  loadPemSigner,
  loadPkcs11Signer,
  writePrivateKeyPem,
} from '../src/ca/keys/index.js';
import { rejectsWith } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-ca-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const tbs = Buffer.from('to be signed');

test('ephemeral signers: algorithm by key type, signatures verify', async () => {
  const cases = [
    ['P-256', 'ecdsa-with-SHA256', 'sha256'],
    ['P-384', 'ecdsa-with-SHA384', 'sha384'],
    ['P-521', 'ecdsa-with-SHA512', 'sha512'],
    ['ed25519', 'Ed25519', null],
  ] as const;
  for (const [type, algorithm, hash] of cases) {
    const signer = ephemeralSigner(type);
    assert.equal(signer.algorithm, algorithm);
    assert.match(signer.description, /ephemeral/);
    assert.deepEqual(signer.spki, signer.publicKey.export({ type: 'spki', format: 'der' }));
    assert.ok(verify(hash, tbs, signer.publicKey, await signer.sign(tbs)), type);
  }
  assert.equal(ephemeralSigner().algorithm, 'ecdsa-with-SHA256', 'P-256 by default (as Fulcio\'s ephemeral CA)');
  const pair = generateKeyPair('ec', { namedCurve: 'P-256' });
  assert.throws(() => keyObjectSigner(pair.privateKey, { algorithm: 'Ed25519' }), rejectsWith('CA_KEY_UNSUPPORTED', /needs a ed25519 key/));
  assert.throws(() => keyObjectSigner(pair.publicKey), rejectsWith('CA_KEY_UNSUPPORTED'));
  assert.throws(() => keyObjectSigner(generateKeyPair('ec', { namedCurve: 'secp256k1' }).privateKey), rejectsWith('CA_KEY_UNSUPPORTED', /P-384/));
});

test('external signer: raw r‖s ECDSA signatures (as PKCS#11 returns them) become DER', async () => {
  const pair = generateKeyPair('ec', { namedCurve: 'P-384' });
  const signer = externalSigner({
    spki: pair.spki,
    description: 'test HSM',
    signMessage: (message) => sign('sha384', message, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' }),
  });
  assert.equal(signer.algorithm, 'ecdsa-with-SHA384');
  for (let i = 0; i < 20; i++) {
    const message = Buffer.from(`message ${i}`);
    const der = await signer.sign(message);
    assert.equal(der[0], 0x30);
    assert.ok(verify('sha384', message, pair.publicKey, der));
  }
  // Leading zeros are dropped and a high bit gets a 0x00 pad, as DER INTEGERs need.
  const raw = Buffer.concat([Buffer.from([0, 0, 1]), Buffer.from([0x80, 0, 2])]);
  assert.deepEqual(ecdsaP1363ToDer(raw), Buffer.from('3009020101020400800002', 'hex'));
  assert.throws(() => ecdsaP1363ToDer(Buffer.from([1, 2, 3])), rejectsWith('CA_SIGNATURE_INVALID'));
});

test('PEM keys: encrypted round trip, wrong or missing password, unencrypted, unreadable, garbage', async () => {
  const path = join(dir, 'pem', 'ca-key.pem');
  const created = createEncryptedPemKey(path, 'correct horse', 'P-384');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const text = readFileSync(path, 'utf8');
  assert.match(text, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  // openssl reads it too (PKCS#8 PBES2), with the password.
  const opensslSpki = execFileSync('openssl', ['pkey', '-in', path, '-passin', 'pass:correct horse', '-pubout', '-outform', 'DER']);
  assert.deepEqual(opensslSpki, created.spki);

  const loaded = loadPemSigner(path, { passphrase: 'correct horse' });
  assert.deepEqual(loaded.spki, created.spki);
  assert.equal(loaded.algorithm, 'ecdsa-with-SHA384');
  assert.equal(loaded.description, `file:${path}`);
  assert.ok(verify('sha384', tbs, created.publicKey, await loaded.sign(tbs)));

  assert.throws(() => loadPemSigner(path, { passphrase: 'battery staple' }), rejectsWith('CA_KEY_PASSWORD_WRONG', /password is wrong/));
  assert.throws(() => loadPemSigner(path), rejectsWith('CA_KEY_PASSWORD_REQUIRED', /encrypted: give its password/));
  assert.throws(() => createEncryptedPemKey(path, 'again'), rejectsWith('CA_KEY_EXISTS', /never overwritten/));
  assert.throws(() => createEncryptedPemKey(join(dir, 'pem', 'empty.pem'), ''), rejectsWith('CA_KEY_PASSWORD_EMPTY'));

  const plainPath = join(dir, 'pem', 'plain.pem');
  const pair = generateKeyPair('ed25519');
  writePrivateKeyPem(plainPath, pair.privateKey);
  assert.match(readFileSync(plainPath, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(statSync(plainPath).mode & 0o777, 0o600);
  const plain = loadPemSigner(plainPath);
  assert.equal(plain.algorithm, 'Ed25519');
  assert.deepEqual(plain.spki, pair.spki);
  assert.match(encodePrivateKeyPem(pair.privateKey, 'pw'), /ENCRYPTED PRIVATE KEY/);

  assert.throws(() => loadPemSigner(join(dir, 'pem', 'missing.pem')), rejectsWith('CA_KEY_UNREADABLE', /ENOENT/));
  const garbage = join(dir, 'pem', 'garbage.pem');
  writeFileSync(garbage, '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
  assert.throws(() => loadPemSigner(garbage), rejectsWith('CA_KEY_INVALID', /PKCS#8/));
});

test('PKCS#11: a module that is not there is a clear error (pkcs11.test.ts covers real tokens)', async () => {
  await assert.rejects(
    loadPkcs11Signer({ modulePath: '/nonexistent/libpkcs11-module.so', tokenLabel: 'sigstack', pin: '1234' }),
    rejectsWith('PKCS11_MODULE_NOT_FOUND', /nonexistent/),
  );
});

test('CA hierarchy: Fulcio-shaped root and intermediate, persisted, reused, checked', async () => {
  const caDir = join(dir, 'hierarchy');
  const first = await createCaHierarchy({ dir: caDir });
  assert.equal(first.created, true);
  for (const file of [CA_FILES.rootKey, CA_FILES.intermediateKey]) assert.equal(statSync(join(caDir, file)).mode & 0o777, 0o600, file);
  assert.equal(statSync(caDir).mode & 0o777, 0o700);

  const root = first.root.x509;
  const intermediate = first.intermediate.x509;
  assert.ok(root.isSelfIssued);
  assert.deepEqual(root.basicConstraints, { isCA: true, pathLength: 1 });
  assert.deepEqual(intermediate.basicConstraints, { isCA: true, pathLength: 0 });
  for (const cert of [root, intermediate]) {
    assert.deepEqual(cert.keyUsage, { digitalSignature: false, keyCertSign: true });
    assert.equal(cert.extension('2.5.29.15')?.critical, true);
    assert.equal(cert.extension('2.5.29.19')?.critical, true);
    assert.equal(cert.serialNumber.length, 20);
    assert.equal((cert.serialNumber[0] ?? 0) & 0x80, 0);
    assert.equal(cert.signatureAlgorithm.name, 'ecdsa-with-SHA256', 'P-256 by default');
    const key = cert.publicKey.asymmetricKeyDetails;
    assert.equal(key?.namedCurve, 'prime256v1');
  }
  assert.deepEqual(root.extendedKeyUsage, []);
  assert.deepEqual(intermediate.extendedKeyUsage, ['1.3.6.1.5.5.7.3.3']);
  assert.deepEqual(root.authorityKeyIdentifier, root.subjectKeyIdentifier);
  assert.deepEqual(intermediate.authorityKeyIdentifier, root.subjectKeyIdentifier);
  assert.deepEqual(intermediate.issuerDer, root.subjectDer);
  // SKID: SHA-1 of the subjectPublicKey bits (the last 65 bytes of a P-256 SPKI: 0x04‖X‖Y).
  assert.deepEqual(root.subjectKeyIdentifier, createHash('sha1').update(root.publicKeySpki.subarray(-65)).digest());
  const years = (root.notAfter.getTime() - root.notBefore.getTime()) / (365 * 24 * 3600 * 1000);
  assert.ok(years > 9.9 && years < 10.1, `root validity ${years} years`);
  assert.ok(intermediate.notAfter <= root.notAfter);

  const text = execFileSync('openssl', ['x509', '-in', join(caDir, CA_FILES.intermediateCert), '-noout', '-text'], { encoding: 'utf8' });
  assert.match(text, /Subject: O ?= ?sigstack, CN ?= ?sigstack-intermediate/);
  assert.match(text, /Issuer: O ?= ?sigstack, CN ?= ?sigstack-root/);
  assert.match(text, /CA:TRUE, pathlen:0/);
  assert.match(text, /Code Signing/);
  const verified = execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', join(caDir, CA_FILES.rootCert), join(caDir, CA_FILES.intermediateCert)], { encoding: 'utf8' });
  assert.match(verified, /OK/);
  assert.equal(first.chainPem, first.intermediate.pem + first.root.pem);

  // Restart: the same CA, nothing new.
  const second = await createCaHierarchy({ dir: caDir });
  assert.equal(second.created, false);
  assert.deepEqual(second.root.der, first.root.der);
  assert.deepEqual(second.intermediate.der, first.intermediate.der);
  assert.deepEqual(second.issuer.signer.spki, first.issuer.signer.spki);

  // A missing intermediate certificate is issued again under the same root and key.
  unlinkSync(join(caDir, CA_FILES.intermediateCert));
  const third = await createCaHierarchy({ dir: caDir });
  assert.equal(third.created, true);
  assert.deepEqual(third.root.der, first.root.der);
  assert.notDeepEqual(third.intermediate.der, first.intermediate.der);
  assert.deepEqual(third.intermediate.x509.publicKeySpki, first.intermediate.x509.publicKeySpki);

  // An intermediate from another CA is refused, with what to do.
  const other = await createCaHierarchy({ organization: 'elsewhere' });
  assert.equal(other.dir, undefined);
  assert.equal(other.root.signer.description, 'ephemeral P-256 key');
  writeFileSync(join(caDir, CA_FILES.intermediateCert), other.intermediate.pem);
  await assert.rejects(createCaHierarchy({ dir: caDir }), rejectsWith('CA_HIERARCHY_INCONSISTENT', /does not hold the certificate of the key|not issued by the root/));
  writeFileSync(join(caDir, CA_FILES.intermediateCert), third.intermediate.pem);
  assert.equal((await createCaHierarchy({ dir: caDir })).created, false);

  // The file CA loader (Fulcio's fileca shape) takes the same files.
  writeFileSync(join(caDir, 'chain.pem'), third.chainPem);
  const fileCa = loadFileCa({ chainPath: join(caDir, 'chain.pem'), keyPath: join(caDir, CA_FILES.intermediateKey) });
  assert.deepEqual(fileCa.issuer.cert, third.intermediate.der);
  assert.equal(fileCa.chain.length, 2);
  assert.throws(() => loadFileCa({ chainPath: join(caDir, 'chain.pem'), keyPath: join(caDir, CA_FILES.rootKey) }), rejectsWith('CA_HIERARCHY_INCONSISTENT'));
});

test('CA hierarchy with encrypted keys and custom names', async () => {
  const caDir = join(dir, 'encrypted');
  const made = await createCaHierarchy({ dir: caDir, passphrase: 'hunter2', organization: 'example.org', rootCommonName: 'example-root', intermediateCommonName: 'example-issuer', rootKeyType: 'P-384', intermediateKeyType: 'P-256' });
  assert.match(readFileSync(join(caDir, CA_FILES.rootKey), 'utf8'), /ENCRYPTED PRIVATE KEY/);
  assert.equal(made.intermediate.signer.algorithm, 'ecdsa-with-SHA256');
  assert.equal(made.intermediate.x509.signatureAlgorithm.name, 'ecdsa-with-SHA384', 'signed by the P-384 root');
  const text = execFileSync('openssl', ['x509', '-in', join(caDir, CA_FILES.rootCert), '-noout', '-subject'], { encoding: 'utf8' });
  assert.match(text, /O ?= ?example\.org, CN ?= ?example-root/);
  await assert.rejects(createCaHierarchy({ dir: caDir }), rejectsWith('CA_KEY_PASSWORD_REQUIRED'));
  await assert.rejects(createCaHierarchy({ dir: caDir, passphrase: 'wrong' }), rejectsWith('CA_KEY_PASSWORD_WRONG'));
  const again = await createCaHierarchy({ dir: caDir, passphrase: 'hunter2' });
  assert.equal(again.created, false);
  assert.deepEqual(again.root.der, made.root.der);
  assert.ok(X509.fromDer(again.intermediate.der).equals(made.intermediate.x509));
});
