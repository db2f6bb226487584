// Reads a Rekor v1 log through its API: the signed tree head of GET /api/v1/log, consistency
// proofs from /api/v1/log/proof, and entries by index from POST /api/v1/log/entries/retrieve
// (ten per request, as Rekor allows).

import type { KeyObject } from 'node:crypto';
import { checkConsistencyProof, verifyTrustedCheckpoint, type TreeHead } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { fetchJson, mapLimit } from './http.js';
import { withSigned, type LatestHead, type LogReader, type ReadEntry } from './reader.js';

const PER_REQUEST = 10;
const CONCURRENCY = 8;

export class RekorV1Reader implements LogReader {
  readonly kind = 'rekor-v1' as const;

  constructor(
    private readonly base: string,
    private readonly key: KeyObject,
  ) {}

  async latest(): Promise<LatestHead> {
    const info = await fetchJson<{ signedTreeHead?: unknown }>(`${this.base}/api/v1/log`);
    if (typeof info.signedTreeHead !== 'string') throw new ServiceError(502, 'MONITOR_RESPONSE_INVALID', `${this.base}/api/v1/log has no signedTreeHead`);
    const checkpoint = withSigned(() => verifyTrustedCheckpoint(info.signedTreeHead as string, this.key), info.signedTreeHead);
    return { signed: info.signedTreeHead, head: { origin: checkpoint.origin, size: checkpoint.size, rootHash: checkpoint.rootHash } };
  }

  async prove(seen: TreeHead, latest: TreeHead): Promise<Record<string, unknown>> {
    const answer = await fetchJson<{ hashes?: unknown }>(`${this.base}/api/v1/log/proof?firstSize=${seen.size}&lastSize=${latest.size}`);
    const hashes = Array.isArray(answer.hashes) ? answer.hashes : [];
    if (!hashes.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) throw new ServiceError(502, 'MONITOR_RESPONSE_INVALID', 'the consistency proof is not a list of hex hashes');
    const evidence = { proof: hashes as string[] };
    try {
      checkConsistencyProof(seen, latest, (hashes as string[]).map((h) => Buffer.from(h, 'hex')));
    } catch (err) {
      throw Object.assign(err as Error, { evidence });
    }
    return evidence;
  }

  async check(): Promise<void> {
    // A v1 log offers no tiles; the entries read are checked against the root instead.
  }

  async entries(start: number, end: number, _latest: TreeHead, onBatch: (batch: ReadEntry[]) => void): Promise<void> {
    const groups: number[][] = [];
    for (let i = start; i < end; i += PER_REQUEST) groups.push(Array.from({ length: Math.min(PER_REQUEST, end - i) }, (_, k) => i + k));
    for (let w = 0; w < groups.length; w += CONCURRENCY * 4) {
      const read = await mapLimit(groups.slice(w, w + CONCURRENCY * 4), CONCURRENCY, async (logIndexes) => {
        const answer = await fetchJson<Record<string, { body: string; logIndex: number }>[]>(`${this.base}/api/v1/log/entries/retrieve`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ logIndexes }),
        });
        const byIndex = new Map<number, ReadEntry>();
        for (const item of Array.isArray(answer) ? answer : []) {
          for (const [uuid, e] of Object.entries(item)) byIndex.set(e.logIndex, { index: e.logIndex, uuid, body: Buffer.from(e.body, 'base64') });
        }
        return logIndexes.map((i) => {
          const entry = byIndex.get(i);
          if (!entry) throw new ServiceError(502, 'MONITOR_RESPONSE_INVALID', `${this.base} did not return entry ${i}`);
          return entry;
        });
      });
      for (const batch of read) onBatch(batch);
    }
  }
}
