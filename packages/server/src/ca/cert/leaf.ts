// Fulcio-profile code-signing certificates: a precertificate (critical CT poison) for the CT log,
// then the final certificate — the same TBS with the poison replaced by the SCT list, re-signed —
// so the TBS the log signed (RFC 6962 §3.2) is the final certificate's TBS without its SCTs.

import { createHash } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  Certificate,
  DirectoryString,
  ExtendedKeyUsage,
  Extensions,
  GeneralName,
  KeyUsage,
  KeyUsageFlags,
  Name,
  OtherName,
  SubjectAlternativeName,
  TBSCertificate,
  Validity,
} from '@peculiar/asn1-x509';
import { OID_CODE_SIGNING, OID_OTHERNAME_USERNAME, OID_PRECERT_POISON, OID_SCT_LIST, X509, encodeSctList, encodeTlv, verifySignature, signatureAlgorithmFromOid, type SignedCertificateTimestamp } from '@sigstack/core';
import { ServiceError } from '../../errors.js';
import type { CaSigner } from '../keys/signer.js';
import {
  OID_AUTHORITY_KEY_ID,
  OID_BASIC_CONSTRAINTS,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_SUBJECT_ALT_NAME,
  OID_SUBJECT_KEY_ID,
  algorithmIdentifier,
  arrayBuffer,
  authorityKeyIdExtension,
  extension,
  extensionDer,
  internalError,
  keyIdentifier,
  parseCertificate,
  randomSerialNumber,
  signTbsDer,
  wholeSeconds,
} from './builder.js';
import { checkSubjectPublicKey } from './proof-of-possession.js';

/** The certificate's one identity: an email (rfc822Name), a URI, or a username (OtherName 1.3.6.1.4.1.57264.1.7). */
export interface SubjectAltNameInput {
  type: 'email' | 'uri' | 'otherName';
  value: string;
}

/** An extension to add as given, e.g. Fulcio's OIDC issuer (1.3.6.1.4.1.57264.1.8, a DER UTF8String). */
export interface ExtraExtension {
  oid: string;
  /** The extnValue contents (the DER of the extension's value). */
  value: Buffer;
  critical?: boolean;
}

/** The issuing CA: its certificate (DER) and its key. */
export interface CaIssuer {
  cert: Buffer;
  signer: CaSigner;
}

export interface LeafRequest {
  /** The requester's key, DER SubjectPublicKeyInfo (checked: weak keys get 400 WEAK_KEY). */
  subjectPublicKeySpki: Buffer;
  san: SubjectAltNameInput;
  extensions?: ExtraExtension[];
  issuer: CaIssuer;
  /** Default: now (whole seconds). */
  notBefore?: Date;
  /** Default 10, as Fulcio issues. */
  validityMinutes?: number;
}

export interface Precertificate {
  /** The DER precertificate, signed by the issuer, with the critical poison extension. */
  der: Buffer;
  /** The TBSCertificate a CT log signs SCTs over: the precertificate's TBS without the poison extension. */
  precertTbs: Buffer;
  /** SHA-256 of the issuer's SubjectPublicKeyInfo (RFC 6962 issuer_key_hash). */
  issuerKeyHash: Buffer;
  issuer: CaIssuer;
  serialNumber: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** The precertificate's TBS as DER pieces, so finalizing assembles the final TBS without parsing. */
  parts?: LeafTbsParts;
}

/** A leaf TBSCertificate as DER: everything before the extensions, and each extension but poison / SCTs. */
export interface LeafTbsParts {
  head: Buffer;
  extensions: Buffer[];
}

/** The TBS from its parts plus `more` extensions (the poison, or the SCT list), in DER. */
function assembleTbs(parts: LeafTbsParts, more: Buffer[]): Buffer {
  const extensions = encodeTlv(0xa3, encodeTlv(0x30, Buffer.concat([...parts.extensions, ...more])));
  return encodeTlv(0x30, Buffer.concat([parts.head, extensions]));
}

