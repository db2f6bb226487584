// bench:log-scale: how the log engine holds up as it grows, on SQLite and on PostgreSQL (a server
// of its own). For each store: the JIT is warmed on a throwaway log, then a fresh log is filled
// to --entries (default 1,000,000) through the engine's append (TransparencyLog.append: duplicate
// check, tiles, signed checkpoint, one durable transaction per batch of 1,024) with realistic
// hashedrekord and dsse bodies (a certificate each) and their search-index keys. It times the
// same appends (a window of entries made beforehand, 8,192 in flight) on the empty log and at
// the full size, then, on a freshly opened log (cold tile cache), the latency of inclusion proofs
// (TransparencyLog.inclusionProof, as the v1/v2 entry responses make them) and of searches by
// artifact hash (TransparencyLog.search + the entry read, as /api/v1/index/retrieve does, and
// the explorer's LogStorage.searchEntries), and the bytes stored per entry. Last line:
// `log-scale: append <R> of empty, proof p99 <X> ms, search p99 <Y> ms, <B> bytes/entry`,
// R for the store slower at full size, the other figures the worse of the two stores.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@sigstack/core';
import type { CanonicalEntry, LogSigner as LogSignerType, LogStorage, TransparencyLog as TransparencyLogType } from '@sigstack/server';
import { describeError } from '../errors.js';
import { warmUp } from './warm-up.js';

type StoreName = 'sqlite' | 'postgres';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const total = Number(option('--entries') ?? 1_000_000);
const storeOption = option('--store') ?? 'both';
if (!Number.isInteger(total) || total < 1000) throw new Error('--entries must be a whole number of at least 1000');
if (!['sqlite', 'postgres', 'both'].includes(storeOption)) throw new Error('--store must be sqlite, postgres or both');
const stores: StoreName[] = storeOption === 'both' ? ['sqlite', 'postgres'] : [storeOption as StoreName];
/** The timed append window: the same count on the empty log and at full size (small beside the log). */
const windowSize = Math.min(20_000, Math.max(1000, Math.floor(total / 50)));
const IN_FLIGHT = 8192;
/** Latency samples of each read kind. */
const SAMPLES = Number(option('--samples') ?? 2000);

const SIGNERS = 20_000;
const WORKFLOWS = 2_000;
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const artifactDigest = (i: number) => sha256(`scale artifact ${i}`);
const email = (i: number) => `signer${i % SIGNERS}@example${i % 13}.com`;
const workflow = (i: number) => `https://github.com/org${i % 200}/repo${i % WORKFLOWS}/.github/workflows/release.yml@refs/tags/v1.${i % 40}`;

