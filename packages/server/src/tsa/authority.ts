// The timestamp authority proper: judges a request (RFC 3161 §2.4.1 and sigstore's TSA rules)
// and answers with a TimeStampResp, either granted with a TimeStampToken (CMS SignedData over a
// TSTInfo, signed attributes incl. ESS signing-certificate-v2) or a rejection with its failInfo.

import { createHash } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  CertificateChoices,
  CertificateSet,
  CMSVersion,
  DigestAlgorithmIdentifier,
  DigestAlgorithmIdentifiers,
  EncapsulatedContent,
  EncapsulatedContentInfo,
  IssuerAndSerialNumber,
  MessageDigest,
  SignatureAlgorithmIdentifier,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
  SigningTime,
} from '@peculiar/asn1-cms';
import { Accuracy, PKIFreeText, PKIStatus, PKIStatusInfo, TimeStampResp, TimeStampToken, TSTInfo } from '@peculiar/asn1-tsp';
import { Certificate, GeneralName, GeneralNames } from '@peculiar/asn1-x509';
import { parseTimestampToken } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { randomSerialNumber } from '../ca/cert/builder.js';
import { SIGNATURE_ALGORITHMS } from '../ca/keys/signer.js';
import {
  AttributeSet,
  EssCertIdV2,
  HASH_LENGTHS,
  HASH_OIDS,
  IssuerSerial,
  OID_ATTR_CONTENT_TYPE,
  OID_ATTR_MESSAGE_DIGEST,
  OID_ATTR_SIGNING_CERT_V2,
  OID_ATTR_SIGNING_TIME,
  OID_CT_TSTINFO,
  OID_SHA1,
  OID_SIGNED_DATA,
  SIGSTORE_TSA_POLICY,
  SigningCertificateV2,
  attribute,
  der,
  failureInfo,
  hashByOid,
  oidValue,
  sortedAttributes,
  type TimestampHash,
  type TsaFailure,
} from './asn1.js';
import { checkTsaSigner, type TsaChain } from './chain.js';
import { MAX_NONCE_BYTES, type TimestampQuery } from './request.js';

export interface TimestampAuthorityOptions {
  chain: TsaChain;
  /** TSTInfo.policy when the request names none (default 1.3.6.1.4.1.57264.2, as sigstore's TSA). */
  defaultPolicy?: string;
  /** Policies a request may ask for (default: the default policy only). */
  acceptedPolicies?: string[];
  /** With certReq, embed the TSA certificate's issuers too (sigstore: include-chain-in-response; default false: the TSA certificate only). */
  includeChain?: boolean;
  /** TSTInfo.accuracy (default one second, as sigstore's TSA); null leaves it out. */
  accuracy?: { seconds?: number; millis?: number; micros?: number } | null;
  /** Put the TSA certificate's subject in TSTInfo.tsa (default true). */
  includeTsaName?: boolean;
  /** The clock (tests). */
  clock?: () => Date;
}

export interface TimestampRejection {
  failure: TsaFailure;
  message: string;
}

export type TimestampResult =
  | { status: 'granted'; der: Buffer; token: Buffer; genTime: Date; serialNumber: Buffer; policy: string }
  | { status: 'rejection'; der: Buffer; failure: TsaFailure; message: string };

/** A TimeStampResp with status rejection, the failInfo bit and the reason as statusString. */
export function rejectionResponse(failure: TsaFailure, message: string): Buffer {
  const status = new PKIStatusInfo({ status: PKIStatus.rejection, statusString: new PKIFreeText([message]), failInfo: failureInfo(failure) });
  return der(new TimeStampResp({ status }));
}

function internal(message: string): ServiceError {
  return new ServiceError(500, 'TSA_INTERNAL', message);
}

export class TimestampAuthority {
  readonly chain: TsaChain;
  readonly defaultPolicy: string;
  readonly acceptedPolicies: readonly string[];
  private readonly leaf: Certificate;
  /** What certReq embeds: the TSA certificate, or the whole chain with includeChain. */
  private readonly embedded: Certificate[];
  private readonly digest: TimestampHash;
  private readonly signatureOid: string;
  private readonly signingCertificate: ArrayBuffer;
  private readonly accuracy: Accuracy | undefined;
  private readonly includeTsaName: boolean;
  private readonly clock: () => Date;

