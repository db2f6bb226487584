// Search runs on PostgreSQL (the planner: storage/search-runs.ts): one merge or drop step per
// transaction, serialized across every process of the log by a transaction-scoped advisory
// lock (a process that finds it taken does nothing), and the scheduler that runs steps in the
// background after committed appends, one at a time, never delaying an append's answer.

import type pg from 'pg';
import { nextRunWork, RUN_TABLES, type RunPolicy, type SearchRun } from '../search-runs.js';
import type { PostgresLogStorage } from './postgres.js';

/** What a step did: work (more may follow), idle (nothing to do), busy (another process holds the lock). */
export type StepResult = 'work' | 'idle' | 'busy';

function runOf(row: Record<string, unknown>): SearchRun {
  return {
    run: Number(row.run),
    lo: Number(row.lo),
    hi: row.hi === null ? null : Number(row.hi),
    level: Number(row.level),
    state: row.state as SearchRun['state'],
    phase: Number(row.phase),
    cursor: row.cursor as string,
  };
}

/** The search_runs rows. */
export async function readRuns(client: pg.ClientBase): Promise<SearchRun[]> {
  return (await client.query({ name: 'runs-read', text: 'SELECT * FROM search_runs ORDER BY lo, run' })).rows.map(runOf);
}

/** One merge or drop step in the caller's transaction. */
async function step(client: pg.ClientBase, schema: string | undefined, policy: RunPolicy, quiet?: (size: number) => void): Promise<StepResult> {
  const locked = await client.query({ name: 'runs-lock', text: 'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', values: [`sigstack-search-runs:${schema ?? ''}`] });
  if (locked.rows[0].ok !== true) return 'busy';
  const runs = await readRuns(client);
  const work = nextRunWork(runs, policy);
  if (!work) {
    // Only the open run's rollover (a batch starting `entries` past its start) makes new work.
    const open = runs.find((r) => r.state === 'open');
    if (open) quiet?.(open.lo + policy.entries);
    return 'idle';
  }
  if (work.type === 'drop') {
    const run = work.run.run;
    let deleted = 0;
    for (const { table } of RUN_TABLES) {
      const budget = policy.chunkRows - deleted;
      if (budget <= 0) break;
      const result = await client.query({
        name: `runs-drop-${table}`,
        text: `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE run = $1 LIMIT $2))`,
        values: [run, budget],
      });
      deleted += result.rowCount ?? 0;
    }
    // Fewer than a chunk deleted: none of the run's rows are left.
    if (deleted < policy.chunkRows) await client.query({ name: 'runs-forget', text: 'DELETE FROM search_runs WHERE run = $1', values: [run] });
    return 'work';
  }
  if (work.type === 'start') {
    await client.query({
      name: 'runs-start',
      text: "INSERT INTO search_runs (run, lo, hi, level, state) VALUES (nextval('search_run_ids'), $1, $2, $3, 'building')",
      values: [work.target.lo, work.target.hi, work.target.level],
    });
    return 'work';
  }
  const { target, sources } = work;
  const ids = sources.map((s) => s.run);
  const phase = RUN_TABLES[target.phase];
  if (phase) {
    const { table, column } = phase;
    const per = Math.floor(policy.chunkRows / Math.max(1, sources.length));
    // The chunk ends at the smallest of each source's key `per` rows on, so no source gives more than `per` (but a key's rows all move together).
    const boundary = (await client.query({
      name: `runs-boundary-${table}`,
      text: `SELECT min(b.k) AS k FROM unnest($1::bigint[]) AS s(run)
             CROSS JOIN LATERAL (SELECT t.${column} AS k FROM ${table} t WHERE t.run = s.run AND t.${column} > $2 ORDER BY t.${column} LIMIT 1 OFFSET $3) b`,
      values: [ids, target.cursor, per],
    })).rows[0].k as string | null;
    const copy = `INSERT INTO ${table} (run, ${column}, idx) SELECT $1, ${column}, idx FROM ${table} WHERE run = ANY($2::bigint[]) AND ${column} > $3`;
    const order = `ORDER BY ${column}, idx ON CONFLICT DO NOTHING`;
    if (boundary !== null) {
      await client.query({ name: `runs-copy-${table}`, text: `${copy} AND ${column} <= $4 ${order}`, values: [target.run, ids, target.cursor, boundary] });
      await client.query({ name: 'runs-cursor', text: 'UPDATE search_runs SET cursor = $2 WHERE run = $1', values: [target.run, boundary] });
      return 'work';
    }
    await client.query({ name: `runs-copy-rest-${table}`, text: `${copy} ${order}`, values: [target.run, ids, target.cursor] });
    await client.query({ name: 'runs-phase', text: "UPDATE search_runs SET phase = $2, cursor = '' WHERE run = $1", values: [target.run, target.phase + 1] });
    if (target.phase + 1 < RUN_TABLES.length) return 'work';
  }
  // Every table copied: the target replaces its sources for readers in this one transaction.
  await client.query({ name: 'runs-seal', text: "UPDATE search_runs SET state = 'sealed', cursor = '' WHERE run = $1", values: [target.run] });
  await client.query({ name: 'runs-retire', text: "UPDATE search_runs SET state = 'retired' WHERE run = ANY($1::bigint[])", values: [ids] });
  return 'work';
}

/**
 * Runs one step in a transaction of its own. With nothing to do, `quiet` is told the tree size
 * up to which nothing will be due (no batch that ends there can roll the open run over).
 */
export async function searchRunStep(store: PostgresLogStorage, quiet?: (size: number) => void): Promise<StepResult> {
  let result: StepResult = 'idle';
  await store.transaction(async (client) => {
    result = await step(client, store.schema, store.runPolicy, quiet);
    return true;
  });
  return result;
}

/**
 * Keeps runs few: each committed append owes one step; steps run one at a time in the
 * background, go on while no append is waiting, and stop when there is nothing to do. A failed
 * step is reported once (until one succeeds again) and retried after the next append.
 */
export class SearchRunScheduler {
  private running: Promise<void> | undefined;
  private owed = 0;
  private closed = false;
  private reported = false;
  /** Appends in flight (steps yield to them beyond the one owed per batch). */
  appending = 0;

  constructor(private readonly store: PostgresLogStorage) {}

  /** Up to this tree size no step is due (learnt from the last step that found nothing to do). */
  private quietUpTo = -1;

  /** Called after each committed append batch, with the tree size it made. */
  afterAppend(size: number): void {
    if (this.closed || size <= this.quietUpTo) return;
    this.owed++;
    if (!this.running) this.running = this.loop().finally(() => (this.running = undefined));
  }

  /** Resolves once no step runs (tests and close). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Runs steps until none is left (tests, tools): returns how many did work. */
  async drain(): Promise<number> {
    await this.idle();
    let steps = 0;
    while ((await searchRunStep(this.store)) === 'work') steps++;
    return steps;
  }

  private async loop(): Promise<void> {
    while (!this.closed && (this.owed > 0 || this.appending === 0)) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.closed) break;
      let result: StepResult;
      try {
        result = await searchRunStep(this.store, (size) => (this.quietUpTo = size));
        this.reported = false;
      } catch (err) {
        if (!this.reported) process.stderr.write(`sigstack: a search-run merge step failed (retried later): ${(err as Error).message}\n`);
        this.reported = true;
        this.owed = 0;
        return;
      }
      if (this.owed > 0) this.owed--;
      if (result !== 'work') {
        this.owed = 0;
        return;
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }
}
