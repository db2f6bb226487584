// Every statement the PostgreSQL driver issues to search and read a log is answered from an
// index, never by a scan of a big table: the tables are filled (40,960 entries, 4 keys each,
// bodies of a realistic size) and ANALYZEd, so that the planner would pick a sequential scan if
// no index fitted; then each search shape (an exact key such as a hash or an email, identity
// patterns by literal prefix and by literal suffix, a pattern matching more than the count
// limit, time ranges, every entry) and each read (entries by index and by leaf hash, tiles, the
// v1 index lookup, the tree size) runs through the driver, and each statement it sends is first
// EXPLAINed with its own parameters, both as a custom plan and as the generic plan that a
// prepared statement settles on (tiles and checkpoints hold as many rows as at a million
// entries, so they are read by index too). Mirrors the SQLite EXPLAIN QUERY PLAN test in
// explorer-search.test.ts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { EntrySearch } from '../src/log/engine/storage.js';
import { startLocalPostgres, type LocalPostgres } from '../src/storage/postgres/local-server.js';
import { PostgresLogStorage } from '../src/storage/postgres/postgres.js';

const N = 40_960;
const BASE_TIME = 1_700_000_000;
const BIG_TABLES = ['entries', 'search_index', 'search_reversed', 'entry_keys', 'tiles', 'checkpoints'];
const digest = (i: number) => createHash('sha256').update(`artifact ${i}`).digest('hex');
const email = (i: number) => `user${i % 2000}@example${i % 7}.com`;
const workflow = (i: number) => `https://github.com/org${i % 50}/repo${i % 500}/.github/workflows/ci.yml@refs/heads/main`;

let server: LocalPostgres;
let storage: PostgresLogStorage;
let url: string;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** Every node of a plan tree. */
function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** "Seq Scan on entries; Index Scan using search_index_pkey on search_index; ..." */
function describe(plan: PlanNode): string {
  return nodes(plan)
    .filter((n) => n['Relation Name'] || n['Index Name'])
    .map((n) => `${n['Node Type']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}`)
    .join('; ');
}

function scansBigTable(plan: PlanNode): boolean {
  return nodes(plan).some((n) => n['Node Type'] === 'Seq Scan' && BIG_TABLES.includes(n['Relation Name'] ?? ''));
}

before(async () => {
  server = await startLocalPostgres();
  url = await server.createDatabase();
  storage = await PostgresLogStorage.open(url);
  const batch = 4096;
  for (let start = 0; start < N; start += batch) {
    const entries = [];
    const index = [];
    for (let i = start; i < start + batch; i++) {
      const body = Buffer.from(JSON.stringify({ apiVersion: '0.0.1', kind: 'hashedrekord', spec: { hash: digest(i), certificate: createHash('sha512').update(`cert ${i}`).digest('base64').repeat(8) } }));
      entries.push({ index: i, leafHash: createHash('sha256').update(`leaf ${i}`).digest(), body, integratedTime: BASE_TIME + Math.floor(i / 4), kind: 'hashedrekord', apiVersion: '0.0.1' });
      index.push(
        { key: i % 2 === 0 ? `email:${email(i)}` : `subject:${workflow(i)}`, index: i },
        { key: `hash:sha256:${digest(i)}`, index: i },
        { key: `publicKey:${createHash('sha256').update(`key ${i % 3000}`).digest('hex')}`, index: i },
      );
    }
    const tiles = [{ level: 0, index: start / 256, hashes: Buffer.alloc(32 * 256) }];
    assert.ok(await storage.appendBatch({ entries, tiles, index, previousSize: start, checkpoint: { size: start + batch, note: `size ${start + batch}` } }));
  }
  // Tiles and checkpoints as many as a log of a million entries has (rows the reads never ask for).
  await storage.pool.query("INSERT INTO tiles (level, idx, hashes) SELECT 0, g, decode(repeat('00', 8192), 'hex') FROM generate_series(1000, 5000) g");
  await storage.pool.query("INSERT INTO checkpoints (size, note) SELECT g, 'size ' || g FROM generate_series(1, 2000) g ON CONFLICT DO NOTHING");
  await storage.pool.query('ANALYZE');
});

after(async () => {
  await storage?.close();
  await server?.close();
});

/**
 * Runs `work` with every statement the storage sends EXPLAINed first (custom and generic plan);
 * returns the plans by statement name.
 */