  constructor(options: TimestampAuthorityOptions) {
    const chain = options.chain;
    checkTsaSigner(chain.signer);
    this.chain = chain;
    this.defaultPolicy = options.defaultPolicy ?? SIGSTORE_TSA_POLICY;
    this.acceptedPolicies = [...new Set([this.defaultPolicy, ...(options.acceptedPolicies ?? [])])];
    const parsed = chain.certificates.map((cert, i) => {
      const certificate = AsnConvert.parse(cert.der, Certificate);
      // Embedded certificates are re-encoded by the schema; they must come out as the same bytes.
      if (!der(certificate).equals(cert.der)) throw internal(`TSA chain certificate ${i + 1} is not strict DER and cannot be embedded as it is`);
      return certificate;
    });
    const leaf = parsed[0];
    if (!leaf) throw internal('the TSA chain is empty');
    this.leaf = leaf;
    this.embedded = options.includeChain ? parsed : [leaf];
    const info = SIGNATURE_ALGORITHMS[chain.signer.algorithm];
    if (info.hash === null) throw internal(`the TSA key signs with ${chain.signer.algorithm}, which has no digest`);
    this.digest = info.hash;
    this.signatureOid = info.oid;
    // ESS signing-certificate-v2 (RFC 5035): SHA-256 (the default, so left out) of the TSA certificate, and its issuer and serial.
    const leafDer = chain.certificates[0]?.der as Buffer;
    const essCertId = new EssCertIdV2({
      certHash: new OctetString(createHash('sha256').update(leafDer).digest()),
      issuerSerial: new IssuerSerial({
        issuer: new GeneralNames([new GeneralName({ directoryName: leaf.tbsCertificate.issuer })]),
        serialNumber: leaf.tbsCertificate.serialNumber,
      }),
    });
    this.signingCertificate = AsnConvert.serialize(new SigningCertificateV2({ certs: [essCertId] }));
    const accuracy = options.accuracy === undefined ? { seconds: 1 } : options.accuracy;
    this.accuracy = accuracy === null ? undefined : new Accuracy({ seconds: accuracy.seconds ?? 0, ...(accuracy.millis ? { millis: accuracy.millis } : {}), ...(accuracy.micros ? { micros: accuracy.micros } : {}) });
    this.includeTsaName = options.includeTsaName ?? true;
    this.clock = options.clock ?? (() => new Date());
  }

  /** Why the request cannot be granted (RFC 3161 failInfo and a message), or undefined. */
  check(query: TimestampQuery): TimestampRejection | undefined {
    if (query.version !== 1) return { failure: 'badDataFormat', message: `TimeStampReq version ${query.version} is not supported: send version 1` };
    const oid = query.hashAlgorithmOid;
    if (oid === OID_SHA1) return { failure: 'badAlg', message: 'weak hash algorithm SHA-1: hash with SHA-256, SHA-384 or SHA-512' };
    const hash = oid === undefined ? undefined : hashByOid(oid);
    if (hash === undefined || !query.messageImprint) {
      return { failure: 'badAlg', message: `unsupported hash algorithm ${query.hashAlgorithmName}: hash with SHA-256, SHA-384 or SHA-512` };
    }
    if (!query.hashParametersOk) return { failure: 'badAlg', message: `the ${hash} AlgorithmIdentifier has parameters; they must be absent or NULL` };
    if (query.hashedMessage.length !== HASH_LENGTHS[hash]) {
      return { failure: 'badDataFormat', message: `message digest has incorrect length for ${hash}: expected ${HASH_LENGTHS[hash]} bytes, got ${query.hashedMessage.length}` };
    }
    if (query.nonce !== undefined && query.nonce.length > MAX_NONCE_BYTES) {
      return { failure: 'badDataFormat', message: `the nonce is ${query.nonce.length} bytes; at most ${MAX_NONCE_BYTES} are accepted` };
    }
    if (query.policy !== undefined && !this.acceptedPolicies.includes(query.policy)) {
      return { failure: 'unacceptedPolicy', message: `unaccepted policy ${query.policy}: this TSA issues timestamps under ${this.acceptedPolicies.join(', ')}` };
    }
    if (query.extensionCount > 0) return { failure: 'unacceptedExtension', message: 'unaccepted extension: this TSA supports no request extensions' };
    return undefined;
  }

