// C2SP signed notes (c2sp.org/signed-note): parsing, signing, key hints (key IDs), verifier
// keys ("vkeys"), and Ed25519 / ECDSA P-256 signature checks as used by Rekor v1 and rekor-tiles.
//
// Key hint facts (established from the sources named here; all are the first 4 bytes, as a
// big-endian uint32 written raw, of a SHA-256):
//  - Ed25519 (signature type 0x01): SHA-256(name || 0x0A || 0x01 || 32-byte public key)
//    (C2SP signed-note.md "Ed25519 signatures"; rekor-tiles pkg/note/note.go ed25519KeyHash,
//    tested there: name "testkey" → 3839787747).
//  - ECDSA (signature type 0x02, transparency-dev/witness style, also Rekor): SHA-256 of the
//    DER SubjectPublicKeyInfo of the key, WITHOUT the name or a type byte (C2SP signed-note.md
//    "0x02 ... key ID for these signatures is the truncated SHA-256 hash of the DER encoded
//    public key in SPKI format"; sigstore/rekor pkg/util/signed_note.go Sign: sha256 of
//    x509.MarshalPKIXPublicKey; rekor-tiles pkg/note/note.go ecdsaKeyHash, tested there:
//    2408765216). This equals the first 4 bytes of the Rekor v1 log ID (SHA-256 of the SPKI).
//  - For Rekor v2 (rekor-tiles), the full 32-byte "log ID" is the untruncated hash used for the
//    key ID (note.go KeyHash returns both), so for an Ed25519 log the trusted root's
//    tlogs[].logId.keyId is SHA-256(origin || 0x0A || 0x01 || key) and its first 4 bytes are the
//    hint. Verified against the conformance staging root: keyId 8w1amZ2S... ↔ hint f30d5a99.
//  - sigstore-js packages/verify/src/tlog/checkpoint.ts (HEAD 769a53d) matches a checkpoint
//    signature to a trusted-root log when logID[0:4] equals the signature's key hint AND the
//    log's baseURL contains the signature's key name; it needs at least one (`some`) matching
//    signature to verify, ignoring others (older releases required `every`). Rekor v1 signs as
//    name "rekor.sigstore.dev" while its origin line is "rekor.sigstore.dev - <tree id>".
//  - Signatures: Ed25519 signs the note text bytes directly (RFC 8032). Rekor's ECDSA signs
//    SHA-256(note text) and writes an ASN.1 DER signature (rekor signed_note.go Sign / Verify
//    with ecdsa.VerifyASN1; transparency-dev/formats note/note_verifier.go NewECDSAVerifier).

import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { CoreError } from './errors.js';
import { base64Decode, base64Encode, bytesEqual, hexEncode, toBuffer } from './encoding.js';

export interface NoteSignature {
  /** The key name from the signature line. */
  name: string;
  /** The 4-byte key ID (key hint) that starts the decoded signature. */
  keyHint: Buffer;
  /** The signature bytes after the key hint. */
  signature: Buffer;
}

export interface SignedNote {
  /** The note text, including its final newline but not the separating blank line. */
  body: string;
  signatures: NoteSignature[];
}

export interface NoteSigner {
  name: string;
  keyHint: Buffer;
  sign(message: Buffer): Buffer;
}

export type NoteKeyType = 'ed25519' | 'ecdsa';

export interface VerifierKey {
  name: string;
  keyHint: Buffer;
  type: NoteKeyType;
  key: KeyObject;
}

/** Signature type identifier bytes assigned by C2SP signed-note. */
export const NOTE_SIG_TYPE_ED25519 = 0x01;
export const NOTE_SIG_TYPE_ECDSA = 0x02;

/** The spec asks verifiers to cap signatures but accept at least 16. */
export const MAX_NOTE_SIGNATURES = 100;

