// Tests for rfc3161.ts: sigstore-conformance timestamps (parse, TSA signature, imprint over the
// bundle signature), corruption probes, and synthetic tokens for algorithms the vectors lack.

import { generateKeyPair } from '../src/keygen.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  constants,
  createHash,
  KeyObject,
  sign,
  X509Certificate,
} from 'node:crypto';
import {
  essCertIdMatches,
  parseTimestampToken,
  signerCertificateMatches,
  verifyMessageImprint,
  verifyTimestampTokenSignature,
  type TimestampToken,
} from '../src/rfc3161.js';
import { CoreError } from '../src/errors.js';

// ---------------------------------------------------------------------------------------------
// Helpers

const VECTORS = new URL('../../test/vectors/rfc3161/', import.meta.url);

interface Vector {
  name: string;
  tokenDer: Buffer;
  /** The bundle's signature bytes: what sigstore timestamps. */
  signature: Buffer;
  /** Each timestamp authority's chain from the trusted root, leaf first. */
  tsaChains: Buffer[][];
}

function loadVector(name: string): Vector {
  const read = (file: string) => JSON.parse(readFileSync(new URL(`${name}/${file}`, VECTORS), 'utf8'));
  const bundle = read('bundle.sigstore.json');
  const root = read('trusted_root.json');
  const stamp = bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp;
  const sig = bundle.messageSignature?.signature ?? bundle.dsseEnvelope.signatures[0].sig;
  return {
    name,
    tokenDer: Buffer.from(stamp, 'base64'),
    signature: Buffer.from(sig, 'base64'),
    tsaChains: root.timestampAuthorities.map((ta: { certChain: { certificates: { rawBytes: string }[] } }) =>
      ta.certChain.certificates.map((c) => Buffer.from(c.rawBytes, 'base64')),
    ),
  };
}

function keyOf(certDer: Buffer): KeyObject {
  return new X509Certificate(certDer).publicKey;
}

