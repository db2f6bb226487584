// The explorer's search on SQLite, answered from indexes only. Keys are kept in search runs
// (search-runs.ts): runs partition the entries by index, so a page is read run by run, newest
// run first, each run's rows newest first, stopping once the page is full. In a run, one key is
// a range of the search_index primary key (run, key, idx); an identity pattern is a range of
// its literal prefix in search_index or of its literal suffix in search_reversed (the same keys
// with the value reversed), checked with GLOB; a time filter becomes an index range through
// entries_by_time. A pattern matching more than the count limit is instead read newest first
// through entry_keys (idx, key), stopping after one page: no search sorts more than that.

import type Database from 'better-sqlite3';
import type { EntryMatch, EntrySearch, EntrySearchResult, EntrySummary } from '../log/engine/storage.js';
import { READABLE_RUNS, READABLE_STATE } from './search-runs.js';

/** Index key types whose values are identities (searchable by pattern). */
const IDENTITY_TYPES = ['email', 'subject'] as const;

/** Above every character a key holds: the end of a prefix range. */
export const RANGE_END = '\u{10FFFF}';

/** A text with its characters (code points) in reverse order. */
export function reverse(text: string): string {
  return Array.from(text).reverse().join('');
}

/** The search_reversed key for an index key: "<type>:<value reversed>", for identity keys only. */
export function reversedKey(key: string): string | undefined {
  const colon = key.indexOf(':');
  const type = key.slice(0, colon);
  if (colon < 0 || !(IDENTITY_TYPES as readonly string[]).includes(type)) return undefined;
  return `${type}:${reverse(key.slice(colon + 1))}`;
}

