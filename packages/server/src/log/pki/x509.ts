// The x509 public key format (Rekor's pkg/pki/x509): PEM certificates, certificate chains and
// public keys (SPKI, also PKCS#1 RSA), canonicalized as Rekor re-encodes them, and raw
// signatures (DER ECDSA, RSA PKCS#1 v1.5 / PSS, Ed25519) checked over data or over a digest.

import { createHash, createPublicKey, X509Certificate as NodeX509Certificate, type KeyObject } from 'node:crypto';
import {
  CoreError,
  OID_OTHERNAME_USERNAME,
  X509,
  pemDecodeAll,
  pemEncode,
  describeSpkiKey,
  spkiKeyInfo,
  verifyPrehashedSignature,
  verifySignatureAsync,
  type HashName,
  type SignatureAlgorithm,
  type SpkiKeyInfo,
} from '@sigstack/core';
import { ServiceError, badRequest } from '../../errors.js';
import type { PkiFormat, PkiPublicKey, PkiSignature } from './types.js';

const KEY_INVALID = 'PUBLIC_KEY_INVALID';
const SIG_FORMAT = 'SIGNATURE_INVALID_FORMAT';

/** Rekor parses at most this many certificates from one PEM chain. */
const MAX_CHAIN = 10;
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 16384;
const EC_CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/**
 * Refuses keys the log does not accept: RSA shorter than 2048 bits (or absurdly long), ECDSA
 * on curves other than P-256/P-384/P-521, and key types other than RSA, ECDSA and Ed25519.
 * Throws ServiceError 400 PUBLIC_KEY_INVALID.
 */
export function assertAcceptableKey(info: SpkiKeyInfo, what = 'public key'): void {
  if (info.type === 'rsa') {
    if (info.bits < RSA_MIN_BITS) throw badRequest(KEY_INVALID, `${what} is a ${info.bits}-bit RSA key; at least ${RSA_MIN_BITS} bits are required`);
    if (info.bits > RSA_MAX_BITS) throw badRequest(KEY_INVALID, `${what} is a ${info.bits}-bit RSA key; at most ${RSA_MAX_BITS} bits are accepted`);
    return;
  }
  if (info.type === 'ec') {
    if (!Object.hasOwn(EC_CURVES, info.curve)) throw badRequest(KEY_INVALID, `${what} uses the elliptic curve ${info.curve}; only P-256, P-384 and P-521 are supported`);
    return;
  }
  if (info.type === 'ed25519') return;
  throw badRequest(KEY_INVALID, `${what} is a ${info.type === 'other' ? info.oid : info.type} key; only RSA (2048+ bits), ECDSA (P-256/P-384/P-521) and Ed25519 keys are supported`);
}

/** A human name for a key, for messages: "ECDSA P-256", "RSA 2048", "Ed25519". */
export function describeKey(info: SpkiKeyInfo): string {
  return info.type === 'other' ? `unknown (${info.oid})` : describeSpkiKey(info);
}

/** The digest a key implies for signing: SHA-384 for P-384, SHA-512 for P-521, none for Ed25519, else SHA-256. */
export function impliedHash(info: SpkiKeyInfo): HashName | null {
  if (info.type === 'ed25519') return null;
  if (info.type === 'ec') {
    if (info.curve === 'secp384r1') return 'sha384';
    if (info.curve === 'secp521r1') return 'sha512';
  }
  return 'sha256';
}

/** A parsed x509 verifier: a bare public key, one certificate, or a certificate chain (leaf first). */
export class X509PublicKey implements PkiPublicKey {
  readonly format = 'x509' as const;
  /** The leaf certificate, when the verifier is a certificate or a chain. */
  readonly certificate: X509 | undefined;
  /** Every certificate given, leaf first; empty for a bare key. */
  readonly chain: readonly X509[];
  /** DER SubjectPublicKeyInfo of the signing key. */
  readonly spki: Buffer;
  /** What the key is, read from the SPKI (no OpenSSL key decode needed for the digest-only path). */
  readonly info: SpkiKeyInfo;
  private key: KeyObject | undefined;
  private readonly canonical: Buffer;