/** The trust-root certificate the SignerInfo names (the TSA leaf). */
function trustedSigner(v: Vector, token: TimestampToken): Buffer {
  for (const chain of v.tsaChains) {
    for (const cert of chain) if (signerCertificateMatches(token, cert)) return cert;
  }
  assert.fail(`${v.name}: no trust-root TSA certificate matches the SignerInfo`);
}

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CoreError, `expected CoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

function flipByte(der: Buffer, offset: number, mask = 0x01): Buffer {
  const copy = Buffer.from(der);
  copy[offset] = (copy[offset] as number) ^ mask;
  return copy;
}

// A minimal DER writer for synthetic tokens (test-only).
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
const seq = (...p: Buffer[]) => tlv(0x30, ...p);
const set = (...p: Buffer[]) => tlv(0x31, ...p);
const octets = (b: Buffer) => tlv(0x04, b);
const ctx = (n: number, ...p: Buffer[]) => tlv(0xa0 | n, ...p);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const gtime = (s: string) => tlv(0x18, Buffer.from(s, 'latin1'));
const NULL = Buffer.from([0x05, 0x00]);
function int(v: number | Buffer): Buffer {
  if (Buffer.isBuffer(v)) return tlv(0x02, v);
  const bytes: number[] = [];
  let x = v;
  do {
    bytes.unshift(x & 0xff);
    x = Math.floor(x / 256);
  } while (x > 0);
  if ((bytes[0] as number) & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}
function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number) as number[];
  const subs = [(arcs[0] as number) * 40 + (arcs[1] as number), ...arcs.slice(2)];
  const out: number[] = [];
  for (const s of subs) {
    const digits: number[] = [];
    let v = s;
    do {
      digits.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < digits.length - 1; i++) digits[i] = (digits[i] as number) | 0x80;
    out.push(...digits);
  }
  return tlv(0x06, Buffer.from(out));
}

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  data: '1.2.840.113549.1.7.1',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertV2: '1.2.840.113549.1.9.16.2.47',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  sha384Rsa: '1.2.840.113549.1.1.12',
  rsaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  ed25519: '1.3.101.112',
  ski: '2.5.29.14',
  cn: '2.5.4.3',
};
const HASH_OID: Record<string, string> = { sha1: OID.sha1, sha256: OID.sha256, sha384: OID.sha384, sha512: OID.sha512 };

const name = (cn: string) => seq(set(seq(oid(OID.cn), utf8(cn))));

/** A structurally valid (unsigned) certificate: enough for signer matching. */
function fakeCert(opts: { serial: number; issuer: string; subject: string; key: KeyObject; ski?: Buffer }): Buffer {
  const spki = opts.key.export({ type: 'spki', format: 'der' });
  const exts = opts.ski ? [ctx(3, seq(seq(oid(OID.ski), octets(octets(opts.ski)))))] : [];
  const tbs = seq(
    ctx(0, int(2)),
    int(opts.serial),
    seq(oid(OID.ecdsaSha256)),
    name(opts.issuer),
    seq(tlv(0x17, Buffer.from('240101000000Z')), tlv(0x17, Buffer.from('340101000000Z'))),
    name(opts.subject),
    spki,
    ...exts,
  );
  return seq(tbs, seq(oid(OID.ecdsaSha256)), tlv(0x03, Buffer.from([0, 1, 2, 3])));
}

interface Synth {
  privateKey: KeyObject;
  message: Buffer;
  signatureAlgorithm: Buffer;
  /** Node hash for signing; null for Ed25519. */
  signHash: string | null;
  digest?: string;
  imprintHash?: string;
  signedAttrs?: boolean;
  contentTypeAttr?: string;
  omitMessageDigest?: boolean;
  sid?: 'issuerSerial' | 'ski';
  genTime?: string;
  certs?: Buffer[];
  pssSaltLength?: number;
  extraSignerInfo?: boolean;
  wrapInResp?: boolean;
  ski?: Buffer;
  issuer?: string;
  serial?: number;
}

function synthesize(o: Synth): { der: Buffer; tstInfo: Buffer } {
  const digest = o.digest ?? 'sha256';
  const imprintHash = o.imprintHash ?? 'sha256';
  const tstInfo = seq(
    int(1),
    oid('1.2.3.4.5'),
    seq(seq(oid(HASH_OID[imprintHash] as string)), octets(createHash(imprintHash).update(o.message).digest())),
    int(0x1234567),
    gtime(o.genTime ?? '20240102030405Z'),
    seq(int(1), tlv(0x80, Buffer.from([0x01, 0xf4]))),
    int(Buffer.from('0102030405060708', 'hex')),
    ctx(0, tlv(0xa4, name('synthetic tsa'))),
  );
  const digestAlg = digest === 'sha1' ? seq(oid(OID.sha1)) : seq(oid(HASH_OID[digest] as string), NULL);
  const attrs: Buffer[] = [];
  if (o.signedAttrs !== false) {
    // Deliberately not in DER SET OF order: the verifier must use the bytes as received.
    if (!o.omitMessageDigest) {
      attrs.push(seq(oid(OID.messageDigest), set(octets(createHash(digest).update(tstInfo).digest()))));
    }
    attrs.push(seq(oid(OID.contentType), set(oid(o.contentTypeAttr ?? OID.tstInfo))));
    for (const cert of o.certs ?? []) {
      const certHash = createHash('sha256').update(cert).digest();
      attrs.push(seq(oid(OID.signingCertV2), set(seq(seq(seq(octets(certHash)))))));
    }
  }
  const signed = attrs.length > 0 ? set(...attrs) : tstInfo;
  const signature =
    o.pssSaltLength !== undefined
      ? sign(o.signHash, signed, { key: o.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: o.pssSaltLength })
      : sign(o.signHash, signed, o.privateKey);
  const sid =
    o.sid === 'ski'
      ? tlv(0x80, o.ski ?? Buffer.alloc(20, 7))
      : seq(name(o.issuer ?? 'synthetic ca'), int(o.serial ?? 42));
  const signerInfo = seq(
    int(o.sid === 'ski' ? 3 : 1),
    sid,
    digestAlg,
    ...(attrs.length > 0 ? [ctx(0, ...attrs)] : []),
    o.signatureAlgorithm,
    octets(signature),
  );
  const signedData = seq(
    int(3),
    set(digestAlg),
    seq(oid(OID.tstInfo), ctx(0, octets(tstInfo))),
    ...(o.certs && o.certs.length > 0 ? [ctx(0, ...o.certs)] : []),
    set(signerInfo, ...(o.extraSignerInfo ? [signerInfo] : [])),
  );
  const contentInfo = seq(oid(OID.signedData), ctx(0, signedData));
  return { der: o.wrapInResp ? seq(seq(int(0)), contentInfo) : contentInfo, tstInfo };
}

/** Offset and total length of the DER element at `pos` (definite lengths only). */
function span(buf: Buffer, pos: number): { header: number; total: number } {
  const first = buf[pos + 1] as number;
  if (first < 0x80) return { header: 2, total: 2 + first };
  const n = first & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (buf[pos + 2 + i] as number);
  return { header: 2 + n, total: 2 + n + len };
}

// ---------------------------------------------------------------------------------------------
// Conformance vectors

const GOOD = [
  { name: 'rekor2-happy-path', genTime: '2025-06-12T12:02:20.000Z', embedded: true },
  { name: 'rekor2-timestamp-with-embedded-cert', embedded: true },
  { name: 'rekor2-timestamp-without-embedded-cert', embedded: false },
  { name: 'rekor2-dsse-happy-path', embedded: false },
  // Fails conformance for the signing certificate's validity, not for the timestamp itself.
  { name: 'intoto-tsa-timestamp-outside-cert-validity_fail', genTime: '2023-02-02T00:00:00.000Z', embedded: false },
];

for (const c of GOOD) {
  test(`${c.name}: parses, TSA signature verifies, imprint matches the bundle signature`, () => {
    const v = loadVector(c.name);
    const token = parseTimestampToken(v.tokenDer);
    if (c.genTime) assert.equal(token.genTime.toISOString(), c.genTime);
    assert.ok(token.genTime.getTime() > Date.UTC(2020, 0, 1));
    assert.equal(token.policy, '1.3.6.1.4.1.57264.2');
    assert.equal(token.messageImprint.hashAlgorithm, 'sha256');
    assert.ok(token.serialNumber.length > 0);
    assert.ok('issuerDer' in token.signerId);
    assert.equal(token.certificates.length > 0, c.embedded);
    assert.ok(token.signedAttrs);
    assert.equal(token.signedAttrs.der[0], 0x31);
    assert.equal(token.signatureScheme.kind, 'ecdsa');

    const leaf = trustedSigner(v, token);
    assert.ok(essCertIdMatches(token, leaf), 'signing-certificate attribute names the TSA leaf');
    verifyTimestampTokenSignature(token, keyOf(leaf));
    verifyMessageImprint(token, v.signature);

    for (const chain of v.tsaChains) {
      for (const other of chain.slice(1)) {
        assert.equal(signerCertificateMatches(token, other), false, 'the TSA root is not the signer');
        // (The conformance mock TSA reuses its root key for the leaf; only distinct keys must fail.)
        if (keyOf(other).equals(keyOf(leaf))) continue;
        throwsCode(() => verifyTimestampTokenSignature(token, keyOf(other)), 'RFC3161_SIGNATURE_INVALID');
      }
    }
  });
}

test('rekor2-timestamp-with-embedded-cert: the embedded certificate is the trusted TSA leaf', () => {
  const v = loadVector('rekor2-timestamp-with-embedded-cert');
  const token = parseTimestampToken(v.tokenDer);
  const embedded = token.certificates.filter((cert) => signerCertificateMatches(token, cert));
  assert.equal(embedded.length, 1);
  assert.deepEqual(embedded[0], trustedSigner(v, token));
  assert.ok(token.tsaName?.directoryName);
  // TSTInfo.tsa names the TSA: its Name bytes appear in the signer certificate (as the subject).
  assert.ok((embedded[0] as Buffer).indexOf(token.tsaName.directoryName) > 0);
  assert.match(new X509Certificate(embedded[0] as Buffer).subject, /CN=sigstore-tsa$/m);
  assert.ok(token.nonce && token.nonce.length > 0);
  assert.deepEqual(token.accuracy, { seconds: 1, millis: 0, micros: 0 });
});

test('rekor2-timestamp-payload-mismatch_fail: signature is valid but the imprint is for another signature', () => {
  const v = loadVector('rekor2-timestamp-payload-mismatch_fail');
  const token = parseTimestampToken(v.tokenDer);
  verifyTimestampTokenSignature(token, keyOf(trustedSigner(v, token)));
  throwsCode(() => verifyMessageImprint(token, v.signature), 'RFC3161_IMPRINT_MISMATCH', /different message/);
});

test('FreeTSA token (RSA PKCS#1 v1.5, SHA-512, ESSCertID v1) verifies with its embedded certificate', () => {
  // From rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail: the TSA is untrusted there, but
  // its signature is sound, which makes it a real-world RSA vector.
  const v = loadVector('rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail');
  const token = parseTimestampToken(v.tokenDer);
  assert.equal(token.signatureScheme.kind, 'rsa-pkcs1');
  assert.equal(token.digestAlgorithm.name, 'sha512');
  assert.equal(token.ordering, true);
  assert.equal(token.certificates.length, 2);
  const signers = token.certificates.filter((cert) => signerCertificateMatches(token, cert));
  assert.equal(signers.length, 1);
  const signer = signers[0] as Buffer;
  assert.equal(token.signedAttrs?.essCertIds[0]?.hashAlgorithm, 'sha1');
  assert.ok(essCertIdMatches(token, signer));
  verifyTimestampTokenSignature(token, keyOf(signer));
  verifyMessageImprint(token, v.signature);
  // None of the trusted (staging) TSA keys verify it.
  for (const chain of v.tsaChains) {
    assert.equal(signerCertificateMatches(token, chain[0] as Buffer), false);
    throwsCode(() => verifyTimestampTokenSignature(token, keyOf(chain[0] as Buffer)), 'RFC3161_SIGNATURE_INVALID');
  }
});

test('a bare TimeStampToken (no TimeStampResp wrapper) parses to the same token', () => {
  const v = loadVector('rekor2-happy-path');
  const outer = span(v.tokenDer, 0);
  const status = span(v.tokenDer, outer.header);
  const bare = v.tokenDer.subarray(outer.header + status.total);
  assert.equal(bare[0], 0x30);
  const a = parseTimestampToken(v.tokenDer);
  const b = parseTimestampToken(bare);
  assert.deepEqual(b, a);
  verifyTimestampTokenSignature(b, keyOf(trustedSigner(v, b)));
});

// ---------------------------------------------------------------------------------------------
// Corruption probes on a real token

const happy = loadVector('rekor2-happy-path');
const happyToken = parseTimestampToken(happy.tokenDer);
const happyKey = keyOf(trustedSigner(happy, happyToken));

test('a flipped byte in the signature is rejected', () => {
  const at = happy.tokenDer.indexOf(happyToken.signature);
  assert.ok(at > 0);
  const token = parseTimestampToken(flipByte(happy.tokenDer, at + happyToken.signature.length - 1));
  throwsCode(() => verifyTimestampTokenSignature(token, happyKey), 'RFC3161_SIGNATURE_INVALID', /does not verify/);
});

test('wrong keys are rejected', () => {
  const p384 = generateKeyPair('ec', { namedCurve: 'P-384' }).publicKey;
  const p256 = generateKeyPair('ec', { namedCurve: 'P-256' }).publicKey;
  const ed = generateKeyPair('ed25519').publicKey;
  const rsa = generateKeyPair('rsa', { modulusLength: 2048 }).publicKey;
  throwsCode(() => verifyTimestampTokenSignature(happyToken, p384), 'RFC3161_SIGNATURE_INVALID', /does not verify/);
  throwsCode(() => verifyTimestampTokenSignature(happyToken, p256), 'RFC3161_SIGNATURE_INVALID');
  throwsCode(() => verifyTimestampTokenSignature(happyToken, ed), 'RFC3161_SIGNATURE_INVALID', /ecdsa.*ed25519/);
  throwsCode(() => verifyTimestampTokenSignature(happyToken, rsa), 'RFC3161_SIGNATURE_INVALID', /ecdsa.*rsa/);
  throwsCode(
    () => verifyTimestampTokenSignature(happyToken, 'not a key' as unknown as KeyObject),
    'RFC3161_SIGNATURE_INVALID',
  );
});

test('every truncation of the DER is rejected as malformed', () => {
  for (let n = 0; n < happy.tokenDer.length; n++) {
    throwsCode(() => parseTimestampToken(happy.tokenDer.subarray(0, n)), 'RFC3161_MALFORMED');
  }
});

test('garbage input is rejected as malformed', () => {
  const inputs: unknown[] = [
    Buffer.alloc(0),
    Buffer.from('hello world'),
    Buffer.from([0x30, 0x80, 0x00, 0x00]),
    Buffer.from([0x30, 0x00]),
    Buffer.from([0x04, 0x02, 0x01, 0x02]),
    Buffer.concat([happy.tokenDer, Buffer.from([0x00])]),
    trustedSigner(happy, happyToken), // a certificate, not a token
    'MIIE6jADAgEAMIIE4QYJKoZIhvcNAQcCoIIE0jCCBM4CAQMx',
    undefined,
    null,
    [0x30, 0x00],
  ];
  let seed = createHash('sha256').update('rfc3161 garbage').digest();
  for (let i = 0; i < 200; i++) {
    seed = createHash('sha256').update(seed).digest();
    inputs.push(Buffer.concat([Buffer.from([0x30, 0x82, 0x00, 0x40]), seed, seed]));
    inputs.push(seed);
  }
  for (const input of inputs) throwsCode(() => parseTimestampToken(input as Uint8Array), 'RFC3161_MALFORMED');
});

test('non-DER encodings are rejected: indefinite and non-minimal lengths', () => {
  const outer = span(happy.tokenDer, 0);
  const body = happy.tokenDer.subarray(outer.header);
  throwsCode(
    () => parseTimestampToken(Buffer.concat([Buffer.from([0x30, 0x80]), body, Buffer.from([0, 0])])),
    'RFC3161_MALFORMED',
    /indefinite/,
  );
  throwsCode(
    () => parseTimestampToken(Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), happy.tokenDer.subarray(2)])),
    'RFC3161_MALFORMED',
    /non-minimal/,
  );
});

test('BER inside the token is rejected: constructed OCTET STRING', () => {
  const berOctets = tlv(0x24, octets(Buffer.from('part one')), octets(Buffer.from('part two')));
  const token = seq(oid(OID.signedData), ctx(0, seq(int(3), set(), seq(oid(OID.tstInfo), ctx(0, berOctets)), set())));
  throwsCode(() => parseTimestampToken(token), 'RFC3161_MALFORMED', /constructed/);
});

test('imprint mismatch is rejected', () => {
  verifyMessageImprint(happyToken, happy.signature);
  throwsCode(() => verifyMessageImprint(happyToken, flipByte(happy.signature, 10)), 'RFC3161_IMPRINT_MISMATCH');
  throwsCode(() => verifyMessageImprint(happyToken, Buffer.alloc(0)), 'RFC3161_IMPRINT_MISMATCH');
  throwsCode(() => verifyMessageImprint(happyToken, 'sig' as unknown as Uint8Array), 'RFC3161_IMPRINT_MISMATCH');
});

test('tampered eContent is caught by the message-digest attribute', () => {
  const tstAt = happy.tokenDer.indexOf(happyToken.tstInfoDer);
  const imprintAt = happyToken.tstInfoDer.indexOf(happyToken.messageImprint.hashedMessage);
  assert.ok(tstAt > 0 && imprintAt > 0);
  const tampered = parseTimestampToken(flipByte(happy.tokenDer, tstAt + imprintAt));
  throwsCode(() => verifyTimestampTokenSignature(tampered, happyKey), 'RFC3161_SIGNATURE_INVALID', /message-digest/);

  // Changing genTime (a digit stays a digit) is caught the same way.
  const timeAt = happyToken.tstInfoDer.indexOf(Buffer.from('20250612120220Z'));
  const later = parseTimestampToken(flipByte(happy.tokenDer, tstAt + timeAt + 3, 0x01));
  assert.notEqual(later.genTime.getTime(), happyToken.genTime.getTime());
  throwsCode(() => verifyTimestampTokenSignature(later, happyKey), 'RFC3161_SIGNATURE_INVALID', /message-digest/);
});

test('tampered signed attributes are caught by the signature', () => {
  const attrs = happyToken.signedAttrs;
  assert.ok(attrs);
  const retagged = Buffer.from(attrs.der);
  retagged[0] = 0xa0;
  const at = happy.tokenDer.indexOf(retagged);
  assert.ok(at > 0);
  // The last byte of the signing-certificate hash: still well-formed, no longer what was signed.
  const token = parseTimestampToken(flipByte(happy.tokenDer, at + attrs.der.length - 1));
  throwsCode(() => verifyTimestampTokenSignature(token, happyKey), 'RFC3161_SIGNATURE_INVALID', /does not verify/);
});

test('every single-byte corruption ends in a CoreError or a still-valid token, never another error', () => {
  for (const name of ['rekor2-happy-path', 'rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail']) {
    const v = loadVector(name);
    const base = parseTimestampToken(v.tokenDer);
    const signer = [...base.certificates, ...v.tsaChains.flat()].find((c) => signerCertificateMatches(base, c));
    assert.ok(signer);
    const key = keyOf(signer);
    for (let i = 0; i < v.tokenDer.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const corrupted = flipByte(v.tokenDer, i, mask);
        try {
          const token = parseTimestampToken(corrupted);
          verifyTimestampTokenSignature(token, key);
          verifyMessageImprint(token, v.signature);
          for (const cert of token.certificates) {
            try {
              signerCertificateMatches(token, cert);
            } catch (err) {
              if (!(err instanceof CoreError)) throw err;
            }
          }
        } catch (err) {
          assert.ok(err instanceof CoreError, `${name} byte ${i} ^ ${mask}: ${String(err)}`);
        }
      }
    }
  }
});

test('a parsed token does not change when the caller reuses the input buffer', () => {
  const input = Buffer.from(happy.tokenDer);
  const token = parseTimestampToken(input);
  input.fill(0);
  verifyTimestampTokenSignature(token, happyKey);
  verifyMessageImprint(token, happy.signature);
});

test('TimeStampResp without a granted status is rejected with the TSA reason', () => {
  const rejected = seq(seq(int(2), seq(utf8('bad message imprint')), tlv(0x03, Buffer.from([0x07, 0x80]))));
  throwsCode(() => parseTimestampToken(rejected), 'RFC3161_MALFORMED', /rejection \(bad message imprint\)/);
  throwsCode(() => parseTimestampToken(seq(seq(int(0)))), 'RFC3161_MALFORMED', /timeStampToken is missing/);
});

test('parse once, verify fast (target > 1000 verifications/s; CI floors are looser)', () => {
  const n = 2000;
  let start = performance.now();
  for (let i = 0; i < n; i++) {
    verifyTimestampTokenSignature(happyToken, happyKey);
    verifyMessageImprint(happyToken, happy.signature);
  }
  const verifyRate = n / ((performance.now() - start) / 1000);
  start = performance.now();
  for (let i = 0; i < n; i++) parseTimestampToken(happy.tokenDer);
  const parseRate = n / ((performance.now() - start) / 1000);
  console.log(`# rfc3161: ${Math.round(verifyRate)} signature+imprint checks/s, ${Math.round(parseRate)} parses/s`);
  // Loose floors so a busy CI machine does not flake: core's DER reader parses a token in tens of
  // microseconds (about 25,000/s on a loaded 2-core machine); the floor is the budget itself,
  // well under 1 ms per token.
  assert.ok(parseRate > 1000, `parse rate ${parseRate}`);
  assert.ok(verifyRate > 300, `verify rate ${verifyRate}`);
});

