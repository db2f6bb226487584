// Transparency log entries: proof that each entry is in a trusted log, through the signed
// entry timestamp (Rekor v1's promise) and/or an inclusion proof to a checkpoint the log
// signed (Rekor v1 and v2), for a log key valid at the entry's time.

import {
  algorithmForKey,
  canonicalize,
  leafHash,
  parseCheckpoint,
  parseSignedNote,
  verifyInclusion,
  CoreError,
  type TransparencyLogEntry,
} from '@sigstack/core';
import { fail } from './errors.js';
import { validAt, verifyByLog, type TrustMaterial, type TrustedLog } from './trust-material.js';

export function trustedLogFor(entry: TransparencyLogEntry, trust: TrustMaterial): TrustedLog {
  const log = trust.tlogById(entry.logId);
  if (!log) fail('TLOG_UNTRUSTED', `log entry ${entry.logIndex} comes from a log (id ${entry.logId.toString('base64')}) that is not in the trusted root`);
  return log;
}

/** Checks the signed entry timestamp; resolves to the integrated time it vouches for. */
export async function verifySignedEntryTimestamp(entry: TransparencyLogEntry, log: TrustedLog): Promise<Date> {
  const set = entry.inclusionPromise?.signedEntryTimestamp as Buffer;
  const integrated = new Date(entry.integratedTime * 1000);
  if (!validAt(log.validFor, integrated)) {
    fail('TLOG_KEY_NOT_VALID', `the key of log ${log.baseUrl} was not trusted at the entry's integrated time ${integrated.toISOString()}`);
  }
  const payload = canonicalize({
    body: entry.canonicalizedBody.toString('base64'),
    integratedTime: entry.integratedTime,
    logID: entry.logId.toString('hex'),
    logIndex: entry.logIndex,
  });
  const ok = await verifyByLog(log, algorithmForKey(log.publicKey), Buffer.from(payload, 'utf8'), set);
  if (!ok) fail('TLOG_SET_INVALID', `the signed entry timestamp of log entry ${entry.logIndex} does not verify under ${log.baseUrl}'s key`);
  return integrated;
}

/** Checks the inclusion proof against the checkpoint, and the checkpoint's signature by the log. */
export async function verifyInclusionProof(entry: TransparencyLogEntry, log: TrustedLog): Promise<void> {
  const proof = entry.inclusionProof;
  if (!proof?.checkpoint) fail('TLOG_INCLUSION_PROOF_MISSING', `log entry ${entry.logIndex} has no inclusion proof with a checkpoint`);
  let note;
  let checkpoint;
  try {
    note = parseSignedNote(proof.checkpoint);
    checkpoint = parseCheckpoint(note.body);
  } catch (err) {
    if (err instanceof CoreError) fail('TLOG_CHECKPOINT_INVALID', `the checkpoint of log entry ${entry.logIndex} is malformed: ${err.message}`);
    throw err;
  }
  // The log's signature is found by key, not by name: the line whose key hint is the trusted
  // key's (Rekor: the log ID's first 4 bytes; C2SP: the note key ID) and whose signature verifies.
  // Its name is not compared with the base URL's host (private Rekors sign as their pod name).
  const hint = log.keyIdForHint.subarray(0, 4);
  const candidates = note.signatures.filter((sig) => sig.keyHint.equals(hint));
  if (candidates.length === 0) {
    fail('TLOG_CHECKPOINT_INVALID', `the checkpoint of log entry ${entry.logIndex} carries no signature with the key hint ${hint.toString('hex')} of ${log.baseUrl} (the log the entry claims)`);
  }
  const body = Buffer.from(note.body, 'utf8');
  const algorithm = algorithmForKey(log.publicKey);
  const signed = Promise.all(candidates.map((sig) => verifyByLog(log, algorithm, body, sig.signature))).then((oks) => oks.some(Boolean));
  if (!checkpoint.rootHash.equals(proof.rootHash) || checkpoint.size !== proof.treeSize) {
    fail('TLOG_CHECKPOINT_INVALID', `the checkpoint (size ${checkpoint.size}) does not match the inclusion proof's tree (size ${proof.treeSize})`);
  }
  try {
    verifyInclusion(proof.logIndex, proof.treeSize, leafHash(entry.canonicalizedBody), proof.hashes, checkpoint.rootHash);
  } catch (err) {
    if (err instanceof CoreError) fail('TLOG_INCLUSION_PROOF_INVALID', `the inclusion proof of log entry ${entry.logIndex} does not lead to the checkpoint's root hash: ${err.message}`);
    throw err;
  }
  if (!(await signed)) fail('TLOG_CHECKPOINT_INVALID', `no checkpoint signature with ${log.baseUrl}'s key hint verifies under its key`);
}
