// Search runs: how both log stores keep their search index as cheap to append to at a million
// entries as on an empty log. One B-tree of every (key, entry) pair takes each new key at a
// random place, so once it outgrows a batch every key dirties a page of its own. Instead the
// keys of entries [lo, hi) form a run: rows (run, key, idx) of the search tables, a run's rows
// one contiguous range of the primary key. New keys go into the one open run, which is small;
// once it covers `entries` (RunPolicy) it is sealed and a new one opened. `fanout` adjacent
// sealed runs of one level are merged, a chunk at a time in key order (sequential writes), into
// a run of the next level that becomes readable in one step as its sources retire; retired rows
// are then deleted a chunk at a time. Readers use open and sealed runs only, which partition the
// log's entries, so a key's entries are found once each, newest first run by run. Pure logic:
// the stores (sqlite.ts, postgres/search-runs.ts) run the SQL.

export interface RunPolicy {
  /** Entries a level-0 run covers before it is sealed. */
  entries: number;
  /** Sealed runs of one level merged into one of the next. */
  fanout: number;
  /** Rows a merge or drop step moves at most (about), so no step holds the writer long. */
  chunkRows: number;
}

/** What the stores use (tests pass small ones to see merges on a few entries). */
export const DEFAULT_RUN_POLICY: RunPolicy = { entries: 16_384, fanout: 8, chunkRows: 32_768 };

/** open: takes new keys; sealed: complete and readable; building: a merge's target (unread); retired: merged, rows being deleted. */
export type RunState = 'open' | 'sealed' | 'building' | 'retired';

/** The search tables a merge copies, in order (phase 0, then 1; SQLite adds its leaf_index). */
export const RUN_TABLES = [
  { table: 'search_index', column: 'key' },
  { table: 'search_reversed', column: 'rkey' },
] as const;

export interface SearchRun {
  run: number;
  /** First entry index the run covers. */
  lo: number;
  /** One past the last entry index (null while open). */
  hi: number | null;
  level: number;
  state: RunState;
  /** A building run's progress: the index in the store's run tables being copied (their count: all copied)... */
  phase: number;
  /** ...and the last key copied into it from that table ('' before the first; a store may keep blobs). */
  cursor: string | Buffer;
}

/** The condition on search_runs rows whose rows searches read (open and sealed), in both stores' SQL. */
export const READABLE_STATE = "state IN ('open', 'sealed')";

/** The readable runs' ids, for `run IN (...)`. */
export const READABLE_RUNS = `SELECT run FROM search_runs WHERE ${READABLE_STATE}`;

/** Whether the open run is full when a batch whose first entry is `first` arrives: it is sealed at `first` and a new run opened there. */
export function needsRollover(open: Pick<SearchRun, 'lo'>, first: number, policy: RunPolicy = DEFAULT_RUN_POLICY): boolean {
  return first - open.lo >= policy.entries;
}

export type RunWork =
  /** Delete (a chunk of) a retired run's rows; its run row goes once none are left. */
  | { type: 'drop'; run: SearchRun }
  /** Make a building run that will replace `sources` (run ids above every existing one). */
  | { type: 'start'; sources: SearchRun[]; target: Pick<SearchRun, 'lo' | 'hi' | 'level'> }
  /** Copy the next chunk of `sources` into `target`, or finish it once every table is copied. */
  | { type: 'copy'; sources: SearchRun[]; target: SearchRun };

/**
 * The next step of keeping runs few: drops first (space back), then the merge in progress, then a
 * new merge of the oldest `fanout` sealed runs of the lowest level that has that many.
 */
export function nextRunWork(runs: readonly SearchRun[], policy: RunPolicy = DEFAULT_RUN_POLICY): RunWork | undefined {
  const retired = runs.find((r) => r.state === 'retired');
  if (retired) return { type: 'drop', run: retired };
  const byLo = [...runs].sort((a, b) => a.lo - b.lo);
  const building = byLo.find((r) => r.state === 'building');
  if (building) {
    const sources = byLo.filter((r) => r.state === 'sealed' && r.lo >= building.lo && r.hi !== null && r.hi <= building.hi!);
    return { type: 'copy', sources, target: building };
  }
  const sealed = byLo.filter((r) => r.state === 'sealed');
  const levels = [...new Set(sealed.map((r) => r.level))].sort((a, b) => a - b);
  for (const level of levels) {
    // Levels fall from old to new entries, so one level's runs are adjacent.
    const group = sealed.filter((r) => r.level === level).slice(0, policy.fanout);
    if (group.length < policy.fanout) continue;
    return { type: 'start', sources: group, target: { lo: group[0]!.lo, hi: group[group.length - 1]!.hi, level: level + 1 } };
  }
  return undefined;
}

/** The level of a run of `size` entries made in one piece (an upgraded store's keys so far). */
export function levelForSize(size: number, policy: RunPolicy = DEFAULT_RUN_POLICY): number {
  let level = 0;
  for (let covered = policy.entries; covered < size; covered *= policy.fanout) level++;
  return level;
}