// ---------------------------------------------------------------------------------------------
// Synthetic tokens: algorithms, signer identifiers and encodings the vectors lack

const message = Buffer.from('the bundle signature bytes');

test('ECDSA P-256 with signed attributes, fractional genTime, embedded certificate', () => {
  const { privateKey, publicKey } = generateKeyPair('ec', { namedCurve: 'P-256' });
  const cert = fakeCert({ serial: 42, issuer: 'synthetic ca', subject: 'synthetic tsa', key: publicKey });
  const { der } = synthesize({
    privateKey, message, signatureAlgorithm: seq(oid(OID.ecdsaSha256)), signHash: 'sha256',
    genTime: '20240102030405.123456Z', certs: [cert], wrapInResp: true,
  });
  const token = parseTimestampToken(der);
  assert.equal(token.genTime.toISOString(), '2024-01-02T03:04:05.123Z');
  assert.deepEqual(token.accuracy, { seconds: 1, millis: 500, micros: 0 });
  assert.deepEqual(token.nonce, Buffer.from('0102030405060708', 'hex'));
  assert.deepEqual(token.serialNumber, Buffer.from('01234567', 'hex'));
  assert.equal(token.policy, '1.2.3.4.5');
  assert.deepEqual(token.certificates, [cert]);
  assert.ok(signerCertificateMatches(token, cert));
  assert.ok(essCertIdMatches(token, cert));
  const otherSerial = fakeCert({ serial: 43, issuer: 'synthetic ca', subject: 'synthetic tsa', key: publicKey });
  const otherIssuer = fakeCert({ serial: 42, issuer: 'other ca', subject: 'synthetic tsa', key: publicKey });
  assert.equal(signerCertificateMatches(token, otherSerial), false);
  assert.equal(signerCertificateMatches(token, otherIssuer), false);
  assert.equal(essCertIdMatches(token, otherSerial), false);
  verifyTimestampTokenSignature(token, publicKey);
  verifyMessageImprint(token, message);
  throwsCode(() => signerCertificateMatches(token, Buffer.from([0x30, 0x03, 0x02, 0x01])), 'X509_INVALID');
});

