// The log's signing identity: its key, its name (the checkpoint origin and signer name), its
// log ID as trusted roots record it, and the two things it signs: checkpoints (C2SP signed
// notes) and Rekor v1 signed entry timestamps (over RFC 8785 JSON, also on worker threads).

import { createHash, sign, type KeyObject } from 'node:crypto';
import { canonicalize, ed25519KeyHint, signNote } from '@sigstack/core';
import type { LoadedKey } from '../../keys.js';

/** A log key held elsewhere (a PKCS#11 token): ECDSA P-256, DER signatures over SHA-256, maybe asynchronous. */
export interface ExternalLogKey {
  publicKey: KeyObject;
  /** Where it lives (for messages). */
  description: string;
  sign(data: Buffer): Buffer | Promise<Buffer>;
}

function isExternal(key: LoadedKey | ExternalLogKey): key is ExternalLogKey {
  return !('privateKey' in key);
}

export class LogSigner {
  readonly name: string;
  readonly publicKey: KeyObject;
  readonly spki: Buffer;
  /** The log ID: for Ed25519 the C2SP key ID SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key), else SHA-256(SPKI). */
  readonly logId: Buffer;
  readonly keyDetails: 'PKIX_ED25519' | 'PKIX_ECDSA_P256_SHA_256';
  private readonly privateKey: KeyObject | undefined;
  private readonly externalKey: ExternalLogKey | undefined;
  private readonly ed25519: boolean;

  constructor(name: string, key: LoadedKey | ExternalLogKey) {
    this.name = name;
    this.externalKey = isExternal(key) ? key : undefined;
    this.privateKey = isExternal(key) ? undefined : key.privateKey;
    this.publicKey = key.publicKey;
    this.spki = key.publicKey.export({ type: 'spki', format: 'der' });
    this.ed25519 = key.publicKey.asymmetricKeyType === 'ed25519';
    if (!this.ed25519 && key.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('log keys must be Ed25519 or ECDSA P-256');
    }
    this.keyDetails = this.ed25519 ? 'PKIX_ED25519' : 'PKIX_ECDSA_P256_SHA_256';
    if (this.externalKey && this.ed25519) throw new Error('a log key held outside (PKCS#11) must be ECDSA P-256');
    if (this.ed25519) {
      const raw = this.spki.subarray(this.spki.length - 32);
      this.logId = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([0x01]), raw])).digest();
      // The 4-byte hint of the C2SP signed note must be the log ID's first four bytes.
      if (!ed25519KeyHint(name, raw).equals(this.logId.subarray(0, 4))) throw new Error('key hint mismatch');
    } else {
      this.logId = createHash('sha256').update(this.spki).digest();
    }
  }

  /** Whether the key is held outside this process (then only the *Async methods sign). */
  get isExternal(): boolean {
    return this.externalKey !== undefined;
  }

  private signBytes(data: Buffer): Buffer {
    if (!this.privateKey) throw new Error(`the log key (${this.externalKey?.description}) signs asynchronously`);
    return this.ed25519 ? sign(null, data, this.privateKey) : sign('sha256', data, this.privateKey);
  }

  private async signBytesAsync(data: Buffer): Promise<Buffer> {
    return this.externalKey ? Buffer.from(await this.externalKey.sign(data)) : this.signBytes(data);
  }

  /** signCheckpoint for any key, a token's too. */
  async signCheckpointAsync(body: string): Promise<string> {
    const signature = await this.signBytesAsync(Buffer.from(body, 'utf8'));
    return signNote(body, [{ name: this.name, keyHint: this.logId.subarray(0, 4), sign: () => signature }]);
  }

  /** signEntryTimestamp for any key, a token's too. */
  async signEntryTimestampAsync(body: Uint8Array, integratedTime: number, logIndex: number): Promise<Buffer> {
    if (!this.externalKey) return this.signEntryTimestamp(body, integratedTime, logIndex);
    return this.signBytesAsync(entryTimestampPayload(this.logId.toString('hex'), body, integratedTime, logIndex));
  }

  /** A signed note over the checkpoint body. */
  signCheckpoint(body: string): string {
    return signNote(body, [{ name: this.name, keyHint: this.logId.subarray(0, 4), sign: (message) => this.signBytes(message) }]);
  }

  /** Rekor v1's signed entry timestamp over {body, integratedTime, logID, logIndex}. */
  signEntryTimestamp(body: Uint8Array, integratedTime: number, logIndex: number): Buffer {
    return signEntryTimestampWith(this.entryTimestampKey(), body, integratedTime, logIndex);
  }

  /** What signing entry timestamps elsewhere (on the log's worker threads) takes. */
  entryTimestampKey(): EntryTimestampKey {
    if (!this.privateKey) throw new Error(`the log key (${this.externalKey?.description}) cannot be handed to worker threads`);
    return { privateKey: this.privateKey, ed25519: this.ed25519, logIdHex: this.logId.toString('hex') };
  }
}

export interface EntryTimestampKey {
  privateKey: KeyObject;
  ed25519: boolean;
  logIdHex: string;
}

/** A signed entry timestamp: the log's signature over the RFC 8785 JSON of the four fields. */
export function signEntryTimestampWith(key: EntryTimestampKey, body: Uint8Array, integratedTime: number, logIndex: number): Buffer {
  const payload = entryTimestampPayload(key.logIdHex, body, integratedTime, logIndex);
  return key.ed25519 ? sign(null, payload, key.privateKey) : sign('sha256', payload, key.privateKey);
}

/** What a signed entry timestamp signs: the RFC 8785 JSON of {body, integratedTime, logID, logIndex}. */
function entryTimestampPayload(logIdHex: string, body: Uint8Array, integratedTime: number, logIndex: number): Buffer {
  const encoded = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64');
  return Buffer.from(canonicalize({ body: encoded, integratedTime, logID: logIdHex, logIndex }), 'utf8');
}
