// Rekor's "minisign" PKI format: minisign / signify Ed25519 public keys and signatures ("Ed" pure
// Ed25519, "ED" Ed25519 over BLAKE2b-512 of the data), verified with node:crypto.
// Facts from sigstore/rekor pkg/pki/minisign and jedisct1/minisign's file formats.

import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { badRequest } from '../../errors.js';
import type { PkiFormat, PkiPublicKey, PkiSignature } from './types.js';

const MAX_TEXT = 65536;
const TRUSTED_PREFIX = 'trusted comment: ';
const KEY_HINT = 'submit the minisign.pub file written by `minisign -G` (or just its base64 line "RW...")';
const SIG_HINT = 'submit the .minisig file written by `minisign -S -m <file>`';

/** Strict standard base64 (padding required, no stray characters). */
function strictBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const out = Buffer.from(text, 'base64');
  return out.toString('base64') === text ? out : undefined;
}

/** Lines without their line ending ("\n" or "\r\n"), trailing empty lines dropped. */
function textLines(content: Buffer): string[] {
  // latin1 keeps every byte as one character, so the trusted comment is signed exactly as sent.
  const lines = content.toString('latin1').split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines;
}

class MinisignPublicKey implements PkiPublicKey {
  readonly format = 'minisign' as const;
  readonly key: KeyObject;
  constructor(
    /** Always "Ed": minisign keys are Ed25519 whichever way they sign. */
    readonly algorithm: Buffer,
    readonly keyId: Buffer,
    readonly publicKey: Buffer,
  ) {
    this.key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') }, format: 'jwk' });
  }

  /** Keys stored by old Rekor versions carry only the 32 key bytes; their key ID is all zeros. */
  get legacy(): boolean {
    return this.keyId.every((b) => b === 0);
  }

  canonicalValue(): Buffer {
    // Rekor: base64(algorithm || key ID || public key), no comment line, no newline.
    return Buffer.from(Buffer.concat([this.algorithm, this.keyId, this.publicKey]).toString('base64'), 'latin1');
  }

  subjects(): string[] {
    return [];
  }
}

function keyFromBinary(bin: Buffer): MinisignPublicKey {
  const alg = bin.subarray(0, 2);
  if (alg.toString('latin1') !== 'Ed') {
    throw badRequest('PUBLIC_KEY_INVALID', `the minisign public key has algorithm "${alg.toString('latin1')}", expected "Ed"; ${KEY_HINT}`);
  }
  try {
    return new MinisignPublicKey(Buffer.from(alg), Buffer.from(bin.subarray(2, 10)), Buffer.from(bin.subarray(10, 42)));
  } catch {
    throw badRequest('PUBLIC_KEY_INVALID', `the minisign public key's Ed25519 key is invalid; ${KEY_HINT}`);
  }
}

function parsePublicKey(content: Buffer): MinisignPublicKey {
  if (!Buffer.isBuffer(content) || content.length === 0) {
    throw badRequest('PUBLIC_KEY_INVALID', `the minisign public key is empty; ${KEY_HINT}`);
  }
  if (content.length > MAX_TEXT) {
    throw badRequest('PUBLIC_KEY_INVALID', `the minisign public key is larger than ${MAX_TEXT} bytes; ${KEY_HINT}`);
  }
  // Rekor's legacy form: exactly the 32 raw Ed25519 key bytes (entries stored before rekor#562);
  // no text form is 32 bytes long (the base64 line alone is 56).
  if (content.length === 32) {
    return keyFromBinary(Buffer.concat([Buffer.from('Ed', 'latin1'), Buffer.alloc(8), content]));
  }
  const lines = textLines(content);
  // Either the whole .pub file (untrusted comment line, then base64) or the base64 line alone.
  let b64: string | undefined;
  if (lines.length === 1) b64 = lines[0]!.trim();
  else if (lines.length === 2) b64 = lines[1]!.trim();
  if (b64 === undefined) {
    throw badRequest('PUBLIC_KEY_INVALID', `the minisign public key has ${lines.length} lines, expected a comment line and a base64 line; ${KEY_HINT}`);
  }
  const bin = strictBase64(b64);
  if (!bin || bin.length !== 42) {
    const why = bin ? `decodes to ${bin.length} bytes, expected 42` : 'is not valid base64';
    throw badRequest('PUBLIC_KEY_INVALID', `the minisign public key ${why}; ${KEY_HINT}`);
  }
  return keyFromBinary(bin);
}

