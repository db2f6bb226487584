// bench:log: starts the log (SQLite, temporary directory) in its own process, drives concurrent
// hashedrekord appends with valid P-256 signatures over loopback HTTP for about 20 s, and
// prints `log: <N> entries/s, p50 <X> ms, p99 <Y> ms` as its last line. With --postgres: a
// PostgreSQL server of its own and two front ends (`log serve --postgres`), the load split
// between them, every append durable in the database and covered by a checkpoint.

import { createHash, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { generateKeyPair, pemEncode } from '@sigstack/core';
import { describeError } from '../errors.js';
import { LoadConnection } from './http-load.js';
import { startServerChild } from './server-child.js';
import { cpuReading, cpuSince, processFamily } from './process-cpu.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 256);
const main = fileURLToPath(new URL('../main.js', import.meta.url));

function makeRequests(count: number): Buffer[] {
  const keys = Array.from({ length: 8 }, () => generateKeyPair('ec', { namedCurve: 'P-256' }));
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const key = keys[i % keys.length]!;
    const artifact = Buffer.from(`bench artifact ${i} ${process.pid} ${Date.now()}`);
    const body = {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(artifact).digest('hex') } },
        signature: { content: sign('sha256', artifact, key.privateKey).toString('base64'), publicKey: { content: Buffer.from(pemEncode('PUBLIC KEY', key.spki)).toString('base64') } },
      },
    };
    out.push(Buffer.from(JSON.stringify(body)));
  }
  return out;
}

/** Resets pg_stat_statements; the returned function lists the statements by time, per append. */
async function statementStats(url: string): Promise<(appends: number) => Promise<string>> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  let resetAt = 0;
  const reset = async () => {
    await client.query('SELECT pg_stat_statements_reset()');
    await client.query('SELECT pg_stat_reset_shared($1)', ['wal']);
    await client.query('SELECT pg_stat_reset()');
    resetAt = performance.now();
  };
  await reset();
  // Measured from the end of the warm-up: reset again when the measured run starts.
  statementReset = reset;
  return async (appends) => {
    const seconds = (performance.now() - resetAt) / 1000;
    const rows = (await client.query("SELECT calls, total_exec_time, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS q FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25")).rows;
    const wal = (await client.query('SELECT wal_records, wal_bytes, wal_write, wal_sync, wal_sync_time FROM pg_stat_wal')).rows[0];
    const tables = (await client.query('SELECT relname, seq_scan, seq_tup_read, idx_scan, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables WHERE n_tup_ins > 0 OR seq_scan > 0 ORDER BY relname')).rows;
    await client.end();
    const tableLines = tables.map((t) => `  ${t.relname}: ${t.seq_scan} seq scans (${t.seq_tup_read} rows), ${t.idx_scan} index scans, ${t.n_tup_ins} inserts, ${t.n_tup_upd} updates (${t.n_tup_hot_upd} HOT), ${t.n_tup_del} deletes`);
    const lines = rows.map((r) => `  ${(r.calls / appends).toFixed(3).padStart(8)} calls/append ${((r.total_exec_time / appends) * 1000).toFixed(1).padStart(7)} µs/append ${String(r.rows).padStart(8)} rows  ${r.q}`);
    return `bench:log: statements (${appends} appends, ${seconds.toFixed(1)} s):\n${lines.join('\n')}\n  WAL: ${(wal.wal_sync / seconds).toFixed(0)} syncs/s, ${(wal.wal_write / seconds).toFixed(0)} writes/s, ${(Number(wal.wal_bytes) / appends).toFixed(0)} bytes/append\n${tableLines.join('\n')}\n`;
  };
}
let statementReset: (() => Promise<void>) | undefined;

