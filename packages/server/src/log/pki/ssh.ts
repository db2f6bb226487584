// Rekor's "ssh" PKI format: OpenSSH public keys in authorized_keys form and SSHSIG signatures
// (`ssh-keygen -Y sign -n file`), with the SSH wire format decoded by hand and keys verified
// through node:crypto. Facts from sigstore/rekor pkg/pki/ssh and openssh PROTOCOL.sshsig.

import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { badRequest } from '../../errors.js';
import type { PkiFormat, PkiPublicKey, PkiSignature } from './types.js';

/** Rekor reads at most 64 KiB of key text; a real key line is far smaller. */
const MAX_KEY_TEXT = 65536;
const MAX_SIGNATURE_TEXT = 65536;
const SSHSIG_MAGIC = Buffer.from('SSHSIG', 'latin1');
/** Rekor only accepts signatures made for the "file" namespace (`ssh-keygen -Y sign -n file`). */
const NAMESPACE = 'file';
const HASHES: Record<string, 'sha256' | 'sha512'> = { sha256: 'sha256', sha512: 'sha512' };
const SIGN_HINT = 'sign with `ssh-keygen -Y sign -n file -f <key> <file>` and submit the resulting .sig file';
const KEY_HINT = 'submit one OpenSSH public key line, e.g. the contents of id_ed25519.pub ("ssh-ed25519 AAAA... comment")';

const ECDSA_CURVES: Record<string, { crv: string; size: number; hash: string }> = {
  nistp256: { crv: 'P-256', size: 32, hash: 'sha256' },
  nistp384: { crv: 'P-384', size: 48, hash: 'sha384' },
  nistp521: { crv: 'P-521', size: 66, hash: 'sha512' },
};

class WireError extends Error {}

/** Reads SSH wire-format values (RFC 4251 §5) from a buffer, never past its end. */
class WireReader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.offset === this.buf.length;
  }

  bytes(n: number, what: string): Buffer {
    if (n < 0 || this.offset + n > this.buf.length) throw new WireError(`${what} is truncated`);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  uint32(what: string): number {
    return this.bytes(4, what).readUInt32BE(0);
  }

  string(what: string): Buffer {
    return this.bytes(this.uint32(what), what);
  }

  text(what: string): string {
    const raw = this.string(what);
    const s = raw.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(raw)) throw new WireError(`${what} is not valid UTF-8`);
    return s;
  }

  /** A non-negative mpint, returned as its magnitude without leading zero bytes. */
  mpint(what: string): Buffer {
    const raw = this.string(what);
    if (raw.length > 0 && (raw[0]! & 0x80) !== 0) throw new WireError(`${what} is negative`);
    let i = 0;
    while (i < raw.length && raw[i] === 0) i++;
    return raw.subarray(i);
  }

  end(what: string): void {
    if (!this.done) throw new WireError(`${what} has unexpected trailing bytes`);
  }
}

function wireString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  return Buffer.concat([len, body]);
}

function b64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** Strict standard base64 (padding required, no stray characters). */
function strictBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const out = Buffer.from(text, 'base64');
  return out.toString('base64') === text ? out : undefined;
}

/** Loose email check in the spirit of govalidator.IsEmail (a dot is required in the domain). */
function isEmail(s: string): boolean {
  return s.length <= 254 && /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:".]+\.?$/.test(s);
}

interface ParsedKey {
  type: string;
  blob: Buffer;
  key: KeyObject;
  /** For ECDSA: the curve's hash and field size; for RSA: the modulus length in bytes. */
  ecdsa?: { hash: string; size: number };
  rsaBytes?: number;
}

