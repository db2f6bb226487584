// C2SP tlog-tiles: a Merkle tree stored as tiles of 256 hashes (height 8). Tile paths and
// their parsing, the tree shape of one tile, and subtree hashes of any range of a tree read
// from its tiles, which is what roots and proofs are made of.

import { CoreError } from './errors.js';
import { nodeHash } from './merkle.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 1 << TILE_HEIGHT;
/** The largest entry an entry bundle can hold: each entry is prefixed by a 16-bit big-endian length. */
export const MAX_BUNDLED_ENTRY_SIZE = 0xffff;

/** "x001/x234/067" for 1234067: groups of three digits, all but the last prefixed by "x". */
export function encodeTileIndex(index: number): string {
  const digits = String(index);
  const padded = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups = padded.match(/.{3}/g) as string[];
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** The path of a hash tile (`level` ≥ 0) or entry bundle (`level` = 'entries'); width < 256 makes it partial. */
export function tilePath(level: number | 'entries', index: number, width = TILE_WIDTH): string {
  const partial = width < TILE_WIDTH ? `.p/${width}` : '';
  return `tile/${level}/${encodeTileIndex(index)}${partial}`;
}

export interface TileAddress {
  level: number | 'entries';
  index: number;
  /** 1..256; 256 for a full tile. */
  width: number;
}

/** Parses "tile/<L>/<N>[.p/<W>]" (without a leading slash); throws TILE_PATH_INVALID. */
export function parseTilePath(path: string): TileAddress {
  const match = /^tile\/(entries|\d{1,2})\/((?:x\d{3}\/)*\d{3})(?:\.p\/(\d{1,3}))?$/.exec(path);
  if (!match) throw new CoreError('TILE_PATH_INVALID', `"${path}" is not a tile path (tile/<L>/<N>[.p/<W>], N in x001/234 groups)`);
  const level = match[1] === 'entries' ? 'entries' : Number(match[1]);
  const index = Number((match[2] as string).replace(/x|\//g, ''));
  const width = match[3] === undefined ? TILE_WIDTH : Number(match[3]);
  if (!Number.isSafeInteger(index) || encodeTileIndex(index) !== match[2]) {
    throw new CoreError('TILE_PATH_INVALID', `"${path}" does not encode its index canonically`);
  }
  if (width < 1 || width >= TILE_WIDTH && match[3] !== undefined) {
    throw new CoreError('TILE_PATH_INVALID', `partial tile width must be 1..255, got ${width}`);
  }
  return { level, index, width };
}

/**
 * All complete nodes inside one tile: `rows[0]` is the tile's hashes, `rows[r][i]` the node
 * over hashes i·2^r .. (i+1)·2^r - 1. A full tile's rows[8][0] is the node one tile level up.
 * Given the rows of a tile that held a prefix of `hashes` (a log's right edge before an append),
 * only the nodes the new hashes complete are computed.
 */
export function tileRows(hashes: Buffer[], prefix?: readonly (readonly Buffer[])[]): Buffer[][] {
  const rows: Buffer[][] = [hashes];
  for (let r = 1; r <= TILE_HEIGHT; r++) {
    const below = rows[r - 1] as Buffer[];
    const row: Buffer[] = (prefix?.[r] ?? []).slice(0, below.length >> 1);
    for (let i = row.length * 2; i + 1 < below.length; i += 2) row.push(nodeHash(below[i] as Buffer, below[i + 1] as Buffer));
    rows.push(row);
  }
  return rows;
}

/**
 * Reads the hash of the perfect subtree of height `height` (0 = a leaf hash) and index `index`
 * (covering leaves index·2^height ..). Only nodes of complete subtrees are ever asked for.
 */
export type NodeReader = (height: number, index: number) => Buffer;

/** MTH(D[start:end]) for an aligned range, from perfect subtrees read with `node`. */
export function subtreeHash(node: NodeReader, start: number, end: number): Buffer {
  const hashes: Buffer[] = [];
  let at = start;
  while (at < end) {
    // The largest aligned power-of-two piece starting at `at` that fits.
    let height = 0;
    while (at % 2 ** (height + 1) === 0 && at + 2 ** (height + 1) <= end) height++;
    hashes.push(node(height, at / 2 ** height));
    at += 2 ** height;
  }
  let hash = hashes.pop() as Buffer;
  while (hashes.length > 0) hash = nodeHash(hashes.pop() as Buffer, hash);
  return hash;
}
