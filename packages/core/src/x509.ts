// X.509 certificates for sigstore, parsed once (der.ts): validity, names, key, extensions
// (SAN, EKU, key usage, basic constraints, key ids, Fulcio's OIDC issuer), the TBS bytes its
// signature covers, and the precertificate TBS that embedded SCTs are signed over.

import { X509Certificate as NodeX509Certificate, type KeyObject } from 'node:crypto';
import { CoreError } from './errors.js';
import { pemDecodeAll } from './encoding.js';
import {
  type AsnNode,
  children,
  contentBytes,
  bitStringBytes,
  booleanOf,
  encodeTlv,
  expectTag,
  isContextTag,
  isUniversal,
  smallInteger,
  stringOf,
  timeOf,
  UNIVERSAL,
  oidOf,
  parseDer,
  rawBytes,
  tagOf,
} from './der.js';
import { signatureAlgorithmFromOid, verifySignature, verifySignatureAsync, type SignatureAlgorithm } from './signature.js';
import { ecPublicKeyFromPoint, spkiKeyInfoOf, type SpkiKeyInfo } from './spki.js';

export const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
export const OID_SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';
export const OID_PRECERT_POISON = '1.3.6.1.4.1.11129.2.4.3';
/** Fulcio's OIDC issuer extensions: .1.1 holds raw bytes (deprecated), .1.8 a DER UTF8String. */
export const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
export const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
/** Fulcio's OtherName SAN type for usernames. */
export const OID_OTHERNAME_USERNAME = '1.3.6.1.4.1.57264.1.7';

const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_SUBJECT_KEY_ID = '2.5.29.14';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';

const E = 'X509_INVALID';
const EXT = 'X509_EXTENSION_INVALID';

export type SanKind = 'email' | 'uri' | 'dns' | 'ip' | 'otherName';
export interface SubjectAltName {
  kind: SanKind;
  value: string;
  /** The OtherName type OID, for kind 'otherName'. */
  typeId?: string;
}

export interface CertificateExtension {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING's contents (the DER of the extension's value). */
  value: Buffer;
  /** The whole Extension element as encoded. */
  raw: Uint8Array;
}

/** A parsed X.509 certificate. Construction throws CoreError('X509_INVALID') for bad DER. */
export class X509 {
  readonly der: Buffer;
  /** The DER TBSCertificate: what the issuer signed. */
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly signature: Buffer;
  readonly serialNumber: Buffer;
  readonly issuerDer: Buffer;
  readonly subjectDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKeySpki: Buffer;
  readonly extensions: readonly CertificateExtension[];
  private readonly tbsParts: { beforeExtensions: Uint8Array[] };
  private cachedKey: KeyObject | undefined;
  /** Extension values decoded once (a trusted CA certificate is asked again for every bundle). */
  private readonly decoded = new Map<string, unknown>();
  private readonly spkiNode: AsnNode;

