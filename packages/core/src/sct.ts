// RFC 6962 signed certificate timestamps: the TLS-encoded SCT list carried in a certificate
// extension, and the bytes a CT log signs for a precertificate entry (§3.2).

import { CoreError } from './errors.js';
import { TlsReader } from './tls.js';
import type { HashName } from './signature.js';

export interface SignedCertificateTimestamp {
  version: number;
  logId: Buffer;
  /** Milliseconds since the epoch. */
  timestamp: bigint;
  extensions: Buffer;
  hashAlgorithm: HashName;
  signatureAlgorithm: 'rsa' | 'ecdsa' | 'ed25519';
  signature: Buffer;
}

const HASHES: Record<number, HashName> = { 4: 'sha256', 5: 'sha384', 6: 'sha512' };
const SIGNATURES: Record<number, SignedCertificateTimestamp['signatureAlgorithm']> = { 1: 'rsa', 3: 'ecdsa', 7: 'ed25519' };

/** A reader whose malformed input is SCT_MALFORMED naming `what`. */
function reader(bytes: Buffer, what: string): TlsReader {
  return new TlsReader(bytes, (detail) => new CoreError('SCT_MALFORMED', `${what} is malformed: ${detail}`));
}

/** Parses a TLS-encoded SignedCertificateTimestampList. */
export function parseSctList(bytes: Buffer): SignedCertificateTimestamp[] {
  const outer = reader(bytes, 'SCT list');
  const list = reader(outer.opaque16(), 'SCT list');
  outer.end();
  const scts: SignedCertificateTimestamp[] = [];
  while (!list.done) {
    const item = reader(list.opaque16(), 'SCT');
    const version = item.u8();
    if (version !== 0) throw new CoreError('SCT_MALFORMED', `SCT version ${version} is not supported (expected v1)`);
    const logId = item.take(32);
    const timestamp = item.u64();
    const extensions = item.opaque16();
    const hashId = item.u8();
    const sigId = item.u8();
    const signature = item.opaque16();
    item.end();
    const hashAlgorithm = HASHES[hashId];
    const signatureAlgorithm = SIGNATURES[sigId];
    if (!hashAlgorithm || !signatureAlgorithm) {
      throw new CoreError('SCT_MALFORMED', `SCT signature algorithm ${hashId}/${sigId} is not supported`);
    }
    scts.push({ version, logId, timestamp, extensions, hashAlgorithm, signatureAlgorithm, signature });
  }
  return scts;
}

/** The digitally-signed input of a precert_entry SCT (RFC 6962 §3.2). */
export function precertSignedData(sct: SignedCertificateTimestamp, issuerKeyHash: Buffer, precertTbs: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt8(sct.version, 0);
  head.writeUInt8(0, 1); // signature_type: certificate_timestamp
  head.writeBigUInt64BE(sct.timestamp, 2);
  head.writeUInt16BE(1, 10); // entry_type: precert_entry
  const tbsLength = Buffer.alloc(3);
  tbsLength.writeUIntBE(precertTbs.length, 0, 3);
  const extLength = Buffer.alloc(2);
  extLength.writeUInt16BE(sct.extensions.length, 0);
  return Buffer.concat([head, issuerKeyHash, tbsLength, precertTbs, extLength, sct.extensions]);
}

/** Encodes SCTs as a TLS SignedCertificateTimestampList (for the CA that embeds them). */
export function encodeSctList(scts: SignedCertificateTimestamp[]): Buffer {
  const items = scts.map((sct) => {
    const hashId = Number(Object.keys(HASHES).find((k) => HASHES[Number(k)] === sct.hashAlgorithm));
    const sigId = Number(Object.keys(SIGNATURES).find((k) => SIGNATURES[Number(k)] === sct.signatureAlgorithm));
    const head = Buffer.alloc(41);
    head.writeUInt8(sct.version, 0);
    sct.logId.copy(head, 1);
    head.writeBigUInt64BE(sct.timestamp, 33);
    const body = Buffer.concat([head, u16(sct.extensions.length), sct.extensions, Buffer.from([hashId, sigId]), u16(sct.signature.length), sct.signature]);
    return Buffer.concat([u16(body.length), body]);
  });
  const list = Buffer.concat(items);
  return Buffer.concat([u16(list.length), list]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}
