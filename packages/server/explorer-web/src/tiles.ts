// Reading a Rekor v2 entry the way a tile client does (C2SP tlog-tiles): the entry's body from its
// entry bundle, and its inclusion proof built from hash tiles (level L holds tree level 8L),
// for the tree size of a checkpoint. Tiles are untrusted: the proof is checked against the root.

import { nodeHash } from './merkle.js';

const WIDTH = 256;

/** C2SP tile index path: groups of three digits, all but the last prefixed with "x". */
export function tileIndexPath(index: number): string {
  const digits = String(index);
  const padded = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups = padded.match(/\d{3}/g)!;
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

export class TileReader {
  private readonly cache = new Map<string, Promise<Uint8Array>>();

  constructor(private readonly base: string, private readonly size: number) {}

  private fetchBytes(path: string): Promise<Uint8Array> {
    let pending = this.cache.get(path);
    if (!pending) {
      pending = fetch(`${this.base}${path}`).then(async (response) => {
        if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
        return new Uint8Array(await response.arrayBuffer());
      });
      this.cache.set(path, pending);
    }
    return pending;
  }

  /** Width of tile `index` at `level` in this tree (256 when full). */
  private width(level: number, index: number): number {
    return Math.min(WIDTH, Math.floor(this.size / WIDTH ** level) - index * WIDTH);
  }

  private path(kind: string, level: number, index: number): string {
    const width = this.width(level, index);
    return `/tile/${kind}/${tileIndexPath(index)}${width < WIDTH ? `.p/${width}` : ''}`;
  }

  /** The body of entry `index` from its entry bundle (each entry: 2-byte big-endian length, bytes). */
  async entry(index: number): Promise<Uint8Array> {
    const tile = Math.floor(index / WIDTH);
    const bytes = await this.fetchBytes(this.path('entries', 0, tile));
    let at = 0;
    for (let i = 0; at + 2 <= bytes.length; i++) {
      const length = (bytes[at]! << 8) | bytes[at + 1]!;
      if (i === index % WIDTH) return bytes.slice(at + 2, at + 2 + length);
      at += 2 + length;
    }
    throw new Error(`entry bundle ${tile} has no entry ${index % WIDTH}`);
  }

  /** The hash of the full subtree at tree `level`, position `index`. */
  private async node(level: number, index: number): Promise<Uint8Array> {
    const tileLevel = Math.floor(level / 8);
    const below = level - tileLevel * 8;
    const first = index * 2 ** below;
    const tile = Math.floor(first / WIDTH);
    const bytes = await this.fetchBytes(this.path(String(tileLevel), tileLevel, tile));
    let hashes: Uint8Array[] = [];
    for (let i = 0; i < 2 ** below; i++) {
      const at = ((first % WIDTH) + i) * 32;
      if (at + 32 > bytes.length) throw new Error(`tile ${tileLevel}/${tile} is shorter than the tree needs`);
      hashes.push(bytes.slice(at, at + 32));
    }
    while (hashes.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i < hashes.length; i += 2) next.push(await nodeHash(hashes[i]!, hashes[i + 1]!));
      hashes = next;
    }
    return hashes[0]!;
  }

  /** The RFC 6962 hash of leaves [start, end), from the largest full subtrees in it. */
  private async range(start: number, end: number): Promise<Uint8Array> {
    const n = end - start;
    if (Number.isInteger(Math.log2(n)) && start % n === 0) return this.node(Math.log2(n), start / n);
    let k = 1;
    while (k * 2 < n) k *= 2;
    return nodeHash(await this.range(start, start + k), await this.range(start + k, end));
  }

  /** The inclusion proof of leaf `index` in this tree (RFC 6962 PATH), bottom first. */
  async inclusionProof(index: number): Promise<Uint8Array[]> {
    const path = async (m: number, start: number, end: number): Promise<Uint8Array[]> => {
      const n = end - start;
      if (n <= 1) return [];
      let k = 1;
      while (k * 2 < n) k *= 2;
      if (m < k) return [...(await path(m, start, start + k)), await this.range(start + k, end)];
      return [...(await path(m - k, start + k, end)), await this.range(start, start + k)];
    };
    return path(index, 0, this.size);
  }
}
