// ECDSA over a digest, by both routes (the native addon and the portable ECDH one): every
// signature node:crypto makes verifies, and every change to the digest, the signature or the key
// is refused; malformed signatures are refused, not thrown. The addon must be built here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { verifyEcdsaPrehashed, verifyEcdsaPrehashedPortably } from '../src/ecdsa-prehashed.js';
import { nativeCrypto } from '../src/native.js';
import { spkiKeyInfo } from '../src/spki.js';

const ROUTES = [
  ['native', verifyEcdsaPrehashed],
  ['portable', verifyEcdsaPrehashedPortably],
] as const;

test('the native addon is built and loaded (npm ci builds it)', () => {
  assert.ok(nativeCrypto, 'packages/core/build/Release/sigstack_native.node did not load');
});

/** Verifies by the key's SPKI, as callers do, by both routes; they must agree. */
function check(keys: { spki: Buffer }, digest: Buffer, signature: Buffer): boolean {
  const info = spkiKeyInfo(keys.spki);
  if (info.type !== 'ec') return false;
  const [native, portable] = ROUTES.map(([, verify]) => verify(info.curve, info.point, digest, signature));
  assert.equal(native, portable, 'the native and portable routes disagree');
  return native!;
}

/** A key pair made with encodings (never exported from a freshly generated KeyObject). */
function ecKeys(namedCurve: string) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return {
    spki: publicKey,
    publicKey: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }),
    privateKey: createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }),
  };
}

const CASES: [string, 'sha256' | 'sha384' | 'sha512'][] = [
  ['P-256', 'sha256'],
  ['P-256', 'sha512'],
  ['P-384', 'sha384'],
  ['P-384', 'sha256'],
  ['P-521', 'sha512'],
];

for (const [curve, hash] of CASES) {
  test(`${curve} with ${hash}: agrees with node:crypto on valid and tampered signatures`, () => {
    for (let i = 0; i < 40; i++) {
      const keys = ecKeys(curve);
      const other = ecKeys(curve);
      const message = Buffer.from(`message ${i} ${Math.random()}`);
      const digest = createHash(hash).update(message).digest();
      const signature = sign(hash, message, keys.privateKey);
      assert.ok(check(keys, digest, signature), 'valid signature');
      const wrongDigest = Buffer.from(digest);
      // ECDSA uses the digest's leftmost bits up to the order's length (32 bytes at least here).
      wrongDigest[i % 32] ^= 1;
      assert.equal(check(keys, wrongDigest, signature), false, 'other digest');
      assert.equal(check(other, digest, signature), false, 'other key');
      for (const position of [6, signature.length - 1]) {
        const tampered = Buffer.from(signature);
        tampered[position] ^= 0x10;
        assert.equal(check(keys, digest, tampered), verify(hash, message, keys.publicKey, tampered), 'tampered signature');
      }
    }
  });
}

test('malformed and out-of-range signatures are refused', () => {
  const keys = ecKeys('P-256');
  const digest = createHash('sha256').update('m').digest();
  const n = Buffer.from('00ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
  const der = (r: Buffer, s: Buffer) => Buffer.concat([Buffer.from([0x30, r.length + s.length + 4, 0x02, r.length]), r, Buffer.from([0x02, s.length]), s]);
  for (const bad of [
    Buffer.alloc(0),
    Buffer.from('3000', 'hex'),
    der(Buffer.from([0]), Buffer.from([1])),
    der(Buffer.from([1]), Buffer.from([0])),
    der(n, Buffer.from([1])),
    der(Buffer.from([0x80]), Buffer.from([1])),
    // BER, not DER: a long-form length where the short form fits.
    (() => {
      const good = sign('sha256', Buffer.from('m'), keys.privateKey);
      return Buffer.concat([Buffer.from([0x30, 0x81, good[1]!]), good.subarray(2)]);
    })(),
    Buffer.concat([sign('sha256', Buffer.from('m'), keys.privateKey), Buffer.from([0])]),
  ]) {
    assert.equal(check(keys, digest, bad), false, bad.toString('hex'));
  }
  const ed = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } });
  assert.equal(check({ spki: ed.publicKey }, digest, Buffer.alloc(64)), false);
  for (const [, verify] of ROUTES) {
    assert.equal(verify('secp256k1', Buffer.alloc(65, 4), digest, sign('sha256', Buffer.from('m'), keys.privateKey)), false);
    const info = spkiKeyInfo(keys.spki) as { curve: string; point: Uint8Array };
    assert.equal(verify(info.curve, info.point, Buffer.alloc(0), sign('sha256', Buffer.from('m'), keys.privateKey)), false, 'empty digest');
  }
});

test('a public point that is not on the curve is refused', () => {
  const keys = ecKeys('P-256');
  const info = spkiKeyInfo(keys.spki);
  assert.equal(info.type, 'ec');
  const point = Buffer.from((info as { point: Uint8Array }).point);
  point[64] ^= 1; // y changes: off the curve
  const message = Buffer.from('m');
  const signature = sign('sha256', message, keys.privateKey);
  const digest = createHash('sha256').update(message).digest();
  for (const [, verify] of ROUTES) {
    assert.equal(verify('prime256v1', point, digest, signature), false);
    assert.equal(verify('prime256v1', (info as { point: Uint8Array }).point, digest, signature), true);
    const compressed = Buffer.concat([Buffer.from([2 + (point[64]! & 1)]), point.subarray(1, 33)]);
    assert.equal(verify('prime256v1', compressed, digest, signature), false, 'compressed points are not taken');
  }
});
