// The RFC 3161 timestamp authority over real HTTP on loopback: DER and JSON requests, tokens
// checked with @sigstack/core, OpenSSL and the verifier's RFC 3161 check; rejections, 400 / 413 /
// 415, restart reusing the chain, PEM key files and the PKCS#11 error.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { MessageImprint, PKIStatus, TimeStampReq, TimeStampResp } from '@peculiar/asn1-tsp';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import {
  X509,
  essCertIdMatches,
  generateKeyPair,
  parseTimestampToken,
  parseTrustedRoot,
  pemDecodeAll,
  pemEncode,
  signerCertificateMatches,
  verifyMessageImprint,
  verifyTimestampTokenSignature,
} from '@sigstack/core';
import { TrustMaterial } from '@sigstack/verify';
import { ServiceError } from '../src/errors.js';
import {
  FAILURE_BITS,
  SIGSTORE_TSA_POLICY,
  TSA_FILES,
  checkTsaChain,
  loadOrCreateTsaChain,
  loadPkcs11TsaSigner,
  startTsaService,
  type TsaFailure,
  type TsaService,
} from '../src/tsa/index.js';

const require = createRequire(import.meta.url);
type VerifyRfc3161 = (tokenDer: Buffer, signature: Buffer, trust: TrustMaterial) => Promise<Date>;
// The verifier's RFC 3161 check is internal to @sigstack/verify: load its module from the built package.
const verifyDist = dirname(require.resolve('@sigstack/verify'));
const { verifyRfc3161Timestamp } = (await import(pathToFileURL(join(verifyDist, 'timestamps.js')).href)) as { verifyRfc3161Timestamp: VerifyRfc3161 };

type SigstoreCore = {
  RFC3161Timestamp: { parse(der: Buffer): unknown };
  X509Certificate: { parse(der: Buffer): unknown };
};

const SHA256 = '2.16.840.1.101.3.4.2.1';
const MD5 = '1.2.840.113549.2.5';

function query(options: { digest: Buffer; oid?: string; nonce?: Buffer; certReq?: boolean; policy?: string }): Buffer {
  const req = new TimeStampReq({
    messageImprint: new MessageImprint({ hashAlgorithm: new AlgorithmIdentifier({ algorithm: options.oid ?? SHA256 }), hashedMessage: new OctetString(options.digest) }),
    certReq: options.certReq ?? false,
    ...(options.nonce ? { nonce: new Uint8Array(options.nonce).buffer } : {}),
    ...(options.policy ? { reqPolicy: options.policy } : {}),
  });
  return Buffer.from(AsnConvert.serialize(req));
}