test('Ed25519 without signed attributes (signature over eContent), subjectKeyIdentifier signer', () => {
  const { privateKey, publicKey } = generateKeyPair('ed25519');
  const ski = createHash('sha1').update('ski').digest();
  const { der, tstInfo } = synthesize({
    privateKey, message, signatureAlgorithm: seq(oid(OID.ed25519)), signHash: null, digest: 'sha512',
    signedAttrs: false, sid: 'ski', ski,
  });
  const token = parseTimestampToken(der);
  assert.equal(token.signedAttrs, undefined);
  assert.deepEqual(token.signerId, { subjectKeyIdentifier: ski });
  assert.ok(signerCertificateMatches(token, fakeCert({ serial: 1, issuer: 'a', subject: 'b', key: publicKey, ski })));
  assert.equal(
    signerCertificateMatches(token, fakeCert({ serial: 1, issuer: 'a', subject: 'b', key: publicKey, ski: Buffer.alloc(20) })),
    false,
  );
  assert.equal(signerCertificateMatches(token, fakeCert({ serial: 1, issuer: 'a', subject: 'b', key: publicKey })), false);
  assert.equal(essCertIdMatches(token, fakeCert({ serial: 1, issuer: 'a', subject: 'b', key: publicKey })), false);
  verifyTimestampTokenSignature(token, publicKey);
  verifyMessageImprint(token, message);

  // Without signed attributes the signature itself protects the TSTInfo.
  const at = der.indexOf(tstInfo);
  const tampered = parseTimestampToken(flipByte(der, at + tstInfo.length - 1));
  throwsCode(() => verifyTimestampTokenSignature(tampered, publicKey), 'RFC3161_SIGNATURE_INVALID', /does not verify/);
});

