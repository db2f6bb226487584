// ECDSA verification over a digest computed elsewhere (node:crypto always hashes what it
// verifies). Through the native addon when it is built (OpenSSL's ECDSA_verify, ~65 µs on P-256);
// otherwise portably, with the scalar multiplications in OpenSSL through ECDH (~200 µs): with v = e·r⁻¹ and
// u2 = r·s⁻¹, R = u1·G + u2·Q = u2·(Q + v·G), so x(R) is ECDH(u2, Q + v·G); only one affine
// point addition is done here, in BigInt. P-256, P-384 and P-521.

import { createECDH, type ECDH } from 'node:crypto';
import * as asn1js from 'asn1js';
import { encodeTlv } from './der.js';
import { nativeCrypto } from './native.js';

interface Curve {
  name: string;
  /** The addon's index for the curve. */
  index: number;
  bytes: number;
  p: bigint;
  n: bigint;
  /** y² = x³ − 3x + b */
  b: bigint;
  ecdh?: ECDH;
}

const CURVES: Record<string, Curve> = {
  prime256v1: {
    name: 'prime256v1',
    index: 0,
    bytes: 32,
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  secp384r1: {
    name: 'secp384r1',
    index: 1,
    bytes: 48,
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
  secp521r1: {
    name: 'secp521r1',
    index: 2,
    bytes: 66,
    p: (1n << 521n) - 1n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  },
};

/** True for the curves verifyEcdsaPrehashed handles (by OpenSSL name, e.g. "prime256v1"). */
export function supportsPrehashedEcdsa(curve: string): boolean {
  return Object.hasOwn(CURVES, curve);
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

/** The uncompressed point 0x04 ‖ x ‖ y as coordinates, when it is one and lies on the curve. */
function pointOnCurve(encoded: Uint8Array, curve: Curve): Point | undefined {
  if (encoded.length !== 1 + 2 * curve.bytes || encoded[0] !== 0x04) return undefined;
  const x = toBigInt(encoded.subarray(1, 1 + curve.bytes));
  const y = toBigInt(encoded.subarray(1 + curve.bytes));
  if (x >= curve.p || y >= curve.p) return undefined;
  if (mod(y * y - (x * x * x - 3n * x + curve.b), curve.p) !== 0n) return undefined;
  return { x, y };
}

/** r and s of a DER ECDSA-Sig-Value, or undefined when it is not one. */
function parseSignature(der: Uint8Array): { r: bigint; s: bigint } | undefined {
  let parsed: asn1js.FromBerResult;
  try {
    parsed = asn1js.fromBER(der);
  } catch {
    return undefined; // asn1js throws on some malformed values: not a signature either way
  }
  if (parsed.offset !== der.length || !(parsed.result instanceof asn1js.Sequence)) return undefined;
  const [r, s, ...rest] = parsed.result.valueBlock.value;
  if (!(r instanceof asn1js.Integer) || !(s instanceof asn1js.Integer) || rest.length > 0) return undefined;
  const rBytes = r.valueBlock.valueHexView;
  const sBytes = s.valueBlock.valueHexView;
  // Negative integers (high bit set without a 0x00 pad) are not valid signature values.
  if ((rBytes[0] ?? 0) & 0x80 || (sBytes[0] ?? 0) & 0x80) return undefined;
  // DER only, as OpenSSL demands: minimal integers and lengths (re-encoding gives the input back).
  const minimal = (v: Uint8Array) => v.length > 0 && !(v.length > 1 && v[0] === 0 && ((v[1] ?? 0) & 0x80) === 0);
  if (!minimal(rBytes) || !minimal(sBytes)) return undefined;
  if (!encodeTlv(0x30, Buffer.concat([encodeTlv(0x02, rBytes), encodeTlv(0x02, sBytes)])).equals(der)) return undefined;
  return { r: toBigInt(rBytes), s: toBigInt(sBytes) };
}

/**
 * True when `signature` (DER) is a valid ECDSA signature over `digest` (the hash of the message,
 * truncated to the order's length as ECDSA prescribes) by the key with uncompressed public point
 * `point` on `curveName` (OpenSSL's name, e.g. "prime256v1"; see spkiKeyInfo).
 */
export function verifyEcdsaPrehashed(curveName: string, point: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  const curve = Object.hasOwn(CURVES, curveName) ? CURVES[curveName] : undefined;
  if (!curve) return false;
  if (nativeCrypto) {
    // The same inputs as the portable route accepts: an uncompressed point and a digest.
    if (point.byteLength !== 1 + 2 * curve.bytes || point[0] !== 0x04 || digest.byteLength === 0) return false;
    return nativeCrypto.verifyDigest(curve.index, point, digest, signature);
  }
  return verifyPortably(curve, point, digest, signature);
}

/** verifyEcdsaPrehashed without the addon (exported so tests hold both routes to the same cases). */
export function verifyEcdsaPrehashedPortably(curveName: string, point: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  const curve = Object.hasOwn(CURVES, curveName) ? CURVES[curveName] : undefined;
  return curve !== undefined && verifyPortably(curve, point, digest, signature);
}

function verifyPortably(curve: Curve, point: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  const publicPoint = pointOnCurve(point, curve);
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
