// The certificate transparency log (RFC 6962) as a personality of the shared log engine: entries
// are MerkleTreeLeaf bytes, SCTs and tree heads are signed with the log's ECDSA P-256 key, and an
// SCT is only handed out once its entry is durable and in a published checkpoint.

import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { X509, type SignedCertificateTimestamp } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import type { TransparencyLog } from '../log/engine/log.js';
import type { CtSubmitter } from './types.js';
import { chainCertificate, validateChain, type ChainCertificate, type ValidatedChain } from './chain.js';
import {
  encodeDigitallySigned,
  encodeMerkleTreeLeaf,
  encodePrecertChainEntry,
  encodeX509ChainEntry,
  entryIdentity,
  parseMerkleTreeLeaf,
  sctSignedData,
  sthSignedData,
  type MerkleTreeLeaf,
  type SignedEntry,
} from './leaf.js';

export interface CtLogOptions {
  /** The engine holding this log's entries (its own storage; one log per storage). */
  log: TransparencyLog;
  /** The CT signing key, ECDSA P-256 (what CT logs use); log ID = SHA-256 of its SPKI. */
  privateKey: KeyObject;
  /** Roots a submitted chain must lead to. */
  roots: X509[];
  /** Most entries one get-entries call returns (default 256). */
  maxGetEntries?: number;
  /**
   * Where several processes serve one log: claims the SCT timestamp of a new entry by its
   * identity, returning the one claimed first (so a chain sent to two processes at once becomes
   * the same leaf, logged once). Default: this process's clock.
   */
  claimTimestamp?: (identity: Buffer, proposed: bigint) => Promise<bigint>;
}

export interface SignedTreeHead {
  treeSize: number;
  /** Milliseconds since the epoch. */
  timestamp: bigint;
  rootHash: Buffer;
  /** TLS DigitallySigned over the TreeHeadSignature. */
  signature: Buffer;
}

export interface CtLogEntry {
  index: number;
  /** The MerkleTreeLeaf bytes (leaf_input). */
  leafInput: Buffer;
  extraData: Buffer;
  leaf: MerkleTreeLeaf;
}

const EMPTY = Buffer.alloc(0);
const ENTRY_API_VERSION = 'rfc6962-v1';

function badRequest(code: string, message: string): ServiceError {
  return new ServiceError(400, code, message);
}

export class CtLog implements CtSubmitter {
  readonly log: TransparencyLog;
  readonly publicKey: KeyObject;
  readonly spki: Buffer;
  /** SHA-256 of the CT key's SubjectPublicKeyInfo. */
  readonly logId: Buffer;
  readonly maxGetEntries: number;
  private readonly privateKey: KeyObject;
  private readonly acceptedRoots: ChainCertificate[];
  /** Submissions of one entry in flight, so concurrent duplicates share one leaf and timestamp. */
  private readonly inflight = new Map<string, Promise<SignedCertificateTimestamp>>();
  private sth: SignedTreeHead | undefined;
  private readonly claimTimestamp: ((identity: Buffer, proposed: bigint) => Promise<bigint>) | undefined;

  constructor(options: CtLogOptions) {
    this.log = options.log;
    this.claimTimestamp = options.claimTimestamp;
    this.privateKey = options.privateKey;
    if (options.privateKey.asymmetricKeyType !== 'ec' || options.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new ServiceError(500, 'CT_KEY_INVALID', 'the CT log key must be an ECDSA P-256 key, as RFC 6962 logs use');
    }
    this.publicKey = createPublicKey(options.privateKey);
    this.spki = this.publicKey.export({ type: 'spki', format: 'der' });
    this.logId = createHash('sha256').update(this.spki).digest();
    const seen = new Set<string>();
    this.acceptedRoots = [];
    for (const root of options.roots) {
      const key = root.der.toString('hex');
      if (seen.has(key)) continue;
      seen.add(key);
      this.acceptedRoots.push(chainCertificate(root.der, 'an accepted root'));
    }
    if (this.acceptedRoots.length === 0) throw new ServiceError(500, 'CT_ROOTS_MISSING', 'the CT log needs at least one accepted root certificate');
    this.maxGetEntries = options.maxGetEntries ?? 256;
  }

  /** The accepted roots (get-roots). */
  get roots(): X509[] {
    return this.acceptedRoots.map((r) => r.x509);
  }

  /** RFC 6962 add-chain: a final certificate, then its issuers. */
  addChain(chain: Buffer[]): Promise<SignedCertificateTimestamp> {
    return this.submit(chain, false);
  }

  /** RFC 6962 add-pre-chain: a precertificate (critical poison), then its issuers. */
  addPreChain(chain: Buffer[]): Promise<SignedCertificateTimestamp> {
    return this.submit(chain, true);
  }

  private async submit(chain: Buffer[], precert: boolean): Promise<SignedCertificateTimestamp> {
    const validated = await validateChain(chain, this.acceptedRoots, precert);
    const identity = entryIdentity(validated.entry);
    const key = identity.toString('hex');
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const recorded = this.record(validated, identity).finally(() => this.inflight.delete(key));
    this.inflight.set(key, recorded);
    return recorded;
  }