const der = (value: object): Buffer => Buffer.from(AsnConvert.serialize(value));
/** DER pieces every leaf shares. */
const VERSION_3 = Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]);
const EMPTY_NAME = Buffer.from([0x30, 0x00]);
const KEY_USAGE_DER = der(extension(OID_KEY_USAGE, new KeyUsage(KeyUsageFlags.digitalSignature), true));
const EXT_KEY_USAGE_DER = der(extension(OID_EXT_KEY_USAGE, new ExtendedKeyUsage([OID_CODE_SIGNING])));
const POISON_DER = der(extension(OID_PRECERT_POISON, new Uint8Array([0x05, 0x00]), true));

/** Extensions the CA sets itself; a request may not add them again. */
const RESERVED = new Set([OID_SUBJECT_KEY_ID, OID_KEY_USAGE, OID_SUBJECT_ALT_NAME, OID_BASIC_CONSTRAINTS, OID_AUTHORITY_KEY_ID, OID_EXT_KEY_USAGE, OID_PRECERT_POISON, OID_SCT_LIST]);

function identityError(message: string): ServiceError {
  return new ServiceError(400, 'IDENTITY_INVALID', message);
}

function isAscii(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value);
}

function generalName(san: SubjectAltNameInput): GeneralName {
  const value = san.value;
  if (typeof value !== 'string' || value === '') throw identityError(`the certificate identity (${san.type}) is empty: the token must name who it was issued to`);
  switch (san.type) {
    case 'email':
      if (!isAscii(value) || !/^[^@]+@[^@]+$/.test(value)) throw identityError(`"${value}" is not an email address an X.509 rfc822Name can hold (ASCII local@domain)`);
      return new GeneralName({ rfc822Name: value });
    case 'uri':
      if (!isAscii(value) || !URL.canParse(value)) throw identityError(`"${value}" is not an absolute URI an X.509 URI name can hold (ASCII, with a scheme)`);
      return new GeneralName({ uniformResourceIdentifier: value });
    case 'otherName': {
      const utf8 = AsnConvert.serialize(new DirectoryString({ utf8String: value }));
      return new GeneralName({ otherName: new OtherName({ typeId: OID_OTHERNAME_USERNAME, value: utf8 }) });
    }
    default:
      throw identityError(`unknown identity type "${(san as { type: string }).type}": use email, uri or otherName`);
  }
}

function extraExtensions(extra: ExtraExtension[]): Buffer[] {
  const seen = new Set<string>();
  return extra.map((ext) => {
    if (!/^\d+(\.\d+)+$/.test(ext.oid)) throw new ServiceError(500, 'CA_EXTENSION_INVALID', `"${ext.oid}" is not an OID in dotted form`);
    if (RESERVED.has(ext.oid)) throw new ServiceError(500, 'CA_EXTENSION_INVALID', `extension ${ext.oid} is set by the CA itself and cannot be requested`);
    if (seen.has(ext.oid)) throw new ServiceError(500, 'CA_EXTENSION_INVALID', `extension ${ext.oid} is given twice; a certificate holds each extension once`);
    seen.add(ext.oid);
    return extensionDer(ext.oid, ext.value, ext.critical === true);
  });
}

type IssuerFacts = { cert: X509; name: Name; keyId: Buffer; keyHash: Buffer; nameDer: Buffer; authorityKeyIdDer: Buffer; algorithmDer: Buffer };
const issuerFactsCache = new WeakMap<CaIssuer, IssuerFacts>();

/** The issuer's Name and key identifier (worked out once per issuer), checking the certificate belongs to the signer. */
function issuerFacts(issuer: CaIssuer): IssuerFacts {
  const known = issuerFactsCache.get(issuer);
  if (known && known.cert.der.equals(issuer.cert)) return known;
  const facts = readIssuerFacts(issuer);
  issuerFactsCache.set(issuer, facts);
  return facts;
}