test('RSA-PSS with explicit parameters', () => {
  const { privateKey, publicKey } = generateKeyPair('rsa', { modulusLength: 2048 });
  const pss = (salt: number) =>
    seq(
      oid(OID.rsaPss),
      seq(
        ctx(0, seq(oid(OID.sha256), NULL)),
        ctx(1, seq(oid(OID.mgf1), seq(oid(OID.sha256), NULL))),
        ctx(2, int(salt)),
      ),
    );
  const good = synthesize({ privateKey, message, signatureAlgorithm: pss(32), signHash: 'sha256', pssSaltLength: 32 });
  const token = parseTimestampToken(good.der);
  assert.deepEqual(token.signatureScheme, { kind: 'rsa-pss', saltLength: 32 });
  verifyTimestampTokenSignature(token, publicKey);

  const wrongSalt = synthesize({ privateKey, message, signatureAlgorithm: pss(20), signHash: 'sha256', pssSaltLength: 32 });
  throwsCode(() => verifyTimestampTokenSignature(parseTimestampToken(wrongSalt.der), publicKey), 'RFC3161_SIGNATURE_INVALID');

  const sha1Defaults = synthesize({ privateKey, message, signatureAlgorithm: seq(oid(OID.rsaPss), seq()), signHash: 'sha256', pssSaltLength: 20 });
  throwsCode(
    () => verifyTimestampTokenSignature(parseTimestampToken(sha1Defaults.der), publicKey),
    'RFC3161_SIGNATURE_INVALID',
    /sha1 differs/,
  );
});