/** Decodes an SSH public key blob (RFC 4253 §6.6, RFC 5656, RFC 8709) into a node KeyObject. */
function parseKeyBlob(blob: Buffer): ParsedKey {
  const r = new WireReader(blob);
  const type = r.text('key type');
  if (type === 'ssh-ed25519') {
    const pk = r.string('Ed25519 public key');
    r.end('the Ed25519 key');
    if (pk.length !== 32) throw new WireError(`the Ed25519 public key is ${pk.length} bytes, expected 32`);
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pk) }, format: 'jwk' });
    return { type, blob, key };
  }
  if (type.startsWith('ecdsa-sha2-')) {
    const curveName = r.text('curve name');
    const point = r.string('curve point');
    r.end('the ECDSA key');
    const curve = ECDSA_CURVES[curveName];
    if (!curve || type !== `ecdsa-sha2-${curveName}`) throw new WireError(`unsupported ECDSA key "${type}" with curve "${curveName}"`);
    if (point.length !== 1 + 2 * curve.size || point[0] !== 0x04) {
      throw new WireError(`the ${curveName} public key is not an uncompressed curve point`);
    }
    const x = point.subarray(1, 1 + curve.size);
    const y = point.subarray(1 + curve.size);
    const key = createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64url(x), y: b64url(y) }, format: 'jwk' });
    return { type, blob, key, ecdsa: { hash: curve.hash, size: curve.size } };
  }
  if (type === 'ssh-rsa') {
    const e = r.mpint('RSA exponent');
    const n = r.mpint('RSA modulus');
    r.end('the RSA key');
    if (e.length === 0 || n.length === 0) throw new WireError('the RSA key has a zero exponent or modulus');
    const bits = n.length * 8 - Math.clz32(n[0]!) + 24;
    if (bits < 1024) throw new WireError(`the RSA key is ${bits} bits; at least 1024 are required`);
    if (bits > 16384) throw new WireError(`the RSA key is ${bits} bits; at most 16384 are supported`);
    const key = createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
    return { type, blob, key, rsaBytes: n.length };
  }
  if (type === 'ssh-dss') throw new WireError('DSA (ssh-dss) keys are not supported; use an Ed25519, ECDSA or RSA key');
  if (type.startsWith('sk-')) throw new WireError(`security-key keys ("${type}") are not supported yet; use an Ed25519, ECDSA or RSA key`);
  if (type.includes('-cert-')) throw new WireError(`SSH certificates ("${type}") are not supported; submit the plain public key`);
  throw new WireError(`unsupported key type "${type}"`);
}

function parseKeyBlobOr400(blob: Buffer, code: string, what: string, hint: string): ParsedKey {
  try {
    return parseKeyBlob(blob);
  } catch (err) {
    const detail = err instanceof WireError ? err.message : 'its key material is invalid';
    throw badRequest(code, `${what}: ${detail}; ${hint}`);
  }
}

/**
 * Splits the key part of an authorized_keys line (after any options) into type, base64 and
 * comment, as x/crypto/ssh ParseAuthorizedKey does.
 */
function splitKeyFields(line: string): { type: string; b64: string; comment: string } | undefined {
  const m = /^(\S+)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
  if (!m) return undefined;
  return { type: m[1]!, b64: m[2]!, comment: (m[3] ?? '').trim() };
}

/** Skips an authorized_keys options field (which may hold quoted strings with spaces). */
function skipOptions(line: string): string | undefined {
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && inQuote && i + 1 < line.length) {
      i++;
    } else if (c === '"') {
      inQuote = !inQuote;
    } else if (!inQuote && (c === ' ' || c === '\t')) {
      return line.slice(i).trim();
    }
  }
  return undefined;
}

class SshPublicKey implements PkiPublicKey {
  readonly format = 'ssh' as const;
  constructor(
    readonly parsed: ParsedKey,
    readonly comment: string,
  ) {}

  canonicalValue(): Buffer {
    // ssh.MarshalAuthorizedKey: "<type> <base64 blob>\n", comment and options dropped.
    return Buffer.from(`${this.parsed.type} ${this.parsed.blob.toString('base64')}\n`, 'utf8');
  }

  subjects(): string[] {
    return isEmail(this.comment) ? [this.comment] : [];
  }
}

