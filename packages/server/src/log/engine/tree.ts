// The log's Merkle tree over its stored tiles: the right edge (the partial tile of every level)
// kept in memory, full tiles read through a bounded cache, appends turned into tile writes,
// and roots and proofs answered from tiles.

import {
  HASH_SIZE,
  TILE_HEIGHT,
  TILE_WIDTH,
  consistencyProofWith,
  inclusionProofWith,
  subtreeHash,
  tileRows,
  type NodeReader,
} from '@sigstack/core';
import type { LogStorage, TileWrite } from './storage.js';

const EMPTY_ROOT = Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex');

/** Thrown inside a NodeReader when a tile is not in memory; the caller loads it and retries. */
class TileNotLoaded {
  constructor(readonly level: number, readonly index: number) {}
}

function splitHashes(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + HASH_SIZE <= data.length; i += HASH_SIZE) out.push(data.subarray(i, i + HASH_SIZE));
  return out;
}

/** Number of hashes stored at tile level `level` for a tree of `size` leaves. */
function hashesAtLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/** Where row r of a full tile starts in its packed form, in hashes (256 leaves, then 128, ... 1). */
const ROW_START = Array.from({ length: TILE_HEIGHT + 1 }, (_, r) => 2 * TILE_WIDTH - (2 * TILE_WIDTH >> r));

/**
 * A full tile's rows in one buffer (row 0, then row 1, ...): the cache holds one object per
 * tile, not 511, so the collector has little to copy or mark however many tiles are cached.
 */
function packRows(rows: Buffer[][]): Buffer {
  return Buffer.concat(rows.flat());
}

export interface AppendPlan {
  size: number;
  tiles: TileWrite[];
  /** Right-edge rows per level after the append. */
  edges: Buffer[][][];
  /** Tiles the append completes, with their rows, to cache once applied. */
  fullTiles: { level: number; index: number; rows: Buffer[][] }[];
}

export class MerkleTree {
  private treeSize = 0;
  /** edges[level] = rows of the rightmost, partial tile at that level (rows[0] empty when none). */
  private edges: Buffer[][][] = [];
  private readonly fullTiles = new Map<string, Buffer>();
  /**
   * Hashes of ranges that are not one perfect subtree (the right edge of proofs), remembered:
   * MTH(D[start:end]) never changes once the tree has `end` leaves, and every response of a
   * batch asks for the same ones.
   */
  private readonly rangeHashes = new Map<string, Buffer>();

  constructor(
    private readonly storage: LogStorage,
    private readonly cacheTiles = 4096,
  ) {}

  get size(): number {
    return this.treeSize;
  }

  /** Loads the right edge of a stored tree of `size` leaves. */
  async load(size: number): Promise<void> {
    // Built aside and swapped in at once: proofs answered meanwhile see the old tree whole.
    const edges: Buffer[][][] = [];
    for (let level = 0; hashesAtLevel(size, level) > 0 || level === 0; level++) {
      const count = hashesAtLevel(size, level);
      const width = count % TILE_WIDTH;
      let hashes: Buffer[] = [];
      if (width > 0) {
        const stored = await this.storage.readTile(level, Math.floor(count / TILE_WIDTH));
        hashes = splitHashes(stored ?? Buffer.alloc(0)).slice(0, width);
        if (hashes.length !== width) throw new Error(`storage is missing tile ${level}/${Math.floor(count / TILE_WIDTH)} for tree size ${size}`);
      }
      edges[level] = tileRows(hashes);
      if (count < TILE_WIDTH) break;
    }
    this.treeSize = size;
    this.edges = edges;
  }

  /** The tile writes that appending these leaf hashes means, without changing the tree. */
  planAppend(leafHashes: Buffer[]): AppendPlan {
    const tiles: TileWrite[] = [];
    const fullTiles: AppendPlan['fullTiles'] = [];
    const edges = [...this.edges];
    let incoming = leafHashes;
    for (let level = 0; incoming.length > 0; level++) {
      let hashes = [...(this.edges[level]?.[0] ?? []), ...incoming];
      let tileIndex = Math.floor(hashesAtLevel(this.treeSize, level) / TILE_WIDTH);
      const promoted: Buffer[] = [];
      // The edge tile's nodes are known; only those the new hashes complete are computed.
      let prefix: Buffer[][] | undefined = this.edges[level];
      while (hashes.length >= TILE_WIDTH) {
        const full = hashes.slice(0, TILE_WIDTH);
        const rows = tileRows(full, prefix);
        prefix = undefined;
        tiles.push({ level, index: tileIndex, hashes: Buffer.concat(full) });
        fullTiles.push({ level, index: tileIndex, rows });
        promoted.push(rows[TILE_HEIGHT]?.[0] as Buffer);
        hashes = hashes.slice(TILE_WIDTH);
        tileIndex++;
      }
      if (hashes.length > 0) tiles.push({ level, index: tileIndex, hashes: Buffer.concat(hashes) });
      edges[level] = tileRows(hashes, prefix);
      incoming = promoted;
    }
    return { size: this.treeSize + leafHashes.length, tiles, edges, fullTiles };
  }

