// RFC 3161 timestamp tokens as sigstore bundles carry them: parse a TimeStampToken (CMS SignedData
// over a TSTInfo, bare or inside a TimeStampResp) once with der.ts (DER only, and
// the original bytes of what was signed are kept), then check its signature (RFC 5652 §5.4) and
// its message imprint with node:crypto.

import { constants as cryptoConstants, createHash, KeyObject, verify as cryptoVerify } from 'node:crypto';
import { digestOf } from './digest.js';
import {
  type AsnNode,
  booleanOf,
  children,
  contentBytes,
  generalizedTimeOf,
  integerBytes,
  oidOf,
  parseDer,
  rawBytes,
  smallInteger,
  tagOf,
} from './der.js';
import { bytesEqual, hexEncode } from './encoding.js';
import { CoreError } from './errors.js';
import type { FixedKeyVerifier } from './fixed-key-ecdsa.js';

// ---------------------------------------------------------------------------------------------
// Public types

export type TimestampHashAlgorithm = 'sha256' | 'sha384' | 'sha512';

export type TimestampSignerId =
  | { issuerDer: Buffer; serialNumber: Buffer }
  | { subjectKeyIdentifier: Buffer };

/** One ESSCertID / ESSCertIDv2 from a signing-certificate attribute (RFC 2634, RFC 5035). */
export interface EssCertId {
  /** 'sha1', 'sha256', 'sha384', 'sha512', or the dotted OID when it is none of those. */
  hashAlgorithm: string;
  certHash: Buffer;
}

export interface TimestampSignedAttributes {
  /** The signedAttrs exactly as received, re-tagged from [0] IMPLICIT to SET OF (0x31): the signed bytes. */
  der: Buffer;
  /** Value of the content-type attribute (a dotted OID). */
  contentType: string;
  /** Value of the message-digest attribute. */
  messageDigest: Buffer;
  /** Certificate identifiers from signingCertificate / signingCertificateV2, first one names the signer. */
  essCertIds: EssCertId[];
}

export type TimestampSignatureScheme =
  | { kind: 'ecdsa' }
  | { kind: 'rsa-pkcs1' }
  | { kind: 'rsa-pss'; saltLength: number }
  | { kind: 'ed25519' }
  | { kind: 'ed448' }
  | { kind: 'unsupported'; reason: string };

export interface TimestampToken {
  /** TSTInfo.genTime (millisecond precision; finer fractions are truncated). */
  genTime: Date;
  /** TSTInfo.policy, dotted OID. */
  policy: string;
  /** TSTInfo.serialNumber, the INTEGER's content octets (two's complement, as encoded). */
  serialNumber: Buffer;
  nonce?: Buffer;
  accuracy?: { seconds: number; millis: number; micros: number };
  ordering: boolean;
  messageImprint: { hashAlgorithm: TimestampHashAlgorithm; hashedMessage: Buffer };
  /** TSTInfo.tsa: the GeneralName's DER, plus the Name's DER when it is a directoryName. */
  tsaName?: { der: Buffer; directoryName?: Buffer };
  /** DER X.509 certificates embedded in SignedData.certificates (may be empty). */
  certificates: Buffer[];
  signerId: TimestampSignerId;

  /** The eContent octets: the DER TSTInfo the TSA signed. */
  tstInfoDer: Buffer;
  /** SignerInfo.digestAlgorithm; `name` is absent when the algorithm is not supported. */
  digestAlgorithm: { oid: string; name?: TimestampHashAlgorithm };
  signedAttrs?: TimestampSignedAttributes;
  /** SignerInfo.signatureAlgorithm as received, and how it will be checked. */
  signatureAlgorithm: { oid: string; parameters?: Buffer };
  signatureScheme: TimestampSignatureScheme;
  signature: Buffer;
}

// ---------------------------------------------------------------------------------------------
// Error codes and object identifiers (values from RFC 3161, RFC 5652, RFC 5754, RFC 4055,
// RFC 5758, RFC 8410, RFC 8419, RFC 2634, RFC 5035, RFC 5280)

const MALFORMED = 'RFC3161_MALFORMED';
const SIGNATURE_INVALID = 'RFC3161_SIGNATURE_INVALID';
const IMPRINT_MISMATCH = 'RFC3161_IMPRINT_MISMATCH';
const CERT_MALFORMED = 'X509_INVALID'; // same code as x509.ts uses for a bad certificate

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const OID_ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const OID_ATTR_SIGNING_CERT = '1.2.840.113549.1.9.16.2.12';
const OID_ATTR_SIGNING_CERT_V2 = '1.2.840.113549.1.9.16.2.47';
const OID_SUBJECT_KEY_ID = '2.5.29.14';

const HASH_BY_OID: Record<string, TimestampHashAlgorithm> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const OID_SHA1 = '1.3.14.3.2.26';
const HASH_LENGTH: Record<TimestampHashAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_RSA_PSS = '1.2.840.113549.1.1.10';
const OID_MGF1 = '1.2.840.113549.1.1.8';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_ED25519 = '1.3.101.112';
const OID_ED448 = '1.3.101.113';
/** Signature OIDs that name their hash: [scheme, hash]. */
const COMBINED_SIGNATURE_OIDS: Record<string, ['ecdsa' | 'rsa-pkcs1', TimestampHashAlgorithm]> = {
  '1.2.840.10045.4.3.2': ['ecdsa', 'sha256'],
  '1.2.840.10045.4.3.3': ['ecdsa', 'sha384'],
  '1.2.840.10045.4.3.4': ['ecdsa', 'sha512'],
  '1.2.840.113549.1.1.11': ['rsa-pkcs1', 'sha256'],
  '1.2.840.113549.1.1.12': ['rsa-pkcs1', 'sha384'],
  '1.2.840.113549.1.1.13': ['rsa-pkcs1', 'sha512'],
};

