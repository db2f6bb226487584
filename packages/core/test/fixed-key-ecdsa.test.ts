// The fixed-key ECDSA route (native tables for a trusted P-384 / P-521 key, OpenSSL's own check
// on a P-256 key decoded once) against node:crypto
// on the same signatures: every good one verifies, and every altered digest, altered or
// malformed signature, or other key fails, exactly as OpenSSL decides.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { FixedKeyVerifier, hasNativeEcdsa, spkiKeyInfo } from '../src/index.js';

const HAS_ADDON = hasNativeEcdsa();

function keyInfo(publicKey: import('node:crypto').KeyObject) {
  return spkiKeyInfo(publicKey.export({ type: 'spki', format: 'der' }));
}

test('P-256, P-384 and P-521 signatures: the same verdict as node:crypto on good, altered and malformed input', { skip: !HAS_ADDON && 'native addon not built' }, () => {
  for (const [curve, hashes] of [['P-256', ['sha256', 'sha384']], ['P-384', ['sha384', 'sha256', 'sha512']], ['P-521', ['sha512', 'sha256']]] as const) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
    const other = generateKeyPairSync('ec', { namedCurve: curve });
    const fixed = FixedKeyVerifier.for(keyInfo(publicKey));
    assert.ok(fixed, `${curve} takes the fixed-key route`);
    const otherFixed = FixedKeyVerifier.for(keyInfo(other.publicKey))!;
    for (const hash of hashes) {
      for (let i = 0; i < 40; i++) {
        const data = Buffer.from(`message ${i} ${hash}`);
        const signature = sign(hash, data, privateKey);
        assert.equal(fixed.verify(hash, data, signature), true, `${curve} ${hash} #${i}`);
        assert.equal(otherFixed.verify(hash, data, signature), false, 'another key');
        assert.equal(fixed.verify(hash, Buffer.from(`message ${i + 1} ${hash}`), signature), false, 'other data');
        const flipped = Buffer.from(signature);
        flipped[flipped.length - 1]! ^= 1 << (i % 8);
        assert.equal(fixed.verify(hash, data, flipped), verify(hash, data, publicKey, flipped), 'a flipped bit');
      }
      const data = Buffer.from('edge cases');
      const signature = sign(hash, data, privateKey);
      for (const bad of [Buffer.alloc(0), signature.subarray(0, signature.length - 1), Buffer.concat([signature, Buffer.from([0])]), Buffer.from('300602010002010 1'.replace(' ', ''), 'hex'), Buffer.from('3006020101020100', 'hex')]) {
        assert.equal(fixed.verify(hash, data, bad), false, `malformed ${bad.toString('hex').slice(0, 20)}`);
      }
      assert.equal(fixed.verifyDigest(createHash(hash).update(data).digest(), signature), true);
    }
  }
});

test('Ed25519, RSA and other curves keep node:crypto (no fixed-key route)', () => {
  assert.equal(FixedKeyVerifier.for(keyInfo(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey)), undefined);
  assert.equal(FixedKeyVerifier.for(keyInfo(generateKeyPairSync('ed25519').publicKey)), undefined);
  assert.equal(FixedKeyVerifier.for(keyInfo(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)), undefined);
});

test('a signature that is not DER (a padded INTEGER) fails, as in OpenSSL', { skip: !HAS_ADDON && 'native addon not built' }, () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const fixed = FixedKeyVerifier.for(keyInfo(publicKey))!;
  const data = Buffer.from('padded');
  for (let i = 0; i < 20; i++) {
    const der = sign('sha384', Buffer.concat([data, Buffer.from([i])]), privateKey);
    // SEQUENCE { INTEGER r, INTEGER s }: re-encode r with one more leading zero byte.
    const rLength = der[3]!;
    const r = der.subarray(4, 4 + rLength);
    const rest = der.subarray(4 + rLength);
    const padded = Buffer.concat([Buffer.from([0x30, der[1]! + 1, 0x02, rLength + 1, 0x00]), r, rest]);
    if (der[1]! + 1 >= 0x80) continue; // keep the short length form
    assert.equal(verify('sha384', Buffer.concat([data, Buffer.from([i])]), publicKey, padded), false, 'OpenSSL refuses it');
    assert.equal(fixed.verify('sha384', Buffer.concat([data, Buffer.from([i])]), padded), false);
    assert.equal(fixed.verify('sha384', Buffer.concat([data, Buffer.from([i])]), der), true);
  }
});
