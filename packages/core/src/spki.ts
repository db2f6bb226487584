// What a DER SubjectPublicKeyInfo holds, read with der.ts without making a KeyObject (which
// costs OpenSSL a full key decode): the key type, the EC curve and point, or the RSA size.

import { createPublicKey, type KeyObject } from 'node:crypto';
import { CoreError } from './errors.js';
import { type AsnNode, UNIVERSAL, bitStringBytes, children, contentBytes, expectTag, oidOf, parseDer } from './der.js';

export type SpkiKeyInfo =
  | { type: 'ec'; curve: string; point: Uint8Array }
  | { type: 'rsa'; bits: number; pss: boolean }
  | { type: 'ed25519' | 'ed448' }
  | { type: 'other'; oid: string };

const CURVE_NAMES: Record<string, string> = {
  '1.2.840.10045.3.1.7': 'prime256v1',
  '1.3.132.0.34': 'secp384r1',
  '1.3.132.0.35': 'secp521r1',
  '1.3.132.0.10': 'secp256k1',
};

const E = 'PUBLIC_KEY_INVALID';

/**
 * The complete DER of a named-curve EC SubjectPublicKeyInfo up to its uncompressed point: DER
 * allows exactly one encoding, so a key that starts with one of these bytes and has the point's
 * length is that structure, read without a parse (keys are checked on every log entry).
 */
const EC_SPKI_PREFIXES: { curve: string; prefix: Buffer; pointLength: number }[] = [
  // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused) 04 || X || Y }
  { curve: 'prime256v1', prefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), pointLength: 65 },
  { curve: 'secp384r1', prefix: Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'), pointLength: 97 },
];

/** The key info of an SPKI that is byte for byte the DER of a P-256 or P-384 key; undefined for any other. */
export function spkiKeyInfoFromPrefix(spki: Uint8Array): SpkiKeyInfo | undefined {
  for (const { curve, prefix, pointLength } of EC_SPKI_PREFIXES) {
    if (spki.length === prefix.length + pointLength && prefix.equals(spki.subarray(0, prefix.length))) {
      return { type: 'ec', curve, point: spki.subarray(prefix.length) };
    }
  }
  return undefined;
}

export function spkiKeyInfo(spki: Uint8Array): SpkiKeyInfo {
  return spkiKeyInfoFromPrefix(spki) ?? spkiKeyInfoOf(parseDer(spki, E, 'SubjectPublicKeyInfo', { copy: false }));
}

/** spkiKeyInfo of a SubjectPublicKeyInfo already parsed (e.g. inside a certificate). */
export function spkiKeyInfoOf(node: AsnNode): SpkiKeyInfo {
  const [algorithm, key] = children(node, E, 'SubjectPublicKeyInfo');
  const [oidNode, params] = children(algorithm, E, 'SubjectPublicKeyInfo algorithm');
  const oid = oidOf(oidNode, E, 'SubjectPublicKeyInfo algorithm');
  const bits = bitStringBytes(key, E, 'SubjectPublicKeyInfo key');
  switch (oid) {
    case '1.2.840.10045.2.1': {
      const curveOid = oidOf(params, E, 'EC curve');
      return { type: 'ec', curve: CURVE_NAMES[curveOid] ?? curveOid, point: bits };
    }
    case '1.2.840.113549.1.1.1':
    case '1.2.840.113549.1.1.10': {
      const [modulus] = children(parseDer(bits, E, 'RSA public key', { copy: false }), E, 'RSA public key');
      const n = contentBytes(expectTag(modulus, UNIVERSAL.INTEGER, E, 'RSA modulus'), E, 'RSA modulus');
      let start = 0;
      while (start < n.length && n[start] === 0) start++;
      const length = n.length - start;
      const top = n[start] ?? 0;
      return { type: 'rsa', bits: length === 0 ? 0 : (length - 1) * 8 + (32 - Math.clz32(top)), pss: oid.endsWith('.10') };
    }
    case '1.3.101.112':
      return { type: 'ed25519' };
    case '1.3.101.113':
      return { type: 'ed448' };
    default:
      return { type: 'other', oid };
  }
}

/** A human name for a key, for messages: "ECDSA P-256", "RSA 2048", "Ed25519". */
export function describeSpkiKey(info: SpkiKeyInfo): string {
  const curves: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
  switch (info.type) {
    case 'ec':
      return `ECDSA ${curves[info.curve] ?? info.curve}`;
    case 'rsa':
      return `RSA ${info.bits}`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      throw new CoreError(E, `unknown key algorithm ${info.oid}`);
  }
}

const JWK_CURVES: Record<string, { crv: string; size: number }> = {
  prime256v1: { crv: 'P-256', size: 32 },
  secp384r1: { crv: 'P-384', size: 48 },
  secp521r1: { crv: 'P-521', size: 66 },
};

/**
 * A KeyObject for an EC key given as an uncompressed point on a NIST curve, imported as a JWK:
 * OpenSSL sets such a key from its coordinates in about half the time its SPKI decoder takes.
 * Undefined for anything else (the caller decodes the SPKI instead). The point is checked by
 * OpenSSL either way.
 */
export function ecPublicKeyFromPoint(info: SpkiKeyInfo): KeyObject | undefined {
  if (info.type !== 'ec') return undefined;
  const curve = JWK_CURVES[info.curve];
  const point = info.point;
  if (!curve || point.byteLength !== 1 + 2 * curve.size || point[0] !== 0x04) return undefined;
  const bytes = Buffer.from(point.buffer, point.byteOffset, point.byteLength);
  return createPublicKey({
    key: { kty: 'EC', crv: curve.crv, x: bytes.toString('base64url', 1, 1 + curve.size), y: bytes.toString('base64url', 1 + curve.size) },
    format: 'jwk',
  });
}
