// PKCS#11 CA and TSA keys on a SoftHSM2 token made in a temp dir: sign + verify, the clear errors
// (module, token, PIN, key), a leaf issued by an intermediate whose key lives on the token, and an
// RFC 3161 timestamp signed by a token key. Skipped without SoftHSM2 unless CI is set.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, verify, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { MessageImprint, TimeStampReq } from '@peculiar/asn1-tsp';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { parseTimestampToken, verifyTimestampTokenSignature } from '@sigstack/core';
import { buildCaCertificate, buildCertificate } from '../src/ca/cert/index.js';
import { keyObjectSigner, loadPkcs11Signer, type Pkcs11Signer } from '../src/ca/keys/index.js';
import { TimestampAuthority, loadOrCreateTsaChain, loadPkcs11TsaSigner, parseTimestampQueryDer } from '../src/tsa/index.js';
import { rejectsWith } from './helpers.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const TOKEN = 'sigstack-test';
const PIN = '1234';
const available = existsSync(MODULE);
const skip = !available && !process.env['CI'] ? `SoftHSM2 (${MODULE}) is not installed; set CI to require this test` : false;

const dir = mkdtempSync(join(tmpdir(), 'sigstack-pkcs11-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('PKCS#11 keys on SoftHSM2', { skip }, () => {
  const opened: Pkcs11Signer[] = [];
  const load = async (...args: Parameters<typeof loadPkcs11Signer>): Promise<Pkcs11Signer> => {
    const signer = await loadPkcs11Signer(...args);
    opened.push(signer);
    return signer;
  };

  before(() => {
    mkdirSync(join(dir, 'tokens'));
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    // Before the module is first loaded in this process: SoftHSM2 reads its configuration at C_Initialize.
    process.env['SOFTHSM2_CONF'] = conf;
    const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { env: process.env, stdio: 'pipe' });
    run('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', '5678']);
    const keygen = (type: string, label: string, id: string) =>
      run('pkcs11-tool', ['--module', MODULE, '--login', '--pin', PIN, '--token-label', TOKEN, '--keypairgen', '--key-type', type, '--label', label, '--id', id]);
    keygen('EC:secp384r1', 'PKCS11CA', '01');
    keygen('EC:prime256v1', 'PKCS11TSA', '02');
  });
  after(() => {
    for (const signer of opened) signer.close();
  });

  it('gives clear errors for a missing module, token, key, and a wrong PIN', async () => {
    await assert.rejects(load({ modulePath: join(dir, 'nope.so'), tokenLabel: TOKEN, pin: PIN }), rejectsWith('PKCS11_MODULE_NOT_FOUND', /does not exist/));
    await assert.rejects(load({ modulePath: MODULE, tokenLabel: 'no-such-token', pin: PIN }), rejectsWith('PKCS11_TOKEN_NOT_FOUND', /"no-such-token".*"sigstack-test"/));
    await assert.rejects(load({ modulePath: MODULE, tokenLabel: TOKEN, pin: '0000' }), rejectsWith('PKCS11_PIN_INCORRECT', /PIN/));
    await assert.rejects(load({ modulePath: MODULE, tokenLabel: TOKEN, pin: PIN, keyLabel: 'missing' }), rejectsWith('PKCS11_KEY_NOT_FOUND', /"missing".*"PKCS11CA"/));
    await assert.rejects(load({ modulePath: MODULE, tokenLabel: TOKEN, pin: PIN, keyId: Buffer.from([9]) }), rejectsWith('PKCS11_KEY_NOT_FOUND', /id 09/));
    await assert.rejects(load({ modulePath: MODULE, pin: PIN }), rejectsWith('PKCS11_TOKEN_NOT_FOUND', /name the PKCS#11 token/));
  });

  it('signs with the P-384 key (label PKCS11CA, id 01); node verifies with the returned SPKI', async () => {
    const signer = await load({ modulePath: MODULE, tokenLabel: TOKEN, pin: PIN });
    assert.equal(signer.algorithm, 'ecdsa-with-SHA384');
    assert.equal(signer.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
    assert.match(signer.description, /pkcs11:.*sigstack-test.*PKCS11CA/);
    const messages = Array.from({ length: 8 }, (_, i) => Buffer.from(`message ${i}`));
    // Concurrent calls are serialized on the one session.
    const signatures = await Promise.all(messages.map((m) => signer.sign(m)));
    messages.forEach((m, i) => assert.ok(verify('sha384', m, { key: signer.spki, format: 'der', type: 'spki' }, signatures[i] as Buffer)));
    assert.ok(!verify('sha384', Buffer.from('other'), signer.publicKey, signatures[0] as Buffer));
    // The same key by id alone, with SHA-256 instead, and by slot index.
    const byId = await load({ modulePath: MODULE, tokenLabel: TOKEN, pin: PIN, keyId: Buffer.from([1]), algorithm: 'ecdsa-with-SHA256' });
    assert.deepEqual(byId.spki, signer.spki);
    assert.ok(verify('sha256', Buffer.from('x'), byId.publicKey, await byId.sign(Buffer.from('x'))));
    const bySlot = await load({ modulePath: MODULE, slot: 0, pin: PIN });
    assert.deepEqual(bySlot.spki, signer.spki);
    bySlot.close();
    await assert.rejects(Promise.resolve().then(() => bySlot.sign(Buffer.from('x'))), rejectsWith('PKCS11_CLOSED'));
  });

  it('is the CA issuer: an intermediate on the token under an in-memory root issues a leaf', async () => {
    const tokenKey = await load({ modulePath: MODULE, tokenLabel: TOKEN, pin: PIN });
    const rootPair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const root = keyObjectSigner(rootPair.privateKey);
    const now = new Date();
    const notAfter = new Date(now.getTime() + 24 * 3600 * 1000);
    const rootCert = await buildCaCertificate({ subject: { organization: 'sigstack', commonName: 'test root' }, spki: root.spki, signer: root, notBefore: now, notAfter, pathLength: 1 });
    const intermediateCert = await buildCaCertificate({
      subject: { organization: 'sigstack', commonName: 'hsm intermediate' },
      spki: tokenKey.spki,
      parent: { cert: rootCert, signer: root },
      notBefore: now,
      notAfter,
      pathLength: 0,
      codeSigning: true,
    });
    const leafKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const leafDer = await buildCertificate({
      subjectPublicKeySpki: leafKey.publicKey.export({ type: 'spki', format: 'der' }) as Buffer,
      san: { type: 'email', value: 'someone@example.com' },
      issuer: { cert: intermediateCert, signer: tokenKey },
    });
    const leaf = new X509Certificate(leafDer);
    const intermediate = new X509Certificate(intermediateCert);
    assert.ok(leaf.verify(intermediate.publicKey), 'the leaf verifies under the token key');
    assert.ok(leaf.checkIssued(intermediate));
    assert.ok(intermediate.verify(new X509Certificate(rootCert).publicKey));
  });

  it('signs RFC 3161 timestamps with the TSA key (default label PKCS11TSA)', async () => {
    const signer = await loadPkcs11TsaSigner({ modulePath: MODULE, tokenLabel: TOKEN, pin: PIN });
    opened.push(signer);
    assert.equal(signer.algorithm, 'ecdsa-with-SHA256');
    const tsa = new TimestampAuthority({ chain: await loadOrCreateTsaChain({ signer }) });
    const digest = createHash('sha256').update('artifact').digest();
    const req = new TimeStampReq({
      messageImprint: new MessageImprint({ hashAlgorithm: new AlgorithmIdentifier({ algorithm: '2.16.840.1.101.3.4.2.1' }), hashedMessage: new OctetString(digest) }),
      certReq: true,
    });
    const result = await tsa.respond(parseTimestampQueryDer(Buffer.from(AsnConvert.serialize(req))));
    assert.equal(result.status, 'granted');
    if (result.status !== 'granted') return;
    const token = parseTimestampToken(result.token);
    verifyTimestampTokenSignature(token, signer.publicKey);
  });
});
