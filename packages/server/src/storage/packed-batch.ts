// An append batch packed for the SQLite writer thread: every byte field (leaf hashes, bodies,
// extras, tile hashes) in one transferred buffer and the rest as flat arrays of numbers and
// strings. Posting objects that each hold Buffers costs the sequencing thread far more (every
// Buffer is cloned with its backing store); unpacking makes Buffer views, copying nothing.

import type { LogStorage } from '../log/engine/storage.js';

export type AppendBatch = Parameters<LogStorage['appendBatch']>[0];

export interface PackedBatch {
  bytes: ArrayBuffer;
  previousSize: number;
  checkpoint: AppendBatch['checkpoint'];
  /** Per entry: index, integrated time, then the end offsets of its leaf hash, body and extra (-1: none). */
  entryNumbers: number[];
  kinds: string[];
  apiVersions: string[];
  /** Per tile: level, index, end offset of its hashes. */
  tileNumbers: number[];
  indexKeys: string[];
  indexEntries: number[];
}

const ENTRY_FIELDS = 5;
const TILE_FIELDS = 3;

export function packBatch(batch: AppendBatch): { packed: PackedBatch; transfer: ArrayBuffer[] } {
  let length = 0;
  for (const e of batch.entries) length += e.leafHash.length + e.body.length + (e.extra?.length ?? 0);
  for (const t of batch.tiles) length += t.hashes.length;
  const bytes = Buffer.allocUnsafeSlow(length); // its own ArrayBuffer, so it can be transferred
  let at = 0;
  const put = (data: Uint8Array): number => {
    bytes.set(data, at);
    at += data.length;
    return at;
  };
  const entryNumbers: number[] = [];
  for (const e of batch.entries) entryNumbers.push(e.index, e.integratedTime, put(e.leafHash), put(e.body), e.extra ? put(e.extra) : -1);
  const tileNumbers: number[] = [];
  for (const t of batch.tiles) tileNumbers.push(t.level, t.index, put(t.hashes));
  const packed: PackedBatch = {
    bytes: bytes.buffer as ArrayBuffer,
    previousSize: batch.previousSize,
    checkpoint: batch.checkpoint,
    entryNumbers,
    kinds: batch.entries.map((e) => e.kind),
    apiVersions: batch.entries.map((e) => e.apiVersion),
    tileNumbers,
    indexKeys: batch.index.map((i) => i.key),
    indexEntries: batch.index.map((i) => i.index),
  };
  return { packed, transfer: [packed.bytes] };
}

export function unpackBatch(packed: PackedBatch): AppendBatch {
  let at = 0;
  const take = (end: number): Buffer => {
    const view = Buffer.from(packed.bytes, at, end - at);
    at = end;
    return view;
  };
  const entries: AppendBatch['entries'] = [];
  const n = packed.entryNumbers;
  for (let i = 0; i < n.length; i += ENTRY_FIELDS) {
    const k = i / ENTRY_FIELDS;
    const leafHash = take(n[i + 2] as number);
    const body = take(n[i + 3] as number);
    const extraEnd = n[i + 4] as number;
    entries.push({
      index: n[i] as number,
      integratedTime: n[i + 1] as number,
      leafHash,
      body,
      kind: packed.kinds[k] as string,
      apiVersion: packed.apiVersions[k] as string,
      ...(extraEnd >= 0 ? { extra: take(extraEnd) } : {}),
    });
  }
  const tiles: AppendBatch['tiles'] = [];
  const t = packed.tileNumbers;
  for (let i = 0; i < t.length; i += TILE_FIELDS) tiles.push({ level: t[i] as number, index: t[i + 1] as number, hashes: take(t[i + 2] as number) });
  const index = packed.indexKeys.map((key, i) => ({ key, index: packed.indexEntries[i] as number }));
  return { entries, tiles, index, previousSize: packed.previousSize, checkpoint: packed.checkpoint };
}
