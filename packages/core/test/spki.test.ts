// SubjectPublicKeyInfo reading: the fixed-prefix route for P-256 / P-384 keys gives what the
// asn1js parse gives, and anything else (other curves, RSA, Ed25519, trailing bytes) goes
// through the parse.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { parseDer } from '../src/der.js';
import { spkiKeyInfo, spkiKeyInfoOf } from '../src/spki.js';
import { CoreError } from '../src/errors.js';

function spkiOf(type: 'ec' | 'rsa' | 'ed25519', options: object = {}): Buffer {
  return (generateKeyPairSync as (t: string, o: object) => { publicKey: { export(o: object): Buffer } })(type, options).publicKey.export({ type: 'spki', format: 'der' });
}

function parsed(spki: Buffer) {
  return spkiKeyInfoOf(parseDer(spki, 'PUBLIC_KEY_INVALID', 'SubjectPublicKeyInfo'));
}

test('P-256 and P-384 keys read from their fixed DER prefix equal the parsed reading', () => {
  for (const namedCurve of ['P-256', 'P-384', 'P-521', 'secp256k1']) {
    const spki = spkiOf('ec', { namedCurve });
    const info = spkiKeyInfo(spki);
    assert.deepEqual({ ...info, point: Buffer.from((info as { point: Uint8Array }).point) }, { ...parsed(spki), point: Buffer.from((parsed(spki) as { point: Uint8Array }).point) });
  }
  assert.deepEqual(spkiKeyInfo(spkiOf('rsa', { modulusLength: 2048 })), { type: 'rsa', bits: 2048, pss: false });
  assert.deepEqual(spkiKeyInfo(spkiOf('ed25519')), { type: 'ed25519' });
});

test('a P-256 key with trailing bytes or cut short is not taken by the prefix route', () => {
  const spki = spkiOf('ec', { namedCurve: 'P-256' });
  assert.throws(() => spkiKeyInfo(Buffer.concat([spki, Buffer.from([0])])), CoreError);
  assert.throws(() => spkiKeyInfo(spki.subarray(0, spki.length - 1)), CoreError);
});