  constructor(spki: Buffer, chain: readonly X509[], key?: KeyObject) {
    this.spki = spki;
    this.chain = chain;
    this.certificate = chain[0];
    this.key = key;
    try {
      this.info = spkiKeyInfo(spki);
    } catch (err) {
      throw keyError('invalid public key: not a DER SubjectPublicKeyInfo', err);
    }
    // Rekor: cryptoutils.MarshalPublicKeyToPEM / MarshalCertificate(s)ToPEM.
    this.canonical = Buffer.from(
      chain.length > 0 ? chain.map((c) => pemEncode('CERTIFICATE', c.der)).join('') : pemEncode('PUBLIC KEY', this.spki),
      'utf8',
    );
  }

  /** The key that signs as a node KeyObject: the bare key, or the (leaf) certificate's subject key; made on first use. */
  get keyObject(): KeyObject {
    if (!this.key) {
      try {
        this.key = this.certificate ? this.certificate.publicKey : createPublicKey({ key: this.spki, format: 'der', type: 'spki' });
      } catch (err) {
        throw keyError('invalid public key: it cannot be loaded', err);
      }
    }
    return this.key;
  }

  /** PEM, as Rekor re-encodes it: "PUBLIC KEY" (SPKI) for keys, "CERTIFICATE" blocks for certificates. */
  canonicalValue(): Buffer {
    return Buffer.from(this.canonical);
  }

  /** Hex SHA-256 of the canonical value (Rekor's publicKey search key). */
  fingerprint(): string {
    return createHash('sha256').update(this.canonical).digest('hex');
  }

  /**
   * The leaf certificate's subject alternative names as Rekor's Subjects() lists them: DNS
   * names, email addresses, IP addresses, URIs, then Fulcio's username OtherName. None for keys.
   */
  subjects(): string[] {
    const cert = this.certificate;
    if (!cert) return [];
    let sans;
    try {
      sans = cert.subjectAltNames;
    } catch {
      return [];
    }
    const of = (kind: string) => sans.filter((s) => s.kind === kind).map((s) => (kind === 'ip' ? formatIp(s.value) : s.value));
    const other = sans.filter((s) => s.kind === 'otherName' && s.typeId === OID_OTHERNAME_USERNAME).map((s) => s.value);
    return [...of('dns'), ...of('email'), ...of('ip'), ...of('uri'), ...other.slice(0, 1)];
  }

  /** The leaf certificate's email SANs, lowercased (Rekor's EmailAddresses()). */
  emails(): string[] {
    const cert = this.certificate;
    if (!cert) return [];
    try {
      return cert.subjectAltNames.filter((s) => s.kind === 'email' && looksLikeEmail(s.value)).map((s) => s.value.toLowerCase());
    } catch {
      return [];
    }
  }
}