const EM_DASH = '\u2014';
const SIG_PREFIX = `${EM_DASH} `;
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// Control characters other than newline, and lone UTF-16 surrogates (text that is not valid
// Unicode and so has no UTF-8 encoding).
const FORBIDDEN_CHARS = /[\u0000-\u0009\u000b-\u001f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// Unicode spaces (JS \s plus NEL, which \s misses) and '+', forbidden in key names.
const BAD_NAME_CHARS = /[\s\u0085+]/;

function malformed(message: string): CoreError {
  return new CoreError('NOTE_MALFORMED', message);
}

function describeChar(text: string): string {
  const m = FORBIDDEN_CHARS.exec(text);
  if (!m) return '';
  const code = (m[0].codePointAt(0) as number).toString(16).padStart(4, '0');
  return `U+${code.toUpperCase()} at offset ${m.index}`;
}

/** True when `name` is a valid note key name: non-empty, no Unicode spaces, no '+'. */
export function isValidNoteKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' && name.length > 0 && !BAD_NAME_CHARS.test(name) && !FORBIDDEN_CHARS.test(name)
  );
}

function checkName(name: unknown, code: string, what: string): asserts name is string {
  if (!isValidNoteKeyName(name)) {
    throw new CoreError(
      code,
      `${what} ${JSON.stringify(name)} is not a valid key name (it must be non-empty, without spaces or '+')`,
    );
  }
}

function decodeStdBase64(text: string, what: string, code: string): Buffer {
  if (!STD_BASE64.test(text)) {
    throw new CoreError(code, `${what} is not standard padded base64`);
  }
  return base64Decode(text, what);
}

function checkBody(body: unknown, code: string): asserts body is string {
  if (typeof body !== 'string') throw new CoreError(code, 'note text must be a string');
  if (!body.endsWith('\n')) throw new CoreError(code, 'note text must end with a newline');
  if (/^\n*$/.test(body)) throw new CoreError(code, 'note text is empty');
  if (FORBIDDEN_CHARS.test(body)) {
    throw new CoreError(
      code,
      `note text contains a control character or invalid Unicode (${describeChar(body)})`,
    );
  }
}

/**
 * Parses a signed note: the text (up to and including the newline before the last blank line)
 * and every signature line after it. Signature lines from unknown keys (witness cosignatures and
 * the like) are returned too; callers pick the ones whose name and key hint they trust.
 * Throws NOTE_MALFORMED when the note breaks the format rules.
 */
export function parseSignedNote(text: string): SignedNote {
  if (typeof text !== 'string') throw malformed('signed note must be a string');
  if (FORBIDDEN_CHARS.test(text)) {
    throw malformed(`signed note contains a control character or invalid Unicode (${describeChar(text)})`);
  }
  const split = text.lastIndexOf('\n\n');
  if (split < 0) {
    throw malformed('signed note has no blank line between the text and the signatures');
  }
  const body = text.slice(0, split + 1);
  const block = text.slice(split + 2);
  if (/^\n*$/.test(body)) throw malformed('signed note text is empty');
  if (block.length === 0) throw malformed('signed note has no signature lines');
  if (!block.endsWith('\n')) throw malformed('signed note does not end with a newline');

  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw malformed(`signed note has ${lines.length} signatures; at most ${MAX_NOTE_SIGNATURES} are accepted`);
  }
  const signatures = lines.map((line, i): NoteSignature => {
    const where = `signature line ${i + 1}`;
    if (!line.startsWith(SIG_PREFIX)) {
      throw malformed(`${where} does not start with an em dash (U+2014) and a space`);
    }
    const parts = line.slice(SIG_PREFIX.length).split(' ');
    if (parts.length !== 2) {
      throw malformed(`${where} must be "— <key name> <base64 signature>" with single spaces`);
    }
    const [name, b64] = parts as [string, string];
    checkName(name, 'NOTE_MALFORMED', `${where}: key name`);
    const raw = decodeStdBase64(b64, `${where}: signature`, 'NOTE_MALFORMED');
    if (raw.length < 5) {
      throw malformed(`${where}: signature is ${raw.length} bytes; it needs a 4-byte key hint and a signature`);
    }
    return { name, keyHint: Buffer.from(raw.subarray(0, 4)), signature: Buffer.from(raw.subarray(4)) };
  });
  return { body, signatures };
}

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Ed25519 key hint: SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4] (C2SP). */
export function ed25519KeyHint(name: string, rawPublicKey: Uint8Array): Buffer {
  checkName(name, 'NOTE_KEY_INVALID', 'key name');
  if (!(rawPublicKey instanceof Uint8Array) || rawPublicKey.length !== 32) {
    throw new CoreError('NOTE_KEY_INVALID', 'an Ed25519 public key must be 32 raw bytes');
  }
  return sha256(
    Buffer.from(name, 'utf8'),
    Buffer.from([0x0a, NOTE_SIG_TYPE_ED25519]),
    rawPublicKey,
  ).subarray(0, 4);
}