async function run(): Promise<void> {
  const total = Math.ceil(seconds * 9000) + 2000;
  process.stderr.write(`bench:log: signing ${total} hashedrekord requests...\n`);
  const requests = makeRequests(total);
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-bench-log-'));
  const servers: Awaited<ReturnType<typeof startServerChild>>[] = [];
  let statements: ((appends: number) => Promise<string>) | undefined;
  let postgres: { close(): Promise<void>; pid(): number | undefined } | undefined;
  // BENCH_ADMISSION_WORKERS=N: admission threads per server process (default: one per core).
  const workers = process.env.BENCH_ADMISSION_WORKERS ? ['--admission-workers', process.env.BENCH_ADMISSION_WORKERS] : [];
  if (process.argv.includes('--postgres')) {
    const { startLocalPostgres } = await import('@sigstack/server');
    // BENCH_PG_STATS=1: pg_stat_statements on, its busiest statements printed after the run.
    const stats = process.env.BENCH_PG_STATS === '1';
    const local = await startLocalPostgres(stats ? { settings: { shared_preload_libraries: 'pg_stat_statements', track_io_timing: 'on' } } : {});
    postgres = local;
    const database = await local.createDatabase('bench');
    if (stats) statements = await statementStats(database);
    const keyPath = join(dir, 'log-key.pem');
    writeFileSync(keyPath, generateKeyPair('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    for (let i = 0; i < 2; i++) {
      servers.push(await startServerChild([main, 'log', 'serve', '--postgres', database, '--key', keyPath, '--name', 'bench.log', '--port', '0', ...workers], /PostgreSQL at (http:\/\/\S+)/, 'log front end'));
    }
  } else {
    servers.push(await startServerChild([main, 'log', 'serve', '--dir', dir, '--port', '0', ...workers], /serving at (http:\/\/\S+)/, 'log server'));
  }
  const urls = servers.map((s) => s.match[1] as string);
  const url = urls.join(', ');
  const pool = Array.from({ length: connections }, (_, i) => new LoadConnection(new URL(urls[i % urls.length]!)));

  let next = 0;
  const latencies: number[] = [];
  let failures = 0;
  const drive = async (ms: number, record: boolean) => {
    const end = performance.now() + ms;
    await Promise.all(
      pool.map(async (connection) => {
        while (performance.now() < end && next < requests.length) {
          const body = requests[next++] as Buffer;
          const started = performance.now();
          const { status } = await connection.post('/api/v1/log/entries', body);
          if (status !== 201) failures++;
          if (record) latencies.push(performance.now() - started);
        }
      }),
    );
  };
  try {
    process.stderr.write(`bench:log: warming up against ${url}\n`);
    await drive(2000, false);
    const groups = () => ({
      ...Object.fromEntries(servers.map((s, i) => [servers.length > 1 ? `front end ${i + 1}` : 'server', s.child.pid ? [s.child.pid] : []])),
      ...(postgres?.pid() ? { postgres: processFamily(postgres.pid()!) } : {}),
      'load client': [process.pid],
    });
    await statementReset?.();
    const cpuBefore = cpuReading(groups());
    const started = performance.now();
    await drive(seconds * 1000, true);
    const elapsed = (performance.now() - started) / 1000;
    // CPU-seconds per 1,000 appends in each process: a figure other load on the machine barely moves.
    const cpu = cpuSince(cpuBefore, cpuReading(groups()));
    const perThousand = (s: number) => ((s * 1000) / Math.max(1, latencies.length)).toFixed(3);
    process.stderr.write(`bench:log: CPU-seconds per 1,000 appends: ${Object.entries(cpu).map(([name, s]) => `${name} ${perThousand(s)}`).join(', ')}, total ${perThousand(Object.values(cpu).reduce((a, b) => a + b, 0))}\n`);
    if (next >= requests.length) process.stderr.write('bench:log: ran out of pre-signed requests; the figure is a lower bound\n');
    if (failures > 0) throw new Error(`${failures} appends failed`);
    if (statements) process.stderr.write(await statements(latencies.length));
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(1);
    process.stdout.write(`log: ${Math.round(latencies.length / elapsed)} entries/s, p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms\n`);
  } finally {
    for (const connection of pool) connection.close();
    for (const server of servers) await server.stop();
    await postgres?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

run().catch((err: unknown) => {
  process.stderr.write(`bench:log: ${describeError(err)}\n`);
  process.exitCode = 1;
});
