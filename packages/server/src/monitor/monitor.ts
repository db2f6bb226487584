// One monitoring run over one log: fetch and verify the latest checkpoint, prove it extends the
// saved one, read the new entries (their leaf hashes must extend the saved tree to the new
// root) and match them against the watched identities, compare with what the witnesses
// cosigned, and only then save the new state. An alert (log misbehaviour) is reported with its
// evidence and never saved; an error reaching the log or a witness is reported apart.

import {
  CompactRange,
  ConsistencyAlert,
  checkCosignatures,
  compareTreeHeads,
  leafHash,
  originHash,
  verifyTrustedCheckpoint,
  type CosignerKey,
  type IdentityMatcher,
  type TreeHead,
} from '@sigstack/core';
import type { KeyObject } from 'node:crypto';
import { ServiceError } from '../errors.js';
import { EntryDecoder } from './decode.js';
import { HttpStatusError, fetchText } from './http.js';
import type { MonitorMetrics, MonitorOutputs } from './outputs.js';
import type { LogReader, ReadEntry } from './reader.js';
import { rangeOf, readMonitorState, writeMonitorState, type MonitorState } from './state.js';

export interface MonitorWitness {
  url: string;
  key: CosignerKey;
}

export interface MonitorOptions {
  logUrl: string;
  reader: LogReader;
  /** The log's key (to check the checkpoints witnesses serve). */
  logKey: KeyObject;
  statePath: string;
  matcher?: IdentityMatcher;
  witnesses?: MonitorWitness[];
  outputs: MonitorOutputs;
  metrics?: MonitorMetrics;
}

export interface RunResult {
  alerts: number;
  errors: number;
  matches: number;
  scanned: number;
  size?: number;
}

function head(state: MonitorState): TreeHead {
  return { origin: state.origin, size: state.size, rootHash: Buffer.from(state.rootHash, 'base64') };
}