function readIssuerFacts(issuer: CaIssuer): IssuerFacts {
  const cert = X509.fromDer(issuer.cert);
  if (!cert.publicKeySpki.equals(issuer.signer.spki)) throw internalError('the issuing CA certificate does not belong to the CA signer\'s key');
  if (!cert.isCA) throw internalError('the issuing certificate is not a CA certificate');
  const keyId = cert.subjectKeyIdentifier ?? keyIdentifier(cert.publicKeySpki);
  return {
    cert,
    name: parseCertificate(issuer.cert, 'the issuing CA certificate').tbsCertificate.subject,
    keyId,
    keyHash: createHash('sha256').update(cert.publicKeySpki).digest(),
    nameDer: cert.subjectDer,
    authorityKeyIdDer: der(authorityKeyIdExtension(keyId)),
    algorithmDer: der(algorithmIdentifier(issuer.signer.algorithm)),
  };
}

let lastValidity: { from: number; to: number; der: Buffer } | undefined;

/** The DER Validity; certificates issued within the same second share it, so it is kept. */
function validityDer(notBefore: Date, notAfter: Date): Buffer {
  const from = notBefore.getTime();
  const to = notAfter.getTime();
  if (lastValidity?.from !== from || lastValidity.to !== to) lastValidity = { from, to, der: der(new Validity({ notBefore, notAfter })) };
  return lastValidity.der;
}

function leafParts(request: LeafRequest): { parts: LeafTbsParts; keyHash: Buffer; notBefore: Date; notAfter: Date; serialNumber: Buffer } {
  const key = checkSubjectPublicKey(request.subjectPublicKeySpki);
  const minutes = request.validityMinutes ?? 10;
  if (!(minutes > 0 && minutes <= 24 * 60)) throw new ServiceError(500, 'CA_VALIDITY_INVALID', `a validity of ${minutes} minutes is not allowed: Fulcio issues 10-minute certificates`);
  const facts = issuerFacts(request.issuer);
  const notBefore = wholeSeconds(request.notBefore ?? new Date());
  const notAfter = new Date(notBefore.getTime() + minutes * 60_000);
  if (notBefore < facts.cert.notBefore || notAfter > facts.cert.notAfter) {
    throw new ServiceError(500, 'CA_CERTIFICATE_EXPIRED', `the issuing CA certificate is valid ${facts.cert.notBefore.toISOString()} to ${facts.cert.notAfter.toISOString()}, which does not cover a certificate for ${notBefore.toISOString()} to ${notAfter.toISOString()}: renew the CA certificate`);
  }
  const serialNumber = randomSerialNumber();
  // TBSCertificate fields in order (RFC 5280 §4.1); the SPKI was checked to be DER.
  const head = Buffer.concat([
    VERSION_3,
    encodeTlv(0x02, serialNumber),
    facts.algorithmDer,
    facts.nameDer,
    validityDer(notBefore, notAfter),
    EMPTY_NAME,
    key.spki,
  ]);
  // The order Go's crypto/x509 writes them in, as Fulcio's certificates have them.
  const extensions = [
    KEY_USAGE_DER,
    EXT_KEY_USAGE_DER,
    extensionDer(OID_SUBJECT_KEY_ID, encodeTlv(0x04, keyIdentifier(key.spki))),
    facts.authorityKeyIdDer,
    extensionDer(OID_SUBJECT_ALT_NAME, new Uint8Array(AsnConvert.serialize(new SubjectAlternativeName([generalName(request.san)]))), true),
    ...extraExtensions(request.extensions ?? []),
  ];
  return { parts: { head, extensions }, keyHash: facts.keyHash, notBefore, notAfter, serialNumber };
}

function withoutPoison(tbs: TBSCertificate): TBSCertificate {
  const kept = (tbs.extensions ?? []).filter((ext) => ext.extnID !== OID_PRECERT_POISON);
  return new TBSCertificate({ ...tbs, extensions: new Extensions(kept) });
}

