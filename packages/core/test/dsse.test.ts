// Tests for dsse.ts: the DSSE protocol.md test vector (PAE and an ECDSA P-256 signature over
// it), a real sigstore DSSE bundle envelope, and malformed envelopes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { envelopeToJson, parseEnvelope, preAuthEncoding } from '../src/dsse.js';
import { CoreError } from '../src/errors.js';

// secure-systems-lab/dsse protocol.md "Test Vectors" (Apache-2.0).
const SPEC = {
  payloadType: 'http://example.com/HelloWorld',
  payload: 'hello world',
  pae: 'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
  x: 46950820868899156662930047687818585632848591499744589407958293238635476079160n,
  y: 5640078356564379163099075877009565129882514886557779369047442380624545832820n,
  envelope:
    '{"payload": "aGVsbG8gd29ybGQ=",\n "payloadType": "http://example.com/HelloWorld",\n' +
    ' "signatures": [{"sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}]}',
};

const CONFORMANCE = new URL('../../../../../shared/conformance/bundle-verify/', import.meta.url);

function b64url(n: bigint): string {
  return Buffer.from(n.toString(16).padStart(64, '0'), 'hex').toString('base64url');
}

function malformed(value: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseEnvelope(value),
    (err: unknown) => {
      assert.ok(err instanceof CoreError, `expected CoreError, got ${String(err)}`);
      assert.equal(err.code, 'DSSE_MALFORMED');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('PAE matches the DSSE spec example', () => {
  const pae = preAuthEncoding(SPEC.payloadType, Buffer.from(SPEC.payload));
  assert.equal(pae.toString('utf8'), SPEC.pae);
});

test('PAE counts bytes, not characters, and handles empty fields', () => {
  assert.deepEqual(preAuthEncoding('t', Buffer.from('é')), Buffer.from('DSSEv1 1 t 2 é'));
  assert.deepEqual(preAuthEncoding('类型', Buffer.from('中文')), Buffer.from('DSSEv1 6 类型 6 中文'));
  assert.deepEqual(preAuthEncoding('', new Uint8Array()), Buffer.from('DSSEv1 0  0 '));
  const binary = Buffer.from([0, 255, 10, 32]);
  assert.deepEqual(preAuthEncoding('x', binary), Buffer.concat([Buffer.from('DSSEv1 1 x 4 '), binary]));
  assert.throws(() => preAuthEncoding(1 as unknown as string, new Uint8Array()), CoreError);
  assert.throws(() => preAuthEncoding('t', 'text' as unknown as Uint8Array), CoreError);
});

test('the spec envelope parses and its ECDSA signature verifies over the PAE', () => {
  const env = parseEnvelope(SPEC.envelope);
  assert.equal(env.payloadType, SPEC.payloadType);
  assert.equal(env.payload.toString(), SPEC.payload);
  assert.equal(env.signatures.length, 1);
  assert.equal(env.signatures[0]?.keyid, '');
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(SPEC.x), y: b64url(SPEC.y) },
    format: 'jwk',
  });
  const sig = env.signatures[0]?.sig as Buffer;
  const pae = preAuthEncoding(env.payloadType, env.payload);
  assert.ok(verify('sha256', pae, { key, dsaEncoding: 'ieee-p1363' }, sig));
  // Signing the payload alone, or a different type, does not verify.
  assert.equal(verify('sha256', env.payload, { key, dsaEncoding: 'ieee-p1363' }, sig), false);
  assert.equal(
    verify('sha256', preAuthEncoding('http://example.com/Other', env.payload), { key, dsaEncoding: 'ieee-p1363' }, sig),
    false,
  );
  // Round trip through the JSON form.
  const json = envelopeToJson(env);
  assert.deepEqual(json, JSON.parse(SPEC.envelope));
  assert.deepEqual(parseEnvelope(json), env);
});

test('a sigstore DSSE bundle envelope parses', { skip: !existsSync(CONFORMANCE) }, () => {
  const bundle = JSON.parse(
    readFileSync(new URL('happy-path-intoto-in-dsse-v3/bundle.sigstore.json', CONFORMANCE), 'utf8'),
  );
  const env = parseEnvelope(bundle.dsseEnvelope);
  assert.equal(env.payloadType, 'application/vnd.in-toto+json');
  assert.equal(env.signatures.length, 1);
  assert.ok(env.signatures[0]!.sig.length > 60);
  assert.equal(JSON.parse(env.payload.toString('utf8'))._type, 'https://in-toto.io/Statement/v1');
});

test('keyid, URL-safe base64 and omitted payload', () => {
  const env = parseEnvelope({
    payloadType: 't',
    signatures: [{ keyid: 'k1', sig: Buffer.from([0xfb, 0xff]).toString('base64url') }],
  });
  assert.equal(env.payload.length, 0);
  assert.equal(env.signatures[0]?.keyid, 'k1');
  assert.deepEqual(env.signatures[0]?.sig, Buffer.from([0xfb, 0xff]));
  assert.deepEqual(envelopeToJson(env).signatures, [{ keyid: 'k1', sig: '+/8=' }]);
});

test('malformed envelopes', () => {
  const sig = 'AAAA';
  malformed('{not json', /not valid JSON/);
  malformed(null, /JSON object/);
  malformed([], /JSON object/);
  malformed('"a string"', /JSON object/);
  malformed({ payload: 'aGk=', signatures: [{ sig }] }, /payloadType/);
  malformed({ payloadType: '', payload: 'aGk=', signatures: [{ sig }] }, /payloadType/);
  malformed({ payloadType: 5, payload: 'aGk=', signatures: [{ sig }] }, /payloadType/);
  malformed({ payloadType: 't', payload: 'a*k=', signatures: [{ sig }] }, /payload is not valid base64/);
  malformed({ payloadType: 't', payload: 12, signatures: [{ sig }] }, /payload must be a base64 string/);
  malformed({ payloadType: 't', payload: 'aGk=' }, /signatures/);
  malformed({ payloadType: 't', payload: 'aGk=', signatures: [] }, /signatures/);
  malformed({ payloadType: 't', payload: 'aGk=', signatures: {} }, /signatures/);
  malformed({ payloadType: 't', payload: 'aGk=', signatures: [null] }, /signatures\[0\] must be an object/);
  malformed({ payloadType: 't', payload: 'aGk=', signatures: [{}] }, /signatures\[0\]\.sig/);
  malformed({ payloadType: 't', payload: 'aGk=', signatures: [{ sig: '' }] }, /signatures\[0\]\.sig is empty/);
  malformed({ payloadType: 't', payload: 'aGk=', signatures: [{ sig: 'not base64!' }] }, /not valid base64/);
  malformed({ payloadType: 't', payload: 'aGk=', signatures: [{ sig, keyid: 7 }] }, /keyid/);
  assert.throws(() => envelopeToJson(null as never), CoreError);
});
