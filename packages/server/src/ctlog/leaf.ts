// RFC 6962 TLS structures of a CT log: the MerkleTreeLeaf (the stored entry body, so the leaf
// hash is RFC 6962's), the extra_data chains of get-entries, the bytes an SCT and a signed tree
// head sign (§3.2, §3.5), and DigitallySigned.

import { createHash } from 'node:crypto';
import { TlsReader, precertSignedData, type SignedCertificateTimestamp } from '@sigstack/core';
import { ServiceError } from '../errors.js';

export type LogEntryType = 'x509_entry' | 'precert_entry';

/** The signed part of a log entry: a certificate, or a precertificate's issuer key hash and TBS. */
export type SignedEntry =
  | { type: 'x509_entry'; certificate: Buffer }
  | { type: 'precert_entry'; issuerKeyHash: Buffer; tbsCertificate: Buffer };

/** MerkleTreeLeaf v1 with a TimestampedEntry. */
export interface MerkleTreeLeaf {
  /** Milliseconds since the epoch (the SCT's timestamp). */
  timestamp: bigint;
  entry: SignedEntry;
  /** CtExtensions (empty in v1 logs). */
  extensions: Buffer;
}

export interface SignedTreeHeadInput {
  timestamp: bigint;
  treeSize: number;
  rootHash: Buffer;
}

const ENTRY_TYPES: Record<LogEntryType, number> = { x509_entry: 0, precert_entry: 1 };
const MAX_U24 = 0xffffff;

function malformed(what: string, detail: string): ServiceError {
  return new ServiceError(400, 'CT_STRUCTURE_MALFORMED', `${what} is malformed: ${detail}`);
}

export function u8(n: number): Buffer {
  return Buffer.from([n]);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

export function u24(n: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntBE(n, 0, 3);
  return b;
}

export function u64(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n), 0);
  return b;
}

/** opaque<0..2^24-1> (or <1..> when `min` is 1). */
function opaque24(bytes: Buffer, what: string, min = 1): Buffer {
  if (bytes.length < min || bytes.length > MAX_U24) throw malformed(what, `length ${bytes.length} is outside ${min}..${MAX_U24}`);
  return Buffer.concat([u24(bytes.length), bytes]);
}

function opaque16(bytes: Buffer, what: string): Buffer {
  if (bytes.length > 0xffff) throw malformed(what, `length ${bytes.length} exceeds 65535`);
  return Buffer.concat([u16(bytes.length), bytes]);
}

/** A TLS reader whose malformed input is a 400 CT_STRUCTURE_MALFORMED naming `what`. */
function reader(bytes: Buffer, what: string): TlsReader {
  return new TlsReader(bytes, (detail) => malformed(what, detail));
}

/** entry_type followed by the signed entry (ASN.1Cert or PreCert), as both the leaf and the SCT input carry them. */
export function encodeSignedEntry(entry: SignedEntry): Buffer {
  if (entry.type === 'x509_entry') return Buffer.concat([u16(ENTRY_TYPES.x509_entry), opaque24(entry.certificate, 'ASN.1Cert')]);
  if (entry.issuerKeyHash.length !== 32) throw malformed('PreCert', 'issuer_key_hash must be 32 bytes');
  return Buffer.concat([u16(ENTRY_TYPES.precert_entry), entry.issuerKeyHash, opaque24(entry.tbsCertificate, 'TBSCertificate')]);
}

export function encodeMerkleTreeLeaf(leaf: MerkleTreeLeaf): Buffer {
  // version v1 (0), leaf_type timestamped_entry (0), TimestampedEntry.
  return Buffer.concat([u8(0), u8(0), u64(leaf.timestamp), encodeSignedEntry(leaf.entry), opaque16(leaf.extensions, 'CtExtensions')]);
}

export function parseMerkleTreeLeaf(bytes: Buffer): MerkleTreeLeaf {
  const r = reader(bytes, 'MerkleTreeLeaf');
  const version = r.u8();
  if (version !== 0) throw malformed('MerkleTreeLeaf', `version ${version} is not v1`);
  const leafType = r.u8();
  if (leafType !== 0) throw malformed('MerkleTreeLeaf', `leaf_type ${leafType} is not timestamped_entry`);
  const timestamp = r.u64();
  const type = r.u16();
  let entry: SignedEntry;
  if (type === ENTRY_TYPES.x509_entry) {
    entry = { type: 'x509_entry', certificate: Buffer.from(r.opaque24()) };
  } else if (type === ENTRY_TYPES.precert_entry) {
    entry = { type: 'precert_entry', issuerKeyHash: Buffer.from(r.take(32)), tbsCertificate: Buffer.from(r.opaque24()) };
  } else {
    throw malformed('MerkleTreeLeaf', `entry_type ${type} is unknown`);
  }
  const extensions = Buffer.from(r.opaque16());
  r.end();
  return { timestamp, entry, extensions };
}