/** The TBS of a precertificate given as DER: signed by this CA, poisoned, without SCTs, and re-encoding to itself. */
function checkedPrecertificateTbs(der: Buffer, signer: CaSigner): TBSCertificate {
  const parsed: Certificate = parseCertificate(der, 'the precertificate');
  const pre = X509.fromDer(der);
  if (!verifySignature(signatureAlgorithmFromOid(parsed.signatureAlgorithm.algorithm), pre.tbs, signer.publicKey, pre.signature)) {
    throw internalError('the precertificate was not signed by this CA: finalize it with the issuer that built it');
  }
  const poison = pre.extension(OID_PRECERT_POISON);
  if (!poison || !poison.critical) throw internalError('the precertificate lacks the critical CT poison extension');
  if (pre.extension(OID_SCT_LIST)) throw internalError('the precertificate already carries an SCT list');
  const tbs = parsed.tbsCertificate;
  if (!Buffer.from(AsnConvert.serialize(tbs)).equals(Buffer.from(pre.tbs))) throw internalError('the precertificate does not re-encode to its own TBS bytes');
  return tbs;
}

/** Builds and signs the precertificate: the certificate to be, marked with the critical CT poison extension. */
export async function buildPrecertificate(request: LeafRequest): Promise<Precertificate> {
  const { parts, keyHash, notBefore, notAfter, serialNumber } = leafParts(request);
  const der = await signTbsDer(assembleTbs(parts, [POISON_DER]), request.issuer.signer);
  return { der, precertTbs: assembleTbs(parts, []), issuerKeyHash: keyHash, issuer: request.issuer, serialNumber, notBefore, notAfter, parts };
}

/** A final certificate without SCTs, for a CA that runs without a CT log (Fulcio's CreateCertificate). */
export async function buildCertificate(request: LeafRequest): Promise<Buffer> {
  return signTbsDer(assembleTbs(leafParts(request).parts, []), request.issuer.signer);
}

/**
 * The final certificate: the precertificate's TBS with the poison extension replaced by the
 * SCT list extension (an OCTET STRING around the TLS SignedCertificateTimestampList), re-signed
 * by the same issuer. Checks that the precertificate is the issuer's, and that the result's
 * TBS without SCTs is byte for byte the TBS the CT log signed.
 */
export async function finalizeCertificate(precert: Pick<Precertificate, 'der' | 'issuer'> & { precertTbs?: Buffer; parts?: LeafTbsParts }, scts: SignedCertificateTimestamp[]): Promise<Buffer> {
  if (scts.length === 0) throw internalError('a final certificate needs at least one SCT from the CT log');
  const signer = precert.issuer.signer;
  const sctList = extensionDer(OID_SCT_LIST, encodeTlv(0x04, encodeSctList(scts)));
  if (precert.parts) {
    // Built here: the same DER pieces with the SCT list last, where the poison was; taking the
    // SCT list out again gives the logged TBS by construction.
    return signTbsDer(assembleTbs(precert.parts, [sctList]), signer);
  }
  // From elsewhere: parsed and checked first, then re-encoded with the schema.
  const tbs = checkedPrecertificateTbs(precert.der, signer);
  const extensions = (tbs.extensions ?? []).filter((ext) => ext.extnID !== OID_PRECERT_POISON);
  extensions.push(extension(OID_SCT_LIST, new Uint8Array(AsnConvert.serialize(new OctetString(arrayBuffer(encodeSctList(scts)))))));
  const certificate = await signTbsDer(Buffer.from(AsnConvert.serialize(new TBSCertificate({ ...tbs, extensions: new Extensions(extensions) }))), signer);
  // What verifiers rebuild from the final certificate must be what the log signed (RFC 6962 §3.2).
  if (!X509.fromDer(certificate).precertificateTbs().equals(Buffer.from(AsnConvert.serialize(withoutPoison(tbs))))) {
    throw internalError('the final certificate\'s TBS without SCTs differs from the precertificate\'s: its SCTs would not verify');
  }
  return certificate;
}
