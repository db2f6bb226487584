// Sigstore trusted_root v0.1 / v0.2 documents: the CAs, transparency logs, CT logs and
// timestamp authorities a verifier trusts, each with the time range it is trusted for.

import { CoreError } from './errors.js';
import { FieldReader, type JsonObject } from './json-fields.js';

export const TRUSTED_ROOT_MEDIA_TYPES = [
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
  'application/vnd.dev.sigstore.trustedroot+json;version=0.2',
];
export const TRUSTED_ROOT_V02_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot.v0.2+json';

/** A closed interval [start, end]; no end means still valid. */
export interface TimeRange {
  start: Date;
  end?: Date;
}

export interface TransparencyLogInstance {
  baseUrl: string;
  hashAlgorithm: string;
  publicKey: { rawBytes: Buffer; keyDetails: string; validFor: TimeRange };
  logId: Buffer;
  checkpointKeyId?: Buffer;
  operator?: string;
}

export interface CertificateAuthority {
  uri: string;
  subject: { organization?: string; commonName?: string };
  /** DER certificates, leaf-most first. */
  certChain: Buffer[];
  validFor: TimeRange;
  operator?: string;
}

export interface TrustedRoot {
  mediaType: string;
  tlogs: TransparencyLogInstance[];
  certificateAuthorities: CertificateAuthority[];
  ctlogs: TransparencyLogInstance[];
  timestampAuthorities: CertificateAuthority[];
}

const f: FieldReader = new FieldReader('TRUSTED_ROOT_INVALID');

export function parseTrustedRootJson(text: string): TrustedRoot {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CoreError('TRUSTED_ROOT_INVALID', `trusted root is not valid JSON: ${(err as Error).message}`);
  }
  return parseTrustedRoot(json);
}

export function parseTrustedRoot(json: unknown): TrustedRoot {
  const doc = f.object(json, 'trusted root');
  const mediaType = f.string(doc.mediaType, 'trusted root mediaType');
  if (!TRUSTED_ROOT_MEDIA_TYPES.includes(mediaType)) {
    throw new CoreError('TRUSTED_ROOT_INVALID', `trusted root media type "${mediaType}" is not supported (v0.1 or v0.2)`);
  }
  return {
    mediaType,
    tlogs: f.optionalArray(doc.tlogs, 'tlogs').map((t, i) => parseLog(t, `tlogs[${i}]`)),
    certificateAuthorities: f.optionalArray(doc.certificateAuthorities, 'certificateAuthorities').map((c, i) => parseAuthority(c, `certificateAuthorities[${i}]`)),
    ctlogs: f.optionalArray(doc.ctlogs, 'ctlogs').map((t, i) => parseLog(t, `ctlogs[${i}]`)),
    timestampAuthorities: f.optionalArray(doc.timestampAuthorities, 'timestampAuthorities').map((c, i) => parseAuthority(c, `timestampAuthorities[${i}]`)),
  };
}

/**
 * What an absent validFor means: protobuf-specs makes it optional, and sigstore-go, sigstore-python
 * and sigstore-js read a key or CA without one as valid at every time.
 */
export const VALID_AT_ALL_TIMES: Readonly<TimeRange> = Object.freeze({ start: new Date(-8.64e15) });

/**
 * A TimeRange: absent (or null) is valid at every time; present, its start is required (a range
 * without a start is a malformed root, not "forever": conformance trust-root-tlog-missing-validity-start).
 */
function parseTimeRange(value: unknown, path: string): TimeRange {
  if (value === undefined || value === null) return VALID_AT_ALL_TIMES;
  const range = f.object(value, path);
  if (range.start === undefined) f.fail(`${path}.start`, 'is required (a trust root must say since when a key is trusted)');
  const parsed: TimeRange = { start: f.date(range.start, `${path}.start`) };
  if (range.end !== undefined && range.end !== null) parsed.end = f.date(range.end, `${path}.end`);
  return parsed;
}

function parseLog(value: unknown, path: string): TransparencyLogInstance {
  const log = f.object(value, path);
  const key = f.object(log.publicKey, `${path}.publicKey`);
  const parsed: TransparencyLogInstance = {
    baseUrl: f.string(log.baseUrl, `${path}.baseUrl`),
    hashAlgorithm: log.hashAlgorithm === undefined ? 'SHA2_256' : f.string(log.hashAlgorithm, `${path}.hashAlgorithm`),
    publicKey: {
      rawBytes: f.bytes(key.rawBytes, `${path}.publicKey.rawBytes`),
      keyDetails: f.string(key.keyDetails, `${path}.publicKey.keyDetails`),
      validFor: parseTimeRange(key.validFor, `${path}.publicKey.validFor`),
    },
    logId: f.bytes(f.object(log.logId, `${path}.logId`).keyId, `${path}.logId.keyId`),
  };
  const checkpointKeyId = f.optionalObject(log.checkpointKeyId, `${path}.checkpointKeyId`);
  if (checkpointKeyId) parsed.checkpointKeyId = f.bytes(checkpointKeyId.keyId, `${path}.checkpointKeyId.keyId`);
  if (typeof log.operator === 'string') parsed.operator = log.operator;
  return parsed;
}

function parseAuthority(value: unknown, path: string): CertificateAuthority {
  const ca = f.object(value, path);
  const subject = f.optionalObject(ca.subject, `${path}.subject`) ?? {};
  const chain = f.object(ca.certChain, `${path}.certChain`);
  const certChain = f.array(chain.certificates, `${path}.certChain.certificates`).map((c, i) =>
    f.bytes(f.object(c, `${path}.certChain.certificates[${i}]`).rawBytes, `${path}.certChain.certificates[${i}].rawBytes`),
  );
  if (certChain.length === 0) f.fail(`${path}.certChain.certificates`, 'must not be empty');
  const parsed: CertificateAuthority = {
    uri: ca.uri === undefined ? '' : f.string(ca.uri, `${path}.uri`),
    subject: pickSubject(subject),
    certChain,
    validFor: parseTimeRange(ca.validFor, `${path}.validFor`),
  };
  if (typeof ca.operator === 'string') parsed.operator = ca.operator;
  return parsed;
}

function pickSubject(subject: JsonObject): CertificateAuthority['subject'] {
  const out: CertificateAuthority['subject'] = {};
  if (typeof subject.organization === 'string') out.organization = subject.organization;
  if (typeof subject.commonName === 'string') out.commonName = subject.commonName;
  return out;
}

/** True when `date` lies in the closed interval [start, end]. */
export function inTimeRange(range: TimeRange, date: Date): boolean {
  const t = date.getTime();
  return range.start.getTime() <= t && (range.end === undefined || t <= range.end.getTime());
}
