// What a monitor watches a log for, in sigstore/rekor-monitor's configuration shape
// (`monitoredValues`: certIdentities, subjects, fingerprints, oidMatchers with oidExtensions /
// fulcioExtensions / customExtensions), and the matching of one log entry's identities
// against it. Decoding entries into identities is the caller's job (see EntryIdentities).
//
// Semantics as rekor-monitor has them: certSubject, issuers and subjects are unanchored
// regular expressions; an issuer list, when given, must have one match; fingerprints are
// SHA-256 hex (of a certificate's DER, or of a key's canonical encoding), compared ignoring
// case and colons; OID matchers compare extension values exactly.

import { CoreError } from './errors.js';
import { OID_FULCIO_ISSUER_V1, OID_FULCIO_ISSUER_V2 } from './x509.js';
import { scanCertificate } from './cert-scan.js';

/** Fulcio's certificate extensions by rekor-monitor's YAML names (fulcio docs/oid-info.md). */
export const FULCIO_EXTENSION_OIDS: Readonly<Record<string, string>> = {
  issuer: '1.3.6.1.4.1.57264.1.8',
  'github-workflow-trigger': '1.3.6.1.4.1.57264.1.2',
  'github-workflow-sha': '1.3.6.1.4.1.57264.1.3',
  'github-workflow-name': '1.3.6.1.4.1.57264.1.4',
  'github-workflow-repository': '1.3.6.1.4.1.57264.1.5',
  'github-workflow-ref': '1.3.6.1.4.1.57264.1.6',
  'build-signer-uri': '1.3.6.1.4.1.57264.1.9',
  'build-signer-digest': '1.3.6.1.4.1.57264.1.10',
  'runner-environment': '1.3.6.1.4.1.57264.1.11',
  'source-repository-uri': '1.3.6.1.4.1.57264.1.12',
  'source-repository-digest': '1.3.6.1.4.1.57264.1.13',
  'source-repository-ref': '1.3.6.1.4.1.57264.1.14',
  'source-repository-identifier': '1.3.6.1.4.1.57264.1.15',
  'source-repository-owner-uri': '1.3.6.1.4.1.57264.1.16',
  'source-repository-owner-identifier': '1.3.6.1.4.1.57264.1.17',
  'build-config-uri': '1.3.6.1.4.1.57264.1.18',
  'build-config-digest': '1.3.6.1.4.1.57264.1.19',
  'build-trigger': '1.3.6.1.4.1.57264.1.20',
  'run-invocation-uri': '1.3.6.1.4.1.57264.1.21',
  'source-repository-visibility-at-signing': '1.3.6.1.4.1.57264.1.22',
  'deployment-environment': '1.3.6.1.4.1.57264.1.23',
};

export interface CertIdentityMatcher {
  certSubject: string;
  issuers: string[];
}

export interface OidMatcher {
  oid: string;
  values: string[];
}

export interface MonitoredValues {
  certIdentities: CertIdentityMatcher[];
  subjects: string[];
  fingerprints: string[];
  oidMatchers: OidMatcher[];
}

/** One certificate found in an entry, decoded once. */
export interface EntryCertificate {
  /** Subject alternative names (emails, URIs, ...). */
  subjects: string[];
  issuer?: string;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
  /** Extension values by dotted OID (DER strings decoded, others as raw UTF-8). */
  extensions: Map<string, string>;
}

export interface EntryKey {
  /** SHA-256 of the key's canonical bytes, lowercase hex. */
  fingerprint: string;
  /** Identities bound to the key (PGP user IDs, SSH comments...). */
  subjects: string[];
}

export interface EntryIdentities {
  certificates: EntryCertificate[];
  keys: EntryKey[];
}

export interface IdentityMatch {
  /** rekor-monitor's type names: certIdentity, subject, fingerprint, oidExtension. */
  type: 'certIdentity' | 'subject' | 'fingerprint' | 'oidExtension';
  /** The configured value that matched (the regexp, fingerprint or OID). */
  identity: string;
  /** What in the entry matched it. */
  matched: Record<string, string>;
}

function bad(message: string): CoreError {
  return new CoreError('MONITOR_CONFIG_INVALID', message);
}

function strings(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0)) throw bad(`${where} must be a list of non-empty strings`);
  return value as string[];
}

