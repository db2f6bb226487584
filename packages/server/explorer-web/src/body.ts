// What the entry view reads out of a canonical entry body, per kind and version the log accepts
// (hashedrekord, rekord, intoto, dsse, rfc3161; Rekor v2's hashedrekord and dsse 0.0.2): the
// signing certificates or keys, the artifact digest, the DSSE payload's hash and type. Other
// kinds, and bodies that do not read as expected, are shown as raw JSON only.

import { fromBase64, fromUtf8, hex } from './bytes.js';
import { certificateFromBase64 } from './certificate.js';

export interface Digest {
  algorithm: string;
  hex: string;
}

export interface DecodedBody {
  /** The body as parsed JSON, or undefined when it is not JSON. */
  json: unknown;
  certificates: Uint8Array[];
  /** Public keys that are not certificates, as text (PEM and the like) or a short description. */
  keys: string[];
  /** The signed artifact's digest (hashedrekord, rekord), or the envelope hash (intoto). */
  artifact?: Digest;
  dsse?: { payloadType?: string; payloadHash?: Digest; signatures: number };
  known: boolean;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const PROTO_HASHES: Record<string, string> = { SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' };

function hexDigest(v: unknown): Digest | undefined {
  const d = obj(v);
  const algorithm = str(d.algorithm);
  const value = str(d.value);
  return algorithm && value ? { algorithm, hex: value.toLowerCase() } : undefined;
}

function protoDigest(v: unknown): Digest | undefined {
  const d = obj(v);
  const algorithm = str(d.algorithm);
  const digest = str(d.digest);
  return algorithm && digest ? { algorithm: PROTO_HASHES[algorithm] ?? algorithm, hex: hex(fromBase64(digest)) } : undefined;
}

/** A base64 key or certificate (v1 bodies hold PEM in base64). */
function addVerifier(out: DecodedBody, value: unknown): void {
  const text = str(value);
  if (!text) return;
  const certificate = certificateFromBase64(text);
  if (certificate) out.certificates.push(certificate);
  else {
    const decoded = fromUtf8(fromBase64(text).subarray(0, 16 * 1024));
    out.keys.push(/^[\x09\x0a\x0d\x20-\x7e]*$/.test(decoded) ? decoded.trim() : `${text.length} base64 characters (binary key)`);
  }
}

/** A Rekor v2 verifier: {keyDetails, x509Certificate | publicKey: {rawBytes}}. */
function addV2Verifier(out: DecodedBody, value: unknown): void {
  const v = obj(value);
  const certificate = str(obj(v.x509Certificate).rawBytes);
  const key = str(obj(v.publicKey).rawBytes);
  if (certificate) out.certificates.push(fromBase64(certificate));
  if (key) out.keys.push(`-----BEGIN PUBLIC KEY-----\n${key.match(/.{1,64}/g)?.join('\n') ?? key}\n-----END PUBLIC KEY-----  (${str(v.keyDetails) ?? 'key'})`);
}

export function decodeBody(body: Uint8Array): DecodedBody {
  const out: DecodedBody = { json: undefined, certificates: [], keys: [], known: false };
  try {
    out.json = JSON.parse(fromUtf8(body));
  } catch {
    return out;
  }
  const entry = obj(out.json);
  const spec = obj(entry.spec);
  const kindVersion = `${str(entry.kind)} ${str(entry.apiVersion)}`;
  try {
    switch (kindVersion) {
      case 'hashedrekord 0.0.1':
      case 'rekord 0.0.1':
        addVerifier(out, obj(obj(spec.signature).publicKey).content);
        out.artifact = hexDigest(obj(spec.data).hash);
        out.known = true;
        break;
      case 'hashedrekord 0.0.2': {
        const v2 = obj(spec.hashedRekordV002);
        addV2Verifier(out, obj(v2.signature).verifier);
        out.artifact = protoDigest(v2.data);
        out.known = true;
        break;
      }
      case 'dsse 0.0.1':
        for (const s of list(spec.signatures)) addVerifier(out, obj(s).verifier);
        out.dsse = { signatures: list(spec.signatures).length, ...optional('payloadHash', hexDigest(spec.payloadHash)) };
        out.known = true;
        break;
      case 'dsse 0.0.2': {
        const v2 = obj(spec.dsseV002);
        for (const s of list(v2.signatures)) addV2Verifier(out, obj(s).verifier);
        out.dsse = { signatures: list(v2.signatures).length, ...optional('payloadHash', protoDigest(v2.payloadHash)) };
        out.known = true;
        break;
      }
      case 'intoto 0.0.1': {
        addVerifier(out, spec.publicKey);
        const content = obj(spec.content);
        out.artifact = hexDigest(content.hash);
        out.dsse = { signatures: 1, ...optional('payloadHash', hexDigest(content.payloadHash)) };
        out.known = true;
        break;
      }
      case 'intoto 0.0.2': {
        const content = obj(spec.content);
        const envelope = obj(content.envelope);
        for (const s of list(envelope.signatures)) addVerifier(out, obj(s).publicKey);
        out.artifact = hexDigest(content.hash);
        out.dsse = { signatures: list(envelope.signatures).length, ...optional('payloadType', str(envelope.payloadType)), ...optional('payloadHash', hexDigest(content.payloadHash)) };
        out.known = true;
        break;
      }
      case 'rfc3161 0.0.1':
        out.known = true;
        break;
    }
  } catch {
    out.known = false;
  }
  return out;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