  private constructor(der: Buffer) {
    this.der = der;
    const [tbsNode, algNode, sigNode, ...extra] = children(parseDer(der, E, 'certificate', { copy: false }), E, 'certificate');
    if (!tbsNode || !algNode || !sigNode || extra.length > 0) throw new CoreError(E, 'certificate must have 3 parts');
    this.tbs = rawBytes(tbsNode);
    this.signatureAlgorithm = signatureAlgorithmFromOid(oidOf(children(algNode, E, 'signatureAlgorithm')[0], E, 'signatureAlgorithm'), algNode);
    this.signature = Buffer.from(bitStringBytes(sigNode, E, 'signatureValue'));

    const parts = children(tbsNode, E, 'tbsCertificate');
    let i = 0;
    if (isContextTag(parts[0], 0)) i++; // version
    const serial = parts[i++];
    i++; // signature algorithm inside TBS
    const issuer = parts[i++];
    const validity = children(parts[i++], E, 'validity');
    const subject = parts[i++];
    const spki = parts[i++];
    if (!serial || !issuer || !subject || !spki || validity.length !== 2) throw new CoreError(E, 'tbsCertificate is incomplete');
    this.serialNumber = Buffer.from(contentBytes(serial, E, 'serialNumber'));
    this.issuerDer = Buffer.from(rawBytes(issuer));
    this.subjectDer = Buffer.from(rawBytes(subject));
    this.notBefore = asTime(validity[0]);
    this.notAfter = asTime(validity[1]);
    this.publicKeySpki = Buffer.from(rawBytes(spki));
    this.spkiNode = spki;

    const before: Uint8Array[] = parts.slice(0, i).map(rawBytes);
    let extensions: CertificateExtension[] = [];
    for (const rest of parts.slice(i)) {
      if (isContextTag(rest, 3)) {
        extensions = children(children(rest, E, 'extensions')[0], E, 'extensions').map(parseExtension);
      } else {
        before.push(rawBytes(rest)); // issuerUniqueID / subjectUniqueID
      }
    }
    this.tbsParts = { beforeExtensions: before };
    this.extensions = extensions;
  }

  /** Parses a copy of `der`, so later changes to the caller's bytes cannot reach it. */
  static fromDer(der: Uint8Array): X509 {
    return new X509(Buffer.from(der));
  }

  /** The first CERTIFICATE block of a PEM text. */
  static fromPem(pem: string): X509 {
    const block = pemDecodeAll(pem).find((b) => b.label === 'CERTIFICATE');
    if (!block) throw new CoreError(E, 'no CERTIFICATE block in PEM text');
    return X509.fromDer(block.der);
  }

  /**
   * The subject public key as a node KeyObject (made once). EC keys are set from their point
   * (cheapest); others are taken from OpenSSL's own parse of the certificate, which costs less
   * than decoding the SubjectPublicKeyInfo on its own.
   */
  get publicKey(): KeyObject {
    if (!this.cachedKey) {
      try {
        this.cachedKey = ecPublicKeyFromPoint(this.publicKeyInfo) ?? new NodeX509Certificate(this.der).publicKey;
      } catch (err) {
        throw new CoreError(E, `certificate public key is not usable: ${(err as Error).message}`, { cause: err });
      }
    }
    return this.cachedKey;
  }

  /** What the subject public key is (type, curve and point, or RSA size), without a KeyObject. */
  get publicKeyInfo(): SpkiKeyInfo {
    return this.remember('publicKeyInfo', () => spkiKeyInfoOf(this.spkiNode));
  }

  extension(oid: string): CertificateExtension | undefined {
    return this.extensions.find((ext) => ext.oid === oid);
  }

  equals(other: X509): boolean {
    return this.der.equals(other.der);
  }

  /** True when `issuer`'s subject is this certificate's issuer and their key identifiers, when both are present, agree. */
  namesIssuer(issuer: X509): boolean {
    if (!this.issuerDer.equals(issuer.subjectDer)) return false;
    const aki = this.authorityKeyIdentifier;
    const ski = issuer.subjectKeyIdentifier;
    return !aki || !ski || aki.equals(ski);
  }

  /** namesIssuer, and this certificate's signature verifies under the issuer's key. */
  isSignedBy(issuer: X509): boolean {
    return this.namesIssuer(issuer) && verifySignature(this.signatureAlgorithm, this.tbs, issuer.publicKey, this.signature);
  }

  /** isSignedBy with the signature checked on libuv's thread pool (see verifySignatureAsync). */
  async isSignedByAsync(issuer: X509): Promise<boolean> {
    return this.namesIssuer(issuer) && verifySignatureAsync(this.signatureAlgorithm, this.tbs, issuer.publicKey, this.signature);
  }

  get isSelfIssued(): boolean {
    return this.issuerDer.equals(this.subjectDer);
  }