function regexp(source: string, where: string): string {
  try {
    new RegExp(source, 'u');
  } catch (err) {
    throw bad(`${where} ${JSON.stringify(source)} is not a valid regular expression: ${(err as Error).message}`);
  }
  return source;
}

function oidText(value: unknown, where: string): string {
  const text = Array.isArray(value) && value.every((n) => Number.isInteger(n) && n >= 0) ? value.join('.') : value;
  if (typeof text !== 'string' || !/^[0-2](\.(0|[1-9][0-9]*))+$/.test(text)) throw bad(`${where} must be an OID (dotted, or a list of integers)`);
  return text;
}

/**
 * Reads the rekor-monitor configuration (the parsed YAML/JSON document, with the values under
 * `monitoredValues` or at the top level). Throws MONITOR_CONFIG_INVALID naming the bad field.
 */
export function parseMonitoredValues(doc: unknown): MonitoredValues {
  const root = (doc ?? {}) as Record<string, unknown>;
  if (typeof root !== 'object' || Array.isArray(root)) throw bad('the monitor configuration must be a mapping');
  const mv = (root.monitoredValues ?? root) as Record<string, unknown>;
  if (typeof mv !== 'object' || mv === null || Array.isArray(mv)) throw bad('monitoredValues must be a mapping');
  const certIdentities = ((mv.certIdentities ?? []) as unknown[]).map((raw, i) => {
    const where = `certIdentities[${i}]`;
    const c = raw as Record<string, unknown>;
    if (typeof c !== 'object' || c === null || typeof c.certSubject !== 'string' || c.certSubject === '') throw bad(`${where}.certSubject must be a non-empty string`);
    return { certSubject: regexp(c.certSubject, `${where}.certSubject`), issuers: strings(c.issuers, `${where}.issuers`).map((s) => regexp(s, `${where}.issuers`)) };
  });
  if (!Array.isArray(mv.certIdentities ?? [])) throw bad('certIdentities must be a list');
  const subjects = strings(mv.subjects, 'subjects').map((s) => regexp(s, 'subjects'));
  const fingerprints = strings(mv.fingerprints, 'fingerprints').map((f) => {
    const hex = f.replace(/:/g, '').toLowerCase();
    if (!/^[0-9a-f]+$/.test(hex)) throw bad(`fingerprint ${JSON.stringify(f)} is not hex`);
    return hex;
  });
  const oidMatchers: OidMatcher[] = [];
  const om = (mv.oidMatchers ?? {}) as Record<string, unknown>;
  if (typeof om !== 'object' || om === null) throw bad('oidMatchers must be a mapping');
  for (const [list, field] of [['oidExtensions', 'objectIdentifier'], ['customExtensions', 'objectIdentifier']] as const) {
    const items = (om[list] ?? []) as unknown[];
    if (!Array.isArray(items)) throw bad(`oidMatchers.${list} must be a list`);
    items.forEach((raw, i) => {
      const item = raw as Record<string, unknown>;
      const values = strings(item?.extensionValues, `oidMatchers.${list}[${i}].extensionValues`);
      if (values.length === 0) throw bad(`oidMatchers.${list}[${i}].extensionValues must list at least one value`);
      oidMatchers.push({ oid: oidText(item?.[field], `oidMatchers.${list}[${i}].${field}`), values });
    });
  }
  const fulcio = (om.fulcioExtensions ?? {}) as Record<string, unknown>;
  for (const [name, values] of Object.entries(fulcio)) {
    const oid = FULCIO_EXTENSION_OIDS[name];
    if (!oid) throw bad(`oidMatchers.fulcioExtensions.${name} is not a Fulcio extension (known: ${Object.keys(FULCIO_EXTENSION_OIDS).join(', ')})`);
    const list = strings(values, `oidMatchers.fulcioExtensions.${name}`);
    oidMatchers.push({ oid, values: list });
    // The issuer is also in the deprecated extension 1.1.
    if (name === 'issuer') oidMatchers.push({ oid: '1.3.6.1.4.1.57264.1.1', values: list });
  }
  const result = { certIdentities, subjects, fingerprints, oidMatchers };
  if (certIdentities.length + subjects.length + fingerprints.length + oidMatchers.length === 0) {
    throw bad('the configuration watches nothing: give certIdentities, subjects, fingerprints or oidMatchers');
  }
  return result;
}

