// RFC 6962 signed certificate timestamps: the TLS-encoded SCT list carried in a certificate
// extension, and the bytes a CT log signs for a precertificate entry (§3.2).

import { CoreError } from './errors.js';
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

class Reader {
  private offset = 0;
  constructor(private readonly bytes: Buffer) {}
  take(n: number): Buffer {
    if (this.offset + n > this.bytes.length) throw new CoreError('SCT_MALFORMED', 'SCT list is truncated');
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  u8(): number {
    return this.take(1).readUInt8(0);
  }
  u16(): number {
    return this.take(2).readUInt16BE(0);
  }
  get done(): boolean {
    return this.offset === this.bytes.length;
  }
}

/** Parses a TLS-encoded SignedCertificateTimestampList. */
export function parseSctList(bytes: Buffer): SignedCertificateTimestamp[] {
  const outer = new Reader(bytes);
  const list = new Reader(outer.take(outer.u16()));
  if (!outer.done) throw new CoreError('SCT_MALFORMED', 'SCT list has trailing bytes');
  const scts: SignedCertificateTimestamp[] = [];
  while (!list.done) {
    const item = new Reader(list.take(list.u16()));
    const version = item.u8();
    if (version !== 0) throw new CoreError('SCT_MALFORMED', `SCT version ${version} is not supported (expected v1)`);
    const logId = item.take(32);
    const timestamp = item.take(8).readBigUInt64BE(0);
    const extensions = item.take(item.u16());
    const hashId = item.u8();
    const sigId = item.u8();
    const signature = item.take(item.u16());
    if (!item.done) throw new CoreError('SCT_MALFORMED', 'SCT has trailing bytes');
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
