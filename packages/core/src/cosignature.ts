// C2SP tlog-cosignature (c2sp.org/tlog-cosignature): a witness's timestamped signature on a
// checkpoint, and the cosigner verifier keys (vkeys) that name it.
//
// Facts from the spec (C2SP main, July 2026):
//  - Ed25519 cosignature, signature type 0x04: key ID = SHA-256(name || "\n" || 0x04 || 32-byte key)[:4].
//  - The signature is a timestamped_signature: u64 big-endian POSIX seconds || 64-byte Ed25519
//    signature, so a note signature line decodes to 4 + 8 + 64 = 76 bytes.
//  - The signed message is "cosignature/v1\n" || "time <decimal>\n" || the whole checkpoint
//    note body (origin, size, root, and any extension lines, with the final newline).
//  - The timestamp must not exceed 2^63 - 1; witnesses must not send 0 (tlog-witness).
//  - ML-DSA-44 cosignatures are type 0x06; this module parses their vkeys to name them but
//    does not verify them (see README: not supported yet).

import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { CoreError } from './errors.js';
import { base64Decode, base64Encode, bytesEqual, hexEncode } from './encoding.js';
import { isValidNoteKeyName, parseSignedNote, type NoteSignature } from './note.js';

export const COSIG_TYPE_ED25519 = 0x04;
export const COSIG_TYPE_MLDSA44 = 0x06;
/** Key ID (4) + timestamp (8) + Ed25519 signature (64). */
export const ED25519_COSIGNATURE_LENGTH = 76;
const MAX_TIMESTAMP = (1n << 63n) - 1n;
const EM_DASH = '\u2014';

export interface CosignerKey {
  name: string;
  keyHint: Buffer;
  /** Signature type byte: 0x04 (Ed25519 cosignature). */
  type: number;
  /** Node public key (Ed25519). */
  key: KeyObject;
  /** The vkey text this key was read from or formats to. */
  vkey: string;
}

export interface Cosignature {
  name: string;
  keyHint: Buffer;
  /** POSIX seconds. */
  timestamp: number;
  signature: Buffer;
}

function keyInvalid(message: string): CoreError {
  return new CoreError('COSIGNER_KEY_INVALID', message);
}

function ed25519Raw(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw keyInvalid(`a cosigner key must be Ed25519, not ${String(pub.asymmetricKeyType)}`);
  return Buffer.from(pub.export({ format: 'jwk' }).x as string, 'base64url');
}

/** SHA-256(name || 0x0A || type || public key)[:4]. */
export function cosignerKeyHint(name: string, type: number, rawPublicKey: Uint8Array): Buffer {
  if (!isValidNoteKeyName(name)) throw keyInvalid(`cosigner name ${JSON.stringify(name)} is not a valid key name`);
  return createHash('sha256').update(Buffer.from(name, 'utf8')).update(Buffer.from([0x0a, type])).update(rawPublicKey).digest().subarray(0, 4);
}

/** The vkey of an Ed25519 cosigner: `name+keyid+base64(0x04 || key)`. */
export function formatCosignerVkey(name: string, key: KeyObject): string {
  const raw = ed25519Raw(key);
  const hint = cosignerKeyHint(name, COSIG_TYPE_ED25519, raw);
  return `${name}+${hexEncode(hint)}+${base64Encode(Buffer.concat([Buffer.from([COSIG_TYPE_ED25519]), raw]))}`;
}

