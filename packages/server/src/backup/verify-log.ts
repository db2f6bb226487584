// Verifies a log database before it is served (a restored backup): every entry's leaf hash
// recomputed from its body, every tile recomputed from the leaves and compared with the stored
// one, the root compared with the checkpoint's, and the checkpoint's signature checked with a
// key the trusted root names (or the log's own key).

import type { KeyObject } from 'node:crypto';
import Database from 'better-sqlite3';
import { leafHash, parseCheckpoint, parseSignedNote, verifyNoteSignature } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { MerkleTree } from '../log/engine/tree.js';
import type { LogStorage } from '../log/engine/storage.js';

export interface VerifiedLog {
  origin: string;
  size: number;
  rootHash: Buffer;
  /** Tiles compared. */
  tiles: number;
  /** The public key the checkpoint's signature verified with (none for an empty log). */
  signedBy?: KeyObject;
}

const CHUNK = 65_536;

function refused(path: string, why: string): ServiceError {
  return new ServiceError(400, 'BACKUP_TREE_INVALID', `the log database ${path} does not verify: ${why}; the backup is damaged or was altered, restore another one`);
}

/** Recomputes the tree of the log database at `path`; `keys` are the public keys its checkpoint may be signed with. */
export async function verifyLogDatabase(path: string, keys: KeyObject[]): Promise<VerifiedLog> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT size, note FROM checkpoint WHERE id = 1').get() as { size: number; note: string } | undefined;
    if (!row) {
      const count = (db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n;
      if (count > 0) throw refused(path, `${count} entries but no checkpoint`);
      return { origin: '', size: 0, rootHash: Buffer.alloc(0), tiles: 0 };
    }
    let note;
    let checkpoint;
    try {
      note = parseSignedNote(row.note);
      checkpoint = parseCheckpoint(note.body);
    } catch (err) {
      throw refused(path, `its checkpoint is not a signed note (${(err as Error).message})`);
    }
    if (checkpoint.size !== row.size) throw refused(path, `the checkpoint says size ${checkpoint.size}, its row ${row.size}`);
    const signedBy = keys.find((key) => note.signatures.some((sig) => verifyNoteSignature(note.body, sig, key)));
    if (!signedBy) {
      throw refused(path, `its checkpoint (${checkpoint.origin}, size ${checkpoint.size}) is not signed by a key of the backup's trusted root`);
    }
    const total = (db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n;
    if (total !== checkpoint.size) throw refused(path, `it holds ${total} entries, its checkpoint ${checkpoint.size}`);

    // The tree from the leaves, chunk by chunk; every tile the computation writes must be stored as it is.
    const readTile = db.prepare('SELECT hashes FROM tiles WHERE level = ? AND idx = ?');
    const readEntries = db.prepare('SELECT idx, leaf_hash, body FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx');
    const storage = { readTile: async (level: number, index: number) => (readTile.get(level, index) as { hashes: Buffer } | undefined)?.hashes } as unknown as LogStorage;
    const tree = new MerkleTree(storage, 16);
    const computed = new Map<string, Buffer>();
    let tiles = 0;
    for (let start = 0; start < total; start += CHUNK) {
      const rows = readEntries.all(start, start + CHUNK) as { idx: number; leaf_hash: Buffer; body: Buffer }[];
      const leaves: Buffer[] = [];
      rows.forEach((entry, i) => {
        if (entry.idx !== start + i) throw refused(path, `entry ${start + i} is missing`);
        const hash = leafHash(entry.body);
        if (!hash.equals(entry.leaf_hash)) throw refused(path, `entry ${entry.idx}'s body does not hash to its leaf hash`);
        leaves.push(hash);
      });
      const plan = tree.planAppend(leaves);
      for (const tile of plan.tiles) computed.set(`${tile.level}/${tile.index}`, tile.hashes);
      tree.apply(plan);
      // Full tiles never change again: compare them now and forget them.
      for (const [key, hashes] of computed) {
        const [level, index] = key.split('/').map(Number) as [number, number];
        if (hashes.length < 32 * 256 && start + CHUNK < total) continue;
        const stored = (readTile.get(level, index) as { hashes: Buffer } | undefined)?.hashes;
        if (!stored || !stored.equals(hashes)) throw refused(path, `tile ${level}/${index} differs from the one recomputed from the entries`);
        tiles += 1;
        computed.delete(key);
      }
    }
    const root = await tree.root(checkpoint.size);
    if (!root.equals(checkpoint.rootHash)) throw refused(path, `the entries' root hash ${root.toString('hex')} is not the checkpoint's ${checkpoint.rootHash.toString('hex')}`);
    return { origin: checkpoint.origin, size: checkpoint.size, rootHash: root, tiles, signedBy };
  } finally {
    db.close();
  }
}
