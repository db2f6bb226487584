// The explorer's search on PostgreSQL, answered from indexes as on SQLite (sqlite-search.ts):
// one key is a range of search_index's primary key read newest first; an identity pattern is a
// range of its literal prefix in search_index or of its literal suffix in search_reversed
// (both COLLATE "C", so ranges are byte ranges), checked with LIKE; a time filter becomes an
// index range through entries_by_time. Past the count limit a pattern is read newest first.
// The search tables hold runs (storage/search-runs.ts): only open and sealed ones are read,
// pages run by run newest first (LATERAL, each run bounded), an entry's keys from entry_keys.

import type pg from 'pg';
import type { EntryMatch, EntrySearch, EntrySearchResult, EntrySummary } from '../../log/engine/storage.js';
import { READABLE_STATE } from '../search-runs.js';
import { RANGE_END, reverse, reversedKey } from '../sqlite-search.js';

export { reversedKey };

/** The readable runs that overlap entries [$lo, $hi), newest first. */
function runsOver(lo: string, hi: string): string {
  return `SELECT run FROM search_runs WHERE ${READABLE_STATE} AND lo < ${hi} AND (hi IS NULL OR hi > ${lo}) ORDER BY lo DESC`;
}

/** A pattern's `*` as LIKE's `%`, every other character literal. */
function likeOf(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}

type Query = (name: string, text: string, values: unknown[]) => Promise<pg.QueryResult>;

async function indexRange(query: Query, search: EntrySearch): Promise<{ lo: number; hi: number }> {
  let lo = Math.max(0, search.fromIndex ?? 0);
  let hi = search.below;
  if (search.fromTime !== undefined) {
    const row = (await query('search-first-time', 'SELECT idx FROM entries WHERE integrated_time >= $1 ORDER BY integrated_time, idx LIMIT 1', [search.fromTime])).rows[0];
    lo = Math.max(lo, row ? Number(row.idx) : hi);
  }
  if (search.toTime !== undefined) {
    const row = (await query('search-last-time', 'SELECT idx FROM entries WHERE integrated_time <= $1 ORDER BY integrated_time DESC, idx DESC LIMIT 1', [search.toTime])).rows[0];
    hi = Math.min(hi, row ? Number(row.idx) + 1 : 0);
  }
  return { lo, hi: Math.max(lo, hi) };
}

interface Range {
  table: 'search_index' | 'search_reversed';
  column: 'key' | 'rkey';
  start: string;
  end: string;
  like: string;
}

function rangeOf(match: Extract<EntryMatch, { type: 'pattern' }>): { range: Range; forward: Range } {
  const pattern = match.keyType === 'email' ? match.pattern.toLowerCase() : match.pattern;
  const star = pattern.indexOf('*');
  const prefix = pattern.slice(0, star < 0 ? pattern.length : star);
  const suffix = pattern.slice(pattern.lastIndexOf('*') + 1);
  const type = `${match.keyType}:`;
  const forward: Range = { table: 'search_index', column: 'key', start: type + prefix, end: type + prefix + RANGE_END, like: type + likeOf(pattern) };
  if (prefix.length >= suffix.length) return { range: forward, forward };
  const rsuffix = reverse(suffix);
  return {
    range: { table: 'search_reversed', column: 'rkey', start: type + rsuffix, end: type + rsuffix + RANGE_END, like: type + likeOf(reverse(pattern)) },
    forward,
  };
}

