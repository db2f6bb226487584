// Rekor's "pgp" PKI format: OpenPGP public keys (armored or binary) and detached signatures.
// Keys are read synchronously by a small packet parser here (canonical value, subjects); the
// cryptography (self-signatures, the signature itself) is checked by the `openpgp` package.

import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { badRequest } from '../../errors.js';
import type { PkiFormat, PkiPublicKey, PkiSignature } from './types.js';

const MAX_INPUT = 1 << 20;
const KEY_HINT = 'submit the key as exported by `gpg --export [--armor] <key id>`';
const SIG_HINT = 'submit a detached signature as made by `gpg --detach-sign [--armor] <file>`';

// Packet tags (RFC 9580 §5).
const TAG_SIGNATURE = 2;
const TAG_SECRET_KEY = 5;
const TAG_PUBLIC_KEY = 6;
const TAG_SECRET_SUBKEY = 7;
const TAG_MARKER = 10;
const TAG_TRUST = 12;
const TAG_USER_ID = 13;
const TAG_PUBLIC_SUBKEY = 14;
const TAG_USER_ATTRIBUTE = 17;
const TAG_PADDING = 21;

// Signature types (RFC 9580 §5.2.1).
const SIG_CERTIFICATIONS = new Set([0x10, 0x11, 0x12, 0x13]);
const SIG_CERT_REVOCATION = 0x30;
const SIG_SUBKEY_BINDING = 0x18;
const SIG_SUBKEY_REVOCATION = 0x28;
const SIG_DIRECT_KEY = 0x1f;
const SIG_KEY_REVOCATION = 0x20;

/** Public key algorithms that can make signatures (RSA, RSA sign-only, DSA, ECDSA, EdDSA, Ed25519, Ed448). */
const SIGNING_ALGORITHMS = new Set([1, 3, 17, 19, 22, 27, 28]);

/**
 * Verification policy. openpgp.js's defaults, except that DSA keys and RSA keys of 1024 bits and
 * up are accepted, as Rekor (go-crypto's v1 API) does. SHA-1 (and MD5, RIPEMD-160) signatures
 * over data stay rejected: SHA-1 chosen-prefix collisions are practical against OpenPGP.
 */
const VERIFY_CONFIG = {
  minRSABits: 1024,
  rejectPublicKeyAlgorithms: new Set([openpgp.enums.publicKey.elgamal]),
};

class PgpError extends Error {}

/**
 * Rekor refuses private keys (its `len(keys) == len(DecryptionKeys())` check), so do we: the
 * submitter would be publishing secret material, and only the public part is ever needed.
 */
const PRIVATE_KEY = 'this is a private key, which must not be submitted; export the public key instead';

// ---------------------------------------------------------------------------------------------
// ASCII armor (RFC 9580 §6.2). The CRC-24 line is skipped, not checked, as RFC 9580 and
// go-crypto do; it is written on output as go-crypto's armor.Encode does.

interface ArmorBlock {
  type: string;
  body: Buffer;
}

function decodeArmorBlocks(text: string, limit = Infinity): ArmorBlock[] {
  const lines = text.split('\n').map((l) => l.trim());
  const blocks: ArmorBlock[] = [];
  let i = 0;
  while (i < lines.length && blocks.length < limit) {
    const begin = /^-----BEGIN (.+)-----$/.exec(lines[i]!);
    i++;
    if (!begin) continue;
    const type = begin[1]!;
    // Armor headers ("Key: value") end with a blank line.
    while (i < lines.length && lines[i] !== '') {
      if (!/^[^:\s]+: ?/.test(lines[i]!)) throw new PgpError(`the "${type}" armor has no blank line after its headers`);
      i++;
    }
    if (i >= lines.length) throw new PgpError(`the "${type}" armor ends before its data`);
    i++;
    const data: string[] = [];
    let ended = false;
    for (; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.startsWith('-----END ')) {
        if (line !== `-----END ${type}-----`) throw new PgpError(`the "${type}" armor ends with "${line}"`);
        ended = true;
        i++;
        break;
      }
      if (line.length === 5 && line.startsWith('=')) continue; // CRC-24
      data.push(line);
    }
    if (!ended) throw new PgpError(`the "${type}" armor has no "-----END ${type}-----" line`);
    const b64 = data.join('');
    if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
      throw new PgpError(`the "${type}" armor's data is not valid base64`);
    }
    blocks.push({ type, body: Buffer.from(b64, 'base64') });
  }
  return blocks;
}