  get basicConstraints(): { isCA: boolean; pathLength?: number } | undefined {
    return this.remember('basicConstraints', () => {
      const ext = this.extension(OID_BASIC_CONSTRAINTS);
      if (!ext) return undefined;
      const fields = children(parseDer(ext.value, EXT, 'basicConstraints', { copy: false }), EXT, 'basicConstraints');
      let isCA = false;
      let pathLength: number | undefined;
      for (const field of fields) {
        if (isUniversal(field, UNIVERSAL.BOOLEAN)) isCA = booleanOf(field, EXT, 'basicConstraints cA');
        else if (isUniversal(field, UNIVERSAL.INTEGER)) pathLength = smallInteger(field, EXT, 'basicConstraints pathLenConstraint');
      }
      return pathLength === undefined ? { isCA } : { isCA, pathLength };
    });
  }

  get isCA(): boolean {
    return this.basicConstraints?.isCA === true;
  }

  get keyUsage(): { digitalSignature: boolean; keyCertSign: boolean } | undefined {
    return this.remember('keyUsage', () => {
      const ext = this.extension(OID_KEY_USAGE);
      if (!ext) return undefined;
      const bits = bitStringBytes(parseDer(ext.value, EXT, 'keyUsage', { copy: false }), EXT, 'keyUsage');
      const first = bits[0] ?? 0;
      return { digitalSignature: (first & 0x80) !== 0, keyCertSign: (first & 0x04) !== 0 };
    });
  }

  get extendedKeyUsage(): readonly string[] {
    return this.remember('extendedKeyUsage', () => {
      const ext = this.extension(OID_EXT_KEY_USAGE);
      if (!ext) return [];
      return children(parseDer(ext.value, EXT, 'extKeyUsage', { copy: false }), EXT, 'extKeyUsage').map((n) => oidOf(n, EXT, 'extKeyUsage'));
    });
  }

  get subjectKeyIdentifier(): Buffer | undefined {
    return this.remember('subjectKeyIdentifier', () => {
      const ext = this.extension(OID_SUBJECT_KEY_ID);
      return ext ? Buffer.from(contentBytes(parseDer(ext.value, EXT, 'subjectKeyIdentifier', { copy: false }), EXT, 'subjectKeyIdentifier')) : undefined;
    });
  }

  get authorityKeyIdentifier(): Buffer | undefined {
    return this.remember('authorityKeyIdentifier', () => {
      const ext = this.extension(OID_AUTHORITY_KEY_ID);
      if (!ext) return undefined;
      const keyId = children(parseDer(ext.value, EXT, 'authorityKeyIdentifier', { copy: false }), EXT, 'authorityKeyIdentifier').find((n) => isContextTag(n, 0));
      return keyId ? Buffer.from(contentBytes(keyId, EXT, 'authorityKeyIdentifier')) : undefined;
    });
  }

  get subjectAltNames(): readonly SubjectAltName[] {
    return this.remember('subjectAltNames', () => {
      const ext = this.extension(OID_SUBJECT_ALT_NAME);
      if (!ext) return [];
      const names: SubjectAltName[] = [];
      for (const name of children(parseDer(ext.value, EXT, 'subjectAltName', { copy: false }), EXT, 'subjectAltName')) {
        const { cls, number } = tagOf(name);
        if (cls !== 3) throw new CoreError(EXT, 'subjectAltName: unexpected element');
        if (number === 0) {
          const [typeId, explicit] = children(name, EXT, 'otherName');
          const inner = children(explicit, EXT, 'otherName value')[0];
          names.push({ kind: 'otherName', typeId: oidOf(typeId, EXT, 'otherName'), value: stringValue(inner, EXT, 'otherName value') });
          continue;
        }
        const text = () => Buffer.from(contentBytes(name, EXT, 'subjectAltName')).toString('utf8');
        if (number === 1) names.push({ kind: 'email', value: text() });
        else if (number === 2) names.push({ kind: 'dns', value: text() });
        else if (number === 6) names.push({ kind: 'uri', value: text() });
        else if (number === 7) names.push({ kind: 'ip', value: formatIp(contentBytes(name, EXT, 'iPAddress')) });
      }
      return names;
    });
  }

