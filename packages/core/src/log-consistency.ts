// What a log monitor (and gossip between views) decides about two checkpoints of one log: the
// signature check against the log's trusted key, and the append-only rules: a later view may
// not be smaller, may not have another root at the same size, and must be provably consistent.
// The names of the failed checks are the ones alerts carry.

import { CoreError } from './errors.js';
import { parseCheckpoint, type Checkpoint } from './checkpoint.js';
import { noteKeyHint, parseSignedNote, verifyNoteSignature } from './note.js';
import { verifyConsistency } from './merkle.js';
import type { KeyObject } from 'node:crypto';

export type ConsistencyCheck = 'bad signature' | 'smaller than seen' | 'different root at size N' | 'not consistent' | 'different origin';

export class ConsistencyAlert extends Error {
  constructor(
    readonly check: ConsistencyCheck,
    message: string,
  ) {
    super(message);
    this.name = 'ConsistencyAlert';
  }
}

/**
 * Parses a signed checkpoint and checks that a signature line made by `key` (under the line's
 * own key name, as C2SP key IDs bind name and key) verifies. Throws ConsistencyAlert('bad
 * signature') when none does, CoreError for a malformed note.
 */
export function verifyTrustedCheckpoint(note: string, key: KeyObject): Checkpoint {
  const signed = parseSignedNote(note);
  const checkpoint = parseCheckpoint(signed.body);
  let hinted = false;
  for (const sig of signed.signatures) {
    let hint: Buffer;
    try {
      hint = noteKeyHint(sig.name, key);
    } catch (err) {
      if (err instanceof CoreError) continue;
      throw err;
    }
    if (!hint.equals(sig.keyHint)) continue;
    hinted = true;
    if (verifyNoteSignature(signed.body, sig, key)) return checkpoint;
  }
  throw new ConsistencyAlert('bad signature', hinted ? `the checkpoint of ${checkpoint.origin} at size ${checkpoint.size} has a signature by the trusted key that does not verify` : `the checkpoint of ${checkpoint.origin} at size ${checkpoint.size} carries no signature by the trusted log key`);
}

export interface TreeHead {
  origin: string;
  size: number;
  rootHash: Buffer;
}

/**
 * The checks that need no proof: same origin, not smaller, same root at the same size.
 * Returns 'same' or 'grown'; throws ConsistencyAlert.
 */
export function compareTreeHeads(seen: TreeHead, latest: TreeHead): 'same' | 'grown' {
  if (seen.origin !== latest.origin) throw new ConsistencyAlert('different origin', `the log now signs origin ${JSON.stringify(latest.origin)}, not ${JSON.stringify(seen.origin)}`);
  if (latest.size < seen.size) throw new ConsistencyAlert('smaller than seen', `the log's checkpoint has size ${latest.size}, smaller than the size ${seen.size} already seen`);
  if (latest.size === seen.size) {
    if (!latest.rootHash.equals(seen.rootHash)) throw new ConsistencyAlert('different root at size N', `different root at size ${seen.size}: ${latest.rootHash.toString('base64')} instead of ${seen.rootHash.toString('base64')}`);
    return 'same';
  }
  return 'grown';
}

/** Checks an RFC 6962 consistency proof between two tree heads; throws ConsistencyAlert('not consistent'). */
export function checkConsistencyProof(seen: TreeHead, latest: TreeHead, proof: Uint8Array[]): void {
  try {
    verifyConsistency(seen.size, latest.size, proof, seen.rootHash, latest.rootHash);
  } catch (err) {
    if (!(err instanceof CoreError)) throw err;
    throw new ConsistencyAlert('not consistent', `the tree at size ${latest.size} is not consistent with the one seen at size ${seen.size}: ${err.message}`);
  }
}