function parsePublicKey(content: Buffer): SshPublicKey {
  if (!Buffer.isBuffer(content) || content.length === 0) {
    throw badRequest('PUBLIC_KEY_INVALID', `the ssh public key is empty; ${KEY_HINT}`);
  }
  if (content.length > MAX_KEY_TEXT) {
    throw badRequest('PUBLIC_KEY_INVALID', `the ssh public key is larger than ${MAX_KEY_TEXT} bytes; ${KEY_HINT}`);
  }
  const text = content.toString('utf8');
  let lastProblem = 'no key line was found';
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    // Like ParseAuthorizedKey: try the line as "type base64 comment", then after an options field.
    for (const candidate of [line, skipOptions(line)]) {
      if (candidate === undefined) continue;
      const fields = splitKeyFields(candidate);
      if (!fields) continue;
      const blob = strictBase64(fields.b64);
      if (!blob) continue;
      let parsed: ParsedKey;
      try {
        parsed = parseKeyBlob(blob);
      } catch (err) {
        lastProblem = err instanceof WireError ? err.message : 'its key material is invalid';
        continue;
      }
      if (parsed.type !== fields.type) {
        lastProblem = `the line says "${fields.type}" but the key inside is "${parsed.type}"`;
        continue;
      }
      return new SshPublicKey(parsed, fields.comment);
    }
  }
  throw badRequest('PUBLIC_KEY_INVALID', `the ssh public key could not be read: ${lastProblem}; ${KEY_HINT}`);
}

/** Decodes the first `-----BEGIN SSH SIGNATURE-----` block (the PEM armor of PROTOCOL.sshsig). */
function decodeArmor(text: string): Buffer {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const begin = lines.findIndex((l) => l === '-----BEGIN SSH SIGNATURE-----');
  if (begin < 0) {
    const other = lines.find((l) => /^-----BEGIN [^-]+-----$/.test(l));
    const why = other ? `it is a "${other.slice(11, -5)}" block, not an "SSH SIGNATURE"` : 'no "-----BEGIN SSH SIGNATURE-----" line was found';
    throw badRequest('SIGNATURE_INVALID_FORMAT', `the ssh signature could not be read: ${why}; ${SIGN_HINT}`);
  }
  const end = lines.indexOf('-----END SSH SIGNATURE-----', begin + 1);
  if (end < 0) {
    throw badRequest('SIGNATURE_INVALID_FORMAT', `the ssh signature is truncated: "-----END SSH SIGNATURE-----" is missing; ${SIGN_HINT}`);
  }
  const body = strictBase64(lines.slice(begin + 1, end).join(''));
  if (!body) throw badRequest('SIGNATURE_INVALID_FORMAT', `the ssh signature's body is not valid base64; ${SIGN_HINT}`);
  return body;
}

class SshSignature implements PkiSignature {
  readonly format = 'ssh' as const;
  constructor(
    readonly publicKey: ParsedKey,
    readonly hashAlgorithm: string,
    readonly sigType: string,
    readonly sigBlob: Buffer,
    /** The signature field exactly as found (string type, string blob, and any trailing fields). */
    readonly signatureField: Buffer,
  ) {}

  canonicalValue(): Buffer {
    // Rekor re-armors (pem.EncodeToMemory: 64-column lines) with namespace "file" and an empty
    // reserved field. Unlike Rekor, which always writes "sha512", the hash algorithm actually used
    // is kept, so a sha256 signature's canonical form still verifies.
    const body = Buffer.concat([
      SSHSIG_MAGIC,
      Buffer.from([0, 0, 0, 1]),
      wireString(this.publicKey.blob),
      wireString(NAMESPACE),
      wireString(''),
      wireString(this.hashAlgorithm),
      wireString(this.signatureField),
    ]);
    const b64 = body.toString('base64');
    const lines: string[] = [];
    for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
    return Buffer.from(`-----BEGIN SSH SIGNATURE-----\n${lines.join('\n')}\n-----END SSH SIGNATURE-----\n`, 'utf8');
  }

