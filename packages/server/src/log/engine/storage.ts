// The log engine's storage interface, kept narrow so that drivers (SQLite now, PostgreSQL
// later) plug in without touching the engine: append a batch atomically, read tiles and
// entries, look up duplicates and index keys, and compare-and-swap the published checkpoint.

export interface StoredEntry {
  index: number;
  leafHash: Buffer;
  /** The canonical entry body: the Merkle leaf's data. */
  body: Buffer;
  /** Seconds since the epoch at which the batch was sequenced. */
  integratedTime: number;
  kind: string;
  apiVersion: string;
  /** Stored beside the entry, outside the Merkle leaf (see CanonicalEntry.extra). */
  extra?: Buffer;
}

/** A hash tile's full contents after a batch: width × 32 bytes (a prefix of the final tile). */
export interface TileWrite {
  level: number;
  index: number;
  hashes: Buffer;
}

export interface IndexWrite {
  key: string;
  index: number;
}

export interface PublishedCheckpoint {
  size: number;
  /** The signed note text. */
  note: string;
}

/** Which entries the explorer's search wants (parsed from its query by log/explorer/query.ts). */
export type EntryMatch =
  | { type: 'all' }
  /** One search index key, e.g. "email:a@b.c", "hash:sha256:<hex>", "publicKey:<hex>". */
  | { type: 'key'; key: string }
  /**
   * Identity keys of one type matching a pattern: `*` matches any text, every other character is
   * literal; the pattern has literal text at its start or its end (its range in an index). Email
   * patterns match case-insensitively (email keys are stored lowercased).
   */
  | { type: 'pattern'; keyType: 'email' | 'subject'; pattern: string };

export interface EntrySearch {
  match: EntryMatch;
  /** Only entries below this index: the tree size the first page saw, so later pages keep their order. */
  below: number;
  /** Only entries at or above this index (default 0). */
  fromIndex?: number;
  /** Integrated time bounds, seconds since the epoch, both inclusive. */
  fromTime?: number;
  toTime?: number;
  offset: number;
  limit: number;
  /** Counting stops after this many; the count is then a lower bound ('all' is always counted exactly). */
  countLimit: number;
}

/** An entry as a search result lists it: no body, its index keys instead. */
export interface EntrySummary {
  index: number;
  leafHash: Buffer;
  integratedTime: number;
  kind: string;
  apiVersion: string;
  /** Its search index keys ("email:…", "subject:…", "hash:…", "publicKey:…"). */
  keys: string[];
}

export interface EntrySearchResult {
  /** Newest (highest index) first. */
  entries: EntrySummary[];
  count: number;
  countIsLowerBound: boolean;
}

export interface LogStorage {
  /** Number of entries durably stored. */
  entryCount(): Promise<number>;
  /**
   * Stores entries, tiles and index keys and publishes the checkpoint over them, in one durable
   * transaction: all or nothing. The checkpoint is compare-and-swapped as publishCheckpoint does;
   * false (and nothing stored) when the latest checkpoint no longer has `previousSize`.
   */
  appendBatch(batch: { entries: StoredEntry[]; tiles: TileWrite[]; index: IndexWrite[]; previousSize: number; checkpoint: PublishedCheckpoint }): Promise<boolean>;
  /** The stored hashes of a tile (possibly partial), or undefined. */
  readTile(level: number, index: number): Promise<Buffer | undefined>;
  /** Entries [start, start + count), in order; fewer when the log is shorter. */
  readEntries(start: number, count: number): Promise<StoredEntry[]>;
  /** Indexes of stored entries with these leaf hashes (for duplicate detection). */
  findLeafHashes(leafHashes: Buffer[]): Promise<Map<string, number>>;
  /** Entry indexes recorded under a search index key. */
  search(key: string): Promise<number[]>;
  /**
   * The explorer's search: one page of matching entries, newest first, and how many match. Must
   * be answered from indexes (a key, an identity pattern's literal prefix or suffix, integrated
   * time), never by scanning every entry: logs of millions of entries are searched this way.
   */
  searchEntries(query: EntrySearch): Promise<EntrySearchResult>;
  latestCheckpoint(): Promise<PublishedCheckpoint | undefined>;
  /** Publishes `next` only if the latest checkpoint still has size `previousSize`; false otherwise. */
  publishCheckpoint(previousSize: number, next: PublishedCheckpoint): Promise<boolean>;
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}
