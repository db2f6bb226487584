// Reads a C2SP tlog-tiles log (Rekor v2, and every sigstack log): /checkpoint, hash tiles and
// entry bundles. Consistency is computed from the tiles: the tiles served for the latest tree
// must hash to its root AND to the root seen before at the older size. (The entries read are
// checked by the monitor: their leaf hashes must extend the saved tree to the checkpoint's root.)

import type { KeyObject } from 'node:crypto';
import { ConsistencyAlert, HASH_SIZE, TILE_WIDTH, subtreeHash, tilePath, tileRows, verifyTrustedCheckpoint, type TreeHead } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { fetchBytes, fetchText, mapLimit } from './http.js';
import { withSigned, type LatestHead, type LogReader, type ReadEntry } from './reader.js';

const CONCURRENCY = 8;
const READ_AHEAD = 16;

/** Splits an entry bundle (uint16 big-endian length, data)*. */
export function splitEntryBundle(bundle: Buffer, url: string): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < bundle.length) {
    if (at + 2 > bundle.length) throw new ServiceError(502, 'MONITOR_RESPONSE_INVALID', `${url} is not a valid entry bundle`);
    const length = bundle.readUInt16BE(at);
    if (at + 2 + length > bundle.length) throw new ServiceError(502, 'MONITOR_RESPONSE_INVALID', `${url} is not a valid entry bundle`);
    out.push(bundle.subarray(at + 2, at + 2 + length));
    at += 2 + length;
  }
  return out;
}

export class TilesReader implements LogReader {
  readonly kind = 'tiles' as const;
  private readonly rows = new Map<string, Buffer[][]>();

  constructor(
    private readonly base: string,
    private readonly key: KeyObject,
  ) {}

  async latest(): Promise<LatestHead> {
    const signed = await fetchText(`${this.base}/checkpoint`);
    const checkpoint = withSigned(() => verifyTrustedCheckpoint(signed, this.key), signed);
    return { signed, head: { origin: checkpoint.origin, size: checkpoint.size, rootHash: checkpoint.rootHash } };
  }

  private async tile(level: number, index: number, treeSize: number): Promise<Buffer[][]> {
    const width = Math.min(TILE_WIDTH, Math.floor(treeSize / TILE_WIDTH ** level) - index * TILE_WIDTH);
    const key = `${level}/${index}/${width}`;
    const cached = this.rows.get(key);
    if (cached) return cached;
    const path = tilePath(level, index, width);
    const bytes = await fetchBytes(`${this.base}/${path}`);
    if (bytes.length !== width * HASH_SIZE) throw new ServiceError(502, 'MONITOR_RESPONSE_INVALID', `${path} has ${bytes.length} bytes, not ${width * HASH_SIZE}`);
    const hashes = Array.from({ length: width }, (_, i) => bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
    const rows = tileRows(hashes);
    if (this.rows.size > 4096) this.rows.clear();
    this.rows.set(key, rows);
    return rows;
  }

  /** MTH of the first `size` leaves, from the tiles of the tree of `treeSize` leaves. */
  async rootAt(size: number, treeSize: number): Promise<Buffer> {
    if (size === 0) return Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex');
    const wanted = new Map<string, { level: number; index: number }>();
    const locate = (height: number, index: number) => {
      const level = Math.floor(height / 8);
      const r = height % 8;
      const first = index * 2 ** r;
      const tile = Math.floor(first / TILE_WIDTH);
      return { level, tile, r, offset: (first - tile * TILE_WIDTH) / 2 ** r };
    };
    subtreeHash((height, index) => {
      const { level, tile } = locate(height, index);
      wanted.set(`${level}/${tile}`, { level, index: tile });
      return Buffer.alloc(32);
    }, 0, size);
    const tiles = new Map<string, Buffer[][]>();
    await mapLimit([...wanted.entries()], CONCURRENCY, async ([k, t]) => tiles.set(k, await this.tile(t.level, t.index, treeSize)));
    return subtreeHash((height, index) => {
      const { level, tile, r, offset } = locate(height, index);
      const node = tiles.get(`${level}/${tile}`)?.[r]?.[offset];
      if (!node) throw new ServiceError(502, 'MONITOR_RESPONSE_INVALID', `the tiles of tree size ${treeSize} lack the node at height ${height}, index ${index}`);
      return node;
    }, 0, size);
  }

  async check(latest: TreeHead): Promise<void> {
    const root = await this.rootAt(latest.size, latest.size);
    if (!root.equals(latest.rootHash)) throw new ConsistencyAlert('not consistent', `the tiles of size ${latest.size} hash to ${root.toString('base64')}, not the checkpoint's root`);
  }

  async prove(seen: TreeHead, latest: TreeHead): Promise<Record<string, unknown>> {
    const newRoot = await this.rootAt(latest.size, latest.size);
    const oldRoot = await this.rootAt(seen.size, latest.size);
    const evidence = { computedRoot: newRoot.toString('base64'), computedOldRoot: oldRoot.toString('base64') };
    if (!newRoot.equals(latest.rootHash)) throw Object.assign(new ConsistencyAlert('not consistent', `the tiles of size ${latest.size} hash to another root than the checkpoint's`), { evidence });
    if (!oldRoot.equals(seen.rootHash)) {
      throw Object.assign(new ConsistencyAlert('not consistent', `the tree at size ${latest.size} is not consistent with the one seen at size ${seen.size}: its first ${seen.size} leaves hash to ${evidence.computedOldRoot}, not ${seen.rootHash.toString('base64')}`), { evidence });
    }
    return evidence;
  }

  async entries(start: number, end: number, latest: TreeHead, onBatch: (batch: ReadEntry[]) => void): Promise<void> {
    const first = Math.floor(start / TILE_WIDTH);
    const last = Math.ceil(end / TILE_WIDTH);
    const bundles: number[] = [];
    for (let t = first; t < last; t++) bundles.push(t);
    // Fetches run ahead (up to READ_AHEAD bundles) while earlier ones are decoded, in order.
    const fetchBundle = async (t: number) => {
      const width = Math.min(TILE_WIDTH, latest.size - t * TILE_WIDTH);
      const path = tilePath('entries', t, width);
      return { t, width, path, bodies: splitEntryBundle(await fetchBytes(`${this.base}/${path}`), path) };
    };
    const inFlight: Promise<Awaited<ReturnType<typeof fetchBundle>>>[] = [];
    let next = 0;
    const fill = () => {
      while (inFlight.length < READ_AHEAD && next < bundles.length) {
        const p = fetchBundle(bundles[next++] as number);
        p.catch(() => {}); // awaited below, in order
        inFlight.push(p);
      }
    };
    fill();
    while (inFlight.length > 0) {
      const { t, width, path, bodies } = await (inFlight.shift() as Promise<Awaited<ReturnType<typeof fetchBundle>>>);
      fill();
      if (bodies.length !== width) throw new ServiceError(502, 'MONITOR_RESPONSE_INVALID', `${path} holds ${bodies.length} entries, not ${width}`);
      const batch: ReadEntry[] = [];
      for (let i = 0; i < width; i++) {
        const index = t * TILE_WIDTH + i;
        if (index < start || index >= end) continue;
        batch.push({ index, uuid: '', body: bodies[i] as Buffer });
      }
      onBatch(batch);
    }
  }
}
