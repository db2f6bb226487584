// Reads an RFC 6962 certificate transparency log: get-sth (its TLS signature checked with the
// log's key), get-sth-consistency, and get-entries (leaf_input + extra_data).

import { verify, type KeyObject } from 'node:crypto';
import { ConsistencyAlert, checkConsistencyProof, type TreeHead } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { parseDigitallySigned, sthSignedData } from '../ctlog/leaf.js';
import { fetchJson, mapLimit } from './http.js';
import type { LatestHead, LogReader, ReadEntry } from './reader.js';

const PER_REQUEST = 256;
const CONCURRENCY = 4;

interface Sth {
  tree_size: number;
  timestamp: number;
  sha256_root_hash: string;
  tree_head_signature: string;
}

export class CtReader implements LogReader {
  readonly kind = 'ct' as const;

  /** `base` is the log's URL up to and without "/ct/v1". */
  constructor(
    private readonly base: string,
    private readonly key: KeyObject,
  ) {}

  async latest(): Promise<LatestHead> {
    const sth = await fetchJson<Sth>(`${this.base}/ct/v1/get-sth`);
    const text = JSON.stringify(sth); // the signed tree head as evidence
    if (!Number.isSafeInteger(sth.tree_size) || typeof sth.sha256_root_hash !== 'string' || typeof sth.tree_head_signature !== 'string') {
      throw new ServiceError(502, 'MONITOR_RESPONSE_INVALID', `${this.base}/ct/v1/get-sth is not a signed tree head`);
    }
    const rootHash = Buffer.from(sth.sha256_root_hash, 'base64');
    let ok = false;
    try {
      const ds = parseDigitallySigned(Buffer.from(sth.tree_head_signature, 'base64'));
      const data = sthSignedData({ timestamp: BigInt(sth.timestamp), treeSize: sth.tree_size, rootHash });
      ok = verify(ds.signatureAlgorithm === 'ed25519' ? null : ds.hashAlgorithm, data, this.key, ds.signature);
    } catch {
      ok = false;
    }
    if (!ok) throw new ConsistencyAlert('bad signature', `the signed tree head of ${this.base} at size ${sth.tree_size} does not verify with the trusted key`);
    return { signed: text, head: { origin: this.base, size: sth.tree_size, rootHash } };
  }

  async prove(seen: TreeHead, latest: TreeHead): Promise<Record<string, unknown>> {
    const answer = await fetchJson<{ consistency?: unknown }>(`${this.base}/ct/v1/get-sth-consistency?first=${seen.size}&second=${latest.size}`);
    const hashes = Array.isArray(answer.consistency) ? (answer.consistency as string[]) : [];
    const evidence = { proof: hashes };
    try {
      checkConsistencyProof(seen, latest, hashes.map((h) => Buffer.from(String(h), 'base64')));
    } catch (err) {
      throw Object.assign(err as Error, { evidence });
    }
    return evidence;
  }

  async check(): Promise<void> {}

  async entries(start: number, end: number, _latest: TreeHead, onBatch: (batch: ReadEntry[]) => void): Promise<void> {
    const ranges: [number, number][] = [];
    for (let i = start; i < end; i += PER_REQUEST) ranges.push([i, Math.min(end, i + PER_REQUEST)]);
    for (let w = 0; w < ranges.length; w += CONCURRENCY * 4) {
      const read = await mapLimit(ranges.slice(w, w + CONCURRENCY * 4), CONCURRENCY, async ([from, to]) => {
        const out: ReadEntry[] = [];
        // get-entries may return fewer than asked: keep asking from where it stopped.
        while (from + out.length < to) {
          const at = from + out.length;
          const answer = await fetchJson<{ entries?: { leaf_input: string; extra_data: string }[] }>(`${this.base}/ct/v1/get-entries?start=${at}&end=${to - 1}`);
          const entries = answer.entries ?? [];
          if (entries.length === 0) throw new ServiceError(502, 'MONITOR_RESPONSE_INVALID', `${this.base} returned no entries from ${at}`);
          entries.forEach((e, i) => out.push({ index: at + i, uuid: '', body: Buffer.from(e.leaf_input, 'base64'), extra: Buffer.from(e.extra_data, 'base64') }));
        }
        return out.slice(0, to - from);
      });
      for (const batch of read) onBatch(batch);
    }
  }
}