async function post(url: string, body: Buffer | string, type = 'application/timestamp-query') {
  const response = await fetch(`${url}/api/v1/timestamp`, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  return { status: response.status, type: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
}

async function certChain(url: string): Promise<{ pem: string; certs: X509[] }> {
  const response = await fetch(`${url}/api/v1/timestamp/certchain`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/pem-certificate-chain/);
  const pem = await response.text();
  return { pem, certs: pemDecodeAll(pem).map((b) => X509.fromDer(b.der)) };
}

function rejection(der: Buffer): { status: number; failures: TsaFailure[]; text: string } {
  const resp = AsnConvert.parse(der, TimeStampResp);
  const bits = new Uint8Array(resp.status.failInfo?.value ?? new ArrayBuffer(0));
  const failures = (Object.keys(FAILURE_BITS) as TsaFailure[]).filter((name) => {
    const bit = FAILURE_BITS[name];
    return ((bits[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0;
  });
  assert.equal(resp.timeStampToken, undefined);
  return { status: resp.status.status, failures, text: [...(resp.status.statusString ?? [])].join(' ') };
}

function trustFor(certs: X509[], uri: string): TrustMaterial {
  return new TrustMaterial(parseTrustedRoot(trustedRoot(certs, uri)));
}

function trustedRoot(certs: X509[], uri: string) {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstack', commonName: 'sigstack-tsa' },
        uri,
        certChain: { certificates: certs.map((c) => ({ rawBytes: c.der.toString('base64') })) },
        validFor: { start: new Date(Date.now() - 24 * 3600 * 1000).toISOString() },
      },
    ],
  };
}

describe('timestamp authority', () => {
  let dir: string;
  let tsa: TsaService;
  let leaf: X509;
  let root: X509;
  const signer = generateKeyPair('ec', { namedCurve: 'P-256' });
  const artifact = Buffer.from('an artifact to sign');
  const signature = sign('sha256', artifact, signer.privateKey);
  const digest = createHash('sha256').update(signature).digest();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigstack-tsa-'));
    tsa = await startTsaService({ dir: join(dir, 'data') });
    const chain = await certChain(tsa.url);
    assert.equal(chain.certs.length, 2);
    [leaf, root] = chain.certs as [X509, X509];
  });

  after(async () => {
    await tsa?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a chain: TSA certificate (critical timeStamping EKU, digitalSignature) then its root', () => {
    assert.equal(leaf.isCA, false);
    assert.deepEqual(leaf.extendedKeyUsage, ['1.3.6.1.5.5.7.3.8']);
    assert.equal(leaf.extension('2.5.29.37')?.critical, true);
    assert.deepEqual(leaf.keyUsage, { digitalSignature: true, keyCertSign: false });
    assert.equal(root.isCA, true);
    assert.ok(root.isSelfIssued);
    assert.ok(leaf.issuerDer.equals(root.subjectDer));
    assert.ok(leaf.publicKeySpki.equals(tsa.chain.signer.spki));
    for (const file of [TSA_FILES.key, TSA_FILES.rootKey]) {
      const path = join(dir, 'data', file);
      assert.equal(statSync(path).mode & 0o777, 0o600, `${file} is private`);
      assert.match(readFileSync(path, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    }
  });

  it('grants a DER request: signature, imprint, signer, ESS certificate ID, nonce, policy, certificates', async () => {
    const nonce = Buffer.from([0x00, 0x9a, ...randomBytes(7)]);
    const before = Date.now();
    const response = await post(tsa.url, query({ digest, nonce, certReq: true }));
    assert.equal(response.status, 200);
    assert.equal(response.type, 'application/timestamp-reply');
    const resp = AsnConvert.parse(response.body, TimeStampResp);
    assert.equal(resp.status.status, PKIStatus.granted);

    const token = parseTimestampToken(response.body);
    verifyTimestampTokenSignature(token, leaf.publicKey);
    verifyMessageImprint(token, signature);
    assert.ok(signerCertificateMatches(token, leaf.der));
    assert.ok(essCertIdMatches(token, leaf.der));
    assert.equal(token.signedAttrs?.essCertIds[0]?.hashAlgorithm, 'sha256');
    assert.deepEqual(token.nonce, nonce);
    assert.equal(token.policy, SIGSTORE_TSA_POLICY);
    assert.equal(token.certificates.length, 1);
    assert.ok(token.certificates[0]?.equals(leaf.der));
    assert.equal(token.messageImprint.hashAlgorithm, 'sha256');
    assert.deepEqual(token.accuracy, { seconds: 1, millis: 0, micros: 0 });
    assert.ok(token.genTime.getTime() >= before - 1000 && token.genTime.getTime() <= Date.now() + 1000);
    assert.ok(token.serialNumber.length >= 1 && (token.serialNumber[0] ?? 0) < 0x80, 'serial number is positive');
    assert.ok(token.tsaName?.directoryName?.equals(leaf.subjectDer));
    assert.throws(() => verifyMessageImprint(token, Buffer.from('another signature')), /different message/);
    assert.throws(() => verifyTimestampTokenSignature(token, root.publicKey));
  });

  it('embeds no certificate without certReq, and serials differ', async () => {
    const a = parseTimestampToken((await post(tsa.url, query({ digest }))).body);
    const b = parseTimestampToken((await post(tsa.url, query({ digest }))).body);
    assert.equal(a.certificates.length, 0);
    assert.equal(a.nonce, undefined);
    verifyTimestampTokenSignature(a, leaf.publicKey);
    assert.ok(!a.serialNumber.equals(b.serialNumber));
  });

  it('uses a requested policy it accepts and rejects others', async () => {
    const ok = parseTimestampToken((await post(tsa.url, query({ digest, policy: SIGSTORE_TSA_POLICY }))).body);
    assert.equal(ok.policy, SIGSTORE_TSA_POLICY);
    const refused = await post(tsa.url, query({ digest, policy: '1.2.3.4' }));
    assert.equal(refused.status, 400);
    assert.equal(refused.type, 'application/timestamp-reply');
    const r = rejection(refused.body);
    assert.equal(r.status, PKIStatus.rejection);
    assert.deepEqual(r.failures, ['unacceptedPolicy']);
    assert.match(r.text, /1\.2\.3\.4/);
  });

  it('accepts OpenSSL queries, and OpenSSL verifies the replies', async () => {
    const work = join(dir, 'openssl');
    mkdirSync(work, { recursive: true });
    const data = join(work, 'sig.bin');
    writeFileSync(data, signature);
    writeFileSync(join(work, 'root.pem'), pemEncode('CERTIFICATE', root.der));
    writeFileSync(join(work, 'tsa.pem'), pemEncode('CERTIFICATE', leaf.der));
    const q = join(work, 'q.der');
    execFileSync('openssl', ['ts', '-query', '-data', data, '-sha256', '-cert', '-out', q], { stdio: 'pipe' });
    const response = await post(tsa.url, readFileSync(q));
    assert.equal(response.status, 200);
    const resp = join(work, 'resp.der');
    writeFileSync(resp, response.body);
    const text = execFileSync('openssl', ['ts', '-reply', '-in', resp, '-text'], { stdio: 'pipe' }).toString();
    assert.match(text, /Status: Granted/);
    assert.match(text, /Policy OID: 1\.3\.6\.1\.4\.1\.57264\.2/);
    assert.match(text, /Hash Algorithm: sha256/);
    assert.match(text, /Nonce: 0x/);
    const verified = execFileSync('openssl', ['ts', '-verify', '-in', resp, '-queryfile', q, '-CAfile', join(work, 'root.pem'), '-untrusted', join(work, 'tsa.pem')], { stdio: 'pipe' }).toString();
    assert.match(verified, /Verification: OK/);
    // The token alone, against the data, with the certificate embedded in it (certReq was set).
    const byData = execFileSync('openssl', ['ts', '-verify', '-data', data, '-in', resp, '-CAfile', join(work, 'root.pem')], { stdio: 'pipe' }).toString();
    assert.match(byData, /Verification: OK/);
    // Our own parser agrees about OpenSSL's query.
    const token = parseTimestampToken(response.body);
    verifyMessageImprint(token, signature);
    assert.equal(token.certificates.length, 1);
  });

  it('takes the JSON form (sigstore-js and cosign send it) and answers DER, keeping big nonces exact', async () => {
    const nonce = '123456789012345678901234567890';
    const body = `{"artifactHash":"${digest.toString('base64')}","hashAlgorithm":"SHA256","nonce":${nonce},"certificates":true}`;
    const response = await post(tsa.url, body, 'application/json; charset=utf-8');
    assert.equal(response.status, 200);
    assert.equal(response.type, 'application/timestamp-reply');
    const token = parseTimestampToken(response.body);
    verifyTimestampTokenSignature(token, leaf.publicKey);
    verifyMessageImprint(token, signature);
    assert.equal(BigInt(`0x${token.nonce?.toString('hex')}`), BigInt(nonce));
    assert.equal(token.certificates.length, 1);
    const minimal = await post(tsa.url, JSON.stringify({ artifactHash: createHash('sha384').update(signature).digest('base64'), hashAlgorithm: 'sha384' }), 'application/json');
    const t2 = parseTimestampToken(minimal.body);
    assert.equal(t2.messageImprint.hashAlgorithm, 'sha384');
    assert.equal(t2.certificates.length, 0);
    verifyMessageImprint(t2, signature);
  });

  it('stamps a signature that our verifier (trusted root naming this TSA) and sigstore-js accept', async () => {
    const response = await post(tsa.url, JSON.stringify({ artifactHash: digest.toString('base64'), hashAlgorithm: 'sha256', certificates: true }), 'application/json');
    const token = parseTimestampToken(response.body);
    const trust = trustFor([leaf, root], tsa.url);
    // A bundle's rfc3161Timestamps[].signedTimestamp holds the whole TimeStampResp; the bare token works too.
    const time = await verifyRfc3161Timestamp(response.body, signature, trust);
    assert.equal(time.getTime(), token.genTime.getTime());
    assert.equal((await verifyRfc3161Timestamp(tokenFromResponse(response.body), signature, trust)).getTime(), time.getTime());
    await assert.rejects(verifyRfc3161Timestamp(response.body, Buffer.from('other signature'), trust), /different message/);
    // A TSA the root does not name is not trusted.
    const other = await loadOrCreateTsaChain();
    await assert.rejects(verifyRfc3161Timestamp(response.body, signature, trustFor(other.certificates, 'https://other.example')), /not in the trusted root/);

    // sigstore-js's RFC 3161 check (chain, serial and issuer, signature, imprint) accepts it too.
    const sigstoreCore = require('@sigstore/core') as SigstoreCore;
    const { verifyRFC3161Timestamp } = require('@sigstore/verify/dist/timestamp/tsa') as { verifyRFC3161Timestamp: (ts: unknown, data: Buffer, cas: unknown[]) => void };
    const parsed = sigstoreCore.RFC3161Timestamp.parse(response.body);
    const certs = [leaf, root].map((c) => sigstoreCore.X509Certificate.parse(c.der));
    verifyRFC3161Timestamp(parsed, signature, [{ certChain: certs, validFor: { start: new Date(Date.now() - 3600_000), end: new Date(Date.now() + 3600_000) } }]);
    assert.throws(() => verifyRFC3161Timestamp(parsed, Buffer.from('other signature'), [{ certChain: certs, validFor: { start: new Date(0), end: new Date(Date.now() + 3600_000) } }]));
  });

  it('rejects unsupported or weak hash algorithms and bad digests: 400, with the rejection status for DER clients', async () => {
    const md5Response = await post(tsa.url, query({ digest: digest.subarray(0, 16), oid: MD5 }));
    assert.equal(md5Response.status, 400);
    assert.equal(md5Response.type, 'application/timestamp-reply');
    const md5 = rejection(md5Response.body);
    assert.equal(md5.status, PKIStatus.rejection);
    assert.deepEqual(md5.failures, ['badAlg']);
    assert.match(md5.text, /unsupported hash algorithm/);
    // The JSON form answers a JSON error naming the RFC 3161 failure.
    const jsonRefusal = async (body: unknown) => {
      const response = await post(tsa.url, JSON.stringify(body), 'application/json');
      assert.equal(response.status, 400);
      return JSON.parse(response.body.toString()) as { code: number; error: string; message: string; failure: string };
    };
    const sha1 = await jsonRefusal({ artifactHash: randomBytes(20).toString('base64'), hashAlgorithm: 'sha1' });
    assert.equal(sha1.failure, 'badAlg');
    assert.equal(sha1.error, 'TIMESTAMP_REJECTED');
    assert.match(sha1.message, /weak/);
    const unknown = await jsonRefusal({ artifactHash: digest.toString('base64'), hashAlgorithm: 'md5' });
    assert.equal(unknown.failure, 'badAlg');
    const zz = await jsonRefusal({ artifactHash: 'zz', hashAlgorithm: 'md5' });
    assert.equal(zz.code, 400);
    // A lone UTF-16 surrogate is not an algorithm name (it once made a 500).
    const surrogate = await post(tsa.url, '{"artifactHash":"' + digest.toString('base64') + '","hashAlgorithm":"\\ud800"}', 'application/json');
    assert.equal(surrogate.status, 400);
    assert.match(JSON.parse(surrogate.body.toString()).message, /hashAlgorithm/);
    const short = rejection((await post(tsa.url, query({ digest: digest.subarray(0, 20) }))).body);
    assert.deepEqual(short.failures, ['badDataFormat']);
    assert.match(short.text, /incorrect length/);
    // OpenSSL reads the rejection too.
    const path = join(dir, 'rejected.der');
    writeFileSync(path, (await post(tsa.url, query({ digest: digest.subarray(0, 16), oid: MD5 }))).body);
    assert.match(execFileSync('openssl', ['ts', '-reply', '-in', path, '-text'], { stdio: 'pipe' }).toString(), /Status: Rejected[\s\S]*unsupported algorithm/);
  });

  it('answers 400 / 413 / 415 / 404 with a JSON body that says why', async () => {
    const garbage = await post(tsa.url, Buffer.from('this is not DER at all'));
    assert.equal(garbage.status, 400);
    const body = JSON.parse(garbage.body.toString()) as { code: number; error: string; message: string };
    assert.equal(body.code, 400);
    assert.equal(body.error, 'TIMESTAMP_REQUEST_INVALID');
    assert.match(body.message, /TimeStampReq/);
    // A UniversalString of odd length makes asn1js throw (it once made a 500).
    const odd = await post(tsa.url, Buffer.from('HD0CAQEwLzALBglghkgBZQMEAgEEIIBrja+wCYQiwOAFZrEftYrHqedubwx+9wvr7bXuqRcDAgQBI0VnAQH/', 'base64'));
    assert.equal(odd.status, 400);
    assert.equal(JSON.parse(odd.body.toString()).error, 'TIMESTAMP_REQUEST_INVALID');
    const trailing = await post(tsa.url, Buffer.concat([query({ digest }), Buffer.from([0, 0])]));
    assert.equal(trailing.status, 400);
    const badJson = await post(tsa.url, '{"artifactHash": ', 'application/json');
    assert.equal(badJson.status, 400);
    assert.match(JSON.parse(badJson.body.toString()).message, /not valid JSON/);
    const badBase64 = await post(tsa.url, JSON.stringify({ artifactHash: '***', hashAlgorithm: 'sha256' }), 'application/json');
    assert.equal(badBase64.status, 400);
    const negativeNonce = await post(tsa.url, JSON.stringify({ artifactHash: digest.toString('base64'), hashAlgorithm: 'sha256', nonce: -5 }), 'application/json');
    assert.equal(negativeNonce.status, 400);
    const big = await post(tsa.url, Buffer.alloc(20_000, 0x30));
    assert.equal(big.status, 413);
    assert.equal(JSON.parse(big.body.toString()).error, 'REQUEST_TOO_LARGE');
    const wrongType = await post(tsa.url, 'hello', 'text/plain');
    assert.equal(wrongType.status, 415);
    assert.match(JSON.parse(wrongType.body.toString()).message, /application\/timestamp-query/);
    const missing = await fetch(`${tsa.url}/api/v1/nothing`);
    assert.equal(missing.status, 404);
  });

  it('reuses its key and chain on restart', async () => {
    const first = await certChain(tsa.url);
    await tsa.close();
    tsa = await startTsaService({ dir: join(dir, 'data') });
    const second = await certChain(tsa.url);
    assert.equal(second.pem, first.pem);
    const token = parseTimestampToken((await post(tsa.url, query({ digest }))).body);
    verifyTimestampTokenSignature(token, leaf.publicKey);
  });

  it('signs with a PEM key file (encrypted, P-384) and checks its password', async () => {
    const keyDir = join(dir, 'keyfile');
    const pair = generateKeyPair('ec', { namedCurve: 'P-384' });
    mkdirSync(keyDir, { recursive: true });
    const keyPath = join(keyDir, 'tsa.key');
    writeFileSync(keyPath, pair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'hunter22' }) as string, { mode: 0o600 });
    const service = await startTsaService({ dir: join(keyDir, 'data'), keyPath, password: 'hunter22' });
    try {
      assert.ok(service.chain.certificates[0]?.publicKeySpki.equals(pair.spki));
      assert.ok(!existsSync(join(keyDir, 'data', TSA_FILES.key)), 'no key is generated when one is given');
      const token = parseTimestampToken((await post(service.url, query({ digest, certReq: true }))).body);
      assert.equal(token.digestAlgorithm.name, 'sha384');
      verifyTimestampTokenSignature(token, pair.publicKey);
      assert.ok(essCertIdMatches(token, service.chain.certificates[0]?.der as Buffer));
    } finally {
      await service.close();
    }
    await assert.rejects(startTsaService({ dir: join(keyDir, 'data'), keyPath, password: 'wrong' }), (err: unknown) => err instanceof ServiceError && err.code === 'CA_KEY_PASSWORD_WRONG');
    // A chain file for that key is used as given.
    const chainPath = join(keyDir, 'chain.pem');
    writeFileSync(chainPath, readFileSync(join(keyDir, 'data', TSA_FILES.cert), 'utf8') + readFileSync(join(keyDir, 'data', TSA_FILES.rootCert), 'utf8'));
    const fromFile = await loadOrCreateTsaChain({ keyPath, password: 'hunter22', certChainPath: chainPath });
    assert.equal(fromFile.certificates.length, 2);
    // … and refused for another key.
    await assert.rejects(loadOrCreateTsaChain({ certChainPath: chainPath }), /not for the TSA key/);
  });

  it('makes an ephemeral chain in memory, and names a missing PKCS#11 module clearly', async () => {
    const chain = await loadOrCreateTsaChain();
    assert.equal(chain.dir, undefined);
    assert.equal(chain.signer.algorithm, 'ecdsa-with-SHA256');
    checkTsaChain(chain.certificates, chain.signer, 'ephemeral chain');
    assert.throws(() => checkTsaChain([chain.certificates[1] as X509, chain.certificates[1] as X509], chain.signer, 'root as leaf'));
    await assert.rejects(
      loadPkcs11TsaSigner({ modulePath: '/nonexistent/libpkcs11-module.so', pin: '1234' }),
      (err: unknown) => err instanceof ServiceError && err.code === 'PKCS11_MODULE_NOT_FOUND',
    );
  });
});

/** The TimeStampToken (ContentInfo) inside a granted TimeStampResp. */
function tokenFromResponse(der: Buffer): Buffer {
  const resp = AsnConvert.parse(der, TimeStampResp);
  assert.ok(resp.timeStampToken);
  return Buffer.from(AsnConvert.serialize(resp.timeStampToken));
}
