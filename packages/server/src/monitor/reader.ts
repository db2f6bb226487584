// How the monitor reads one log, whatever its API: the latest signed tree head (verified with
// the trusted key), proof that it extends one seen before, and the entries in a range.

import type { TreeHead } from '@sigstack/core';

export interface LatestHead {
  head: TreeHead;
  /** The signed checkpoint (a signed note), or for a CT log the get-sth JSON: alert evidence. */
  signed: string;
}

export interface ReadEntry {
  index: number;
  /** Rekor v1's entry UUID; elsewhere the leaf hash in hex. */
  uuid: string;
  /** The leaf data: an entry body (Rekor) or a MerkleTreeLeaf (CT). */
  body: Buffer;
  /** CT's extra_data (the precertificate and chain). */
  extra?: Buffer;
}

export interface LogReader {
  readonly kind: 'tiles' | 'rekor-v1' | 'ct';
  /** Throws ConsistencyAlert('bad signature') for a head the trusted key did not sign. */
  latest(): Promise<LatestHead>;
  /**
   * Proves `latest` extends `seen` (seen.size < latest.size); throws ConsistencyAlert('not
   * consistent'). Returns the evidence used (proof hashes, or the roots computed from tiles).
   */
  prove(seen: TreeHead, latest: TreeHead): Promise<Record<string, unknown>>;
  /** Checks a first-seen head against the log's data where it can (tiles: the root from tiles). */
  check(latest: TreeHead): Promise<void>;
  /** Reads entries [start, end) of the tree `latest`, in order, a batch at a time. */
  entries(start: number, end: number, latest: TreeHead, onBatch: (batch: ReadEntry[]) => void): Promise<void>;
}

/** Runs a signature check, attaching the signed head to the alert it may throw (evidence). */
export function withSigned<T>(check: () => T, signed: string): T {
  try {
    return check();
  } catch (err) {
    throw Object.assign(err as Error, { signed });
  }
}