/** A certificate-sized PEM (Fulcio's leaf certificates are 700-900 bytes of DER), unique per entry. */
function certificatePem(): string {
  const der = randomBytes(800).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${der.replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * Entry i as admission hands it to the engine: three in four hashedrekord 0.0.1, one in four dsse
 * 0.0.1, each with an ephemeral certificate and the keys the entry types index (artifact or
 * payload/envelope hashes, the certificate's fingerprint, its email or workflow identity).
 */
function entry(i: number): CanonicalEntry {
  const cert = certificatePem();
  const verifier = Buffer.from(cert).toString('base64');
  const signature = randomBytes(71).toString('base64');
  const identity = i % 2 === 0 ? { type: 'email' as const, value: email(i) } : { type: 'subject' as const, value: workflow(i) };
  const publicKey = { type: 'publicKey' as const, value: sha256(cert) };
  if (i % 4 === 3) {
    const envelopeHash = sha256(`envelope ${i}`);
    const spec = { envelopeHash: { algorithm: 'sha256', value: envelopeHash }, payloadHash: { algorithm: 'sha256', value: sha256(`payload ${i}`) }, signatures: [{ signature, verifier }] };
    return {
      kind: 'dsse',
      apiVersion: '0.0.1',
      body: Buffer.from(JSON.stringify({ apiVersion: '0.0.1', kind: 'dsse', spec })),
      indexKeys: [identity, publicKey, { type: 'hash', value: `sha256:${sha256(`payload ${i}`)}` }, { type: 'hash', value: `sha256:${envelopeHash}` }, { type: 'hash', value: `sha256:${artifactDigest(i)}` }],
    };
  }
  const spec = { data: { hash: { algorithm: 'sha256', value: artifactDigest(i) } }, signature: { content: signature, publicKey: { content: verifier } } };
  return {
    kind: 'hashedrekord',
    apiVersion: '0.0.1',
    body: Buffer.from(JSON.stringify({ apiVersion: '0.0.1', kind: 'hashedrekord', spec })),
    indexKeys: [identity, publicKey, { type: 'hash', value: `sha256:${artifactDigest(i)}` }],
  };
}

/**
 * Appends entries [from, to) through the engine with IN_FLIGHT outstanding; resolves when all
 * are in. `made` holds them ready-made (a timed window: making them is not what is timed).
 */
async function appendRange(log: TransparencyLogType, from: number, to: number, made?: CanonicalEntry[]): Promise<void> {
  let next = from;
  const lane = async () => {
    while (next < to) {
      const i = next++;
      const result = await log.append(made ? made[i - from]! : entry(i));
      if (result.duplicate || result.index !== i) throw new Error(`entry ${i} landed at ${result.index}${result.duplicate ? ' as a duplicate' : ''}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, to - from) }, lane));
}

/** Entries per second of appending `count` entries (made beforehand) from the log's current size. */
async function appendRate(log: TransparencyLogType, count: number): Promise<number> {
  const from = log.checkpoint.size;
  const made = Array.from({ length: count }, (_, k) => entry(from + k));
  const started = performance.now();
  await appendRange(log, from, from + count, made);
  return count / ((performance.now() - started) / 1000);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

async function latencies(samples: number, once: (i: number) => Promise<void>): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await once(i);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

interface ReadFigures {
  proof: { p50: number; p99: number };
  retrieve: { p50: number; p99: number };
  explorer: { p50: number; p99: number };
}

/** Latencies of proofs and hash searches at random entries of the log, one request at a time. */
async function readLatencies(log: TransparencyLogType): Promise<ReadFigures> {
  const size = log.checkpoint.size;
  const pick = () => Math.floor(Math.random() * size);
  const proof = await latencies(SAMPLES, async () => {
    const index = pick();
    const hashes = await log.inclusionProof(index, size);
    if (hashes.length === 0 && size > 1) throw new Error(`no inclusion proof for ${index}`);
  });
  const retrieve = await latencies(SAMPLES, async () => {
    const index = pick();
    const found = await log.search(`hash:sha256:${artifactDigest(index)}`);
    if (!found.includes(index)) throw new Error(`entry ${index} not found by its hash`);
    const [stored] = await log.entries(found[0]!, 1);
    if (!stored) throw new Error(`entry ${index} not readable`);
  });
  const explorer = await latencies(SAMPLES, async () => {
    const index = pick();
    const found = await log.storage.searchEntries({ match: { type: 'key', key: `hash:sha256:${artifactDigest(index)}` }, below: size, offset: 0, limit: 20, countLimit: 10_000 });
    if (found.entries[0]?.index !== index) throw new Error(`the explorer did not find entry ${index} by its hash`);
  });
  return { proof, retrieve, explorer };
}

interface StoreRun {
  name: StoreName;
  /** A fresh storage on a fresh location each call (the first: the throwaway warm-up log). */
  open(): Promise<LogStorage>;
  /** The last opened location's storage, opened again. */
  reopen(): Promise<LogStorage>;
  /** Bytes the measured log occupies, and how it was measured. */
  bytes(): Promise<{ bytes: number; how: string }>;
  close(): Promise<void>;
}

async function sqliteRun(): Promise<StoreRun> {
  const { SqliteLogStorage } = await import('@sigstack/server');
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-bench-scale-'));
  let opened = 0;
  let path = '';
  const size = (p: string) => {
    try {
      return statSync(p).size;
    } catch {
      return 0;
    }
  };
  return {
    name: 'sqlite',
    async open() {
      path = join(dir, `log${opened++}.db`);
      return new SqliteLogStorage(path);
    },
    async reopen() {
      return new SqliteLogStorage(path);
    },
    async bytes() {
      const file = size(path);
      const wal = size(`${path}-wal`);
      return { bytes: file + wal, how: `file ${(file / 2 ** 20).toFixed(0)} MiB + WAL ${(wal / 2 ** 20).toFixed(0)} MiB` };
    },
    async close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresRun(): Promise<StoreRun> {
  const { startLocalPostgres, PostgresLogStorage } = await import('@sigstack/server');
  const settings = process.env.BENCH_PG_SETTINGS ? (JSON.parse(process.env.BENCH_PG_SETTINGS) as Record<string, string>) : {};
  const server = await startLocalPostgres({ settings });
  if (Object.keys(settings).length > 0) say(`postgres settings ${JSON.stringify(settings)}`);
  let opened = 0;
  let storage: Awaited<ReturnType<typeof PostgresLogStorage.open>> | undefined;
  let url = '';
  return {
    name: 'postgres',
    async open() {
      url = await server.createDatabase(`scale${opened++}`);
      storage = await PostgresLogStorage.open(url);
      return storage;
    },
    async reopen() {
      storage = await PostgresLogStorage.open(url);
      return storage;
    },
    async bytes() {
      const { rows } = await storage!.pool.query(
        `SELECT pg_database_size(current_database())::float8 AS db,
                (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind = 'r' AND n.nspname = current_schema())::float8 AS tables`,
      );
      const { db, tables } = rows[0] as { db: number; tables: number };
      return { bytes: db, how: `pg_database_size ${(db / 2 ** 20).toFixed(0)} MiB (the log's tables with indexes and TOAST ${(tables / 2 ** 20).toFixed(0)} MiB)` };
    },
    async close() {
      await server.close();
    },
  };
}

interface StoreResult {
  name: StoreName;
  emptyRate: number;
  fullRate: number;
  reads: ReadFigures;
  bytesPerEntry: number;
}

const ms = (x: number) => x.toFixed(2);
const say = (line: string) => process.stderr.write(`bench:log-scale: ${line}\n`);

async function measure(run: StoreRun): Promise<StoreResult> {
  const { LogSigner, TransparencyLog } = await import('@sigstack/server');
  const pair = generateKeyPair('ed25519');
  const signer: LogSignerType = new LogSigner('scale.bench/log', { privateKey: pair.privateKey, publicKey: pair.publicKey });
  // The JIT settles on a throwaway log, so the empty log's rate is not that of cold code.
  const scratch = await TransparencyLog.open(await run.open(), signer);
  await warmUp(async (window) => {
    const started = performance.now();
    const from = scratch.checkpoint.size;
    let to = from;
    while (performance.now() - started < window) {
      await appendRange(scratch, to, to + 2048);
      to += 2048;
    }
    return to - from;
  }, Number(process.env.BENCH_WARMUP_SECONDS ?? 10) * 1000);
  await scratch.close();

  let log = await TransparencyLog.open(await run.open(), signer);
  const emptyRate = await appendRate(log, windowSize);
  say(`${run.name}: ${Math.round(emptyRate)} appends/s for entries 0-${windowSize} (load average ${loadavg()[0]!.toFixed(2)})`);
  const early = await readLatencies(log);
  say(`${run.name}: at ${log.checkpoint.size}: proof p99 ${ms(early.proof.p99)} ms, retrieve p99 ${ms(early.retrieve.p99)} ms, explorer p99 ${ms(early.explorer.p99)} ms`);
  const fillStarted = performance.now();
  for (let from = log.checkpoint.size; from < total; ) {
    const to = Math.min(total, from + 100_000);
    await appendRange(log, from, to);
    from = to;
    say(`${run.name}: ${to} entries, ${Math.round((to - windowSize) / ((performance.now() - fillStarted) / 1000))} appends/s on average (load average ${loadavg()[0]!.toFixed(2)})`);
  }
  const fullRate = await appendRate(log, windowSize);
  const size = log.checkpoint.size;
  say(`${run.name}: ${Math.round(fullRate)} appends/s for entries ${total}-${size} (load average ${loadavg()[0]!.toFixed(2)})`);
  await log.close();
  // A freshly opened log: no tile in its cache, as a front end that just started.
  log = await TransparencyLog.open(await run.reopen(), signer);
  const reads = await readLatencies(log);
  const { bytes, how } = await run.bytes();
  await log.close();
  const result = { name: run.name, emptyRate, fullRate, reads, bytesPerEntry: bytes / size };
  say(
    `${run.name} at ${size}: append ${Math.round(fullRate)}/s vs ${Math.round(emptyRate)}/s empty (${(fullRate / emptyRate).toFixed(2)}), ` +
      `proof p50 ${ms(reads.proof.p50)} p99 ${ms(reads.proof.p99)} ms, by hash via log.search+entry p50 ${ms(reads.retrieve.p50)} p99 ${ms(reads.retrieve.p99)} ms, ` +
      `via explorer searchEntries p50 ${ms(reads.explorer.p50)} p99 ${ms(reads.explorer.p99)} ms, ${Math.round(result.bytesPerEntry)} bytes/entry (${how})`,
  );
  return result;
}

async function main(): Promise<void> {
  say(`${stores.join(' and ')}, ${total} entries, append window ${windowSize}, ${SAMPLES} read samples (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  const results: StoreResult[] = [];
  for (const name of stores) {
    const run = name === 'sqlite' ? await sqliteRun() : await postgresRun();
    try {
      results.push(await measure(run));
    } finally {
      await run.close();
    }
  }
  const slower = results.reduce((a, b) => (b.fullRate < a.fullRate ? b : a));
  const worst = (f: (r: StoreResult) => number) => Math.max(...results.map(f));
  const proof = worst((r) => r.reads.proof.p99);
  const search = worst((r) => Math.max(r.reads.retrieve.p99, r.reads.explorer.p99));
  say(`append ratio from ${slower.name} (slower at ${total}); p99s and bytes/entry the worse store's (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  process.stdout.write(`log-scale: append ${(slower.fullRate / slower.emptyRate).toFixed(2)} of empty, proof p99 ${ms(proof)} ms, search p99 ${ms(search)} ms, ${Math.round(worst((r) => r.bytesPerEntry))} bytes/entry\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:log-scale: ${describeError(err)}\n`);
  process.exitCode = 1;
});