export async function searchEntries(query: Query, search: EntrySearch): Promise<EntrySearchResult> {
  const { lo, hi } = await indexRange(query, search);
  const limit = Math.max(0, search.limit);
  const offset = Math.max(0, search.offset);
  let indexes: number[];
  let count: number;
  let countIsLowerBound = false;
  const cap = search.countLimit + 1;
  if (search.match.type === 'all') {
    count = hi - lo;
    indexes = [];
    for (let i = hi - 1 - offset; i >= lo && indexes.length < limit; i--) indexes.push(i);
  } else if (search.match.type === 'key') {
    const key = search.match.key;
    count = Number((await query('search-key-count', `SELECT count(*) AS n FROM (SELECT 1 FROM (${runsOver('$2', '$3')}) r
      CROSS JOIN LATERAL (SELECT 1 FROM search_index s WHERE s.run = r.run AND s.key = $1 AND s.idx >= $2 AND s.idx < $3 LIMIT $4) p LIMIT $4) c`, [key, lo, hi, cap])).rows[0].n);
    const page = `SELECT p.idx FROM (${runsOver('$2', '$3')}) r
      CROSS JOIN LATERAL (SELECT idx FROM search_index s WHERE s.run = r.run AND s.key = $1 AND s.idx >= $2 AND s.idx < $3 ORDER BY s.idx DESC LIMIT $4::bigint + $5::bigint) p
      ORDER BY p.idx DESC LIMIT $4 OFFSET $5`;
    indexes = (await query('search-key-page', page, [key, lo, hi, limit, offset])).rows.map((r) => Number(r.idx));
  } else {
    const { range, forward } = rangeOf(search.match);
    const where = `${range.column} >= $1 AND ${range.column} < $2 AND ${range.column} LIKE $3 AND idx >= $4 AND idx < $5`;
    const params = [range.start, range.end, range.like, lo, hi];
    count = Number((await query(`search-${range.table}-count`, `SELECT count(*) AS n FROM (SELECT 1 FROM (${runsOver('$4', '$5')}) r
      CROSS JOIN LATERAL (SELECT DISTINCT s.idx FROM ${range.table} s WHERE s.run = r.run AND ${where} LIMIT $6) p LIMIT $6) c`, [...params, cap])).rows[0].n);
    if (count > search.countLimit) {
      // Too many to sort: entries newest first through entry_keys, one page.
      const dense = 'SELECT DISTINCT idx FROM entry_keys WHERE idx >= $4 AND idx < $5 AND key >= $1 AND key < $2 AND key LIKE $3 ORDER BY idx DESC LIMIT $6 OFFSET $7';
      indexes = (await query('search-dense-page', dense, [forward.start, forward.end, forward.like, lo, hi, limit, offset])).rows.map((r) => Number(r.idx));
    } else {
      const page = `SELECT p.idx FROM (${runsOver('$4', '$5')}) r
        CROSS JOIN LATERAL (SELECT DISTINCT s.idx FROM ${range.table} s WHERE s.run = r.run AND ${where} ORDER BY s.idx DESC LIMIT $6::bigint + $7::bigint) p
        ORDER BY p.idx DESC LIMIT $6 OFFSET $7`;
      indexes = (await query(`search-${range.table}-page`, page, [...params, limit, offset])).rows.map((r) => Number(r.idx));
    }
  }
  if (search.match.type !== 'all' && count > search.countLimit) {
    count = search.countLimit;
    countIsLowerBound = true;
  }
  if (indexes.length === 0) return { entries: [], count, countIsLowerBound };
  const summaries = await query('search-summary', 'SELECT idx, leaf_hash, integrated_time, kind, api_version FROM entries WHERE idx = ANY($1::bigint[])', [indexes]);
  const rows = new Map(summaries.rows.map((r) => [Number(r.idx), r]));
  const keys = new Map<number, string[]>();
  for (const r of (await query('search-keys', 'SELECT idx, key FROM entry_keys WHERE idx = ANY($1::bigint[]) ORDER BY idx, key', [indexes])).rows) {
    const idx = Number(r.idx);
    let entryKeys = keys.get(idx);
    if (!entryKeys) keys.set(idx, (entryKeys = []));
    entryKeys.push(r.key as string);
  }
  const entries = indexes.map((index): EntrySummary => {
    const row = rows.get(index)!;
    return { index, leafHash: row.leaf_hash, integratedTime: Number(row.integrated_time), kind: row.kind, apiVersion: row.api_version, keys: keys.get(index) ?? [] };
  });
  return { entries, count, countIsLowerBound };
}
