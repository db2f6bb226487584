// A Merkle compact range over [0, size): the roots of the perfect subtrees the size's binary
// digits make, left to right. Appending leaf hashes and folding gives the RFC 6962 root, so a
// monitor that saved the range of the tree it checked can prove a larger tree's root from the
// new leaves alone (C2SP tlog-tiles / transparency-dev "compact ranges").

import { CoreError } from './errors.js';
import { nodeHash } from './merkle.js';

const EMPTY_ROOT = Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex');

export class CompactRange {
  private constructor(
    private size_: number,
    private readonly hashes: Buffer[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** A range saved with `toJSON`: one hash per set bit of `size`, highest first. */
  static from(size: number, hashes: readonly Buffer[]): CompactRange {
    const bits = size.toString(2).split('').filter((b) => b === '1').length;
    if (!Number.isSafeInteger(size) || size < 0 || hashes.length !== bits || hashes.some((h) => h.length !== 32)) {
      throw new CoreError('COMPACT_RANGE_INVALID', `a compact range of size ${size} needs ${bits} hashes of 32 bytes`);
    }
    return new CompactRange(size, hashes.map((h) => Buffer.from(h)));
  }

  get size(): number {
    return this.size_;
  }

  append(leafHash: Buffer): void {
    let hash = leafHash;
    // Merge while the lowest set bits carry: each 1 bit at the bottom completes a subtree.
    for (let s = this.size_; s % 2 === 1; s = Math.floor(s / 2)) hash = nodeHash(this.hashes.pop() as Buffer, hash);
    this.hashes.push(hash);
    this.size_ += 1;
  }

  root(): Buffer {
    if (this.hashes.length === 0) return EMPTY_ROOT;
    let root = this.hashes[this.hashes.length - 1] as Buffer;
    for (let i = this.hashes.length - 2; i >= 0; i--) root = nodeHash(this.hashes[i] as Buffer, root);
    return root;
  }

  toJSON(): { size: number; hashes: string[] } {
    return { size: this.size_, hashes: this.hashes.map((h) => h.toString('base64')) };
  }
}
