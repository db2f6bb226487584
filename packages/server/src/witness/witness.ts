// The tlog-witness add-checkpoint rules (c2sp.org/tlog-witness, as of July 2026), in the order
// the spec gives them: 404 unknown origin, 403 no (or a failing) trusted log signature, 400 old
// size above the checkpoint, 409 old size not the last cosigned one (body "<size>\n", type
// text/x.tlog.size), 422 bad consistency proof (non-empty at old size 0, more than 63 lines,
// not verifying, another root at the same size, size 0 without the empty root), else 200 with
// the cosignature lines. Checking the stored size and persisting the new one happen in one
// synchronous step (better-sqlite3), so concurrent submissions can never roll the state back.

import { createHash, type KeyObject } from 'node:crypto';
import {
  CoreError,
  TLOG_SIZE_CONTENT_TYPE,
  cosignatureLine,
  formatCosignerVkey,
  formatMldsaCosignerVkey,
  mldsaCosignatureLine,
  noteSignatureMatches,
  parseAddCheckpointRequest,
  parseCheckpoint,
  parseSignedNote,
  verifyConsistency,
  verifyNoteSignature,
  type Checkpoint,
  type SignedNote,
  type VerifierKey,
} from '@sigstack/core';
import type { WitnessState } from './state.js';

export interface WitnessAnswer {
  status: number;
  contentType: string;
  body: string;
  /** Why, for the log (and the 4xx body). */
  reason?: string;
}

const EMPTY_ROOT = createHash('sha256').digest();

function answer(status: number, reason: string): WitnessAnswer {
  return { status, contentType: 'text/plain; charset=utf-8', body: `${reason}\n`, reason };
}

export interface MldsaKeys {
  publicKey: Buffer;
  secretKey: Buffer;
}

export class Witness {
  readonly vkey: string;
  /** The ML-DSA-44 cosigner vkey (type 0x06), when the witness also cosigns with ML-DSA-44. */
  readonly mldsaVkey: string | undefined;

  constructor(
    readonly name: string,
    private readonly privateKey: KeyObject,
    /** Trusted log keys by checkpoint origin. */
    private readonly logs: ReadonlyMap<string, readonly VerifierKey[]>,
    private readonly state: WitnessState,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
    private readonly mldsa?: MldsaKeys,
  ) {
    this.vkey = formatCosignerVkey(name, privateKey);
    this.mldsaVkey = mldsa ? formatMldsaCosignerVkey(name, mldsa.publicKey) : undefined;
  }

  /** The configured origins. */
  origins(): string[] {
    return [...this.logs.keys()];
  }

  /** The latest cosigned checkpoint of `origin` (the monitoring read). */
  latest(origin: string): string | undefined {
    return this.logs.has(origin) ? this.state.get(origin)?.note : undefined;
  }

  addCheckpoint(requestBody: string): WitnessAnswer {
    let request;
    let note: SignedNote;
    let checkpoint: Checkpoint;
    try {
      request = parseAddCheckpointRequest(requestBody);
    } catch (err) {
      if (err instanceof CoreError && err.code === 'WITNESS_PROOF_TOO_LONG') return answer(422, err.message);
      if (err instanceof CoreError) return answer(400, err.message);
      throw err;
    }
    try {
      note = parseSignedNote(request.checkpoint);
      checkpoint = parseCheckpoint(note.body);
    } catch (err) {
      if (err instanceof CoreError) return answer(400, `the checkpoint is malformed: ${err.message}`);
      throw err;
    }
    const keys = this.logs.get(checkpoint.origin);
    if (!keys) return answer(404, `unknown log origin ${JSON.stringify(checkpoint.origin)}`);
    let trusted = false;
    for (const sig of note.signatures) {
      const key = keys.find((k) => noteSignatureMatches(sig, k.name, k.keyHint));
      if (!key) continue;
      if (!verifyNoteSignature(note.body, sig, key.key)) return answer(403, `the signature of ${key.name} on the checkpoint does not verify`);
      trusted = true;
    }
    if (!trusted) return answer(403, `the checkpoint carries no signature from a key trusted for ${checkpoint.origin}`);
    if (request.oldSize > checkpoint.size) return answer(400, `old size ${request.oldSize} is above the checkpoint size ${checkpoint.size}`);
    if (checkpoint.size === 0 && !checkpoint.rootHash.equals(EMPTY_ROOT)) return answer(422, 'a checkpoint of size 0 must have the empty tree root hash');

    // From here to the write nothing awaits: the check and the persist are one atomic step.
    const stored = this.state.get(checkpoint.origin);
    const storedSize = stored?.size ?? 0;
    if (request.oldSize !== storedSize) {
      return { status: 409, contentType: TLOG_SIZE_CONTENT_TYPE, body: `${storedSize}\n`, reason: `old size ${request.oldSize} is not the last cosigned size ${storedSize}` };
    }
    if (request.oldSize === 0) {
      if (request.proof.length > 0) return answer(422, 'the consistency proof from old size 0 must be empty');
    } else {
      try {
        verifyConsistency(storedSize, checkpoint.size, request.proof, (stored as { rootHash: Buffer }).rootHash, checkpoint.rootHash);
      } catch (err) {
        if (!(err instanceof CoreError)) throw err;
        const why = storedSize === checkpoint.size ? `another root hash at size ${storedSize} than the one cosigned` : `the consistency proof from ${storedSize} to ${checkpoint.size} does not verify`;
        return answer(422, why);
      }
    }
    const now = this.now();
    let line = cosignatureLine(note.body, this.name, this.privateKey, now);
    if (this.mldsa) line += mldsaCosignatureLine(note.body, this.name, this.mldsa.secretKey, this.mldsa.publicKey, now);
    const logLines = note.signatures
      .filter((sig) => keys.some((k) => noteSignatureMatches(sig, k.name, k.keyHint)))
      .map((sig) => `\u2014 ${sig.name} ${Buffer.concat([sig.keyHint, sig.signature]).toString('base64')}\n`);
    this.state.put({
      origin: checkpoint.origin,
      size: checkpoint.size,
      rootHash: checkpoint.rootHash,
      note: `${note.body}\n${logLines.join('')}${line}`,
      updated: Date.now(),
    });
    return { status: 200, contentType: 'text/plain; charset=utf-8', body: line };
  }
}
