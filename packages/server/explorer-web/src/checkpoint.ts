// The log's checkpoint in the browser: parse the C2SP signed note (origin, size, root hash), find
// the signature by the log's own key (name and 4-byte key ID), and verify it with WebCrypto:
// Ed25519 over the note text, or ECDSA P-256 with SHA-256 over it (an ASN.1 DER signature).

import { equal, fromBase64, fromHex, hex, utf8 } from './bytes.js';

export interface LogKey {
  name: string;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  keyType: 'ed25519' | 'ecdsa-p256';
  /** The log ID; its first 4 bytes are the signature's key hint. */
  keyId: Uint8Array;
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  text: string;
}

/** A check that failed, with which one (the page shows the message in a role="alert"). */
export class VerificationError extends Error {
  constructor(readonly check: string, message: string) {
    super(message);
  }
}

const fail = (check: string, message: string) => new VerificationError(check, message);

export function parseCheckpoint(note: string): { checkpoint: Checkpoint; signatures: { name: string; hint: Uint8Array; signature: Uint8Array }[] } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw fail('checkpoint', 'the checkpoint is not a signed note (no blank line before its signatures)');
  const text = note.slice(0, split + 1);
  const lines = text.split('\n');
  const [origin, sizeText, rootText] = lines;
  if (!origin || !sizeText || !/^\d{1,16}$/.test(sizeText) || !rootText) throw fail('checkpoint', 'the checkpoint does not start with origin, tree size and root hash lines');
  const rootHash = fromBase64(rootText);
  if (rootHash.length !== 32) throw fail('checkpoint', 'the checkpoint root hash is not 32 bytes');
  const signatures = [];
  for (const line of note.slice(split + 2).split('\n')) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) continue;
    const bytes = fromBase64(m[2]!);
    if (bytes.length < 5) continue;
    signatures.push({ name: m[1]!, hint: bytes.slice(0, 4), signature: bytes.slice(4) });
  }
  return { checkpoint: { origin, size: Number(sizeText), rootHash, text }, signatures };
}

/** DER ECDSA-Sig-Value → the 64-byte r ‖ s WebCrypto takes, or undefined. */
function ecdsaRaw(der: Uint8Array): Uint8Array | undefined {
  if (der[0] !== 0x30) return undefined;
  let at = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  const out = new Uint8Array(64);
  for (let part = 0; part < 2; part++) {
    if (der[at] !== 0x02) return undefined;
    const length = der[at + 1]!;
    let value = der.slice(at + 2, at + 2 + length);
    while (value.length > 32 && value[0] === 0) value = value.slice(1);
    if (value.length > 32) return undefined;
    out.set(value, part * 32 + 32 - value.length);
    at += 2 + length;
  }
  return out;
}

async function importKey(key: LogKey): Promise<CryptoKey> {
  const algorithm = key.keyType === 'ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
  return crypto.subtle.importKey('spki', key.spki as BufferSource, algorithm, false, ['verify']);
}

/** True when `signature` (Ed25519, or ECDSA P-256 / SHA-256 in DER) over `message` verifies with the log's key. */
export async function verifyLogSignature(key: LogKey, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const cryptoKey = await importKey(key);
  if (key.keyType === 'ed25519') return crypto.subtle.verify({ name: 'Ed25519' }, cryptoKey, signature as BufferSource, message as BufferSource);
  const raw = ecdsaRaw(signature);
  return raw !== undefined && crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, cryptoKey, raw as BufferSource, message as BufferSource);
}

/** Verifies the checkpoint's signature by the log's key; throws VerificationError naming the failed check. */
export async function verifyCheckpoint(note: string, key: LogKey): Promise<Checkpoint> {
  const { checkpoint, signatures } = parseCheckpoint(note);
  if (checkpoint.origin !== key.name) throw fail('origin', `the checkpoint is for log "${checkpoint.origin}", not this log ("${key.name}")`);
  const hint = key.keyId.slice(0, 4);
  const mine = signatures.find((s) => s.name === key.name && equal(s.hint, hint));
  if (!mine) {
    const found = signatures.map((s) => `${s.name} (key ID ${hex(s.hint)})`).join(', ') || 'none';
    throw fail('key', `the checkpoint is not signed by the log's key (${key.name}, key ID ${hex(hint)}); its signatures: ${found}`);
  }
  if (!(await verifyLogSignature(key, utf8.encode(checkpoint.text), mine.signature))) throw fail('signature', "the checkpoint signature does not verify with the log's key");
  return checkpoint;
}

export function logKeyFrom(config: { name: string; publicKey: string; keyType: 'ed25519' | 'ecdsa-p256'; keyId: string }): LogKey {
  return { name: config.name, spki: fromBase64(config.publicKey), keyType: config.keyType, keyId: fromHex(config.keyId) };
}