  /**
   * The root hash the tree will have once `plan` is applied. The root's perfect subtrees all lie
   * in the right-edge tiles (each starts past the last full tile of its level), so the plan's
   * edges are all it reads.
   */
  rootOfPlan(plan: AppendPlan): Buffer {
    const saved = { size: this.treeSize, edges: this.edges };
    this.treeSize = plan.size;
    this.edges = plan.edges;
    try {
      return subtreeHash((height, index) => this.node(height, index), 0, plan.size);
    } finally {
      this.treeSize = saved.size;
      this.edges = saved.edges;
    }
  }

  /** Makes a plan the tree's state (after its tiles are durably stored). */
  apply(plan: AppendPlan): void {
    this.treeSize = plan.size;
    this.edges = plan.edges;
    for (const tile of plan.fullTiles) this.rememberFullTile(tile.level, tile.index, tile.rows);
  }

  /** Root hash of the tree at `size` (≤ current size). */
  async root(size = this.treeSize): Promise<Buffer> {
    if (size === 0) return EMPTY_ROOT;
    return this.withNodes((node) => this.rangeHash(node, 0, size));
  }

  async inclusionProof(index: number, size = this.treeSize): Promise<Buffer[]> {
    return this.withNodes((node) => inclusionProofWith(index, size, (start, end) => this.rangeHash(node, start, end)));
  }

  async consistencyProof(size1: number, size2 = this.treeSize): Promise<Buffer[]> {
    return this.withNodes((node) => consistencyProofWith(size1, size2, (start, end) => this.rangeHash(node, start, end)));
  }

  private rangeHash(node: NodeReader, start: number, end: number): Buffer {
    const width = end - start;
    if ((width & (width - 1)) === 0 && start % width === 0) return subtreeHash(node, start, end); // one node
    const key = `${start}:${end}`;
    let hash = this.rangeHashes.get(key);
    if (!hash) {
      hash = subtreeHash(node, start, end);
      if (this.rangeHashes.size >= 4096) this.rangeHashes.clear();
      this.rangeHashes.set(key, hash);
    }
    return hash;
  }

  /** Runs `fn` with a node reader, loading any tile it needs from storage and retrying. */
  private async withNodes<T>(fn: (node: NodeReader) => T): Promise<T> {
    for (;;) {
      try {
        return fn((height, index) => this.node(height, index));
      } catch (err) {
        if (!(err instanceof TileNotLoaded)) throw err;
        const data = await this.storage.readTile(err.level, err.index);
        if (!data || data.length !== TILE_WIDTH * HASH_SIZE) throw new Error(`storage is missing full tile ${err.level}/${err.index}`);
        this.rememberFullTile(err.level, err.index, tileRows(splitHashes(data)));
      }
    }
  }

  private node(height: number, index: number): Buffer {
    const level = Math.floor(height / TILE_HEIGHT);
    const r = height % TILE_HEIGHT;
    const position = index * 2 ** r; // in hashes of this tile level
    const tileIndex = Math.floor(position / TILE_WIDTH);
    const within = (position % TILE_WIDTH) / 2 ** r;
    const edgeIndex = Math.floor(hashesAtLevel(this.treeSize, level) / TILE_WIDTH);
    if (tileIndex === edgeIndex) {
      const hash = this.edges[level]?.[r]?.[within];
      if (!hash) throw new Error(`node ${height}/${index} is not complete in a tree of size ${this.treeSize}`);
      return hash;
    }
    const key = `${level}/${tileIndex}`;
    const packed = this.fullTiles.get(key);
    if (!packed) throw new TileNotLoaded(level, tileIndex);
    this.touch(key, packed);
    const at = (ROW_START[r]! + within) * HASH_SIZE;
    return packed.subarray(at, at + HASH_SIZE);
  }

  private rememberFullTile(level: number, index: number, rows: Buffer[][]): void {
    this.touch(`${level}/${index}`, packRows(rows));
    while (this.fullTiles.size > this.cacheTiles) {
      const oldest = this.fullTiles.keys().next().value as string;
      this.fullTiles.delete(oldest);
    }
  }

  private touch(key: string, packed: Buffer): void {
    this.fullTiles.delete(key);
    this.fullTiles.set(key, packed);
  }
}