  verify(data: Buffer, key: PkiPublicKey): boolean {
    if (!(key instanceof SshPublicKey)) return false;
    // The signature names the key that made it; it has to be the key we were given.
    if (!key.parsed.blob.equals(this.publicKey.blob)) return false;
    const digest = createHash(HASHES[this.hashAlgorithm]!).update(data).digest();
    const signed = Buffer.concat([
      SSHSIG_MAGIC,
      wireString(NAMESPACE),
      wireString(''),
      wireString(this.hashAlgorithm),
      wireString(digest),
    ]);
    const k = key.parsed;
    try {
      if (k.type === 'ssh-ed25519') {
        if (this.sigType !== 'ssh-ed25519' || this.sigBlob.length !== 64) return false;
        return cryptoVerify(null, signed, k.key, this.sigBlob);
      }
      if (k.ecdsa) {
        if (this.sigType !== k.type) return false;
        const r = new WireReader(this.sigBlob);
        const rr = r.mpint('r');
        const ss = r.mpint('s');
        r.end('the ECDSA signature');
        const size = k.ecdsa.size;
        if (rr.length > size || ss.length > size) return false;
        const p1363 = Buffer.alloc(2 * size);
        rr.copy(p1363, size - rr.length);
        ss.copy(p1363, 2 * size - ss.length);
        return cryptoVerify(k.ecdsa.hash, signed, { key: k.key, dsaEncoding: 'ieee-p1363' }, p1363);
      }
      if (k.rsaBytes !== undefined) {
        // PROTOCOL.sshsig: RSA signatures must be rsa-sha2-256 or rsa-sha2-512, never SHA-1 ssh-rsa.
        const hash = this.sigType === 'rsa-sha2-256' ? 'sha256' : this.sigType === 'rsa-sha2-512' ? 'sha512' : undefined;
        if (!hash || this.sigBlob.length > k.rsaBytes) return false;
        // OpenSSH accepts signatures shorter than the modulus and left-pads them with zeros.
        const sig = Buffer.alloc(k.rsaBytes);
        this.sigBlob.copy(sig, k.rsaBytes - this.sigBlob.length);
        return cryptoVerify(hash, signed, k.key, sig);
      }
      return false;
    } catch {
      return false;
    }
  }
}

function parseSignature(content: Buffer): SshSignature {
  if (!Buffer.isBuffer(content) || content.length === 0) {
    throw badRequest('SIGNATURE_INVALID_FORMAT', `the ssh signature is empty; ${SIGN_HINT}`);
  }
  if (content.length > MAX_SIGNATURE_TEXT) {
    throw badRequest('SIGNATURE_INVALID_FORMAT', `the ssh signature is larger than ${MAX_SIGNATURE_TEXT} bytes; ${SIGN_HINT}`);
  }
  const body = decodeArmor(content.toString('utf8'));
  const fail = (why: string) => badRequest('SIGNATURE_INVALID_FORMAT', `the ssh signature is invalid: ${why}; ${SIGN_HINT}`);
  let publicKeyBlob: Buffer;
  let namespace: string;
  let hashAlgorithm: string;
  let signatureField: Buffer;
  let sigType: string;
  let sigBlob: Buffer;
  try {
    const r = new WireReader(body);
    if (!r.bytes(6, 'magic').equals(SSHSIG_MAGIC)) throw fail('it does not start with the "SSHSIG" magic');
    const version = r.uint32('version');
    if (version !== 1) throw fail(`version ${version} is not supported (only 1)`);
    publicKeyBlob = r.string('public key');
    namespace = r.text('namespace');
    r.string('reserved');
    hashAlgorithm = r.text('hash algorithm');
    signatureField = r.string('signature');
    r.end('the signature');
    const s = new WireReader(signatureField);
    sigType = s.text('signature type');
    sigBlob = s.string('signature blob');
  } catch (err) {
    if (err instanceof WireError) throw fail(err.message);
    throw err;
  }
  if (namespace !== NAMESPACE) throw fail(`its namespace is "${namespace}", but the log only accepts "${NAMESPACE}"`);
  if (!Object.hasOwn(HASHES, hashAlgorithm)) throw fail(`hash algorithm "${hashAlgorithm}" is not supported (sha256 or sha512)`);
  const publicKey = parseKeyBlobOr400(publicKeyBlob, 'SIGNATURE_INVALID_FORMAT', 'the public key inside the ssh signature is not usable', SIGN_HINT);
  return new SshSignature(publicKey, hashAlgorithm, sigType, sigBlob, signatureField);
}

export const sshFormat: PkiFormat = {
  name: 'ssh',
  parsePublicKey,
  parseSignature,
};