async function explained(work: () => Promise<unknown>): Promise<Map<string, { text: string; custom: PlanNode; generic: PlanNode }>> {
  const plans = new Map<string, { text: string; custom: PlanNode; generic: PlanNode }>();
  const explain = new pg.Client({ connectionString: url });
  await explain.connect();
  const pool = storage.pool;
  const original = pool.query.bind(pool);
  let queue: Promise<void> = Promise.resolve();
  (pool as unknown as { query: unknown }).query = (config: pg.QueryConfig) => {
    // One EXPLAIN at a time on the one client, beside the real query.
    queue = queue.then(async () => {
        const plan = async (mode: string) => {
          await explain.query(`SET plan_cache_mode = ${mode}`);
          const { rows } = await explain.query({ text: `EXPLAIN (FORMAT JSON) ${config.text}`, values: config.values ?? [] });
          return (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan;
        };
        const custom = await plan('force_custom_plan');
        const generic = await plan('force_generic_plan');
        plans.set(config.name ?? config.text, { text: config.text, custom, generic });
    });
    return original(config);
  };
  try {
    await work();
    await queue;
  } finally {
    (pool as unknown as { query: unknown }).query = original;
    await queue.catch(() => {});
    await explain.end();
  }
  return plans;
}

test('the plan check itself sees a sequential scan where no index fits', async () => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query({ text: "EXPLAIN (FORMAT JSON) SELECT idx FROM entries WHERE kind = $1", values: ['dsse'] });
    assert.ok(scansBigTable(rows[0]['QUERY PLAN'][0].Plan));
  } finally {
    await client.end();
  }
});

test('every search shape and read the driver issues is answered from an index', async () => {
  const search = (match: EntrySearch['match'], extra: Partial<EntrySearch> = {}) => storage.searchEntries({ match, below: N, offset: 0, limit: 20, countLimit: 1000, ...extra });
  const plans = await explained(async () => {
    // An exact key: an artifact hash, an email, a public key's fingerprint; pinned and paged.
    assert.equal((await search({ type: 'key', key: `hash:sha256:${digest(12345)}` })).entries[0]?.index, 12345);
    const sameEmail = Array.from({ length: 30_000 }, (_, i) => i).filter((i) => i % 2 === 0 && email(i) === email(10));
    assert.equal((await search({ type: 'key', key: `email:${email(10)}` }, { offset: 1, below: 30_000 })).count, sameEmail.length);
    // Identity patterns: a literal prefix (search_index), a literal suffix (search_reversed).
    assert.ok((await search({ type: 'pattern', keyType: 'subject', pattern: 'https://github.com/org7/repo7/*' })).count > 0);
    assert.ok((await search({ type: 'pattern', keyType: 'email', pattern: '*@example3.com' }, { countLimit: 100_000 })).count > 0);
    // Matching more than the count limit: read newest first.
    assert.equal((await search({ type: 'pattern', keyType: 'email', pattern: 'user1*' })).countIsLowerBound, true);
    // Time ranges, with and without a key; every entry.
    assert.equal((await search({ type: 'all' }, { fromTime: BASE_TIME + 100, toTime: BASE_TIME + 199 })).count, 400);
    assert.ok((await search({ type: 'key', key: `email:${email(10)}` }, { fromTime: BASE_TIME + 1000 })).count > 0);
    // What the engine and the v1/v2 handlers read.
    assert.equal((await storage.readEntries(777, 3)).length, 3);
    assert.equal((await storage.findLeafHashes([createHash('sha256').update('leaf 9').digest()])).size, 1);
    assert.deepEqual(await storage.search(`hash:sha256:${digest(9)}`), [9]);
    assert.ok(await storage.readTile(0, 16));
    assert.equal(await storage.entryCount(), N);
    assert.ok(await storage.latestCheckpoint());
  });
  const expected = [
    'search-key-count', 'search-key-page', 'search-search_index-count', 'search-search_index-page', 'search-search_reversed-count',
    'search-search_reversed-page', 'search-dense-page', 'search-first-time', 'search-last-time', 'search-summary', 'search-keys',
    'entries-read', 'leaf-find', 'key-search', 'tile-read', 'entry-count', 'checkpoint-latest',
  ];
  assert.deepEqual(expected.filter((name) => !plans.has(name)), [], `statements not issued: ${[...plans.keys()].join(', ')}`);
  for (const [name, { text, custom, generic }] of plans) {
    if (process.env.PLAN_DEBUG) console.log(name, "\n  custom:", describe(custom), "\n  generic:", describe(generic));
    for (const [mode, plan] of [['custom', custom], ['generic', generic]] as const) {
      assert.ok(!scansBigTable(plan), `${name} (${mode} plan) scans a table: ${describe(plan)}\n${text}`);
      assert.ok(nodes(plan).some((n) => /Index/.test(n['Node Type'])), `${name} (${mode} plan) uses no index: ${describe(plan)}`);
    }
  }
  // Patterns read the range of their literal prefix, or of their reversed literal suffix.
  assert.match(describe(plans.get('search-search_index-page')!.custom), /using search_index_pkey/);
  assert.match(describe(plans.get('search-search_reversed-page')!.custom), /using search_reversed_pkey/);
  assert.match(describe(plans.get('search-dense-page')!.custom), /using entry_keys_pkey/);
  assert.match(describe(plans.get('search-keys')!.custom), /using entry_keys_pkey/);
  assert.match(describe(plans.get('search-first-time')!.custom), /using entries_by_time/);
});
