// ASN.1 pieces the TSA needs beyond @peculiar/asn1-cms / asn1-tsp: the ESS signing-certificate-v2
// attribute (RFC 5035), a DER SET OF Attribute for the signed attributes, PKIFailureInfo bits
// (RFC 3161 §2.4.2), and the object identifiers the TSA uses.

import * as asn1js from 'asn1js';
import {
  AsnArray,
  AsnConvert,
  AsnIntegerArrayBufferConverter,
  AsnProp,
  AsnPropTypes,
  AsnType,
  AsnTypeTypes,
  OctetString,
} from '@peculiar/asn1-schema';
import { Attribute } from '@peculiar/asn1-cms';
import { PKIFailureInfo } from '@peculiar/asn1-tsp';
import { AlgorithmIdentifier, GeneralNames } from '@peculiar/asn1-x509';

/** Sigstore's timestamping policy (sigstore/timestamp-authority's default-policy-oid). */
export const SIGSTORE_TSA_POLICY = '1.3.6.1.4.1.57264.2';
/** id-kp-timeStamping (RFC 5280 §4.2.1.12): the one EKU a TSA certificate carries (RFC 3161 §2.3). */
export const OID_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
export const OID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
export const OID_ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3';
export const OID_ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
export const OID_ATTR_SIGNING_TIME = '1.2.840.113549.1.9.5';
export const OID_ATTR_SIGNING_CERT_V2 = '1.2.840.113549.1.9.16.2.47';

export type TimestampHash = 'sha256' | 'sha384' | 'sha512';

/** NIST hash OIDs (RFC 5754) the TSA accepts in a message imprint. */
export const HASH_OIDS: Readonly<Record<TimestampHash, string>> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};
export const HASH_LENGTHS: Readonly<Record<TimestampHash, number>> = { sha256: 32, sha384: 48, sha512: 64 };
export const OID_SHA1 = '1.3.14.3.2.26';

export function hashByOid(oid: string): TimestampHash | undefined {
  return (Object.keys(HASH_OIDS) as TimestampHash[]).find((name) => HASH_OIDS[name] === oid);
}

/** A hash AlgorithmIdentifier with absent parameters (RFC 5754 §2). */
export function hashAlgorithmIdentifier(hash: TimestampHash): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: HASH_OIDS[hash] });
}

/** IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber } (RFC 5035) */
export class IssuerSerial {
  @AsnProp({ type: GeneralNames })
  issuer = new GeneralNames();

  @AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })
  serialNumber = new ArrayBuffer(0);

  constructor(params: Partial<IssuerSerial> = {}) {
    Object.assign(this, params);
  }
}

/**
 * ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
 *   certHash Hash, issuerSerial IssuerSerial OPTIONAL }   (RFC 5035 §4); DER omits the default.
 */
export class EssCertIdV2 {
  @AsnProp({ type: AlgorithmIdentifier, optional: true })
  hashAlgorithm?: AlgorithmIdentifier;

  @AsnProp({ type: OctetString })
  certHash = new OctetString();

  @AsnProp({ type: IssuerSerial, optional: true })
  issuerSerial?: IssuerSerial;

  constructor(params: Partial<EssCertIdV2> = {}) {
    Object.assign(this, params);
  }
}

/** SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies … OPTIONAL } (RFC 5035 §3) */
export class SigningCertificateV2 {
  @AsnProp({ type: EssCertIdV2, repeated: 'sequence' })
  certs: EssCertIdV2[] = [];

  constructor(params: Partial<SigningCertificateV2> = {}) {
    Object.assign(this, params);
  }
}

/** SignedAttributes ::= SET SIZE (1..MAX) OF Attribute, encoded on its own: the bytes a SignerInfo signs. */
@AsnType({ type: AsnTypeTypes.Set, itemType: Attribute })
export class AttributeSet extends AsnArray<Attribute> {
  constructor(items?: Attribute[]) {
    super(items);
    Object.setPrototypeOf(this, AttributeSet.prototype);
  }
}

/** An Attribute with one value (its DER). */
export function attribute(type: string, valueDer: ArrayBuffer): Attribute {
  return new Attribute({ attrType: type, attrValues: [valueDer] });
}

/** DER of an OBJECT IDENTIFIER value (for the content-type attribute). */
export function oidValue(oid: string): ArrayBuffer {
  return new asn1js.ObjectIdentifier({ value: oid }).toBER(false);
}

/** DER of an asn1-schema object. */
export function der(value: object): Buffer {
  return Buffer.from(AsnConvert.serialize(value));
}

/**
 * Attributes in DER order: a SET OF is sorted by the encodings of its elements (X.690 §11.6),
 * which verifiers that re-encode the signed attributes (OpenSSL) rely on.
 */
export function sortedAttributes(attributes: Attribute[]): Attribute[] {
  return attributes
    .map((attr) => ({ attr, bytes: der(attr) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map((entry) => entry.attr);
}

/** The failure reasons RFC 3161 §2.4.2 defines, with their bit numbers in PKIFailureInfo. */
export const FAILURE_BITS = {
  badAlg: 0,
  badRequest: 2,
  badDataFormat: 5,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  systemFailure: 25,
} as const;

export type TsaFailure = keyof typeof FAILURE_BITS;

/**
 * A PKIFailureInfo with one named bit set, in DER form (trailing zero bits dropped). Built from
 * the bit number: asn1-tsp's PKIFailureInfoFlags are not the RFC's bit positions for most names.
 */
export function failureInfo(failure: TsaFailure): PKIFailureInfo {
  const bit = FAILURE_BITS[failure];
  const bytes = new Uint8Array((bit >> 3) + 1);
  bytes[bit >> 3] = 0x80 >> (bit & 7);
  return new PKIFailureInfo(bytes, 7 - (bit & 7));
}

/** Whether an INTEGER's content octets (two's complement) are a positive number. */
export function isPositiveInteger(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || ((bytes[0] ?? 0) & 0x80) !== 0) return false;
  return bytes.some((b) => b !== 0);
}

/** Minimal two's complement content octets of a non-negative bigint. */
export function integerBytes(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (/^[89a-f]/.test(hex)) hex = `00${hex}`;
  return Buffer.from(hex, 'hex');
}
