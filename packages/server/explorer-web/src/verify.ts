// Checking an entry in the browser: the checkpoint's signature by the log's key, the entry's body
// against its UUID (the leaf hash), and the inclusion proof against the checkpoint's root; Rekor
// v2 entries are read from tiles, v1 entries with their proof (and signed entry timestamp) from
// the v1 API. The last verified
// checkpoint is kept in localStorage and the next one must be consistent with it.

import { equal, fromBase64, fromHex, hex, utf8 } from './bytes.js';
import { VerificationError, verifyCheckpoint, verifyLogSignature, type Checkpoint, type LogKey } from './checkpoint.js';
import { leafHash, rootFromInclusionProof, verifyConsistency } from './merkle.js';
import { TileReader } from './tiles.js';

export interface Verified {
  body: Uint8Array;
  checkpoint: Checkpoint;
  /** What the consistency check against the remembered checkpoint found. */
  consistency: string;
  source: 'tiles' | 'v1';
  /** Rekor v1: the signed entry timestamp (over body, integrated time, log ID and index) verified. */
  signedTime?: number;
}

const fail = (check: string, message: string) => new VerificationError(check, message);

/** Rekor v2 kinds are read from tiles (their API has no per-entry read). */
export function isTileEntry(kind: string, apiVersion: string): boolean {
  return apiVersion === '0.0.2' && (kind === 'hashedrekord' || kind === 'dsse');
}

async function getJson(url: string): Promise<any> {
  const response = await fetch(url);
  if (!response.ok) throw fail('fetch', `${url} answered HTTP ${response.status}`);
  return response.json();
}

async function checkBody(body: Uint8Array, uuid: string): Promise<Uint8Array> {
  const leaf = await leafHash(body);
  if (hex(leaf) !== uuid) throw fail('body', "the entry's body does not hash to its UUID (the leaf hash)");
  return leaf;
}

async function fromTiles(key: LogKey, index: number, uuid: string): Promise<Omit<Verified, 'consistency'>> {
  const response = await fetch('/checkpoint', { cache: 'no-store' });
  if (!response.ok) throw fail('fetch', `/checkpoint answered HTTP ${response.status}`);
  const checkpoint = await verifyCheckpoint(await response.text(), key);
  if (index >= checkpoint.size) throw fail('size', `the checkpoint (tree size ${checkpoint.size}) does not cover entry ${index} yet`);
  const tiles = new TileReader('', checkpoint.size);
  const body = await tiles.entry(index);
  const leaf = await checkBody(body, uuid);
  const root = await rootFromInclusionProof(index, checkpoint.size, leaf, await tiles.inclusionProof(index));
  if (!root || !equal(root, checkpoint.rootHash)) throw fail('proof', "the inclusion proof built from the log's tiles does not lead to the checkpoint's root hash");
  return { body, checkpoint, source: 'tiles' };
}

async function fromV1(key: LogKey, uuid: string): Promise<Omit<Verified, 'consistency'>> {
  const response = await getJson(`/api/v1/log/entries/${uuid}`);
  const entry = Object.values(response as Record<string, any>)[0];
  const proof = entry?.verification?.inclusionProof;
  if (!entry || typeof entry.body !== 'string' || !proof) throw fail('fetch', 'the log answered no entry body or inclusion proof');
  const body = fromBase64(entry.body);
  const leaf = await checkBody(body, uuid);
  const checkpoint = await verifyCheckpoint(String(proof.checkpoint), key);
  if (Number(proof.treeSize) !== checkpoint.size || String(proof.rootHash).toLowerCase() !== hex(checkpoint.rootHash)) {
    throw fail('root', `the proof's root hash (tree size ${proof.treeSize}) is not the signed checkpoint's (tree size ${checkpoint.size})`);
  }
  const hashes = (proof.hashes as string[]).map((h) => fromHex(h));
  const root = await rootFromInclusionProof(Number(proof.logIndex), checkpoint.size, leaf, hashes);
  if (!root || !equal(root, checkpoint.rootHash)) throw fail('proof', "the inclusion proof does not lead to the checkpoint's root hash (a proof hash is wrong)");
  // The SET: the log's signature over the RFC 8785 JSON of these four fields (keys in this order).
  const set = entry.verification.signedEntryTimestamp;
  const payload = `{"body":${JSON.stringify(entry.body)},"integratedTime":${Number(entry.integratedTime)},"logID":${JSON.stringify(String(entry.logID))},"logIndex":${Number(entry.logIndex)}}`;
  if (typeof set !== 'string' || !(await verifyLogSignature(key, utf8.encode(payload), fromBase64(set)))) {
    throw fail('set', "the signed entry timestamp (the log's promise of the integrated time) does not verify with the log's key");
  }
  if (String(entry.logID) !== hex(key.keyId)) throw fail('set', `the entry names log ID ${entry.logID}, not this log's`);
  return { body, checkpoint, source: 'v1', signedTime: Number(entry.integratedTime) };
}

interface Remembered {
  size: number;
  root: string;
}

async function checkConsistency(key: LogKey, checkpoint: Checkpoint): Promise<string> {
  const storageKey = `sigstack-explorer:checkpoint:${hex(key.keyId)}`;
  let remembered: Remembered | undefined;
  try {
    remembered = JSON.parse(localStorage.getItem(storageKey) ?? 'null') ?? undefined;
  } catch {
    remembered = undefined;
  }
  const current = { size: checkpoint.size, root: hex(checkpoint.rootHash) };
  let message = 'first checkpoint this browser has verified for this log';
  if (remembered && typeof remembered.size === 'number' && typeof remembered.root === 'string') {
    const [older, newer] = remembered.size <= current.size ? [remembered, current] : [current, remembered];
    if (older.size === newer.size) {
      if (older.root !== newer.root) throw fail('consistency', `the log shows two different trees of size ${older.size}: this checkpoint and the one this browser verified before`);
      message = `same tree as the checkpoint this browser verified before (size ${older.size})`;
    } else if (older.size > 0) {
      const proof = await getJson(`/api/v1/log/proof?firstSize=${older.size}&lastSize=${newer.size}`);
      const ok = await verifyConsistency(older.size, newer.size, fromHex(older.root), fromHex(newer.root), (proof.hashes as string[]).map(fromHex));
      if (!ok) throw fail('consistency', `this checkpoint is not consistent with the one this browser verified before (size ${remembered.size})`);
      message = `consistent with the checkpoint this browser verified before (size ${remembered.size})`;
    }
    if (newer === remembered) return message;
  }
  try {
    localStorage.setItem(storageKey, JSON.stringify(current));
  } catch {
    // storage full or disabled: nothing remembered
  }
  return message;
}

export async function verifyEntry(key: LogKey, entry: { index: number; uuid: string; kind: string; apiVersion: string }): Promise<Verified> {
  const found = isTileEntry(entry.kind, entry.apiVersion) ? await fromTiles(key, entry.index, entry.uuid) : await fromV1(key, entry.uuid);
  return { ...found, consistency: await checkConsistency(key, found.checkpoint) };
}