function crc24(data: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let j = 0; j < 8; j++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/** go-crypto armor.Encode with no headers: 64-column base64, CRC-24 line, no final newline. */
function encodeArmor(type: string, body: Buffer): Buffer {
  const b64 = body.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  const crc = crc24(body);
  const crcB64 = Buffer.from([(crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff]).toString('base64');
  return Buffer.from(`-----BEGIN ${type}-----\n\n${lines.join('\n')}\n=${crcB64}\n-----END ${type}-----`, 'latin1');
}

// ---------------------------------------------------------------------------------------------
// Packets (RFC 9580 §4.2).

interface Packet {
  tag: number;
  body: Buffer;
}

function readPackets(buf: Buffer): Packet[] {
  const packets: Packet[] = [];
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new PgpError('a packet is truncated');
  };
  while (pos < buf.length) {
    const head = buf[pos++]!;
    if ((head & 0x80) === 0) throw new PgpError(`byte ${pos - 1} is not a packet header`);
    let tag: number;
    let body: Buffer;
    if (head & 0x40) {
      // New format: one-, two-, five-octet or partial body lengths.
      tag = head & 0x3f;
      const parts: Buffer[] = [];
      for (;;) {
        need(1);
        const o1 = buf[pos++]!;
        let len: number;
        let partial = false;
        if (o1 < 192) len = o1;
        else if (o1 < 224) {
          need(1);
          len = ((o1 - 192) << 8) + buf[pos++]! + 192;
        } else if (o1 === 255) {
          need(4);
          len = buf.readUInt32BE(pos);
          pos += 4;
        } else {
          len = 1 << (o1 & 0x1f);
          partial = true;
        }
        need(len);
        parts.push(buf.subarray(pos, pos + len));
        pos += len;
        if (!partial) break;
      }
      body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    } else {
      // Legacy format: tag in bits 5-2, length type in bits 1-0.
      tag = (head >> 2) & 0x0f;
      const lt = head & 0x03;
      let len: number;
      if (lt === 3) len = buf.length - pos;
      else {
        const n = lt === 0 ? 1 : lt === 1 ? 2 : 4;
        need(n);
        len = buf.readUIntBE(pos, n);
        pos += n;
      }
      need(len);
      body = buf.subarray(pos, pos + len);
      pos += len;
    }
    packets.push({ tag, body });
  }
  return packets;
}

/** A packet with a new-format header, as go-crypto writes them. */
function writePacket(tag: number, body: Buffer): Buffer {
  let header: Buffer;
  if (body.length < 192) header = Buffer.from([0xc0 | tag, body.length]);
  else if (body.length < 8384) {
    const l = body.length - 192;
    header = Buffer.from([0xc0 | tag, (l >> 8) + 192, l & 0xff]);
  } else {
    header = Buffer.alloc(6);
    header[0] = 0xc0 | tag;
    header[1] = 255;
    header.writeUInt32BE(body.length, 2);
  }
  return Buffer.concat([header, body]);
}

// ---------------------------------------------------------------------------------------------
// Key packets (RFC 9580 §5.5.2) and the few signature fields needed to group them (§5.2.3).

interface KeyPacketInfo {
  version: number;
  algorithm: number;
  /** The key fields as go-crypto re-serializes them (anything after the key material is dropped). */
  publicBody: Buffer;
  keyId: Buffer;
  fingerprint: Buffer;
}

/** Length of the v3/v4 public key material of `algorithm` starting at `pos`. */
function publicMaterialLength(body: Buffer, pos: number, algorithm: number): number {
  const start = pos;
  const mpi = () => {
    if (pos + 2 > body.length) throw new PgpError('a key packet is truncated');
    pos += 2 + ((body.readUInt16BE(pos) + 7) >> 3);
  };
  const oid = () => {
    if (pos + 1 > body.length) throw new PgpError('a key packet is truncated');
    const l = body[pos]!;
    if (l === 0 || l === 0xff) throw new PgpError('a key packet has an invalid curve OID');
    pos += 1 + l;
  };
  switch (algorithm) {
    case 1:
    case 2:
    case 3:
      mpi(); // n
      mpi(); // e
      break;
    case 16:
    case 20:
      mpi(); // p
      mpi(); // g
      mpi(); // y
      break;
    case 17:
      mpi(); // p
      mpi(); // q
      mpi(); // g
      mpi(); // y
      break;
    case 18:
      oid();
      mpi();
      if (pos + 1 > body.length) throw new PgpError('a key packet is truncated');
      pos += 1 + body[pos]!; // KDF parameters
      break;
    case 19:
    case 22:
      oid();
      mpi();
      break;
    case 25:
      pos += 32;
      break;
    case 26:
      pos += 56;
      break;
    case 27:
      pos += 32;
      break;
    case 28:
      pos += 57;
      break;
    default:
      throw new PgpError(`public key algorithm ${algorithm} is not supported`);
  }
  if (pos > body.length) throw new PgpError('a key packet is truncated');
  return pos - start;
}

function readKeyPacket(p: Packet): KeyPacketInfo {
  const body = p.body;
  if (body.length < 6) throw new PgpError('a key packet is truncated');
  const version = body[0]!;
  let algorithm: number;
  let end: number;
  if (version === 2 || version === 3) {
    if (body.length < 8) throw new PgpError('a key packet is truncated');
    algorithm = body[7]!;
    if (algorithm < 1 || algorithm > 3) throw new PgpError(`a v${version} key uses algorithm ${algorithm}, not RSA`);
    end = 8 + publicMaterialLength(body, 8, algorithm);
  } else if (version === 4) {
    algorithm = body[5]!;
    // Subkeys of algorithms not known here are kept whole.
    if (!SIGNING_ALGORITHMS.has(algorithm) && ![2, 16, 18, 20, 25, 26].includes(algorithm)) end = body.length;
    else end = 6 + publicMaterialLength(body, 6, algorithm);
  } else if (version === 5 || version === 6) {
    if (body.length < 10) throw new PgpError('a key packet is truncated');
    algorithm = body[5]!;
    end = 10 + body.readUInt32BE(6);
    if (end > body.length) throw new PgpError('a key packet is truncated');
  } else {
    throw new PgpError(`key packet version ${version} is not supported`);
  }
  const publicBody = body.subarray(0, end);
  let fingerprint: Buffer;
  let keyId: Buffer;
  if (version === 4) {
    const prefix = Buffer.from([0x99, (end >> 8) & 0xff, end & 0xff]);
    fingerprint = createHash('sha1').update(prefix).update(publicBody).digest();
    keyId = fingerprint.subarray(12);
  } else if (version === 5 || version === 6) {
    const prefix = Buffer.alloc(5);
    prefix[0] = version === 5 ? 0x9a : 0x9b;
    prefix.writeUInt32BE(end, 1);
    fingerprint = createHash('sha256').update(prefix).update(publicBody).digest();
    keyId = fingerprint.subarray(0, 8);
  } else {
    // v3: the key ID is the low 64 bits of the RSA modulus; the fingerprint is not needed here.
    const bits = body.readUInt16BE(8);
    const n = body.subarray(10, 10 + ((bits + 7) >> 3));
    keyId = n.subarray(Math.max(0, n.length - 8));
    fingerprint = Buffer.alloc(0);
  }
  return { version, algorithm, publicBody, keyId, fingerprint };
}

interface SignatureInfo {
  version: number;
  type: number;
  created: number;
  issuerKeyId?: Buffer;
  issuerFingerprint?: Buffer;
}

function readSignaturePacket(body: Buffer): SignatureInfo {
  if (body.length < 1) throw new PgpError('a signature packet is empty');
  const version = body[0]!;
  if (version === 2 || version === 3) {
    if (body.length < 19 || body[1] !== 5) throw new PgpError('a v3 signature packet is malformed');
    return { version, type: body[2]!, created: body.readUInt32BE(3), issuerKeyId: body.subarray(7, 15) };
  }
  if (version !== 4 && version !== 5 && version !== 6) throw new PgpError(`signature packet version ${version} is not supported`);
  const info: SignatureInfo = { version, type: body[1] ?? -1, created: 0 };
  const lenSize = version === 6 ? 4 : 2;
  let pos = 4;
  for (let area = 0; area < 2; area++) {
    if (pos + lenSize > body.length) throw new PgpError('a signature packet is truncated');
    const areaLen = body.readUIntBE(pos, lenSize);
    pos += lenSize;
    const end = pos + areaLen;
    if (end > body.length) throw new PgpError('a signature packet is truncated');
    while (pos < end) {
      const o1 = body[pos++]!;
      let len: number;
      if (o1 < 192) len = o1;
      else if (o1 < 255) {
        if (pos + 1 > end) throw new PgpError('a signature subpacket is truncated');
        len = ((o1 - 192) << 8) + body[pos++]! + 192;
      } else {
        if (pos + 4 > end) throw new PgpError('a signature subpacket is truncated');
        len = body.readUInt32BE(pos);
        pos += 4;
      }
      if (len < 1 || pos + len > end) throw new PgpError('a signature subpacket is truncated');
      const type = body[pos]! & 0x7f;
      const data = body.subarray(pos + 1, pos + len);
      if (type === 2 && data.length === 4 && area === 0) info.created = data.readUInt32BE(0);
      else if (type === 16 && data.length === 8) info.issuerKeyId = data;
      else if (type === 33 && data.length > 1) info.issuerFingerprint = data.subarray(1);
      pos += len;
    }
  }
  return info;
}

/** go-crypto's CheckKeyIdOrFingerprint: the issuer fingerprint if present, else the issuer key ID. */
function issuedBy(sig: SignatureInfo, key: KeyPacketInfo): boolean {
  if (sig.issuerFingerprint && key.fingerprint.length > 0) return sig.issuerFingerprint.equals(key.fingerprint);
  return sig.issuerKeyId !== undefined && sig.issuerKeyId.equals(key.keyId);
}

// ---------------------------------------------------------------------------------------------
// Transferable public keys (RFC 9580 §10.1), grouped the way go-crypto's ReadEntity does.

interface Entity {
  packets: Buffer[];
  userIds: string[];
}

function readEntities(packets: Packet[]): Entity[] {
  const list = packets.filter((p) => p.tag !== TAG_MARKER && p.tag !== TAG_TRUST && p.tag !== TAG_PADDING);
  const entities: Entity[] = [];
  let i = 0;
  const isPrimary = (p: Packet | undefined) => p !== undefined && p.tag === TAG_PUBLIC_KEY;
  const sigsAfter = (): Array<{ packet: Packet; info: SignatureInfo }> => {
    const out: Array<{ packet: Packet; info: SignatureInfo }> = [];
    while (i < list.length && list[i]!.tag === TAG_SIGNATURE) {
      out.push({ packet: list[i]!, info: readSignaturePacket(list[i]!.body) });
      i++;
    }
    return out;
  };
  if (list.some((p) => p.tag === TAG_SECRET_KEY || p.tag === TAG_SECRET_SUBKEY)) throw new PgpError(PRIVATE_KEY);
  while (i < list.length) {
    const first = list[i]!;
    if (!isPrimary(first)) throw new PgpError(`expected a primary key packet, found packet type ${first.tag}`);
    i++;
    const primary = readKeyPacket(first);
    if (!SIGNING_ALGORITHMS.has(primary.algorithm)) {
      throw new PgpError(`the primary key (algorithm ${primary.algorithm}) cannot make signatures`);
    }
    const revocations: Buffer[] = [];
    const directSigs: Buffer[] = [];
    const identities = new Map<string, Buffer[]>();
    const subkeys: Buffer[] = [];
    while (i < list.length && !isPrimary(list[i])) {
      const p = list[i]!;
      i++;
      if (p.tag === TAG_SIGNATURE) {
        const info = readSignaturePacket(p.body);
        if (info.type === SIG_KEY_REVOCATION) revocations.push(writePacket(TAG_SIGNATURE, p.body));
        else if (info.type === SIG_DIRECT_KEY) directSigs.push(writePacket(TAG_SIGNATURE, p.body));
      } else if (p.tag === TAG_USER_ID) {
        const sigs = sigsAfter();
        for (const s of sigs) {
          if (!SIG_CERTIFICATIONS.has(s.info.type) && s.info.type !== SIG_CERT_REVOCATION) {
            throw new PgpError(`a user ID carries a signature of type 0x${s.info.type.toString(16)}, not a certification`);
          }
        }
        // Like go-crypto, a user ID counts only when it carries a self-certification.
        if (sigs.some((s) => s.info.type !== SIG_CERT_REVOCATION && issuedBy(s.info, primary))) {
          const id = p.body.toString('utf8');
          identities.delete(id);
          identities.set(id, [writePacket(TAG_USER_ID, p.body), ...sigs.map((s) => writePacket(TAG_SIGNATURE, s.packet.body))]);
        }
      } else if (p.tag === TAG_PUBLIC_SUBKEY) {
        const sub = readKeyPacket(p);
        const sigs = sigsAfter();
        const subRevocations: Buffer[] = [];
        let binding: { packet: Packet; info: SignatureInfo } | undefined;
        for (const s of sigs) {
          if (s.info.type === SIG_SUBKEY_REVOCATION) subRevocations.push(writePacket(TAG_SIGNATURE, s.packet.body));
          else if (s.info.type === SIG_SUBKEY_BINDING) {
            if (!binding || s.info.created > binding.info.created) binding = s;
          } else throw new PgpError(`a subkey carries a signature of type 0x${s.info.type.toString(16)}, not a binding`);
        }
        if (!binding) throw new PgpError('a subkey is not followed by its binding signature');
        subkeys.push(writePacket(TAG_PUBLIC_SUBKEY, sub.publicBody), ...subRevocations, writePacket(TAG_SIGNATURE, binding.packet.body));
      } else if (p.tag === TAG_USER_ATTRIBUTE) {
        sigsAfter(); // go-crypto drops user attributes (photo IDs) and their certifications
      }
      // Other packets are ignored, as go-crypto does.
    }
    if (identities.size === 0 && primary.version < 6) {
      throw new PgpError('the key has no user ID with a self-signature');
    }
    if (primary.version === 6 && directSigs.length === 0) {
      throw new PgpError('the v6 key has no direct-key self-signature');
    }
    entities.push({
      packets: [
        writePacket(TAG_PUBLIC_KEY, primary.publicBody),
        ...revocations,
        // go-crypto keeps direct-key signatures for v6 keys only.
        ...(primary.version === 6 ? directSigs : []),
        ...[...identities.values()].flat(),
        ...subkeys,
      ],
      userIds: [...identities.keys()],
    });
  }
  return entities;
}

/** Loose email check in the spirit of govalidator.IsEmail (a dot is required in the domain). */
function isEmail(s: string): boolean {
  return s.length <= 254 && /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:".]+\.?$/.test(s);
}

/** The email of a "Name (Comment) <email>" user ID; a user ID that is a bare address counts too. */
function emailOf(userId: string): string | undefined {
  const m = /<([^<>]*)>/.exec(userId);
  const candidate = (m ? m[1]! : userId).trim();
  return isEmail(candidate) ? candidate : undefined;
}

// ---------------------------------------------------------------------------------------------

class PgpPublicKey implements PkiPublicKey {
  readonly format = 'pgp' as const;
  private checked?: Promise<openpgp.PublicKey[]>;
  constructor(
    /** The key ring's public packets, binary, as canonicalValue armors them. */
    readonly binary: Buffer,
    readonly userIds: string[],
  ) {}

  canonicalValue(): Buffer {
    // Rekor: every entity's public packets (entity.Serialize), armored as a PUBLIC KEY BLOCK.
    return encodeArmor('PGP PUBLIC KEY BLOCK', this.binary);
  }

  subjects(): string[] {
    const out: string[] = [];
    for (const id of this.userIds) {
      const email = emailOf(id);
      if (email && !out.includes(email)) out.push(email);
    }
    return out;
  }

  /**
   * The keys read by openpgp.js, once every self-signature is checked: key revocations, user ID
   * certifications, subkey bindings and revocations. go-crypto checks these when reading a key
   * and refuses the key if one is bad; openpgp.js only checks what a verification uses.
   */
  keys(): Promise<openpgp.PublicKey[]> {
    this.checked ??= (async () => {
      let keys: openpgp.PublicKey[];
      try {
        keys = await openpgp.readKeys({ binaryKeys: this.binary });
      } catch (err) {
        throw badRequest('PUBLIC_KEY_INVALID', `the PGP public key could not be read: ${(err as Error).message}; ${KEY_HINT}`);
      }
      const config = { ...openpgp.config, ...VERIFY_CONFIG };
      const sigType = openpgp.enums.signature;
      for (const key of keys) {
        const primary = key.keyPacket;
        const check = async (sig: openpgp.SignaturePacket, type: openpgp.enums.signature, data: object, what: string) => {
          try {
            // At the signature's own creation time, so signatures that have expired since still count.
            await sig.verify(primary, type, data, sig.created ?? undefined, undefined, config);
          } catch (err) {
            throw badRequest('PUBLIC_KEY_INVALID', `the PGP public key's ${what} is invalid (${(err as Error).message}); ${KEY_HINT}`);
          }
        };
        for (const sig of key.revocationSignatures) await check(sig, sigType.keyRevocation, { key: primary }, 'revocation signature');
        for (const user of key.users) {
          if (!user.userID) continue;
          for (const sig of user.selfCertifications) {
            await check(sig, sig.signatureType!, { userID: user.userID, key: primary }, `self-signature on user ID "${user.userID.userID}"`);
          }
        }
        for (const sub of key.subkeys) {
          const data = { key: primary, bind: sub.keyPacket };
          for (const sig of sub.bindingSignatures) await check(sig, sigType.subkeyBinding, data, 'subkey binding signature');
          for (const sig of sub.revocationSignatures) await check(sig, sigType.subkeyRevocation, data, 'subkey revocation signature');
        }
      }
      return keys;
    })();
    return this.checked;
  }
}

function parsePublicKey(content: Buffer): PgpPublicKey {
  if (!Buffer.isBuffer(content) || content.length === 0) throw badRequest('PUBLIC_KEY_INVALID', `the PGP public key is empty; ${KEY_HINT}`);
  if (content.length > MAX_INPUT) {
    throw badRequest('PUBLIC_KEY_INVALID', `the PGP public key is larger than ${MAX_INPUT} bytes; ${KEY_HINT}`);
  }
  try {
    const packets: Packet[] = [];
    // Like Rekor: armored when the input starts with "-----BEGIN PGP", possibly several blocks.
    if (content.subarray(0, 64).toString('latin1').trimStart().startsWith('-----BEGIN PGP')) {
      const blocks = decodeArmorBlocks(content.toString('latin1'));
      for (const block of blocks) {
        if (block.type === 'PGP PRIVATE KEY BLOCK') throw new PgpError(PRIVATE_KEY);
        if (block.type !== 'PGP PUBLIC KEY BLOCK') throw new PgpError(`the armor holds a "${block.type}", not a "PGP PUBLIC KEY BLOCK"`);
        packets.push(...readPackets(block.body));
      }
    } else {
      packets.push(...readPackets(content));
    }
    const entities = readEntities(packets);
    if (entities.length === 0) throw new PgpError('no key was found');
    return new PgpPublicKey(
      Buffer.concat(entities.flatMap((e) => e.packets)),
      entities.flatMap((e) => e.userIds),
    );
  } catch (err) {
    if (err instanceof PgpError) throw badRequest('PUBLIC_KEY_INVALID', `the PGP public key could not be read: ${err.message}; ${KEY_HINT}`);
    throw err;
  }
}

class PgpSignature implements PkiSignature {
  readonly format = 'pgp' as const;
  constructor(
    /** The signature packets, binary. */
    readonly binary: Buffer,
    /** The input as given when it was armored (Rekor stores armored signatures unchanged). */
    readonly armored?: Buffer,
  ) {}

  canonicalValue(): Buffer {
    return this.armored ?? encodeArmor('PGP SIGNATURE', this.binary);
  }

  async verify(data: Buffer, key: PkiPublicKey): Promise<boolean> {
    if (!(key instanceof PgpPublicKey)) return false;
    const keys = await key.keys();
    let signature: openpgp.Signature;
    try {
      signature = await openpgp.readSignature({ binarySignature: this.binary });
    } catch (err) {
      throw badRequest('SIGNATURE_INVALID_FORMAT', `the PGP signature could not be read: ${(err as Error).message}; ${SIG_HINT}`);
    }
    const config = { ...VERIFY_CONFIG };
    // Each signature packet on its own, checked at its creation time as Rekor does, so a key
    // that has expired since still verifies what it signed while valid. Any one verifying is enough.
    for (const packet of signature.packets) {
      if (!(packet instanceof openpgp.SignaturePacket)) continue;
      const one = new openpgp.PacketList<openpgp.SignaturePacket>();
      one.push(packet);
      try {
        const message = await openpgp.createMessage({ binary: new Uint8Array(data) });
        const result = await openpgp.verify({
          message,
          signature: new openpgp.Signature(one),
          verificationKeys: keys,
          date: packet.created ?? undefined,
          config,
        });
        for (const s of result.signatures) {
          if (await s.verified.catch(() => false)) return true;
        }
      } catch {
        // An unsupported or malformed packet does not verify; try the next one.
      }
    }
    return false;
  }
}

function parseSignature(content: Buffer): PgpSignature {
  if (!Buffer.isBuffer(content) || content.length === 0) {
    throw badRequest('SIGNATURE_INVALID_FORMAT', `the PGP signature is empty; ${SIG_HINT}`);
  }
  if (content.length > MAX_INPUT) {
    throw badRequest('SIGNATURE_INVALID_FORMAT', `the PGP signature is larger than ${MAX_INPUT} bytes; ${SIG_HINT}`);
  }
  try {
    const text = content.toString('latin1');
    // Like Rekor (go-crypto armor.Decode): armored if an armor header line is found anywhere.
    const armored = /(^|\n)\s*-----BEGIN [^\n]*-----\s*(\r?\n|$)/.test(text);
    let binary: Buffer;
    if (armored) {
      const [block] = decodeArmorBlocks(text, 1);
      if (!block) throw new PgpError('the armor could not be read');
      if (block.type !== 'PGP SIGNATURE') throw new PgpError(`the armor holds a "${block.type}", not a "PGP SIGNATURE"`);
      binary = block.body;
    } else {
      binary = content;
    }
    const packets = readPackets(binary);
    if (packets.length === 0 || packets[0]!.tag !== TAG_SIGNATURE) {
      throw new PgpError(packets.length === 0 ? 'it holds no packets' : `its first packet (type ${packets[0]!.tag}) is not a signature`);
    }
    readSignaturePacket(packets[0]!.body);
    return new PgpSignature(Buffer.from(binary), armored ? Buffer.from(content) : undefined);
  } catch (err) {
    if (err instanceof PgpError) throw badRequest('SIGNATURE_INVALID_FORMAT', `the PGP signature could not be read: ${err.message}; ${SIG_HINT}`);
    throw err;
  }
}

export const pgpFormat: PkiFormat = {
  name: 'pgp',
  parsePublicKey,
  parseSignature,
};
