// Decodes a log entry into the identities a monitor matches: the certificates (SANs, OIDC
// issuer, fingerprint, extensions) and non-certificate keys (fingerprint, subjects such as PGP
// user IDs) in Rekor entry kinds hashedrekord, rekord, intoto and dsse (v1 JSON and v2
// protobuf-JSON bodies) and in CT leaves (the certificate or the precertificate of extra_data).
// Decoded keys and certificates are remembered by their encoding (the same key signs often).

import { createHash } from 'node:crypto';
import { certificateIdentity, pemDecodeAll, type EntryCertificate, type EntryIdentities, type EntryKey } from '@sigstack/core';
import { pkiFormat } from '../log/pki/index.js';
import { parseExtraData, parseMerkleTreeLeaf } from '../ctlog/leaf.js';

type Obj = Record<string, unknown>;
type Part = { certificates: EntryCertificate[]; keys: EntryKey[] };

const CERT_BEGIN = '-----BEGIN CERTIFICATE-----';
const CERT_END = '-----END CERTIFICATE-----';
const CACHE_LIMIT = 2_000;

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function obj(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export class EntryDecoder {
  private readonly cache = new Map<string, Part>();

  constructor(
    private readonly withExtensions: boolean,
    /** Without watched fingerprints, certificates need not be hashed. */
    private readonly withFingerprints = true,
  ) {}

  private remember(key: string, make: () => Part): Part {
    const hit = this.cache.get(key);
    if (hit) return hit;
    let part: Part;
    try {
      part = make();
    } catch {
      part = { certificates: [], keys: [] };
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, part);
    return part;
  }

  private certificate(der: Buffer): EntryCertificate {
    return certificateIdentity(der, this.withFingerprints ? sha256Hex(der) : '', this.withExtensions);
  }

  /** A PEM (certificate(s) or public key) as entries carry it, base64 of the PEM text. */
  private pemContent(b64: unknown, format = 'x509'): Part {
    if (typeof b64 !== 'string' || b64 === '') return { certificates: [], keys: [] };
    if (format === 'x509') {
      // The common case, one certificate PEM (a new one in nearly every entry, so not cached),
      // without the general PEM parser.
      const text = Buffer.from(b64, 'base64').toString('latin1');
      const begin = text.indexOf(CERT_BEGIN);
      const end = begin < 0 ? -1 : text.indexOf(CERT_END, begin);
      if (begin >= 0 && end > 0) {
        try {
          return { certificates: [this.certificate(Buffer.from(text.slice(begin + CERT_BEGIN.length, end), 'base64'))], keys: [] };
        } catch {
          return { certificates: [], keys: [] };
        }
      }
    }
    return this.remember(`${format}:${b64}`, () => {
      const content = Buffer.from(b64, 'base64');
      if (format === 'x509') {
        const blocks = pemDecodeAll(content.toString('utf8'));
        const certs = blocks.filter((b) => b.label === 'CERTIFICATE');
        if (certs.length > 0) return { certificates: [this.certificate(certs[0]!.der)], keys: [] };
        const key = blocks.find((b) => b.label === 'PUBLIC KEY');
        const der = key ? key.der : content;
        return { certificates: [], keys: [{ fingerprint: sha256Hex(der), subjects: [] }] };
      }
      const parsed = pkiFormat(format).parsePublicKey(content);
      return { certificates: [], keys: [{ fingerprint: sha256Hex(parsed.canonicalValue()), subjects: parsed.subjects() }] };
    });
  }

  /** A v2 verifier: {x509Certificate: {rawBytes}} or {publicKey: {rawBytes}}. */
  private v2Verifier(v: unknown): Part {
    const verifier = obj(v);
    const cert = obj(verifier.x509Certificate).rawBytes;
    if (typeof cert === 'string') {
      try {
        return { certificates: [this.certificate(Buffer.from(cert, 'base64'))], keys: [] };
      } catch {
        return { certificates: [], keys: [] };
      }
    }
    const key = obj(verifier.publicKey).rawBytes;
    if (typeof key === 'string') return this.remember(`v2k:${key}`, () => ({ certificates: [], keys: [{ fingerprint: sha256Hex(Buffer.from(key, 'base64')), subjects: [] }] }));
    return { certificates: [], keys: [] };
  }

  /** The identities in a Rekor entry body (JSON). Unknown kinds and bad bodies give none. */
  rekorEntry(body: Buffer): EntryIdentities {
    let entry: Obj;
    try {
      entry = obj(JSON.parse(body.toString('utf8')));
    } catch {
      return { certificates: [], keys: [] };
    }
    const spec = obj(entry.spec);
    const parts: Part[] = [];
    switch (`${String(entry.kind)}/${String(entry.apiVersion)}`) {
      case 'hashedrekord/0.0.1':
        parts.push(this.pemContent(obj(obj(spec.signature).publicKey).content));
        break;
      case 'rekord/0.0.1': {
        const signature = obj(spec.signature);
        parts.push(this.pemContent(obj(signature.publicKey).content, typeof signature.format === 'string' ? signature.format : 'x509'));
        break;
      }
      case 'intoto/0.0.1':
        parts.push(this.pemContent(spec.publicKey));
        break;
      case 'intoto/0.0.2':
        for (const sig of list(obj(obj(spec.content).envelope).signatures)) parts.push(this.pemContent(obj(sig).publicKey));
        break;
      case 'dsse/0.0.1':
        for (const sig of list(spec.signatures)) parts.push(this.pemContent(obj(sig).verifier));
        break;
      case 'hashedrekord/0.0.2':
        parts.push(this.v2Verifier(obj(obj(spec.hashedRekordV002).signature).verifier));
        break;
      case 'dsse/0.0.2':
        for (const sig of list(obj(spec.dsseV002).signatures)) parts.push(this.v2Verifier(obj(sig).verifier));
        break;
      default:
        break;
    }
    return { certificates: parts.flatMap((p) => p.certificates), keys: parts.flatMap((p) => p.keys) };
  }

  /** The identities in a CT leaf: the certificate, or the full precertificate from extra_data. */
  ctEntry(leafInput: Buffer, extra: Buffer | undefined): EntryIdentities {
    try {
      const leaf = parseMerkleTreeLeaf(leafInput);
      const der = leaf.entry.type === 'x509_entry' ? leaf.entry.certificate : extra ? parseExtraData('precert_entry', extra).precertificate : undefined;
      if (!der) return { certificates: [], keys: [] };
      return { certificates: [this.certificate(der)], keys: [] };
    } catch {
      return { certificates: [], keys: [] };
    }
  }
}
