// Certificate building blocks over @peculiar/asn1-x509 schemas (AsnConvert, no hand-written DER;
// per-leaf extensions are two TLV wrappers around values and OIDs the libraries encoded):
// names, serial numbers, key identifiers, extensions, the TBSCertificate, and signing it with a
// CaSigner into a Certificate assembled around exactly the TBS bytes that were signed.

import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  Certificate,
  Extension,
  Extensions,
  KeyIdentifier,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { X509, encodeTlv, spkiKeyInfoFromPrefix } from '@sigstack/core';
import { ServiceError } from '../../errors.js';
import { SIGNATURE_ALGORITHMS, type CaSignatureAlgorithm, type CaSigner } from '../keys/signer.js';

export const OID_SUBJECT_KEY_ID = '2.5.29.14';
export const OID_KEY_USAGE = '2.5.29.15';
export const OID_SUBJECT_ALT_NAME = '2.5.29.17';
export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_AUTHORITY_KEY_ID = '2.5.29.35';
export const OID_EXT_KEY_USAGE = '2.5.29.37';

const OID_ORGANIZATION = '2.5.4.10';
const OID_COMMON_NAME = '2.5.4.3';

/** An ArrayBuffer holding exactly these bytes (asn1-schema takes ArrayBuffers). */
export function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

export function internalError(message: string): ServiceError {
  return new ServiceError(500, 'CA_INTERNAL', message);
}

/** A distinguished name O=…, CN=… (UTF8String values, RFC 5280 §4.1.2.4); empty when both are absent. */
export function distinguishedName(fields: { organization?: string; commonName?: string }): Name {
  const rdns: RelativeDistinguishedName[] = [];
  const add = (type: string, value: string | undefined) => {
    if (value === undefined || value === '') return;
    rdns.push(new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })]));
  };
  add(OID_ORGANIZATION, fields.organization);
  add(OID_COMMON_NAME, fields.commonName);
  return new Name(rdns);
}

/**
 * A random positive 160-bit serial number (Fulcio's certificate specification): 20 bytes, the
 * top bit clear so the INTEGER is positive, the first byte non-zero so DER keeps all 20 bytes.
 */
export function randomSerialNumber(): Buffer {
  for (;;) {
    const serial = randomBytes(20);
    serial[0] = (serial[0] ?? 0) & 0x7f;
    if (serial[0] !== 0) return serial;
  }
}

/** Parses a DER SubjectPublicKeyInfo with the schema (throws a 400 for bytes that are not one). */
export function parseSpki(spki: Buffer): SubjectPublicKeyInfo {
  try {
    const parsed = AsnConvert.parse(spki, SubjectPublicKeyInfo);
    if (!Buffer.from(AsnConvert.serialize(parsed)).equals(spki)) throw new Error('not DER');
    return parsed;
  } catch (err) {
    throw new ServiceError(400, 'PUBLIC_KEY_INVALID', `the public key is not a DER SubjectPublicKeyInfo: send the key in PKIX (SPKI) form`, { cause: err });
  }
}

/** The key identifier Fulcio (and Go's crypto/x509, RFC 5280 §4.2.1.2 method 1) uses: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(spki: Buffer): Buffer {
  // A P-256 / P-384 key in its one DER form: the bits are its point, no parse needed.
  const ec = spkiKeyInfoFromPrefix(spki);
  const bits = ec?.type === 'ec' ? ec.point : Buffer.from(parseSpki(spki).subjectPublicKey);
  return createHash('sha1').update(bits).digest();
}

export function algorithmIdentifier(algorithm: CaSignatureAlgorithm): AlgorithmIdentifier {
  const info = SIGNATURE_ALGORITHMS[algorithm];
  return new AlgorithmIdentifier(info.nullParameters ? { algorithm: info.oid, parameters: arrayBuffer(Buffer.from([0x05, 0x00])) } : { algorithm: info.oid });
}

/** An Extension whose extnValue holds `value` (an asn1-schema object, or DER bytes as they are). */
export function extension(oid: string, value: object | Uint8Array, critical = false): Extension {
  const der = value instanceof Uint8Array ? value : new Uint8Array(AsnConvert.serialize(value));
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(arrayBuffer(der)) });
}

