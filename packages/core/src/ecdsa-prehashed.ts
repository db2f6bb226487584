// ECDSA verification over a digest computed elsewhere (node:crypto always hashes what it
// verifies). The scalar multiplications run in OpenSSL through ECDH: with v = e·r⁻¹ and
// u2 = r·s⁻¹, R = u1·G + u2·Q = u2·(Q + v·G), so x(R) is ECDH(u2, Q + v·G); only one affine
// point addition is done here, in BigInt. P-256, P-384 and P-521.

import { createECDH, type ECDH, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';

interface Curve {
  name: string;
  bytes: number;
  p: bigint;
  n: bigint;
  ecdh?: ECDH;
}

const CURVES: Record<string, Curve> = {
  prime256v1: {
    name: 'prime256v1',
    bytes: 32,
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  secp384r1: {
    name: 'secp384r1',
    bytes: 48,
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  secp521r1: {
    name: 'secp521r1',
    bytes: 66,
    p: (1n << 521n) - 1n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
};

export function supportsPrehashedEcdsa(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] !== undefined;
}

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [m, mod(a, m)];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return mod(t0, m);
}

const toBigInt = (bytes: Uint8Array): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`));
const toBytes = (value: bigint, length: number): Buffer => Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex');

type Point = { x: bigint; y: bigint } | null;

/** Affine addition on y² = x³ − 3x + b (b is not needed to add points already on the curve). */
function add(a: Point, b: Point, p: bigint): Point {
  if (!a) return b;
  if (!b) return a;
  let lambda: bigint;
  if (a.x === b.x) {
    if (mod(a.y + b.y, p) === 0n) return null;
    lambda = mod((3n * a.x * a.x - 3n) * inverse(2n * a.y, p), p);
  } else {
    lambda = mod((b.y - a.y) * inverse(b.x - a.x, p), p);
  }
  const x = mod(lambda * lambda - a.x - b.x, p);
  return { x, y: mod(lambda * (a.x - x) - a.y, p) };
}

/**
 * The public point from the key's DER SubjectPublicKeyInfo, which ends with the uncompressed
 * point 0x04 ‖ x ‖ y. (Exporting from the KeyObject is avoided: node 20 can deadlock exporting
 * a freshly generated key while the garbage collector finalizes its generation job.)
 */
function pointFromSpki(spki: Uint8Array, bytes: number): Point | undefined {
  const point = spki.subarray(spki.length - 1 - 2 * bytes);
  if (point[0] !== 0x04) return undefined;
  return { x: toBigInt(point.subarray(1, 1 + bytes)), y: toBigInt(point.subarray(1 + bytes)) };
}

/** r and s of a DER ECDSA-Sig-Value, or undefined when it is not one. */
function parseSignature(der: Uint8Array): { r: bigint; s: bigint } | undefined {
  const parsed = asn1js.fromBER(der);
  if (parsed.offset !== der.length || !(parsed.result instanceof asn1js.Sequence)) return undefined;
  const [r, s, ...rest] = parsed.result.valueBlock.value;
  if (!(r instanceof asn1js.Integer) || !(s instanceof asn1js.Integer) || rest.length > 0) return undefined;
  const rBytes = r.valueBlock.valueHexView;
  const sBytes = s.valueBlock.valueHexView;
  // Negative integers (high bit set without a 0x00 pad) are not valid signature values.
  if ((rBytes[0] ?? 0) & 0x80 || (sBytes[0] ?? 0) & 0x80) return undefined;
  return { r: toBigInt(rBytes), s: toBigInt(sBytes) };
}

/**
 * True when `signature` (DER) is a valid ECDSA signature by `key` over `digest` (the hash of
 * the message, truncated to the curve's order length as ECDSA prescribes). `spki` is the key's
 * DER SubjectPublicKeyInfo with an uncompressed point.
 */
export function verifyEcdsaPrehashed(key: KeyObject, spki: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (!curve || key.asymmetricKeyType !== 'ec') return false;
  const publicPoint = pointFromSpki(spki, curve.bytes);
  if (!publicPoint) return false;
  const sig = parseSignature(signature);
  if (!sig || sig.r <= 0n || sig.r >= curve.n || sig.s <= 0n || sig.s >= curve.n) return false;
  const e = toBigInt(digest.subarray(0, curve.bytes));
  const inv = inverse(sig.r * sig.s, curve.n);
  const u2 = mod(sig.r * sig.r * inv, curve.n); // r / s
  const v = mod(e * sig.s * inv, curve.n); // e / r
  const ecdh = (curve.ecdh ??= createECDH(curve.name));
  let vG: Point = null;
  if (v !== 0n) {
    ecdh.setPrivateKey(toBytes(v, curve.bytes));
    const point = ecdh.getPublicKey();
    vG = { x: toBigInt(point.subarray(1, 1 + curve.bytes)), y: toBigInt(point.subarray(1 + curve.bytes)) };
  }
  const base = add(publicPoint, vG, curve.p);
  if (!base) return false; // R would be the point at infinity
  ecdh.setPrivateKey(toBytes(u2, curve.bytes));
  const x = toBigInt(ecdh.computeSecret(Buffer.concat([Buffer.from([4]), toBytes(base.x, curve.bytes), toBytes(base.y, curve.bytes)])));
  return mod(x, curve.n) === sig.r;
}