/** What identifies an entry regardless of when it was logged: SHA-256 of entry_type ‖ signed entry. */
export function entryIdentity(entry: SignedEntry): Buffer {
  return createHash('sha256').update(encodeSignedEntry(entry)).digest();
}

/** The digitally-signed input of an SCT v1 (RFC 6962 §3.2); for precerts exactly core's precertSignedData. */
export function sctSignedData(sct: Pick<SignedCertificateTimestamp, 'version' | 'timestamp' | 'extensions'>, entry: SignedEntry): Buffer {
  if (entry.type === 'precert_entry') {
    return precertSignedData(sct as SignedCertificateTimestamp, entry.issuerKeyHash, entry.tbsCertificate);
  }
  // sct_version, signature_type certificate_timestamp (0), timestamp, entry_type, ASN.1Cert, extensions.
  return Buffer.concat([u8(sct.version), u8(0), u64(sct.timestamp), encodeSignedEntry(entry), opaque16(sct.extensions, 'CtExtensions')]);
}

/** The digitally-signed input of a signed tree head (RFC 6962 §3.5). */
export function sthSignedData(sth: SignedTreeHeadInput): Buffer {
  if (sth.rootHash.length !== 32) throw malformed('tree head', 'sha256_root_hash must be 32 bytes');
  // version v1 (0), signature_type tree_hash (1), timestamp, tree_size, sha256_root_hash.
  return Buffer.concat([u8(0), u8(1), u64(sth.timestamp), u64(sth.treeSize), sth.rootHash]);
}

const HASH_IDS = { sha256: 4, sha384: 5, sha512: 6 } as const;
const SIGNATURE_IDS = { rsa: 1, ecdsa: 3, ed25519: 7 } as const;

export interface DigitallySigned {
  hashAlgorithm: keyof typeof HASH_IDS;
  signatureAlgorithm: keyof typeof SIGNATURE_IDS;
  signature: Buffer;
}

/** TLS DigitallySigned: hash algorithm, signature algorithm, opaque signature<0..2^16-1>. */
export function encodeDigitallySigned(ds: DigitallySigned): Buffer {
  return Buffer.concat([u8(HASH_IDS[ds.hashAlgorithm]), u8(SIGNATURE_IDS[ds.signatureAlgorithm]), opaque16(ds.signature, 'signature')]);
}

export function parseDigitallySigned(bytes: Buffer): DigitallySigned {
  const r = reader(bytes, 'DigitallySigned');
  const hashId = r.u8();
  const sigId = r.u8();
  const signature = Buffer.from(r.opaque16());
  r.end();
  const hashAlgorithm = (Object.keys(HASH_IDS) as DigitallySigned['hashAlgorithm'][]).find((k) => HASH_IDS[k] === hashId);
  const signatureAlgorithm = (Object.keys(SIGNATURE_IDS) as DigitallySigned['signatureAlgorithm'][]).find((k) => SIGNATURE_IDS[k] === sigId);
  if (!hashAlgorithm || !signatureAlgorithm) throw malformed('DigitallySigned', `algorithm ${hashId}/${sigId} is not supported`);
  return { hashAlgorithm, signatureAlgorithm, signature };
}

function certificateList(certs: Buffer[]): Buffer {
  return opaque24(Buffer.concat(certs.map((c) => opaque24(c, 'ASN.1Cert'))), 'certificate chain', 0);
}

function parseCertificateList(r: TlsReader, what: string): Buffer[] {
  const list = reader(r.opaque24(), what);
  const certs: Buffer[] = [];
  while (!list.done) certs.push(Buffer.from(list.opaque24()));
  return certs;
}

/** extra_data of an x509_entry: certificate_chain ASN.1Cert<0..2^24-1> (the issuers, up to the root). */
export function encodeX509ChainEntry(chain: Buffer[]): Buffer {
  return certificateList(chain);
}

/** extra_data of a precert_entry: PrecertChainEntry {pre_certificate, precertificate_chain}. */
export function encodePrecertChainEntry(precertificate: Buffer, chain: Buffer[]): Buffer {
  return Buffer.concat([opaque24(precertificate, 'pre_certificate'), certificateList(chain)]);
}

/** Parses extra_data for an entry of `type`: the submitted leaf (precerts only) and the chain above it. */
export function parseExtraData(type: LogEntryType, bytes: Buffer): { precertificate?: Buffer; chain: Buffer[] } {
  const r = reader(bytes, 'extra_data');
  if (type === 'x509_entry') {
    const chain = parseCertificateList(r, 'certificate_chain');
    r.end();
    return { chain };
  }
  const precertificate = Buffer.from(r.opaque24());
  const chain = parseCertificateList(r, 'precertificate_chain');
  r.end();
  return { precertificate, chain };
}