/** Parses a cosigner vkey (type 0x04); throws COSIGNER_KEY_INVALID or COSIGNER_KEY_UNSUPPORTED. */
export function parseCosignerVkey(vkey: string): CosignerKey {
  if (typeof vkey !== 'string') throw keyInvalid('a cosigner key must be a string');
  const text = vkey.trim();
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw keyInvalid(`cosigner key ${JSON.stringify(vkey)} must be <name>+<key ID hex>+<base64 key>`);
  const [name, hintHex, b64] = [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
  if (!isValidNoteKeyName(name)) throw keyInvalid(`cosigner key name ${JSON.stringify(name)} is not valid`);
  if (!/^[0-9a-f]{8}$/.test(hintHex)) throw keyInvalid(`cosigner key ID ${JSON.stringify(hintHex)} is not 8 lowercase hex digits`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw keyInvalid('cosigner key material is not base64');
  const material = base64Decode(b64, 'cosigner key material');
  const type = material[0];
  if (type === COSIG_TYPE_MLDSA44) {
    throw new CoreError('COSIGNER_KEY_UNSUPPORTED', `cosigner key ${name} is ML-DSA-44 (type 0x06), which this build does not verify; use an Ed25519 cosigner key (type 0x04)`);
  }
  if (type !== COSIG_TYPE_ED25519) {
    throw new CoreError('COSIGNER_KEY_UNSUPPORTED', `cosigner key ${name} has signature type 0x${(type ?? 0).toString(16).padStart(2, '0')}; a witness cosigner key is type 0x04 (Ed25519 cosignature)`);
  }
  const raw = material.subarray(1);
  if (raw.length !== 32) throw keyInvalid(`Ed25519 cosigner key ${name} is ${raw.length} bytes, not 32`);
  const hint = cosignerKeyHint(name, COSIG_TYPE_ED25519, raw);
  if (hexEncode(hint) !== hintHex) throw keyInvalid(`cosigner key ID ${hintHex} does not match its key (expected ${hexEncode(hint)})`);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return { name, keyHint: hint, type, key, vkey: vkey.trim() };
}

/** The bytes an Ed25519 cosignature signs. */
export function cosignedMessage(noteBody: string, timestamp: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${noteBody}`, 'utf8');
}

function checkTimestamp(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp <= 0) {
    throw new CoreError('COSIGNATURE_INVALID', `a cosignature timestamp must be a positive whole number of seconds, got ${String(timestamp)}`);
  }
}

/** One note signature line (`— name base64(...)\n`) cosigning `noteBody` at `timestamp`. */
export function cosignatureLine(noteBody: string, name: string, privateKey: KeyObject, timestamp: number): string {
  checkTimestamp(timestamp);
  const hint = cosignerKeyHint(name, COSIG_TYPE_ED25519, ed25519Raw(privateKey));
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(timestamp));
  const signature = cryptoSign(null, cosignedMessage(noteBody, timestamp), privateKey);
  return `${EM_DASH} ${name} ${base64Encode(Buffer.concat([hint, ts, signature]))}\n`;
}

/** True when a note signature line is addressed to `key` (same name and key ID). */
export function isCosignatureBy(sig: NoteSignature, key: CosignerKey): boolean {
  return sig.name === key.name && bytesEqual(sig.keyHint, key.keyHint);
}

/**
 * Decodes and checks one cosignature by `key` over `noteBody`. Returns the cosignature when it
 * verifies, undefined when it does not (wrong length, zero or too large timestamp, bad signature).
 */
export function verifyCosignature(noteBody: string, sig: NoteSignature, key: CosignerKey): Cosignature | undefined {
  if (!isCosignatureBy(sig, key)) return undefined;
  if (sig.signature.length !== ED25519_COSIGNATURE_LENGTH - 4) return undefined;
  const big = sig.signature.readBigUInt64BE(0);
  if (big === 0n || big > MAX_TIMESTAMP || big > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const timestamp = Number(big);
  const signature = sig.signature.subarray(8);
  if (!cryptoVerify(null, cosignedMessage(noteBody, timestamp), key.key, signature)) return undefined;
  return { name: sig.name, keyHint: Buffer.from(sig.keyHint), timestamp, signature: Buffer.from(signature) };
}

export interface CosignatureCheck {
  /** Cosigners (by vkey) whose cosignature verified. */
  valid: Map<string, Cosignature>;
  /** Known witnesses whose line is present but does not verify (the note must be rejected). */
  failed: string[];
}

/**
 * Checks every signature line of a signed note against the known cosigner keys: lines from
 * unknown keys are ignored; a known key whose signature fails is reported in `failed`.
 */
export function checkCosignatures(noteText: string, keys: readonly CosignerKey[]): CosignatureCheck {
  const note = parseSignedNote(noteText);
  const valid = new Map<string, Cosignature>();
  const failed: string[] = [];
  for (const sig of note.signatures) {
    const key = keys.find((k) => isCosignatureBy(sig, k));
    if (!key) continue;
    const ok = verifyCosignature(note.body, sig, key);
    if (ok) valid.set(key.vkey, ok);
    else failed.push(key.name);
  }
  return { valid, failed };
}