  /**
   * The OIDC issuer Fulcio recorded: extension .1.8 (a DER UTF8String), or for older
   * certificates .1.1 (the raw issuer bytes). Undefined when neither is present.
   */
  get oidcIssuer(): string | undefined {
    const v2 = this.derStringExtension(OID_FULCIO_ISSUER_V2);
    if (v2 !== undefined) return v2;
    return this.extension(OID_FULCIO_ISSUER_V1)?.value.toString('utf8');
  }

  /** A Fulcio extension holding a DER string (OIDs 1.3.6.1.4.1.57264.1.8 and later). */
  derStringExtension(oid: string): string | undefined {
    const ext = this.extension(oid);
    return ext ? stringValue(parseDer(ext.value, EXT, `extension ${oid}`, { copy: false }), EXT, `extension ${oid}`) : undefined;
  }

  /** The TLS-encoded SignedCertificateTimestampList of the embedded-SCT extension, if any. */
  get sctListBytes(): Buffer | undefined {
    const ext = this.extension(OID_SCT_LIST);
    if (!ext) return undefined;
    return Buffer.from(contentBytes(expectTag(parseDer(ext.value, EXT, 'SCT list', { copy: false }), UNIVERSAL.OCTET_STRING, EXT, 'SCT list'), EXT, 'SCT list'));
  }

  /**
   * The TBSCertificate as it was in the precertificate: this certificate's TBS without the
   * embedded-SCT extension, re-encoded in DER (RFC 6962 §3.2).
   */
  precertificateTbs(): Buffer {
    return this.tbsWithoutExtension(OID_SCT_LIST);
  }

  /** This certificate's TBS with one extension left out, re-encoded in DER (the rest byte for byte). */
  tbsWithoutExtension(oid: string): Buffer {
    const kept = this.extensions.filter((ext) => ext.oid !== oid).map((ext) => ext.raw);
    const extensions = kept.length > 0 ? [encodeTlv(0xa3, encodeTlv(0x30, Buffer.concat(kept)))] : [];
    return encodeTlv(0x30, Buffer.concat([...this.tbsParts.beforeExtensions, ...extensions]));
  }

  private remember<T>(name: string, decode: () => T): T {
    if (!this.decoded.has(name)) {
      const value = decode();
      this.decoded.set(name, Array.isArray(value) ? Object.freeze(value) : value);
    }
    return this.decoded.get(name) as T;
  }

  /** True when `date` lies within [notBefore, notAfter]. */
  validAt(date: Date): boolean {
    const t = date.getTime();
    return this.notBefore.getTime() <= t && t <= this.notAfter.getTime();
  }
}

function parseExtension(node: AsnNode): CertificateExtension {
  const fields = children(node, E, 'extension');
  const oid = oidOf(fields[0], E, 'extension id');
  let critical = false;
  let valueNode = fields[1];
  if (isUniversal(valueNode, UNIVERSAL.BOOLEAN)) {
    critical = booleanOf(valueNode, E, `extension ${oid} critical`);
    valueNode = fields[2];
  }
  const value = contentBytes(expectTag(valueNode, UNIVERSAL.OCTET_STRING, E, `extension ${oid}`), E, `extension ${oid}`);
  return { oid, critical, value: Buffer.from(value), raw: rawBytes(node) };
}

function asTime(node: AsnNode | undefined): Date {
  try {
    return timeOf(node, E, 'certificate validity');
  } catch {
    throw new CoreError(E, 'certificate validity has a malformed time');
  }
}

function stringValue(node: AsnNode | undefined, code: string, what: string): string {
  return stringOf(node, code, what);
}

function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}