/** A pattern's `*` as GLOB's, every other character literal. */
function globOf(pattern: string): string {
  return pattern.replace(/[?[]/g, (c) => `[${c}]`);
}

export interface Statements {
  firstAtOrAfter: Database.Statement;
  lastAtOrBefore: Database.Statement;
  keyCount: Database.Statement;
  keyPage: Database.Statement;
  forwardCount: Database.Statement;
  forwardPage: Database.Statement;
  reversedCount: Database.Statement;
  reversedPage: Database.Statement;
  newestPage: Database.Statement;
  summary: Database.Statement;
  keysOf: Database.Statement;
  runs: Database.Statement;
}

const cache = new WeakMap<Database.Database, Statements>();

/** The prepared search statements of a connection (exported for tests that check their query plans). */
export function searchStatements(db: Database.Database): Statements {
  let s = cache.get(db);
  if (!s) {
    const range = 'idx >= @lo AND idx < @hi';
    // Patterns read the key's range; "+idx" keeps the planner on it rather than on idx.
    const keyed = '+idx >= @lo AND +idx < @hi';
    const readable = `run IN (${READABLE_RUNS})`;
    s = {
      firstAtOrAfter: db.prepare('SELECT idx FROM entries WHERE integrated_time >= ? ORDER BY integrated_time, idx LIMIT 1').pluck(),
      lastAtOrBefore: db.prepare('SELECT idx FROM entries WHERE integrated_time <= ? ORDER BY integrated_time DESC, idx DESC LIMIT 1').pluck(),
      // Counts over every readable run at once (capped); pages one run at a time (@run).
      keyCount: db.prepare(`SELECT COUNT(*) FROM (SELECT 1 FROM search_index WHERE ${readable} AND key = @key AND ${range} LIMIT @cap)`).pluck(),
      keyPage: db.prepare(`SELECT idx FROM search_index WHERE run = @run AND key = @key AND ${range} ORDER BY idx DESC LIMIT @limit`).pluck(),
      forwardCount: db.prepare(`SELECT COUNT(*) FROM (SELECT DISTINCT idx FROM search_index WHERE ${readable} AND key >= @start AND key < @end AND key GLOB @glob AND ${keyed} LIMIT @cap)`).pluck(),
      forwardPage: db.prepare(`SELECT DISTINCT idx FROM search_index WHERE run = @run AND key >= @start AND key < @end AND key GLOB @glob AND ${keyed} ORDER BY idx DESC LIMIT @limit`).pluck(),
      reversedCount: db.prepare(`SELECT COUNT(*) FROM (SELECT DISTINCT idx FROM search_reversed WHERE ${readable} AND rkey >= @start AND rkey < @end AND rkey GLOB @glob AND ${keyed} LIMIT @cap)`).pluck(),
      reversedPage: db.prepare(`SELECT DISTINCT idx FROM search_reversed WHERE run = @run AND rkey >= @start AND rkey < @end AND rkey GLOB @glob AND ${keyed} ORDER BY idx DESC LIMIT @limit`).pluck(),
      // Many matches: walk entries newest first and keep those with a matching key.
      newestPage: db.prepare(`SELECT DISTINCT idx FROM entry_keys WHERE ${range} AND key >= @start AND key < @end AND key GLOB @glob ORDER BY idx DESC LIMIT @limit OFFSET @offset`).pluck(),
      // One page's summaries in two statements: its indexes go in as a JSON array.
      summary: db.prepare('SELECT idx, leaf_hash, integrated_time, kind, api_version FROM entries WHERE idx IN (SELECT value FROM json_each(?))'),
      keysOf: db.prepare('SELECT idx, key FROM entry_keys WHERE idx IN (SELECT value FROM json_each(?)) ORDER BY idx, key'),
      runs: db.prepare(`SELECT run, lo, hi FROM search_runs WHERE ${READABLE_STATE} ORDER BY lo DESC`),
    };
    cache.set(db, s);
  }
  return s;
}

/** The index range [lo, hi) of entries within the query's index and time bounds. */
function indexRange(s: Statements, query: EntrySearch): { lo: number; hi: number } {
  let lo = Math.max(0, query.fromIndex ?? 0);
  let hi = query.below;
  if (query.fromTime !== undefined) lo = Math.max(lo, (s.firstAtOrAfter.get(query.fromTime) as number | undefined) ?? hi);
  if (query.toTime !== undefined) {
    const last = s.lastAtOrBefore.get(query.toTime) as number | undefined;
    hi = Math.min(hi, last === undefined ? 0 : last + 1);
  }
  return { lo, hi: Math.max(lo, hi) };
}

interface Plan {
  count: Database.Statement;
  page: Database.Statement;
  /** The dense plan: the same match read newest first through search_by_entry. */
  newest?: Record<string, string>;
  params: Record<string, string>;
}

function planFor(s: Statements, match: Exclude<EntryMatch, { type: 'all' }>): Plan {
  if (match.type === 'key') return { count: s.keyCount, page: s.keyPage, params: { key: match.key } };
  const pattern = match.keyType === 'email' ? match.pattern.toLowerCase() : match.pattern;
  const prefix = pattern.slice(0, pattern.indexOf('*') < 0 ? pattern.length : pattern.indexOf('*'));
  const suffix = pattern.slice(pattern.lastIndexOf('*') + 1);
  const type = `${match.keyType}:`;
  const forward = { start: type + prefix, end: type + prefix + RANGE_END, glob: type + globOf(pattern) };
  // The longer literal end narrows the range more.
  if (prefix.length >= suffix.length) return { count: s.forwardCount, page: s.forwardPage, newest: forward, params: forward };
  const reversed = reverse(pattern);
  const rsuffix = reverse(suffix);
  return {
    count: s.reversedCount,
    page: s.reversedPage,
    newest: forward,
    params: { start: type + rsuffix, end: type + rsuffix + RANGE_END, glob: type + globOf(reversed) },
  };
}

/**
 * A page of matches read run by run, newest run first: runs are disjoint ranges of entries, so
 * their rows newest first, one run after another, are the matches newest first.
 */
function pageOverRuns(s: Statements, page: Database.Statement, params: Record<string, string | number>, lo: number, hi: number, offset: number, limit: number): number[] {
  const found: number[] = [];
  const need = offset + limit;
  for (const run of s.runs.all() as { run: number; lo: number; hi: number | null }[]) {
    if (found.length >= need || (run.hi !== null && run.hi <= lo)) break;
    if (run.lo >= hi) continue;
    found.push(...(page.all({ ...params, run: run.run, lo, hi, limit: need - found.length }) as number[]));
  }
  return found.slice(offset);
}

export function searchEntries(db: Database.Database, query: EntrySearch): EntrySearchResult {
  // One read transaction: the runs read and every page statement see the same snapshot.
  return db.transaction(() => searchSnapshot(db, query))();
}

function searchSnapshot(db: Database.Database, query: EntrySearch): EntrySearchResult {
  const s = searchStatements(db);
  const { lo, hi } = indexRange(s, query);
  const limit = Math.max(0, query.limit);
  const offset = Math.max(0, query.offset);
  let indexes: number[];
  let count: number;
  let countIsLowerBound = false;
  if (query.match.type === 'all') {
    count = hi - lo;
    indexes = [];
    for (let i = hi - 1 - offset; i >= lo && indexes.length < limit; i--) indexes.push(i);
  } else {
    const plan = planFor(s, query.match);
    const cap = query.countLimit + 1;
    count = plan.count.get({ ...plan.params, lo, hi, cap }) as number;
    if (count > query.countLimit) {
      count = query.countLimit;
      countIsLowerBound = true;
    }
    // Past the count limit a pattern's matches are too many to sort: read entries newest first.
    const dense = countIsLowerBound && plan.newest !== undefined;
    indexes = dense ? (s.newestPage.all({ ...plan.newest, lo, hi, limit, offset }) as number[]) : pageOverRuns(s, plan.page, plan.params, lo, hi, offset, limit);
  }
  if (indexes.length === 0) return { entries: [], count, countIsLowerBound };
  const list = JSON.stringify(indexes);
  const rows = new Map((s.summary.all(list) as { idx: number; leaf_hash: Buffer; integrated_time: number; kind: string; api_version: string }[]).map((r) => [r.idx, r]));
  const keys = new Map<number, string[]>();
  for (const { idx, key } of s.keysOf.all(list) as { idx: number; key: string }[]) {
    let entryKeys = keys.get(idx);
    if (!entryKeys) keys.set(idx, (entryKeys = []));
    entryKeys.push(key);
  }
  const entries = indexes.map((index): EntrySummary => {
    const row = rows.get(index)!;
    return { index, leafHash: row.leaf_hash, integratedTime: row.integrated_time, kind: row.kind, apiVersion: row.api_version, keys: keys.get(index) ?? [] };
  });
  return { entries, count, countIsLowerBound };
}

/** Fills search_reversed for identity keys stored before it existed (once per database file). */
export function backfillReversedKeys(db: Database.Database): void {
  const done = db.prepare("SELECT value FROM meta WHERE key = 'searchReversed'").pluck();
  if (done.get() === '1') return;
  db.transaction(() => {
    if (done.get() === '1') return;
    db.function('sigstack_reverse', { deterministic: true }, (text: unknown) => reverse(String(text)));
    for (const type of IDENTITY_TYPES) {
      db.prepare('INSERT OR IGNORE INTO search_reversed (run, rkey, idx) SELECT run, ? || sigstack_reverse(substr(key, ?)), idx FROM search_index WHERE key >= ? AND key < ?').run(
        `${type}:`,
        type.length + 2,
        `${type}:`,
        `${type}:${RANGE_END}`,
      );
    }
    db.prepare("INSERT INTO meta (key, value) VALUES ('searchReversed', '1') ON CONFLICT (key) DO UPDATE SET value = '1'").run();
  }).immediate();
}