  /** Judges the request and answers with a DER TimeStampResp. */
  async respond(query: TimestampQuery): Promise<TimestampResult> {
    const rejection = this.check(query);
    if (rejection) return { status: 'rejection', der: rejectionResponse(rejection.failure, rejection.message), ...rejection };
    const issued = await this.issue(query);
    const response = der(new TimeStampResp({ status: new PKIStatusInfo({ status: PKIStatus.granted }), timeStampToken: issued.tokenInfo }));
    return { status: 'granted', der: response, token: issued.token, genTime: issued.genTime, serialNumber: issued.serialNumber, policy: issued.policy };
  }

  private async issue(query: TimestampQuery): Promise<{ token: Buffer; tokenInfo: TimeStampToken; genTime: Date; serialNumber: Buffer; policy: string }> {
    if (!query.messageImprint) throw internal('a granted request has a message imprint');
    // Whole seconds, as sigstore's TSA writes them (accuracy is 1 s): some verifiers read a
    // GeneralizedTime fraction only when it has exactly three digits.
    const genTime = new Date(Math.floor(this.clock().getTime() / 1000) * 1000);
    const serialNumber = randomSerialNumber();
    const policy = query.policy ?? this.defaultPolicy;
    const tstInfo = new TSTInfo({
      policy,
      messageImprint: query.messageImprint,
      serialNumber: new Uint8Array(serialNumber).buffer,
      genTime,
      ...(this.accuracy ? { accuracy: this.accuracy } : {}),
      ...(query.nonce !== undefined ? { nonce: new Uint8Array(query.nonce).buffer } : {}),
      ...(this.includeTsaName ? { tsa: new GeneralName({ directoryName: this.leaf.tbsCertificate.subject }) } : {}),
    });
    const tstInfoDer = der(tstInfo);

    const attributes = sortedAttributes([
      attribute(OID_ATTR_CONTENT_TYPE, oidValue(OID_CT_TSTINFO)),
      attribute(OID_ATTR_SIGNING_TIME, AsnConvert.serialize(new SigningTime(genTime))),
      attribute(OID_ATTR_MESSAGE_DIGEST, AsnConvert.serialize(new MessageDigest(createHash(this.digest).update(tstInfoDer).digest()))),
      attribute(OID_ATTR_SIGNING_CERT_V2, this.signingCertificate),
    ]);
    const signedBytes = der(new AttributeSet(attributes));
    const signature = Buffer.from(await this.chain.signer.sign(signedBytes));

    const signerInfo = new SignerInfo({
      version: CMSVersion.v1,
      sid: new SignerIdentifier({
        issuerAndSerialNumber: new IssuerAndSerialNumber({ issuer: this.leaf.tbsCertificate.issuer, serialNumber: this.leaf.tbsCertificate.serialNumber }),
      }),
      digestAlgorithm: new DigestAlgorithmIdentifier({ algorithm: HASH_OIDS[this.digest] }),
      signedAttrs: attributes,
      signatureAlgorithm: new SignatureAlgorithmIdentifier({ algorithm: this.signatureOid }),
      signature: new OctetString(signature),
    });
    const certificates = query.certReq ? this.embeddedCertificates() : undefined;
    const signedData = new SignedData({
      // RFC 5652 §5.1: version 3 when the content type is not id-data.
      version: CMSVersion.v3,
      digestAlgorithms: new DigestAlgorithmIdentifiers([new DigestAlgorithmIdentifier({ algorithm: HASH_OIDS[this.digest] })]),
      encapContentInfo: new EncapsulatedContentInfo({ eContentType: OID_CT_TSTINFO, eContent: new EncapsulatedContent({ single: new OctetString(tstInfoDer) }) }),
      ...(certificates ? { certificates } : {}),
      signerInfos: new SignerInfos([signerInfo]),
    });
    const tokenInfo = new TimeStampToken({ contentType: OID_SIGNED_DATA, content: AsnConvert.serialize(signedData) });
    const token = der(tokenInfo);

    // The token must carry exactly the bytes that were signed and hashed.
    const check = parseTimestampToken(token);
    if (!check.tstInfoDer.equals(tstInfoDer) || !check.signedAttrs?.der.equals(signedBytes)) {
      throw internal('the encoded timestamp token does not carry the signed attributes and TSTInfo that were signed');
    }
    return { token, tokenInfo, genTime, serialNumber, policy };
  }

  private embeddedCertificates(): CertificateSet {
    return new CertificateSet(this.embedded.map((certificate) => new CertificateChoices({ certificate })));
  }
}