// DER identifier octets used below (compared with tagByte of parsed elements).
const T_BOOLEAN = 0x01;
const T_INTEGER = 0x02;
const T_BIT_STRING = 0x03;
const T_OCTET_STRING = 0x04;
const T_NULL = 0x05;
const T_OID = 0x06;
const T_UTF8_STRING = 0x0c;
const T_GENERALIZED_TIME = 0x18;
const T_SEQUENCE = 0x30;
const T_SET = 0x31;
const T_CTX0_PRIM = 0x80;
const T_CTX1_PRIM = 0x81;
const T_CTX2_PRIM = 0x82;
const T_CTX0 = 0xa0;
const T_CTX1 = 0xa1;
const T_CTX2 = 0xa2;
const T_CTX3 = 0xa3;
const T_CTX4 = 0xa4;

// ---------------------------------------------------------------------------------------------
// Reading the parse tree of der.ts; parseDer also
// rejects BER (indefinite or non-minimal lengths, constructed strings) and trailing bytes.
// Every Buffer below is a view of the one private copy parseDer read, so signedAttrs, eContent
// and certificates keep their original bytes (they are signed as received).

function subjectOf(code: string): string {
  return code === CERT_MALFORMED ? 'certificate' : 'RFC 3161 timestamp token';
}

/** The message prefix for a problem at `what`; der.ts helpers append ": <problem>". */
function at(code: string, what: string): string {
  return `${subjectOf(code)} is malformed: ${what}`;
}

