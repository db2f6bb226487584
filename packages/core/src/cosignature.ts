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
//  - ML-DSA-44 cosignature, type 0x06: key ID = SHA-256(name || "\n" || 0x06 || 1312-byte key)[:4];
//    timestamped_signature = u64 timestamp || 2420-byte ML-DSA-44 signature (FIPS 204, empty
//    context) over the cosigned_message struct: "subtree/v1\n\0" (12 bytes), u8-length-prefixed
//    cosigner name, u64 timestamp, u8-length-prefixed log origin, u64 start (0 for a checkpoint),
//    u64 end (the tree size), 32-byte root hash. Extension lines are not signed. ML-DSA-44 comes
//    from @noble/post-quantum.

import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { CoreError } from './errors.js';
import { base64Decode, base64Encode, bytesEqual, hexEncode } from './encoding.js';
import { isValidNoteKeyName, parseSignedNote, type NoteSignature } from './note.js';
import { parseCheckpoint } from './checkpoint.js';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';

export const COSIG_TYPE_ED25519 = 0x04;
export const COSIG_TYPE_MLDSA44 = 0x06;
/** Key ID (4) + timestamp (8) + Ed25519 signature (64). */
export const ED25519_COSIGNATURE_LENGTH = 76;
/** Key ID (4) + timestamp (8) + ML-DSA-44 signature (2420). */
export const MLDSA44_COSIGNATURE_LENGTH = 2432;
export const MLDSA44_PUBLIC_KEY_LENGTH = 1312;
const SUBTREE_LABEL = Buffer.from('subtree/v1\n\0', 'latin1');
const MAX_TIMESTAMP = (1n << 63n) - 1n;
const EM_DASH = '\u2014';

export interface CosignerKey {
  name: string;
  keyHint: Buffer;
  /** Signature type byte: 0x04 (Ed25519 cosignature) or 0x06 (ML-DSA-44). */
  type: number;
  /** Node public key (Ed25519 keys only). */
  key?: KeyObject;
  /** The raw public key (32 bytes Ed25519, 1312 bytes ML-DSA-44). */
  raw: Buffer;
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
    const raw = Buffer.from(material.subarray(1));
    if (raw.length !== MLDSA44_PUBLIC_KEY_LENGTH) throw keyInvalid(`ML-DSA-44 cosigner key ${name} is ${raw.length} bytes, not ${MLDSA44_PUBLIC_KEY_LENGTH}`);
    const hint = cosignerKeyHint(name, COSIG_TYPE_MLDSA44, raw);
    if (hexEncode(hint) !== hintHex) throw keyInvalid(`cosigner key ID ${hintHex} does not match its key (expected ${hexEncode(hint)})`);
    return { name, keyHint: hint, type, raw, vkey: text };
  }
  if (type !== COSIG_TYPE_ED25519) {
    throw new CoreError('COSIGNER_KEY_UNSUPPORTED', `cosigner key ${name} has signature type 0x${(type ?? 0).toString(16).padStart(2, '0')}; a witness cosigner key is type 0x04 (Ed25519 cosignature)`);
  }
  const raw = material.subarray(1);
  if (raw.length !== 32) throw keyInvalid(`Ed25519 cosigner key ${name} is ${raw.length} bytes, not 32`);
  const hint = cosignerKeyHint(name, COSIG_TYPE_ED25519, raw);
  if (hexEncode(hint) !== hintHex) throw keyInvalid(`cosigner key ID ${hintHex} does not match its key (expected ${hexEncode(hint)})`);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return { name, keyHint: hint, type, key, raw: Buffer.from(raw), vkey: text };
}

/** The vkey of an ML-DSA-44 cosigner: `name+keyid+base64(0x06 || 1312-byte key)`. */
export function formatMldsaCosignerVkey(name: string, publicKey: Uint8Array): string {
  if (publicKey.length !== MLDSA44_PUBLIC_KEY_LENGTH) throw keyInvalid(`an ML-DSA-44 public key is ${MLDSA44_PUBLIC_KEY_LENGTH} bytes`);
  const hint = cosignerKeyHint(name, COSIG_TYPE_MLDSA44, publicKey);
  return `${name}+${hexEncode(hint)}+${base64Encode(Buffer.concat([Buffer.from([COSIG_TYPE_MLDSA44]), publicKey]))}`;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function u8Prefixed(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length < 1 || bytes.length > 255) throw new CoreError('COSIGNATURE_INVALID', `${what} must be 1..255 bytes for an ML-DSA-44 cosignature`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** The cosigned_message an ML-DSA-44 cosignature of a whole checkpoint signs. */
export function mldsaCosignedMessage(cosigner: string, timestamp: number, noteBody: string): Buffer {
  const checkpoint = parseCheckpoint(noteBody);
  return Buffer.concat([SUBTREE_LABEL, u8Prefixed(cosigner, 'the cosigner name'), u64(timestamp), u8Prefixed(checkpoint.origin, 'the log origin'), u64(0), u64(checkpoint.size), checkpoint.rootHash]);
}

/** An ML-DSA-44 cosignature line (type 0x06) over the checkpoint `noteBody`. */
export function mldsaCosignatureLine(noteBody: string, name: string, secretKey: Uint8Array, publicKey: Uint8Array, timestamp: number): string {
  checkTimestamp(timestamp);
  const hint = cosignerKeyHint(name, COSIG_TYPE_MLDSA44, publicKey);
  const signature = ml_dsa44.sign(mldsaCosignedMessage(name, timestamp, noteBody), secretKey);
  return `${EM_DASH} ${name} ${base64Encode(Buffer.concat([hint, u64(timestamp), Buffer.from(signature)]))}\n`;
}

/** An ML-DSA-44 key pair from a 32-byte seed (FIPS 204 ML-DSA.KeyGen_internal). */
export function mldsaKeyPair(seed: Uint8Array): { publicKey: Buffer; secretKey: Buffer } {
  const keys = ml_dsa44.keygen(seed);
  return { publicKey: Buffer.from(keys.publicKey), secretKey: Buffer.from(keys.secretKey) };
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
  const mldsa = key.type === COSIG_TYPE_MLDSA44;
  if (sig.signature.length !== (mldsa ? MLDSA44_COSIGNATURE_LENGTH : ED25519_COSIGNATURE_LENGTH) - 4) return undefined;
  const big = sig.signature.readBigUInt64BE(0);
  if (big === 0n || big > MAX_TIMESTAMP || big > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const timestamp = Number(big);
  const signature = sig.signature.subarray(8);
  if (mldsa) {
    let message: Buffer;
    try {
      message = mldsaCosignedMessage(key.name, timestamp, noteBody);
    } catch {
      return undefined;
    }
    if (!ml_dsa44.verify(signature, message, key.raw)) return undefined;
  } else if (!cryptoVerify(null, cosignedMessage(noteBody, timestamp), key.key as KeyObject, signature)) {
    return undefined;
  }
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