  private async record(validated: ValidatedChain, identity: Buffer): Promise<SignedCertificateTimestamp> {
    // Already logged: the SCT carries the original timestamp, read back from the stored leaf.
    const existing = await this.findLogged(identity);
    if (existing) return this.signSct(existing.timestamp, validated.entry, existing.extensions);

    const now = BigInt(Date.now());
    const timestamp = this.claimTimestamp ? await this.claimTimestamp(identity, now) : now;
    const leaf: MerkleTreeLeaf = { timestamp, entry: validated.entry, extensions: EMPTY };
    const body = encodeMerkleTreeLeaf(leaf);
    const chain = validated.path.map((c) => c.x509.der);
    const extraData = validated.entry.type === 'precert_entry' ? encodePrecertChainEntry(validated.leaf.x509.der, chain) : encodeX509ChainEntry(chain);
    // The chain lands in the same transaction as the leaf (the engine's `extra`).
    await this.log.append({
      kind: validated.entry.type,
      apiVersion: ENTRY_API_VERSION,
      body,
      indexKeys: [{ type: 'hash', value: `sha256:${identity.toString('hex')}` }],
      extra: extraData,
    });
    // A duplicate here is the very same leaf bytes, so the same timestamp.
    return this.signSct(leaf.timestamp, leaf.entry, leaf.extensions);
  }

  private async findLogged(identity: Buffer): Promise<MerkleTreeLeaf | undefined> {
    for (const index of await this.log.search(`hash:sha256:${identity.toString('hex')}`)) {
      const [stored] = await this.log.entries(index, 1);
      if (!stored) continue;
      const leaf = parseMerkleTreeLeaf(stored.body);
      if (entryIdentity(leaf.entry).equals(identity)) return leaf;
    }
    return undefined;
  }

  private signSct(timestamp: bigint, entry: SignedEntry, extensions: Buffer): SignedCertificateTimestamp {
    const sct: SignedCertificateTimestamp = {
      version: 0,
      logId: this.logId,
      timestamp,
      extensions,
      hashAlgorithm: 'sha256',
      signatureAlgorithm: 'ecdsa',
      signature: EMPTY,
    };
    sct.signature = sign('sha256', sctSignedData(sct, entry), this.privateKey);
    return sct;
  }

  /** The signed tree head over the current published tree (signed once per tree size). */
  async getSth(): Promise<SignedTreeHead> {
    const { size, rootHash } = this.log.checkpoint;
    if (this.sth && this.sth.treeSize === size) return this.sth;
    // Never earlier than a previous head, and later than every SCT of the entries it covers.
    const now = BigInt(Date.now());
    const timestamp = this.sth && this.sth.timestamp > now ? this.sth.timestamp : now;
    const signature = sign('sha256', sthSignedData({ timestamp, treeSize: size, rootHash }), this.privateKey);
    const sth: SignedTreeHead = {
      treeSize: size,
      timestamp,
      rootHash,
      signature: encodeDigitallySigned({ hashAlgorithm: 'sha256', signatureAlgorithm: 'ecdsa', signature }),
    };
    if (!this.sth || this.sth.treeSize <= size) this.sth = sth;
    return sth;
  }

  /** get-sth-consistency: 0 ≤ first ≤ second ≤ the current tree size. */
  async consistency(first: number, second: number): Promise<Buffer[]> {
    const size = this.log.checkpoint.size;
    if (first > second) throw badRequest('CT_RANGE_INVALID', `first (${first}) is larger than second (${second})`);
    if (second > size) throw badRequest('CT_RANGE_INVALID', `second (${second}) is beyond the current tree size ${size}`);
    if (first === 0 || first === second) return [];
    return this.log.consistencyProof(first, second);
  }

  /** get-proof-by-hash: the audit path of the leaf with this leaf hash in the tree of `treeSize`. */
  async proofByHash(hash: Buffer, treeSize: number): Promise<{ leafIndex: number; auditPath: Buffer[] }> {
    const size = this.log.checkpoint.size;
    if (hash.length !== 32) throw badRequest('CT_HASH_INVALID', 'hash must be a 32-byte SHA-256 leaf hash');
    if (treeSize < 1 || treeSize > size) throw badRequest('CT_RANGE_INVALID', `tree_size ${treeSize} is outside 1..${size} (the current tree size)`);
    const entry = await this.log.entryByLeafHash(hash);
    if (!entry || entry.index >= treeSize) {
      throw new ServiceError(404, 'CT_ENTRY_NOT_FOUND', `no entry with this leaf hash in the tree of size ${treeSize}`);
    }
    return { leafIndex: entry.index, auditPath: await this.log.inclusionProof(entry.index, treeSize) };
  }

  /** get-entries: [start, end] inclusive, cut to the tree and to maxGetEntries. */
  async entries(start: number, end: number): Promise<CtLogEntry[]> {
    const size = this.log.checkpoint.size;
    if (end < start) throw badRequest('CT_RANGE_INVALID', `end (${end}) is smaller than start (${start})`);
    if (start >= size) throw badRequest('CT_RANGE_INVALID', `start (${start}) is beyond the last entry (tree size ${size})`);
    const last = Math.min(end, size - 1, start + this.maxGetEntries - 1);
    const stored = await this.log.entries(start, last - start + 1);
    return Promise.all(
      stored.map(async (e) => {
        const extraData = e.extra;
        if (!extraData) throw new ServiceError(500, 'CT_EXTRA_DATA_MISSING', `the chain of entry ${e.index} is missing from storage`);
        return { index: e.index, leafInput: e.body, extraData, leaf: parseMerkleTreeLeaf(e.body) };
      }),
    );
  }
}