const extensionHeads = new Map<string, Buffer>();

/**
 * The DER of an Extension whose extnValue holds `value` (DER bytes). Its OID (and critical flag)
 * are encoded by asn1js once per OID; the per-certificate part is two TLV wrappers, which is
 * what a leaf's identity extensions cost the CA per request instead of a schema serialization.
 */
export function extensionDer(oid: string, value: Uint8Array, critical = false): Buffer {
  const key = `${oid}/${critical}`;
  let head = extensionHeads.get(key);
  if (!head) {
    const oidDer = Buffer.from(new asn1js.ObjectIdentifier({ value: oid }).toBER());
    head = critical ? Buffer.concat([oidDer, Buffer.from(new asn1js.Boolean({ value: true }).toBER())]) : oidDer;
    extensionHeads.set(key, head);
  }
  return encodeTlv(0x30, Buffer.concat([head, encodeTlv(0x04, value)]));
}

export function subjectKeyIdExtension(spki: Buffer): Extension {
  return extension(OID_SUBJECT_KEY_ID, new SubjectKeyIdentifier(arrayBuffer(keyIdentifier(spki))));
}

export function authorityKeyIdExtension(keyId: Buffer): Extension {
  return extension(OID_AUTHORITY_KEY_ID, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(arrayBuffer(keyId)) }));
}

export interface TbsFields {
  serialNumber: Buffer;
  algorithm: CaSignatureAlgorithm;
  issuer: Name;
  subject: Name;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: Extension[];
}

/** A v3 TBSCertificate; times are whole seconds (UTCTime until 2049, GeneralizedTime after, RFC 5280 §4.1.2.5). */
export function tbsCertificate(fields: TbsFields): TBSCertificate {
  return new TBSCertificate({
    version: Version.v3,
    serialNumber: arrayBuffer(fields.serialNumber),
    signature: algorithmIdentifier(fields.algorithm),
    issuer: fields.issuer,
    validity: new Validity({ notBefore: fields.notBefore, notAfter: fields.notAfter }),
    subject: fields.subject,
    subjectPublicKeyInfo: parseSpki(fields.spki),
    extensions: new Extensions(fields.extensions),
  });
}

/** Signs the TBSCertificate with the CA signer; returns the DER Certificate. */
export async function signCertificate(tbs: TBSCertificate, signer: CaSigner): Promise<Buffer> {
  if (tbs.signature.algorithm !== SIGNATURE_ALGORITHMS[signer.algorithm].oid) {
    throw internalError(`the TBSCertificate names signature algorithm ${tbs.signature.algorithm}, but the CA key signs with ${signer.algorithm}`);
  }
  return signTbsDer(Buffer.from(AsnConvert.serialize(tbs)), signer);
}

/** Signs DER TBSCertificate bytes (naming the signer's algorithm) and assembles the Certificate around them. */
export async function signTbsDer(tbsDer: Buffer, signer: CaSigner): Promise<Buffer> {
  const signature = Buffer.from(await signer.sign(tbsDer));
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }, put
  // together around the very TBS bytes that were signed (re-serializing could change them).
  const algorithm = Buffer.from(AsnConvert.serialize(algorithmIdentifier(signer.algorithm)));
  const signatureValue = encodeTlv(0x03, Buffer.concat([Buffer.from([0]), signature]));
  return encodeTlv(0x30, Buffer.concat([tbsDer, algorithm, signatureValue]));
}

/** Parses a DER certificate with the schema. */
export function parseCertificate(der: Buffer, what: string): Certificate {
  try {
    return AsnConvert.parse(der, Certificate);
  } catch (err) {
    throw new ServiceError(500, 'CA_CERTIFICATE_INVALID', `${what} is not a DER X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
}

/** Whole seconds: X.509 times carry no fractions, so the dates given and the dates encoded agree. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