/** Matches compiled once per configuration. */
export class IdentityMatcher {
  private readonly certIdentities: { source: CertIdentityMatcher; subject: RegExp; issuers: RegExp[] }[];
  private readonly subjects: { source: string; re: RegExp }[];
  private readonly fingerprints: Set<string>;
  private readonly oids: OidMatcher[];

  constructor(readonly values: MonitoredValues) {
    this.certIdentities = values.certIdentities.map((c) => ({ source: c, subject: new RegExp(c.certSubject, 'u'), issuers: c.issuers.map((i) => new RegExp(i, 'u')) }));
    this.subjects = values.subjects.map((s) => ({ source: s, re: new RegExp(s, 'u') }));
    this.fingerprints = new Set(values.fingerprints);
    this.oids = values.oidMatchers;
  }

  /** Whether any OID matcher needs certificate extensions decoded. */
  get wantsExtensions(): boolean {
    return this.oids.length > 0;
  }

  /** Whether fingerprints are watched (else entries need not be hashed for them). */
  get wantsFingerprints(): boolean {
    return this.fingerprints.size > 0;
  }

  match(entry: EntryIdentities): IdentityMatch[] {
    const found: IdentityMatch[] = [];
    for (const cert of entry.certificates) {
      for (const c of this.certIdentities) {
        const subject = cert.subjects.find((s) => c.subject.test(s));
        if (subject === undefined) continue;
        if (c.issuers.length > 0 && !(cert.issuer !== undefined && c.issuers.some((re) => re.test(cert.issuer as string)))) continue;
        found.push({ type: 'certIdentity', identity: c.source.certSubject, matched: { certSubject: subject, ...(cert.issuer ? { issuer: cert.issuer } : {}) } });
      }
      if (this.fingerprints.has(cert.fingerprint)) found.push({ type: 'fingerprint', identity: cert.fingerprint, matched: { fingerprint: cert.fingerprint } });
      for (const o of this.oids) {
        const value = cert.extensions.get(o.oid);
        if (value !== undefined && o.values.includes(value)) found.push({ type: 'oidExtension', identity: o.oid, matched: { oid: o.oid, extensionValue: value } });
      }
    }
    for (const key of entry.keys) {
      if (this.fingerprints.has(key.fingerprint)) found.push({ type: 'fingerprint', identity: key.fingerprint, matched: { fingerprint: key.fingerprint } });
      for (const s of this.subjects) {
        const subject = key.subjects.find((v) => s.re.test(v));
        if (subject !== undefined) found.push({ type: 'subject', identity: s.source, matched: { subject } });
      }
    }
    return found;
  }
}

const ISSUER_OIDS = [OID_FULCIO_ISSUER_V2, OID_FULCIO_ISSUER_V1];
const DER_STRING_TAGS = new Set([0x0c, 0x16, 0x13, 0x14]);

/** An extension value as text: a DER UTF8/IA5/Printable/T61 string decoded, else the raw bytes. */
export function extensionText(value: Buffer): string {
  const tag = value[0];
  if (tag !== undefined && DER_STRING_TAGS.has(tag) && value.length >= 2) {
    let length = value[1] as number;
    let offset = 2;
    if (length & 0x80) {
      const n = length & 0x7f;
      if (n < 1 || n > 3 || value.length < 2 + n) return value.toString('utf8');
      length = value.subarray(2, 2 + n).reduce((acc, b) => acc * 256 + b, 0);
      offset = 2 + n;
    }
    if (offset + length === value.length) return value.subarray(offset).toString('utf8');
  }
  return value.toString('utf8');
}

/**
 * The watched facts of one certificate (SANs, OIDC issuer, fingerprint, extension values), from
 * a direct DER walk (scanCertificate): a monitor reads one certificate per entry.
 */
export function certificateIdentity(der: Uint8Array, fingerprint: string, withExtensions: boolean): EntryCertificate {
  const scanned = scanCertificate(der, withExtensions ? undefined : ISSUER_OIDS);
  const extensions = new Map<string, string>();
  if (withExtensions) for (const [oid, value] of scanned.extensions) extensions.set(oid, extensionText(value));
  const v2 = scanned.extensions.get(OID_FULCIO_ISSUER_V2);
  const v1 = scanned.extensions.get(OID_FULCIO_ISSUER_V1);
  const issuer = v2 ? extensionText(v2) : v1 ? v1.toString('utf8') : undefined;
  return { subjects: scanned.subjects, ...(issuer !== undefined ? { issuer } : {}), fingerprint, extensions };
}