export async function runMonitor(options: MonitorOptions): Promise<RunResult> {
  const { reader, outputs, metrics } = options;
  const result: RunResult = { alerts: 0, errors: 0, matches: 0, scanned: 0 };
  const alert = (check: string, message: string, evidence: Record<string, unknown>) => {
    result.alerts++;
    metrics?.alerts.inc({ check });
    outputs.emit({ type: 'alert', check, log: options.logUrl, message, evidence });
  };
  const error = (err: Error & { code?: string }) => {
    result.errors++;
    metrics?.errors.inc();
    outputs.emit({ type: 'error', log: options.logUrl, code: err.code ?? 'MONITOR_ERROR', message: err.message });
  };

  const saved = readMonitorState(options.statePath);
  let latest;
  try {
    latest = await reader.latest();
  } catch (err) {
    if (err instanceof ConsistencyAlert) alert(err.check, err.message, { saved: saved?.signed, latest: (err as { signed?: string }).signed });
    else error(err as Error);
    return result;
  }
  const evidenceBase = { saved: saved?.signed, latest: latest.signed };
  const now = latest.head;

  try {
    if (saved) {
      if (compareTreeHeads(head(saved), now) === 'grown') {
        const proof = await reader.prove(head(saved), now);
        Object.assign(evidenceBase, proof);
      }
    } else {
      await reader.check(now);
    }
  } catch (err) {
    if (err instanceof ConsistencyAlert) alert(err.check, err.message, { ...evidenceBase, ...((err as { evidence?: object }).evidence ?? {}) });
    else error(err as Error);
    return result;
  }
  metrics?.checkpoints.inc();

  // New entries: matched, and their leaves must rebuild the new root from the saved range.
  let range = rangeOf(saved);
  const from = saved?.size ?? 0;
  if (options.matcher && now.size > from) {
    const decoder = new EntryDecoder(options.matcher.wantsExtensions, options.matcher.wantsFingerprints);
    const matcher = options.matcher;
    const matches: Record<string, unknown>[] = [];
    const fresh = range ?? CompactRange.empty();
    const checkRange = range !== undefined;
    const onBatch = (batch: ReadEntry[]) => {
      for (const entry of batch) {
        const hash = leafHash(entry.body);
        if (checkRange) fresh.append(hash);
        const identities = reader.kind === 'ct' ? decoder.ctEntry(entry.body, entry.extra) : decoder.rekorEntry(entry.body);
        for (const m of matcher.match(identities)) {
          matches.push({ type: 'match', log: options.logUrl, logIndex: entry.index, uuid: entry.uuid || hash.toString('hex'), identityType: m.type, identity: m.identity, matched: m.matched });
        }
      }
      result.scanned += batch.length;
      metrics?.entries.inc(batch.length);
    };
    try {
      await reader.entries(from, now.size, now, onBatch);
    } catch (err) {
      if (err instanceof ConsistencyAlert) alert(err.check, err.message, evidenceBase);
      else error(err as Error);
      return result;
    }
    if (checkRange && !fresh.root().equals(now.rootHash)) {
      alert('not consistent', `the entries served from ${from} to ${now.size} do not hash to the checkpoint's root (with the tree seen at ${from})`, { ...evidenceBase, computedRoot: fresh.root().toString('base64') });
      return result;
    }
    range = checkRange ? fresh : undefined;
    for (const m of matches) outputs.emit(m as never);
    result.matches += matches.length;
    metrics?.matches.inc(matches.length);
  } else if (now.size !== from) {
    range = undefined;
  }

  // Witnesses: what each cosigned must be consistent with the tree the log shows us.
  for (const witness of options.witnesses ?? []) {
    const url = `${witness.url.replace(/\/+$/, '')}/${originHash(now.origin)}/checkpoint`;
    let note: string;
    try {
      note = await fetchText(url);
    } catch (err) {
      if (err instanceof HttpStatusError && err.httpStatus === 404) continue; // nothing cosigned yet
      error(err as Error);
      return result;
    }
    let seen: TreeHead;
    try {
      const cosigned = checkCosignatures(note, [witness.key]);
      if (cosigned.valid.size === 0) throw new ServiceError(502, 'WITNESS_COSIGNATURE_INVALID', `the checkpoint ${url} serves carries no valid cosignature by ${witness.key.name}`);
      const checkpoint = verifyTrustedCheckpoint(note, options.logKey);
      seen = { origin: checkpoint.origin, size: checkpoint.size, rootHash: checkpoint.rootHash };
    } catch (err) {
      error(new ServiceError(502, (err as { code?: string }).code ?? 'WITNESS_RESPONSE_INVALID', `witness ${witness.key.name}: ${(err as Error).message}`));
      return result;
    }
    const evidence = { latest: latest.signed, witness: witness.key.name, witnessed: note };
    try {
      if (seen.size <= now.size) {
        if (compareTreeHeads(seen, now) === 'grown') Object.assign(evidence, await reader.prove(seen, now));
      } else {
        // The witness cosigned a larger tree than the log shows us: it must extend ours.
        try {
          Object.assign(evidence, await reader.prove(now, seen));
        } catch (err) {
          if (err instanceof HttpStatusError && err.httpStatus < 500) {
            throw new ConsistencyAlert('smaller than seen', `witness ${witness.key.name} cosigned size ${seen.size}, but the log shows size ${now.size} and cannot prove the larger tree`);
          }
          throw err;
        }
      }
    } catch (err) {
      if (err instanceof ConsistencyAlert) alert(err.check, `witness ${witness.key.name}: ${err.message}`, { ...evidence, ...((err as { evidence?: object }).evidence ?? {}) });
      else error(err as Error);
      return result;
    }
  }

  const state: MonitorState = {
    version: 1,
    log: options.logUrl,
    origin: now.origin,
    size: now.size,
    rootHash: now.rootHash.toString('base64'),
    signed: latest.signed,
    ...(range && range.size === now.size ? { range: range.toJSON() } : {}),
    updated: new Date().toISOString(),
  };
  writeMonitorState(options.statePath, state);
  result.size = now.size;
  metrics?.treeSize.set(now.size);
  metrics?.lastSuccess.set(Date.now() / 1000);
  return result;
}

/**
 * Gossip: whether two saved views of one log are consistent. Equal sizes must have equal roots;
 * otherwise `reader` (the log) must prove the larger extends the smaller.
 */
export async function compareStates(a: MonitorState, b: MonitorState, reader?: LogReader): Promise<{ consistent: boolean; check?: string; message: string }> {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  try {
    if (compareTreeHeads(head(small), head(large)) === 'same') return { consistent: true, message: `both views are at size ${a.size} with the same root` };
    if (!reader) return { consistent: true, message: `the views differ in size (${small.size}, ${large.size}); give --log to prove one extends the other` };
    await reader.prove(head(small), head(large));
    return { consistent: true, message: `the view at size ${large.size} extends the one at ${small.size}` };
  } catch (err) {
    if (err instanceof ConsistencyAlert) return { consistent: false, check: err.check, message: err.message };
    throw err;
  }
}