function fail(code: string, what: string, problem: string): never {
  throw new CoreError(code, `${at(code, what)}: ${problem}`);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The first identifier octet of a parsed element (-1 for high tag numbers): compare with T_*. */
function tagByte(node: AsnNode): number {
  const { cls, number } = tagOf(node);
  if (number < 0 || number >= 31) return -1;
  const constructed = node.constructed ? 0x20 : 0;
  return ((cls - 1) << 6) | constructed | number;
}

function tagName(tag: number): string {
  switch (tag) {
    case T_BOOLEAN: return 'BOOLEAN';
    case T_INTEGER: return 'INTEGER';
    case T_BIT_STRING: return 'BIT STRING';
    case T_OCTET_STRING: return 'OCTET STRING';
    case T_NULL: return 'NULL';
    case T_OID: return 'OBJECT IDENTIFIER';
    case T_GENERALIZED_TIME: return 'GeneralizedTime';
    case T_SEQUENCE: return 'SEQUENCE';
    case T_SET: return 'SET';
    case -1: return 'a high-numbered tag';
    default:
      if ((tag & 0xc0) === 0x80) return `[${tag & 0x1f}]`;
      return `tag 0x${tag.toString(16).padStart(2, '0')}`;
  }
}

/** Walks the elements inside one constructed element, in order. */
class Fields {
  private pos = 0;
  private readonly items: AsnNode[];

  constructor(
    node: AsnNode,
    readonly what: string,
    readonly code: string,
  ) {
    this.items = children(node, code, at(code, what));
  }

  hasMore(): boolean {
    return this.pos < this.items.length;
  }

  peekTag(): number | undefined {
    const node = this.items[this.pos];
    return node === undefined ? undefined : tagByte(node);
  }

  any(field: string): AsnNode {
    const node = this.items[this.pos++];
    if (node === undefined) fail(this.code, `${this.what}.${field}`, 'missing');
    return node;
  }

  next(tag: number, field: string): AsnNode {
    const node = this.any(field);
    const found = tagByte(node);
    if (found !== tag) fail(this.code, `${this.what}.${field}`, `expected ${tagName(tag)}, found ${tagName(found)}`);
    return node;
  }

  optional(tag: number, field: string): AsnNode | undefined {
    return this.peekTag() === tag ? this.next(tag, field) : undefined;
  }

  done(): void {
    if (this.hasMore()) fail(this.code, this.what, 'unexpected extra elements');
  }
}

function fields(node: AsnNode, what: string, code: string): Fields {
  return new Fields(node, what, code);
}

/** All elements inside a constructed element. */
function elements(node: AsnNode, what: string, code: string): AsnNode[] {
  return children(node, code, at(code, what));
}

/** Content octets of a primitive element. */
function value(node: AsnNode, what: string, code: string): Buffer {
  return asBuffer(contentBytes(node, code, at(code, what)));
}

/** The element's whole encoding (tag, length, content) as received. */
function whole(node: AsnNode): Buffer {
  return asBuffer(rawBytes(node));
}

function decodeOid(node: AsnNode, what: string, code: string): string {
  const oid = oidOf(node, code, at(code, what));
  if (oid === '') fail(code, what, 'empty OBJECT IDENTIFIER');
  return oid;
}

function intBytes(node: AsnNode, what: string, code: string): Buffer {
  return asBuffer(integerBytes(node, code, at(code, what)));
}

function smallInt(node: AsnNode, what: string, code: string): number {
  return smallInteger(node, code, at(code, what));
}

/** An implicitly tagged INTEGER ([n] IMPLICIT INTEGER, as in Accuracy): its content octets as a number. */
function implicitSmallInt(node: AsnNode, what: string, code: string): number {
  const bytes = value(node, what, code);
  if (bytes.length === 0) fail(code, what, 'empty INTEGER');
  if (bytes.length > 4) fail(code, what, 'INTEGER out of range');
  return bytes.readIntBE(0, bytes.length);
}

interface Algorithm {
  oid: string;
  /** The parameters element's whole encoding, and the parsed element. */
  parameters?: Buffer;
  parametersNode?: AsnNode;
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } */
function decodeAlgorithm(node: AsnNode, what: string, code: string): Algorithm {
  const c = fields(node, what, code);
  const oid = decodeOid(c.next(T_OID, 'algorithm'), `${what}.algorithm`, code);
  const params = c.hasMore() ? c.any('parameters') : undefined;
  c.done();
  return params ? { oid, parameters: whole(params), parametersNode: params } : { oid };
}

/** True when a hash AlgorithmIdentifier's parameters are absent or NULL (both occur in practice). */
function absentOrNull(parameters: Buffer | undefined): boolean {
  return parameters === undefined || (parameters.length === 2 && parameters[0] === T_NULL && parameters[1] === 0);
}

function hashNameForEss(oid: string): string {
  return HASH_BY_OID[oid] ?? (oid === OID_SHA1 ? 'sha1' : oid);
}

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Parses a DER TimeStampToken (CMS ContentInfo with SignedData over a TSTInfo), or a full
 * TimeStampResp whose status is granted / grantedWithMods. Throws RFC3161_MALFORMED.
 */
export function parseTimestampToken(der: Uint8Array): TimestampToken {
  if (!(der instanceof Uint8Array)) {
    throw new CoreError(MALFORMED, 'RFC 3161 timestamp token must be DER bytes (a Uint8Array)');
  }
  const code = MALFORMED;
  // parseDer reads one private copy: every Buffer in the result is a view of it, so later changes
  // to the caller's array cannot alter a parsed (or verified) token.
  const top = parseDer(der, code, at(code, 'top level'));
  const topTag = tagByte(top);
  if (topTag !== T_SEQUENCE) fail(code, 'top level', `expected SEQUENCE, found ${tagName(topTag)}`);

  // ContentInfo starts with an OID; TimeStampResp starts with PKIStatusInfo (a SEQUENCE).
  const first = elements(top, 'top level', code)[0];
  const firstTag = first === undefined ? undefined : tagByte(first);
  let contentInfo: AsnNode;
  if (firstTag === T_OID) contentInfo = top;
  else if (firstTag === T_SEQUENCE) contentInfo = unwrapTimeStampResp(top);
  else fail(code, 'top level', 'neither a TimeStampToken (ContentInfo) nor a TimeStampResp');

  // ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }
  const ci = fields(contentInfo, 'ContentInfo', code);
  const contentType = decodeOid(ci.next(T_OID, 'contentType'), 'ContentInfo.contentType', code);
  if (contentType !== OID_SIGNED_DATA) {
    fail(code, 'ContentInfo.contentType', `expected id-signedData (${OID_SIGNED_DATA}), found ${contentType}`);
  }
  const explicit = ci.next(T_CTX0, 'content');
  ci.done();
  const wrapper = fields(explicit, 'ContentInfo.content', code);
  const signedDataNode = wrapper.next(T_SEQUENCE, 'SignedData');
  wrapper.done();

  // SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo,
  //   certificates [0] IMPLICIT OPTIONAL, crls [1] IMPLICIT OPTIONAL, signerInfos SET }
  const sd = fields(signedDataNode, 'SignedData', code);
  smallInt(sd.next(T_INTEGER, 'version'), 'SignedData.version', code);
  sd.next(T_SET, 'digestAlgorithms');
  const encap = sd.next(T_SEQUENCE, 'encapContentInfo');
  const certsNode = sd.optional(T_CTX0, 'certificates');
  sd.optional(T_CTX1, 'crls');
  const signerInfosNode = sd.next(T_SET, 'signerInfos');
  sd.done();

  // EncapsulatedContentInfo ::= SEQUENCE { eContentType OID, eContent [0] EXPLICIT OCTET STRING }
  const ec = fields(encap, 'SignedData.encapContentInfo', code);
  const eContentType = decodeOid(ec.next(T_OID, 'eContentType'), 'SignedData.encapContentInfo.eContentType', code);
  if (eContentType !== OID_CT_TSTINFO) {
    fail(code, 'SignedData.encapContentInfo.eContentType', `expected id-ct-TSTInfo (${OID_CT_TSTINFO}), found ${eContentType}`);
  }
  const eContentExplicit = ec.optional(T_CTX0, 'eContent');
  if (!eContentExplicit) fail(code, 'SignedData.encapContentInfo', 'eContent (the TSTInfo) is missing');
  ec.done();
  const octets = fields(eContentExplicit, 'SignedData.encapContentInfo.eContent', code);
  const eContent = octets.next(T_OCTET_STRING, 'OCTET STRING');
  octets.done();
  const tstInfoDer = value(eContent, 'SignedData.encapContentInfo.eContent', code);

  const certificates: Buffer[] = [];
  if (certsNode) {
    // CertificateChoices: plain X.509 certificates are SEQUENCEs; other choices are skipped.
    for (const cert of elements(certsNode, 'SignedData.certificates', code)) {
      if (tagByte(cert) === T_SEQUENCE) certificates.push(whole(cert));
    }
  }

  const signerInfos = elements(signerInfosNode, 'SignedData.signerInfos', code);
  if (signerInfos.length !== 1) {
    // RFC 3161 §2.4.2: the token carries the TSA's signature and no other.
    fail(code, 'SignedData.signerInfos', `expected exactly one SignerInfo, found ${signerInfos.length}`);
  }
  const signer = parseSignerInfo(signerInfos[0] as AsnNode);
  const tst = parseTstInfo(tstInfoDer);

  return { ...tst, certificates, ...signer, tstInfoDer };
}

/** TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL } */
function unwrapTimeStampResp(resp: AsnNode): AsnNode {
  const code = MALFORMED;
  const c = fields(resp, 'TimeStampResp', code);
  const statusInfo = c.next(T_SEQUENCE, 'status');
  const token = c.optional(T_SEQUENCE, 'timeStampToken');
  c.done();

  // PKIStatusInfo ::= SEQUENCE { status INTEGER, statusString PKIFreeText OPTIONAL, failInfo BIT STRING OPTIONAL }
  const s = fields(statusInfo, 'TimeStampResp.status', code);
  const status = smallInt(s.next(T_INTEGER, 'status'), 'TimeStampResp.status.status', code);
  const texts: string[] = [];
  const freeText = s.optional(T_SEQUENCE, 'statusString');
  if (freeText) {
    for (const t of elements(freeText, 'TimeStampResp.status.statusString', code)) {
      if (tagByte(t) === T_UTF8_STRING) {
        texts.push(value(t, 'TimeStampResp.status.statusString', code).toString('utf8').slice(0, 200));
      }
    }
  }
  s.optional(T_BIT_STRING, 'failInfo');
  s.done();
  if (status !== 0 && status !== 1) {
    const names: Record<number, string> = { 2: 'rejection', 3: 'waiting', 4: 'revocationWarning', 5: 'revocationNotification' };
    const detail = texts.length > 0 ? ` (${texts.join('; ')})` : '';
    fail(code, 'TimeStampResp.status', `the TSA did not grant the timestamp: status ${status} ${names[status] ?? 'unknown'}${detail}`);
  }
  if (!token) fail(code, 'TimeStampResp', 'status is granted but timeStampToken is missing');
  return token;
}

interface ParsedSigner {
  signerId: TimestampSignerId;
  digestAlgorithm: { oid: string; name?: TimestampHashAlgorithm };
  signedAttrs?: TimestampSignedAttributes;
  signatureAlgorithm: { oid: string; parameters?: Buffer };
  signatureScheme: TimestampSignatureScheme;
  signature: Buffer;
}

/**
 * SignerInfo ::= SEQUENCE { version, sid SignerIdentifier, digestAlgorithm,
 *   signedAttrs [0] IMPLICIT SET OF Attribute OPTIONAL, signatureAlgorithm,
 *   signature OCTET STRING, unsignedAttrs [1] IMPLICIT OPTIONAL }
 */
function parseSignerInfo(node: AsnNode): ParsedSigner {
  const code = MALFORMED;
  const what = 'SignerInfo';
  const tag = tagByte(node);
  if (tag !== T_SEQUENCE) fail(code, what, `expected SEQUENCE, found ${tagName(tag)}`);
  const c = fields(node, what, code);
  smallInt(c.next(T_INTEGER, 'version'), `${what}.version`, code);

  let signerId: TimestampSignerId;
  const sidTag = c.peekTag();
  if (sidTag === T_SEQUENCE) {
    // IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER }
    const ias = fields(c.next(T_SEQUENCE, 'sid'), `${what}.sid`, code);
    const issuer = ias.next(T_SEQUENCE, 'issuer');
    const serial = intBytes(ias.next(T_INTEGER, 'serialNumber'), `${what}.sid.serialNumber`, code);
    ias.done();
    signerId = { issuerDer: whole(issuer), serialNumber: serial };
  } else if (sidTag === T_CTX0_PRIM) {
    // subjectKeyIdentifier [0] IMPLICIT OCTET STRING
    const ski = value(c.next(T_CTX0_PRIM, 'sid'), `${what}.sid`, code);
    if (ski.length === 0) fail(code, `${what}.sid`, 'empty subjectKeyIdentifier');
    signerId = { subjectKeyIdentifier: ski };
  } else {
    fail(code, `${what}.sid`, 'expected issuerAndSerialNumber or [0] subjectKeyIdentifier');
  }

  const digest = decodeAlgorithm(c.next(T_SEQUENCE, 'digestAlgorithm'), `${what}.digestAlgorithm`, code);
  const digestName = absentOrNull(digest.parameters) ? HASH_BY_OID[digest.oid] : undefined;
  const digestAlgorithm = digestName ? { oid: digest.oid, name: digestName } : { oid: digest.oid };

  const attrsNode = c.optional(T_CTX0, 'signedAttrs');
  const signedAttrs = attrsNode ? parseSignedAttributes(attrsNode) : undefined;

  const sigAlg = decodeAlgorithm(c.next(T_SEQUENCE, 'signatureAlgorithm'), `${what}.signatureAlgorithm`, code);
  const signature = value(c.next(T_OCTET_STRING, 'signature'), `${what}.signature`, code);
  if (signature.length === 0) fail(code, `${what}.signature`, 'empty signature');
  c.optional(T_CTX1, 'unsignedAttrs');
  c.done();

  const result: ParsedSigner = {
    signerId,
    digestAlgorithm,
    signatureAlgorithm: sigAlg.parameters ? { oid: sigAlg.oid, parameters: sigAlg.parameters } : { oid: sigAlg.oid },
    signatureScheme: resolveSignatureScheme(sigAlg, digestName),
    signature,
  };
  if (signedAttrs) result.signedAttrs = signedAttrs;
  return result;
}

/** Attribute ::= SEQUENCE { attrType OID, attrValues SET OF AttributeValue } (RFC 5652 §5.3) */
function parseSignedAttributes(node: AsnNode): TimestampSignedAttributes {
  const code = MALFORMED;
  const what = 'SignerInfo.signedAttrs';
  let contentType: string | undefined;
  let messageDigest: Buffer | undefined;
  let essCertIds: EssCertId[] | undefined;
  const attrs = elements(node, what, code);
  if (attrs.length === 0) fail(code, what, 'present but empty');
  for (const attr of attrs) {
    const attrTag = tagByte(attr);
    if (attrTag !== T_SEQUENCE) fail(code, what, `attribute is ${tagName(attrTag)}, expected SEQUENCE`);
    const a = fields(attr, `${what}.attribute`, code);
    const type = decodeOid(a.next(T_OID, 'attrType'), `${what}.attrType`, code);
    const values = elements(a.next(T_SET, 'attrValues'), `${what}[${type}].attrValues`, code);
    a.done();
    if (values.length === 0) fail(code, `${what}[${type}]`, 'attribute has no value');
    const here = `${what}[${type}]`;
    const single = (): AsnNode => {
      if (values.length !== 1) fail(code, here, `must have exactly one value, found ${values.length}`);
      return values[0] as AsnNode;
    };
    if (type === OID_ATTR_CONTENT_TYPE) {
      if (contentType !== undefined) fail(code, what, 'content-type attribute appears twice');
      const v = single();
      if (tagByte(v) !== T_OID) fail(code, here, 'content-type value must be an OBJECT IDENTIFIER');
      contentType = decodeOid(v, here, code);
    } else if (type === OID_ATTR_MESSAGE_DIGEST) {
      if (messageDigest !== undefined) fail(code, what, 'message-digest attribute appears twice');
      const v = single();
      if (tagByte(v) !== T_OCTET_STRING) fail(code, here, 'message-digest value must be an OCTET STRING');
      messageDigest = value(v, here, code);
    } else if (type === OID_ATTR_SIGNING_CERT || type === OID_ATTR_SIGNING_CERT_V2) {
      if (essCertIds !== undefined) fail(code, what, 'signing-certificate attribute appears twice');
      essCertIds = parseSigningCertificate(single(), type === OID_ATTR_SIGNING_CERT_V2, here);
    }
  }
  // RFC 5652 §5.3: with signedAttrs present, content-type and message-digest are mandatory.
  if (contentType === undefined) fail(code, what, 'content-type attribute is missing');
  if (messageDigest === undefined) fail(code, what, 'message-digest attribute is missing');

  // The signature covers the DER of SET OF Attribute: the bytes as received, with tag 0x31 for [0].
  const der = Buffer.from(rawBytes(node));
  der[0] = T_SET;
  return { der, contentType, messageDigest, essCertIds: essCertIds ?? [] };
}

/**
 * SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies OPTIONAL }
 * ESSCertID ::= SEQUENCE { certHash OCTET STRING (SHA-1), issuerSerial OPTIONAL }
 * ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash OCTET STRING, issuerSerial OPTIONAL }
 */
function parseSigningCertificate(node: AsnNode, v2: boolean, what: string): EssCertId[] {
  const code = MALFORMED;
  if (tagByte(node) !== T_SEQUENCE) fail(code, what, 'value must be a SEQUENCE');
  const sc = fields(node, what, code);
  const certs = sc.next(T_SEQUENCE, 'certs');
  sc.optional(T_SEQUENCE, 'policies');
  sc.done();
  const out: EssCertId[] = [];
  for (const idNode of elements(certs, `${what}.certs`, code)) {
    if (tagByte(idNode) !== T_SEQUENCE) fail(code, `${what}.certs`, 'ESSCertID must be a SEQUENCE');
    const id = fields(idNode, `${what}.certs[]`, code);
    let hashAlgorithm = v2 ? 'sha256' : 'sha1';
    if (v2 && id.peekTag() === T_SEQUENCE) {
      hashAlgorithm = hashNameForEss(decodeAlgorithm(id.next(T_SEQUENCE, 'hashAlgorithm'), `${what}.hashAlgorithm`, code).oid);
    }
    const certHash = value(id.next(T_OCTET_STRING, 'certHash'), `${what}.certHash`, code);
    id.optional(T_SEQUENCE, 'issuerSerial');
    id.done();
    out.push({ hashAlgorithm, certHash });
  }
  return out;
}

function resolveSignatureScheme(alg: Algorithm, digest: TimestampHashAlgorithm | undefined): TimestampSignatureScheme {
  const combined = COMBINED_SIGNATURE_OIDS[alg.oid];
  if (combined) {
    // RFC 5652 §5.4 signs the digest made with digestAlgorithm; an OID naming another hash is
    // contradictory, and verifiers disagree on which one wins, so such a token is refused.
    if (digest && combined[1] !== digest) {
      return { kind: 'unsupported', reason: `signatureAlgorithm ${alg.oid} uses ${combined[1]} but digestAlgorithm is ${digest}` };
    }
    return { kind: combined[0] };
  }
  switch (alg.oid) {
    case OID_RSA_ENCRYPTION:
      return { kind: 'rsa-pkcs1' };
    case OID_EC_PUBLIC_KEY:
      return { kind: 'ecdsa' };
    case OID_ED25519:
      return { kind: 'ed25519' };
    case OID_ED448:
      return { kind: 'ed448' };
    case OID_RSA_PSS:
      return resolvePss(alg.parametersNode, digest);
    default:
      return { kind: 'unsupported', reason: `signature algorithm ${alg.oid} is not supported` };
  }
}

/**
 * RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] DEFAULT sha1, maskGenAlgorithm [1] DEFAULT
 * mgf1SHA1, saltLength [2] DEFAULT 20, trailerField [3] DEFAULT 1 } (RFC 4055 §3.1)
 */
function resolvePss(parameters: AsnNode | undefined, digest: TimestampHashAlgorithm | undefined): TimestampSignatureScheme {
  const code = MALFORMED;
  const what = 'SignerInfo.signatureAlgorithm.parameters';
  if (!parameters) fail(code, what, 'RSASSA-PSS requires parameters');
  if (tagByte(parameters) !== T_SEQUENCE) fail(code, what, 'must be one SEQUENCE');
  const c = fields(parameters, what, code);
  let hash = 'sha1';
  let mgfHash = 'sha1';
  let saltLength = 20;
  const hashNode = c.optional(T_CTX0, 'hashAlgorithm');
  if (hashNode) {
    const inner = fields(hashNode, `${what}.hashAlgorithm`, code);
    hash = hashNameForEss(decodeAlgorithm(inner.next(T_SEQUENCE, 'AlgorithmIdentifier'), what, code).oid);
    inner.done();
  }
  const mgfNode = c.optional(T_CTX1, 'maskGenAlgorithm');
  if (mgfNode) {
    const inner = fields(mgfNode, `${what}.maskGenAlgorithm`, code);
    const mgf = decodeAlgorithm(inner.next(T_SEQUENCE, 'AlgorithmIdentifier'), what, code);
    inner.done();
    if (mgf.oid !== OID_MGF1) return { kind: 'unsupported', reason: `RSASSA-PSS mask generation ${mgf.oid} is not MGF1` };
    if (!mgf.parametersNode) fail(code, what, 'MGF1 needs a hash AlgorithmIdentifier');
    if (tagByte(mgf.parametersNode) !== T_SEQUENCE) fail(code, what, 'MGF1 parameters must be one SEQUENCE');
    mgfHash = hashNameForEss(decodeAlgorithm(mgf.parametersNode, `${what}.mgf1`, code).oid);
  }
  const saltNode = c.optional(T_CTX2, 'saltLength');
  if (saltNode) {
    const inner = fields(saltNode, `${what}.saltLength`, code);
    saltLength = smallInt(inner.next(T_INTEGER, 'INTEGER'), `${what}.saltLength`, code);
    inner.done();
  }
  const trailerNode = c.optional(T_CTX3, 'trailerField');
  if (trailerNode) {
    const inner = fields(trailerNode, `${what}.trailerField`, code);
    const trailer = smallInt(inner.next(T_INTEGER, 'INTEGER'), `${what}.trailerField`, code);
    inner.done();
    if (trailer !== 1) return { kind: 'unsupported', reason: `RSASSA-PSS trailerField ${trailer} is not 1` };
  }
  c.done();
  if (saltLength < 0) fail(code, what, 'negative saltLength');
  if (hash !== digest) {
    return { kind: 'unsupported', reason: `RSASSA-PSS hash ${hash} differs from digestAlgorithm ${digest ?? 'unsupported'}` };
  }
  if (mgfHash !== hash) {
    return { kind: 'unsupported', reason: `RSASSA-PSS MGF1 hash ${mgfHash} differs from the signature hash ${hash}` };
  }
  return { kind: 'rsa-pss', saltLength };
}

type ParsedTstInfo = Pick<
  TimestampToken,
  'genTime' | 'policy' | 'serialNumber' | 'nonce' | 'accuracy' | 'ordering' | 'messageImprint' | 'tsaName'
>;

/**
 * TSTInfo ::= SEQUENCE { version INTEGER { v1(1) }, policy OID, messageImprint MessageImprint,
 *   serialNumber INTEGER, genTime GeneralizedTime, accuracy Accuracy OPTIONAL,
 *   ordering BOOLEAN DEFAULT FALSE, nonce INTEGER OPTIONAL, tsa [0] GeneralName OPTIONAL,
 *   extensions [1] IMPLICIT Extensions OPTIONAL }   (RFC 3161 §2.4.2)
 */
function parseTstInfo(buf: Buffer): ParsedTstInfo {
  const code = MALFORMED;
  const what = 'TSTInfo';
  // `buf` is already a view of the private copy; genTime's text is read (strictly) below.
  const top = parseDer(buf, code, at(code, what), { copy: false });
  const topTag = tagByte(top);
  if (topTag !== T_SEQUENCE) fail(code, what, `expected SEQUENCE, found ${tagName(topTag)}`);
  const c = fields(top, what, code);
  const version = smallInt(c.next(T_INTEGER, 'version'), `${what}.version`, code);
  if (version !== 1) fail(code, `${what}.version`, `expected 1, found ${version}`);
  const policy = decodeOid(c.next(T_OID, 'policy'), `${what}.policy`, code);

  // MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }
  const mi = fields(c.next(T_SEQUENCE, 'messageImprint'), `${what}.messageImprint`, code);
  const hashAlg = decodeAlgorithm(mi.next(T_SEQUENCE, 'hashAlgorithm'), `${what}.messageImprint.hashAlgorithm`, code);
  const hashedMessage = value(mi.next(T_OCTET_STRING, 'hashedMessage'), `${what}.messageImprint.hashedMessage`, code);
  mi.done();
  const hashAlgorithm = HASH_BY_OID[hashAlg.oid];
  if (!hashAlgorithm || !absentOrNull(hashAlg.parameters)) {
    fail(code, `${what}.messageImprint.hashAlgorithm`, `${hashAlg.oid} is not SHA-256, SHA-384 or SHA-512`);
  }
  if (hashedMessage.length !== HASH_LENGTH[hashAlgorithm]) {
    fail(code, `${what}.messageImprint.hashedMessage`, `${hashedMessage.length} bytes is not a ${hashAlgorithm} digest`);
  }

  const serialNumber = intBytes(c.next(T_INTEGER, 'serialNumber'), `${what}.serialNumber`, code);
  const genTime = generalizedTimeOf(c.next(T_GENERALIZED_TIME, 'genTime'), code, at(code, `${what}.genTime`));
  const result: ParsedTstInfo = {
    genTime, policy, serialNumber, ordering: false, messageImprint: { hashAlgorithm, hashedMessage },
  };

  const accuracyNode = c.optional(T_SEQUENCE, 'accuracy');
  if (accuracyNode) {
    // Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] (1..999) OPTIONAL, micros [1] (1..999) OPTIONAL }
    const a = fields(accuracyNode, `${what}.accuracy`, code);
    const s = a.optional(T_INTEGER, 'seconds');
    const ms = a.optional(T_CTX0_PRIM, 'millis');
    const us = a.optional(T_CTX1_PRIM, 'micros');
    a.done();
    const accuracy = {
      seconds: s ? smallInt(s, `${what}.accuracy.seconds`, code) : 0,
      millis: ms ? implicitSmallInt(ms, `${what}.accuracy.millis`, code) : 0,
      micros: us ? implicitSmallInt(us, `${what}.accuracy.micros`, code) : 0,
    };
    if (accuracy.seconds < 0 || accuracy.millis < 0 || accuracy.millis > 999 || accuracy.micros < 0 || accuracy.micros > 999) {
      fail(code, `${what}.accuracy`, 'out of range');
    }
    result.accuracy = accuracy;
  }
  const ordering = c.optional(T_BOOLEAN, 'ordering');
  if (ordering) result.ordering = booleanOf(ordering, code, at(code, `${what}.ordering`));
  const nonce = c.optional(T_INTEGER, 'nonce');
  if (nonce) result.nonce = intBytes(nonce, `${what}.nonce`, code);
  const tsa = c.optional(T_CTX0, 'tsa');
  if (tsa) {
    // [0] GeneralName: explicit, since GeneralName is a CHOICE.
    const t = fields(tsa, `${what}.tsa`, code);
    const name = t.any('GeneralName');
    t.done();
    const tsaName: NonNullable<TimestampToken['tsaName']> = { der: whole(name) };
    if (tagByte(name) === T_CTX4) {
      // directoryName [4] Name (explicit: Name is a CHOICE of one RDNSequence).
      const d = fields(name, `${what}.tsa.directoryName`, code);
      tsaName.directoryName = whole(d.next(T_SEQUENCE, 'Name'));
      d.done();
    }
    result.tsaName = tsaName;
  }
  c.optional(T_CTX1, 'extensions');
  c.done();
  return result;
}


// ---------------------------------------------------------------------------------------------
// Verification

function keyTypeFits(scheme: TimestampSignatureScheme, keyType: string | undefined): boolean {
  switch (scheme.kind) {
    case 'ecdsa': return keyType === 'ec';
    case 'rsa-pkcs1': return keyType === 'rsa';
    case 'rsa-pss': return keyType === 'rsa' || keyType === 'rsa-pss';
    case 'ed25519': return keyType === 'ed25519';
    case 'ed448': return keyType === 'ed448';
    default: return false;
  }
}

/**
 * Checks the TSA's signature over the token with `signerKey` (the TSA certificate's public key)
 * per RFC 5652 §5.4. Throws RFC3161_SIGNATURE_INVALID. Does not check the certificate itself.
 * `fixedKey`, made once for the same key, checks an ECDSA signature faster (fixed-key-ecdsa.ts).
 */
export function verifyTimestampTokenSignature(token: TimestampToken, signerKey: KeyObject, fixedKey?: FixedKeyVerifier): void {
  if (!(signerKey instanceof KeyObject) || signerKey.type === 'secret') {
    throw new CoreError(SIGNATURE_INVALID, 'timestamp signer key must be a public KeyObject');
  }
  if (!token || !Buffer.isBuffer(token.tstInfoDer) || !token.signatureScheme || !Buffer.isBuffer(token.signature)) {
    throw new CoreError(SIGNATURE_INVALID, 'not a parsed timestamp token (use parseTimestampToken)');
  }
  const scheme = token.signatureScheme;
  if (scheme.kind === 'unsupported') {
    throw new CoreError(SIGNATURE_INVALID, `timestamp signature cannot be checked: ${scheme.reason}`);
  }
  const hash = token.digestAlgorithm.name;
  if (!hash) {
    throw new CoreError(
      SIGNATURE_INVALID,
      `timestamp digest algorithm ${token.digestAlgorithm.oid} is not supported (SHA-256, SHA-384, SHA-512 are)`,
    );
  }

  let signed: Buffer;
  const attrs = token.signedAttrs;
  if (attrs) {
    if (attrs.contentType !== OID_CT_TSTINFO) {
      throw new CoreError(
        SIGNATURE_INVALID,
        `timestamp content-type attribute is ${attrs.contentType}, expected id-ct-TSTInfo (${OID_CT_TSTINFO})`,
      );
    }
    const digest = digestOf(hash, token.tstInfoDer);
    if (!bytesEqual(digest, attrs.messageDigest)) {
      throw new CoreError(
        SIGNATURE_INVALID,
        'timestamp message-digest attribute does not match the TSTInfo: the timestamp content was altered',
      );
    }
    signed = attrs.der;
  } else {
    signed = token.tstInfoDer;
  }

  const keyType = signerKey.asymmetricKeyType;
  if (!keyTypeFits(scheme, keyType)) {
    throw new CoreError(
      SIGNATURE_INVALID,
      `timestamp is signed with ${scheme.kind} but the TSA key is ${keyType ?? 'of unknown type'}`,
    );
  }
  let ok: boolean;
  try {
    if (scheme.kind === 'ed25519' || scheme.kind === 'ed448') {
      ok = cryptoVerify(null, signed, signerKey, token.signature);
    } else if (scheme.kind === 'rsa-pss') {
      ok = cryptoVerify(
        hash,
        signed,
        { key: signerKey, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength },
        token.signature,
      );
    } else if (fixedKey) {
      // The same ECDSA check, from tables made once for this (trusted) key.
      ok = fixedKey.verify(hash, signed, token.signature);
    } else {
      ok = cryptoVerify(hash, signed, signerKey, token.signature);
    }
  } catch (err) {
    throw new CoreError(
      SIGNATURE_INVALID,
      `timestamp signature could not be checked with the TSA key: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
  if (!ok) {
    throw new CoreError(SIGNATURE_INVALID, 'timestamp signature does not verify with the TSA key');
  }
}

/**
 * Checks that the token's message imprint is the hash of `message` (in sigstore: the bundle's
 * signature bytes). Throws RFC3161_IMPRINT_MISMATCH.
 */
export function verifyMessageImprint(token: TimestampToken, message: Uint8Array): void {
  if (!(message instanceof Uint8Array)) {
    throw new CoreError(IMPRINT_MISMATCH, 'timestamped message must be bytes (a Uint8Array)');
  }
  const imprint = token?.messageImprint;
  if (!imprint || !HASH_LENGTH[imprint.hashAlgorithm] || !Buffer.isBuffer(imprint.hashedMessage)) {
    throw new CoreError(IMPRINT_MISMATCH, 'not a parsed timestamp token (use parseTimestampToken)');
  }
  const digest = digestOf(imprint.hashAlgorithm, message);
  if (!bytesEqual(digest, imprint.hashedMessage)) {
    throw new CoreError(
      IMPRINT_MISMATCH,
      `timestamp covers a different message: its ${imprint.hashAlgorithm} imprint is ` +
        `${hexEncode(imprint.hashedMessage)}, the message hashes to ${hexEncode(digest)}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Matching certificates to the signer

interface CertIds {
  serialNumber: Buffer;
  issuerDer: Buffer;
  subjectKeyIdentifier?: Buffer;
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
 * TBSCertificate ::= SEQUENCE { version [0] EXPLICIT OPTIONAL, serialNumber, signature, issuer,
 *   validity, subject, subjectPublicKeyInfo, issuerUniqueID [1], subjectUniqueID [2], extensions [3] }
 */
function certificateIds(certDer: Uint8Array): CertIds {
  const code = CERT_MALFORMED;
  // Nothing of the certificate is kept, so parseDer may read the caller's bytes in place.
  const top = parseDer(certDer, code, at(code, 'Certificate'), { copy: false });
  if (tagByte(top) !== T_SEQUENCE) fail(code, 'Certificate', 'expected SEQUENCE');
  const cert = fields(top, 'Certificate', code);
  const tbs = fields(cert.next(T_SEQUENCE, 'tbsCertificate'), 'tbsCertificate', code);
  tbs.optional(T_CTX0, 'version');
  const serialNumber = intBytes(tbs.next(T_INTEGER, 'serialNumber'), 'tbsCertificate.serialNumber', code);
  tbs.next(T_SEQUENCE, 'signature');
  const issuerDer = whole(tbs.next(T_SEQUENCE, 'issuer'));
  tbs.next(T_SEQUENCE, 'validity');
  tbs.next(T_SEQUENCE, 'subject');
  tbs.next(T_SEQUENCE, 'subjectPublicKeyInfo');
  tbs.optional(T_CTX1_PRIM, 'issuerUniqueID');
  tbs.optional(T_CTX2_PRIM, 'subjectUniqueID');
  const extsExplicit = tbs.optional(T_CTX3, 'extensions');
  tbs.done();
  const ids: CertIds = { serialNumber, issuerDer };
  if (extsExplicit) {
    const wrap = fields(extsExplicit, 'tbsCertificate.extensions', code);
    const exts = wrap.next(T_SEQUENCE, 'Extensions');
    wrap.done();
    for (const ext of elements(exts, 'Extensions', code)) {
      // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
      if (tagByte(ext) !== T_SEQUENCE) fail(code, 'Extensions', 'extension must be a SEQUENCE');
      const e = fields(ext, 'Extension', code);
      const id = decodeOid(e.next(T_OID, 'extnID'), 'Extension.extnID', code);
      e.optional(T_BOOLEAN, 'critical');
      const extnValue = e.next(T_OCTET_STRING, 'extnValue');
      e.done();
      if (id === OID_SUBJECT_KEY_ID) {
        // extnValue holds the DER of SubjectKeyIdentifier ::= OCTET STRING; a view, not a copy.
        const inner = parseDer(contentBytes(extnValue, code, at(code, 'SubjectKeyIdentifier')), code, at(code, 'SubjectKeyIdentifier'), { copy: false });
        if (tagByte(inner) !== T_OCTET_STRING) fail(code, 'SubjectKeyIdentifier', 'must be one OCTET STRING');
        ids.subjectKeyIdentifier = value(inner, 'SubjectKeyIdentifier', code);
      }
    }
  }
  return ids;
}

/** INTEGER content octets without redundant leading 0x00 / 0xFF, for comparing serial numbers. */
function minimalInteger(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (
    i < bytes.length - 1 &&
    ((bytes[i] === 0x00 && ((bytes[i + 1] as number) & 0x80) === 0) ||
      (bytes[i] === 0xff && ((bytes[i + 1] as number) & 0x80) !== 0))
  ) {
    i++;
  }
  return bytes.subarray(i);
}

/**
 * Whether `certDer` is the certificate the token's SignerInfo names: same issuer (DER) and serial
 * number, or same subject key identifier extension. Throws X509_INVALID for a bad certificate.
 */
export function signerCertificateMatches(token: TimestampToken, certDer: Uint8Array): boolean {
  if (!(certDer instanceof Uint8Array)) {
    throw new CoreError(CERT_MALFORMED, 'certificate must be DER bytes (a Uint8Array)');
  }
  return signerIdMatches(token, certificateIds(certDer));
}

/**
 * signerCertificateMatches for a certificate already parsed (e.g. a trusted TSA's X509): its
 * serial number, issuer Name (DER) and subject key identifier, if it has one.
 */
export function signerIdMatches(token: TimestampToken, ids: { serialNumber: Uint8Array; issuerDer: Uint8Array; subjectKeyIdentifier?: Uint8Array | undefined }): boolean {
  const sid = token?.signerId;
  if (sid && 'subjectKeyIdentifier' in sid) {
    return ids.subjectKeyIdentifier !== undefined && bytesEqual(ids.subjectKeyIdentifier, sid.subjectKeyIdentifier);
  }
  if (sid && 'issuerDer' in sid) {
    return bytesEqual(ids.issuerDer, sid.issuerDer) &&
      bytesEqual(minimalInteger(ids.serialNumber), minimalInteger(sid.serialNumber));
  }
  throw new CoreError(MALFORMED, 'not a parsed timestamp token (use parseTimestampToken)');
}

const NODE_HASH: Record<string, string> = { sha1: 'sha1', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

/**
 * Whether the token's signing-certificate attribute (ESSCertID / ESSCertIDv2, RFC 3161 §2.4.1
 * requires one) names `certDer`: the first entry's hash equals the hash of the certificate.
 * False when the attribute is absent or uses an unknown hash.
 */
export function essCertIdMatches(token: TimestampToken, certDer: Uint8Array): boolean {
  if (!(certDer instanceof Uint8Array)) {
    throw new CoreError(CERT_MALFORMED, 'certificate must be DER bytes (a Uint8Array)');
  }
  const first = token?.signedAttrs?.essCertIds[0];
  if (!first) return false;
  const hash = NODE_HASH[first.hashAlgorithm];
  if (!hash) return false;
  return bytesEqual(createHash(hash).update(certDer).digest(), first.certHash);
}