test('RSA PKCS#1 v1.5 with SHA-384, imprint with SHA-512', () => {
  const { privateKey, publicKey } = generateKeyPair('rsa', { modulusLength: 2048 });
  const { der } = synthesize({
    privateKey, message, signatureAlgorithm: seq(oid(OID.sha384Rsa), NULL), signHash: 'sha384',
    digest: 'sha384', imprintHash: 'sha512',
  });
  const token = parseTimestampToken(der);
  assert.equal(token.messageImprint.hashAlgorithm, 'sha512');
  verifyTimestampTokenSignature(token, publicKey);
  verifyMessageImprint(token, message);
});

test('content-type attribute other than id-ct-TSTInfo is rejected', () => {
  const { privateKey, publicKey } = generateKeyPair('ec', { namedCurve: 'P-256' });
  const { der } = synthesize({
    privateKey, message, signatureAlgorithm: seq(oid(OID.ecdsaSha256)), signHash: 'sha256', contentTypeAttr: OID.data,
  });
  throwsCode(() => verifyTimestampTokenSignature(parseTimestampToken(der), publicKey), 'RFC3161_SIGNATURE_INVALID', /content-type/);
});

test('signature algorithm hash that contradicts digestAlgorithm, or an unsupported digest, is rejected', () => {
  const { privateKey, publicKey } = generateKeyPair('ec', { namedCurve: 'P-384' });
  const mixed = synthesize({ privateKey, message, signatureAlgorithm: seq(oid(OID.ecdsaSha384)), signHash: 'sha256' });
  throwsCode(() => verifyTimestampTokenSignature(parseTimestampToken(mixed.der), publicKey), 'RFC3161_SIGNATURE_INVALID', /sha384/);
  const sha1 = synthesize({ privateKey, message, signatureAlgorithm: seq(oid(OID.ecdsaSha256)), signHash: 'sha1', digest: 'sha1' });
  throwsCode(() => verifyTimestampTokenSignature(parseTimestampToken(sha1.der), publicKey), 'RFC3161_SIGNATURE_INVALID');
  const unknown = synthesize({ privateKey, message, signatureAlgorithm: seq(oid('1.2.3.4')), signHash: 'sha256' });
  throwsCode(() => verifyTimestampTokenSignature(parseTimestampToken(unknown.der), publicKey), 'RFC3161_SIGNATURE_INVALID', /not supported/);
});

test('structural violations are malformed', () => {
  const { privateKey } = generateKeyPair('ec', { namedCurve: 'P-256' });
  const base = { privateKey, message, signatureAlgorithm: seq(oid(OID.ecdsaSha256)), signHash: 'sha256' };
  throwsCode(() => parseTimestampToken(synthesize({ ...base, extraSignerInfo: true }).der), 'RFC3161_MALFORMED', /exactly one SignerInfo/);
  throwsCode(() => parseTimestampToken(synthesize({ ...base, imprintHash: 'sha1' }).der), 'RFC3161_MALFORMED', /messageImprint/);
  throwsCode(() => parseTimestampToken(synthesize({ ...base, omitMessageDigest: true }).der), 'RFC3161_MALFORMED', /message-digest attribute is missing/);
  for (const bad of ['20240102030405', '20241302030405Z', '20240230030405Z', '202401020304Z', '20240102030405.Z', '20240102030405,5Z']) {
    throwsCode(() => parseTimestampToken(synthesize({ ...base, genTime: bad }).der), 'RFC3161_MALFORMED', /genTime/);
  }
});