/**
 * ECDSA key hint as Rekor v1, rekor-tiles and transparency-dev/witness compute it:
 * SHA-256(DER SubjectPublicKeyInfo)[:4], with no key name involved.
 */
export function ecdsaKeyHint(spkiDer: Uint8Array): Buffer {
  if (!(spkiDer instanceof Uint8Array) || spkiDer.length === 0) {
    throw new CoreError('NOTE_KEY_INVALID', 'an ECDSA key hint needs the DER SubjectPublicKeyInfo bytes');
  }
  return sha256(spkiDer).subarray(0, 4);
}

/** The raw 32-byte Ed25519 public key inside a KeyObject. */
function ed25519Raw(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

function keyType(key: KeyObject): NoteKeyType {
  if (key?.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key?.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return 'ecdsa';
  }
  const detail = key?.asymmetricKeyType === 'ec' ? ` on curve ${key.asymmetricKeyDetails?.namedCurve}` : '';
  throw new CoreError(
    'NOTE_KEY_UNSUPPORTED',
    `note signatures need an Ed25519 or ECDSA P-256 key, not ${String(key?.asymmetricKeyType)}${detail}`,
  );
}

function publicOnly(key: KeyObject): KeyObject {
  return key?.type === 'private' ? createPublicKey(key) : key;
}

/** The key hint a log publishing checkpoints under `name` with `key` puts in its signatures. */
export function noteKeyHint(name: string, key: KeyObject): Buffer {
  checkName(name, 'NOTE_KEY_INVALID', 'key name');
  const pub = publicOnly(key);
  if (keyType(pub) === 'ed25519') return ed25519KeyHint(name, ed25519Raw(pub));
  return ecdsaKeyHint(pub.export({ format: 'der', type: 'spki' }));
}

/**
 * Checks `sig.signature` over the note text with `key`: Ed25519 over the text bytes, or ECDSA
 * P-256 with SHA-256 and a DER signature. Matching the signature's name and key hint to the
 * key is the caller's job. Throws NOTE_KEY_UNSUPPORTED for other key types.
 */
export function verifyNoteSignature(body: string, sig: NoteSignature, key: KeyObject): boolean {
  if (typeof body !== 'string') throw malformed('note text must be a string');
  if (!sig || !(sig.signature instanceof Uint8Array)) throw malformed('note signature has no signature bytes');
  const type = keyType(key);
  const message = Buffer.from(body, 'utf8');
  try {
    if (type === 'ed25519') {
      return sig.signature.length === 64 && cryptoVerify(null, message, key, sig.signature);
    }
    return cryptoVerify('sha256', message, { key, dsaEncoding: 'der' }, sig.signature);
  } catch {
    // A signature that is not even well-formed DER does not verify.
    return false;
  }
}

/**
 * Produces a signed note: the text, a blank line, and one signature line per signer (each
 * signing the text bytes). Throws NOTE_MALFORMED for text the format cannot carry.
 */
export function signNote(body: string, signers: NoteSigner[]): string {
  checkBody(body, 'NOTE_MALFORMED');
  if (!Array.isArray(signers) || signers.length === 0) {
    throw malformed('a signed note needs at least one signer');
  }
  if (signers.length > MAX_NOTE_SIGNATURES) {
    throw malformed(`at most ${MAX_NOTE_SIGNATURES} signatures fit in a note`);
  }
  const message = Buffer.from(body, 'utf8');
  const lines = signers.map((signer, i) => {
    checkName(signer?.name, 'NOTE_MALFORMED', `signer ${i + 1} name`);
    if (!(signer.keyHint instanceof Uint8Array) || signer.keyHint.length !== 4) {
      throw malformed(`signer ${signer.name} key hint must be 4 bytes`);
    }
    const signature = signer.sign(message);
    if (!(signature instanceof Uint8Array) || signature.length === 0) {
      throw malformed(`signer ${signer.name} returned no signature bytes`);
    }
    return `${SIG_PREFIX}${signer.name} ${base64Encode(Buffer.concat([signer.keyHint, signature]))}\n`;
  });
  return `${body}\n${lines.join('')}`;
}

function keyInvalid(message: string): CoreError {
  return new CoreError('NOTE_KEY_INVALID', message);
}

/**
 * Parses a verifier key `<name>+<hex key ID>+<base64(type || public key)>` (C2SP signed-note
 * "Verifier keys"). Type 0x01 is Ed25519 (32-byte key); type 0x02 is ECDSA with a DER SPKI
 * (transparency-dev/formats style; only P-256 is accepted here). The key ID must match the key.
 */
export function parseVerifierKey(vkey: string): VerifierKey {
  if (typeof vkey !== 'string') throw keyInvalid('verifier key must be a string');
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) {
    throw keyInvalid('verifier key must be <name>+<key ID hex>+<base64 key>');
  }
  const name = vkey.slice(0, first);
  const hintHex = vkey.slice(first + 1, second);
  const b64 = vkey.slice(second + 1);
  checkName(name, 'NOTE_KEY_INVALID', 'verifier key name');
  if (!/^[0-9a-f]{8}$/.test(hintHex)) {
    throw keyInvalid(`verifier key ID ${JSON.stringify(hintHex)} is not 8 lowercase hex digits`);
  }
  const raw = decodeStdBase64(b64, 'verifier key material', 'NOTE_KEY_INVALID');
  if (raw.length < 2) throw keyInvalid('verifier key material is too short');
  const sigType = raw[0] as number;
  const material = raw.subarray(1);
  let type: NoteKeyType;
  let key: KeyObject;
  let expected: Buffer;
  if (sigType === NOTE_SIG_TYPE_ED25519) {
    if (material.length !== 32) throw keyInvalid(`Ed25519 verifier key is ${material.length} bytes, not 32`);
    type = 'ed25519';
    key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: material.toString('base64url') },
      format: 'jwk',
    });
    expected = ed25519KeyHint(name, material);
  } else if (sigType === NOTE_SIG_TYPE_ECDSA) {
    try {
      key = createPublicKey({ key: material, format: 'der', type: 'spki' });
    } catch {
      throw keyInvalid('ECDSA verifier key is not a DER SubjectPublicKeyInfo');
    }
    if (key.asymmetricKeyType !== 'ec') throw keyInvalid('verifier key of type 0x02 is not an ECDSA key');
    type = keyType(key);
    expected = ecdsaKeyHint(material);
  } else {
    throw new CoreError(
      'NOTE_KEY_UNSUPPORTED',
      `verifier key signature type 0x${sigType.toString(16).padStart(2, '0')} is not supported (only 0x01 Ed25519 and 0x02 ECDSA)`,
    );
  }
  if (hexEncode(expected) !== hintHex) {
    throw keyInvalid(`verifier key ID ${hintHex} does not match its key (expected ${hexEncode(expected)})`);
  }
  return { name, keyHint: expected, type, key };
}

/** Formats the verifier key of `key` under `name` (the inverse of parseVerifierKey). */
export function formatVerifierKey(name: string, key: KeyObject): string {
  const pub = publicOnly(key);
  const type = keyType(pub);
  const material =
    type === 'ed25519'
      ? Buffer.concat([Buffer.from([NOTE_SIG_TYPE_ED25519]), ed25519Raw(pub)])
      : Buffer.concat([Buffer.from([NOTE_SIG_TYPE_ECDSA]), pub.export({ format: 'der', type: 'spki' })]);
  return `${name}+${hexEncode(noteKeyHint(name, pub))}+${base64Encode(material)}`;
}

/** True when `sig` carries `name` and `keyHint` (the C2SP rule for "signed by this key"). */
export function noteSignatureMatches(sig: NoteSignature, name: string, keyHint: Uint8Array): boolean {
  return sig.name === name && bytesEqual(toBuffer(sig.keyHint), keyHint);
}