class MinisignSignature implements PkiSignature {
  readonly format = 'minisign' as const;
  constructor(
    readonly algorithm: string,
    readonly keyId: Buffer,
    readonly signature: Buffer,
    /** The trusted comment (after "trusted comment: ") and its global signature, when present. */
    readonly trusted?: { comment: Buffer; globalSignature: Buffer },
  ) {}

  canonicalValue(): Buffer {
    // Rekor keeps only the first two lines, with a bare "untrusted comment:" line; the trusted
    // comment and global signature are checked at submission but not stored.
    const bin = Buffer.concat([Buffer.from(this.algorithm, 'latin1'), this.keyId, this.signature]);
    return Buffer.from(`untrusted comment:\n${bin.toString('base64')}`, 'latin1');
  }

  verify(data: Buffer, key: PkiPublicKey): boolean {
    if (!(key instanceof MinisignPublicKey)) return false;
    if (!key.legacy && !key.keyId.equals(this.keyId)) return false;
    const message = this.algorithm === 'ED' ? createHash('blake2b512').update(data).digest() : data;
    try {
      if (!cryptoVerify(null, message, key.key, this.signature)) return false;
      if (this.trusted) {
        const global = Buffer.concat([this.signature, this.trusted.comment]);
        if (!cryptoVerify(null, global, key.key, this.trusted.globalSignature)) return false;
      }
      return true;
    } catch {
      return false;
    }
  }
}

function signatureFromBinary(bin: Buffer | undefined, trusted?: MinisignSignature['trusted']): MinisignSignature {
  if (!bin || bin.length !== 74) {
    const why = bin ? `decodes to ${bin.length} bytes, expected 74` : 'is not valid base64';
    throw badRequest('SIGNATURE_INVALID_FORMAT', `the minisign signature line ${why}; ${SIG_HINT}`);
  }
  const algorithm = bin.subarray(0, 2).toString('latin1');
  if (algorithm !== 'Ed' && algorithm !== 'ED') {
    throw badRequest('SIGNATURE_INVALID_FORMAT', `the minisign signature algorithm "${algorithm}" is not supported ("Ed" or "ED"); ${SIG_HINT}`);
  }
  return new MinisignSignature(algorithm, Buffer.from(bin.subarray(2, 10)), Buffer.from(bin.subarray(10, 74)), trusted);
}

function parseSignature(content: Buffer): MinisignSignature {
  if (!Buffer.isBuffer(content) || content.length === 0) {
    throw badRequest('SIGNATURE_INVALID_FORMAT', `the minisign signature is empty; ${SIG_HINT}`);
  }
  if (content.length > MAX_TEXT) {
    throw badRequest('SIGNATURE_INVALID_FORMAT', `the minisign signature is larger than ${MAX_TEXT} bytes; ${SIG_HINT}`);
  }
  const lines = textLines(content);
  if (lines.length === 4) {
    // minisign: untrusted comment, signature, trusted comment, global signature.
    const trustedLine = lines[2]!;
    if (!trustedLine.startsWith(TRUSTED_PREFIX)) {
      throw badRequest('SIGNATURE_INVALID_FORMAT', `the minisign signature's third line must start with "${TRUSTED_PREFIX}"; ${SIG_HINT}`);
    }
    const globalSignature = strictBase64(lines[3]!.trim());
    if (!globalSignature || globalSignature.length !== 64) {
      throw badRequest('SIGNATURE_INVALID_FORMAT', `the minisign global signature (fourth line) is not 64 bytes of base64; ${SIG_HINT}`);
    }
    const comment = Buffer.from(trustedLine.slice(TRUSTED_PREFIX.length), 'latin1');
    return signatureFromBinary(strictBase64(lines[1]!.trim()), { comment, globalSignature });
  }
  if (lines.length === 2) {
    // signify (and Rekor's canonical form): untrusted comment, signature; no trusted comment.
    return signatureFromBinary(strictBase64(lines[1]!.trim()));
  }
  throw badRequest('SIGNATURE_INVALID_FORMAT', `the minisign signature has ${lines.length} lines, expected 4 (minisign) or 2 (signify); ${SIG_HINT}`);
}

export const minisignFormat: PkiFormat = {
  name: 'minisign',
  parsePublicKey,
  parseSignature,
};
