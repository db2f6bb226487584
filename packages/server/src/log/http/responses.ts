// Shapes of log entries in the two APIs: Rekor v1's LogEntry (hex proof hashes, SET) and
// Rekor v2's TransparencyLogEntry (protobuf JSON, base64), both with an inclusion proof
// against the checkpoint current when the response is made.

import type { FastifyInstance } from 'fastify';
import type { CurrentCheckpoint, TransparencyLog } from '../engine/log.js';
import type { StoredEntry } from '../engine/storage.js';

/**
 * Makes `scope` (a plugin scope holding an entry-creating route) take JSON bodies as text: the
 * admission worker parses and checks it, so the thread that serves HTTP and sequences the log
 * neither parses the entry nor copies an object tree to the worker (a string is one copy).
 */
export function entryTextScope(scope: FastifyInstance): void {
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
}

/** Rekor v1 entry IDs: 16 hex of the tree ID, then the 64-hex leaf hash (the entry UUID). */
export function entryId(treeId: string, entry: { leafHash: Buffer }): string {
  return `${treeId}${entry.leafHash.toString('hex')}`;
}

/** Signs Rekor v1's signed entry timestamp of a stored entry (AdmissionPool.signEntryTimestamp). */
export type EntryTimestampSigner = (entry: StoredEntry) => Promise<Buffer>;

export async function rekorV1Entry(log: TransparencyLog, treeId: string, entry: StoredEntry, signTimestamp: EntryTimestampSigner, checkpoint: CurrentCheckpoint = log.checkpoint) {
  const [proof, signedEntryTimestamp] = await Promise.all([log.inclusionProof(entry.index, checkpoint.size), signTimestamp(entry)]);
  return {
    [entryId(treeId, entry)]: {
      body: entry.body.toString('base64'),
      integratedTime: entry.integratedTime,
      logID: log.logId.toString('hex'),
      logIndex: entry.index,
      verification: {
        inclusionProof: {
          checkpoint: checkpoint.note,
          hashes: proof.map((h) => h.toString('hex')),
          logIndex: entry.index,
          rootHash: checkpoint.rootHash.toString('hex'),
          treeSize: checkpoint.size,
        },
        signedEntryTimestamp: signedEntryTimestamp.toString('base64'),
      },
    },
  };
}

export async function rekorV2Entry(log: TransparencyLog, entry: StoredEntry, checkpoint: CurrentCheckpoint = log.checkpoint) {
  const proof = await log.inclusionProof(entry.index, checkpoint.size);
  return {
    logIndex: String(entry.index),
    logId: { keyId: log.logId.toString('base64') },
    kindVersion: { kind: entry.kind, version: entry.apiVersion },
    integratedTime: '0',
    inclusionProof: {
      logIndex: String(entry.index),
      rootHash: checkpoint.rootHash.toString('base64'),
      treeSize: String(checkpoint.size),
      hashes: proof.map((h) => h.toString('base64')),
      checkpoint: { envelope: checkpoint.note },
    },
    canonicalizedBody: entry.body.toString('base64'),
  };
}