export function looksLikeEmail(value: string): boolean {
  return /^[^\s@<>()[\]\\,;:"/]+@[^\s@<>()[\]\\,;:"/]+\.[^\s@<>()[\]\\,;:"/]+$/.test(value);
}

/** Go's net.IP.String(): IPv6 with the longest run of zero groups shortened to "::". */
function formatIp(value: string): string {
  const groups = value.split(':');
  if (groups.length !== 8) return value;
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return value;
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function keyError(message: string, err?: unknown): ServiceError {
  const detail = err instanceof Error ? `: ${err.message}` : '';
  return new ServiceError(400, KEY_INVALID, `${message}${detail}`, err === undefined ? undefined : { cause: err });
}

function parseCertificate(der: Uint8Array, what: string): X509 {
  let cert: X509;
  try {
    cert = X509.fromDer(der);
  } catch (err) {
    throw keyError(`${what} is not a valid X.509 certificate`, err);
  }
  let info: SpkiKeyInfo;
  try {
    info = spkiKeyInfo(cert.publicKeySpki);
  } catch (err) {
    throw keyError(`${what} has an unusable public key`, err);
  }
  assertAcceptableKey(info, `the key of ${what}`);
  return cert;
}

/**
 * Checks a PEM chain as Rekor does (Go's x509 Verify with the last certificate as the root, at
 * the leaf's notBefore): each certificate is issued and signed by the next, issuers are CAs, and
 * all are valid when the leaf was issued.
 */
function verifyChain(chain: X509[]): void {
  const leafTime = chain[0]!.notBefore;
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    if (!cert.validAt(leafTime)) throw keyError(`certificate ${i} of the chain is not valid at the leaf certificate's notBefore`);
    if (i === chain.length - 1) break;
    const issuer = chain[i + 1]!;
    if (!issuer.isCA) throw keyError(`certificate ${i + 1} of the chain is not a CA certificate`);
    let ok = false;
    try {
      const child = new NodeX509Certificate(cert.der);
      const parent = new NodeX509Certificate(issuer.der);
      ok = child.checkIssued(parent) && child.verify(parent.publicKey);
    } catch {
      ok = false;
    }
    if (!ok) throw keyError(`certificate ${i} of the chain is not signed by certificate ${i + 1}`);
  }
}

/**
 * Parses a PEM verifier as clients submit it: a CERTIFICATE, a chain of up to 10 CERTIFICATE
 * blocks (leaf first), a PUBLIC KEY (SPKI) or an RSA PUBLIC KEY (PKCS#1). Throws ServiceError
 * 400 PUBLIC_KEY_INVALID, also for weak keys.
 */
export function parseX509PublicKey(content: Uint8Array | string): X509PublicKey {
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  let blocks;
  try {
    blocks = pemDecodeAll(text.trim());
  } catch (err) {
    throw keyError('invalid public key: failure decoding PEM', err);
  }
  if (blocks.length > 1) {
    if (blocks.length > MAX_CHAIN) throw keyError(`a certificate chain may hold at most ${MAX_CHAIN} certificates (got ${blocks.length})`);
    const chain = blocks.map((b, i) => {
      if (b.label !== 'CERTIFICATE') throw keyError(`PEM block ${i} is "${b.label}"; a chain must hold only CERTIFICATE blocks`);
      return parseCertificate(b.der, `certificate ${i} of the chain`);
    });
    verifyChain(chain);
    return new X509PublicKey(chain[0]!.publicKeySpki, chain);
  }
  const block = blocks[0]!;
  if (block.label === 'CERTIFICATE') {
    const cert = parseCertificate(block.der, 'the certificate');
    return new X509PublicKey(cert.publicKeySpki, [cert]);
  }
  if (block.label === 'PUBLIC KEY' || block.label === 'RSA PUBLIC KEY') {
    return x509KeyFromSpkiOrPkcs1(block.der, block.label === 'PUBLIC KEY' ? 'spki' : 'pkcs1');
  }
  throw keyError(`invalid public key: cannot handle PEM type "${block.label}" (expected CERTIFICATE or PUBLIC KEY)`);
}

function x509KeyFromSpkiOrPkcs1(der: Buffer, type: 'spki' | 'pkcs1'): X509PublicKey {
  let key: KeyObject | undefined;
  let spki = der;
  if (type === 'pkcs1') {
    // PKCS#1 RSA keys are rare: let OpenSSL read them and re-encode as SPKI.
    try {
      key = createPublicKey({ key: der, format: 'der', type: 'pkcs1' });
      spki = key.export({ format: 'der', type: 'spki' });
    } catch (err) {
      throw keyError('invalid public key: not a PKCS#1 RSA public key', err);
    }
  }
  const parsed = new X509PublicKey(spki, [], key);
  assertAcceptableKey(parsed.info);
  return parsed;
}

/** A verifier given as DER (Rekor v2 requests): an SPKI public key or a certificate. */
export function x509PublicKeyFromDer(der: Uint8Array, kind: 'spki' | 'certificate'): X509PublicKey {
  if (kind === 'certificate') {
    const cert = parseCertificate(der, 'the certificate');
    return new X509PublicKey(cert.publicKeySpki, [cert]);
  }
  return x509KeyFromSpkiOrPkcs1(Buffer.from(der), 'spki');
}

/**
 * Checks a raw signature over `data`. With `hash` given, exactly that algorithm (null for pure
 * Ed25519; RSA uses PKCS#1 v1.5). Without it, as Rekor's x509 verifier and real clients sign:
 * the key's implied hash, then SHA-256 (Rekor's default) if different; RSA also tries PSS.
 */
export async function verifyX509Signature(data: Uint8Array, key: KeyObject, signature: Uint8Array, hash?: HashName | null): Promise<boolean> {
  if (signature.length === 0) return false;
  const algorithms: SignatureAlgorithm[] = [];
  if (key.asymmetricKeyType === 'ed25519') {
    algorithms.push({ name: 'Ed25519', hash: null });
  } else if (hash !== undefined) {
    if (hash === null) return false;
    algorithms.push({ name: hash, hash });
  } else {
    const implied = key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'sha384'
      : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp521r1' ? 'sha512' : 'sha256';
    const hashes: HashName[] = implied === 'sha256' ? ['sha256'] : [implied, 'sha256'];
    for (const h of hashes) {
      algorithms.push({ name: h, hash: h });
      if (key.asymmetricKeyType === 'rsa') algorithms.push({ name: `${h}-pss`, hash: h, pss: true });
    }
  }
  for (const alg of algorithms) {
    if (await verifySignatureAsync(alg, data, key, signature)) return true;
  }
  return false;
}

/**
 * Checks a signature over a digest computed by the client (hashedrekord): ECDSA, or RSA
 * PKCS#1 v1.5. Ed25519 signs the message itself, so it is refused with ServiceError 400
 * ENTRY_ALGORITHM_UNSUPPORTED (Rekor would need Ed25519ph, which this log does not support).
 */
export async function verifyX509PrehashedSignature(key: X509PublicKey, digest: Uint8Array, hash: HashName, signature: Uint8Array): Promise<boolean> {
  if (key.info.type === 'ed25519') {
    throw badRequest('ENTRY_ALGORITHM_UNSUPPORTED', 'Ed25519 keys cannot sign a digest (hashedrekord needs Ed25519ph, which this log does not support); submit the signature as a rekord entry with the artifact, or use an ECDSA or RSA key');
  }
  if (signature.length === 0) return false;
  try {
    return verifyPrehashedSignature(key.spki, digest, hash, signature);
  } catch (err) {
    if (err instanceof CoreError) throw badRequest('ENTRY_ALGORITHM_UNSUPPORTED', `the signature cannot be checked against a digest: ${err.message}`);
    throw err;
  }
}

/** A raw x509 signature (Rekor stores its bytes unchanged). */
export class X509Signature implements PkiSignature {
  readonly format = 'x509' as const;
  private readonly bytes: Buffer;

  constructor(bytes: Uint8Array) {
    this.bytes = Buffer.from(bytes);
  }

  canonicalValue(): Buffer {
    return Buffer.from(this.bytes);
  }

  verify(data: Buffer, key: PkiPublicKey): Promise<boolean> {
    if (!(key instanceof X509PublicKey)) return Promise.resolve(false);
    return verifyX509Signature(data, key.keyObject, this.bytes);
  }
}

export const x509Format: PkiFormat = {
  name: 'x509',
  parsePublicKey(content: Buffer): PkiPublicKey {
    return parseX509PublicKey(content);
  },
  parseSignature(content: Buffer): PkiSignature {
    if (!(content instanceof Uint8Array) || content.length === 0) throw badRequest(SIG_FORMAT, 'the x509 signature is empty');
    return new X509Signature(content);
  },
};
