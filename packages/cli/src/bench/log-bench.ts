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

async function run(): Promise<void> {
  const total = Math.ceil(seconds * 9000) + 2000;
  process.stderr.write(`bench:log: signing ${total} hashedrekord requests...\n`);
  const requests = makeRequests(total);
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-bench-log-'));
  const servers: Awaited<ReturnType<typeof startServerChild>>[] = [];
  let postgres: { close(): Promise<void> } | undefined;
  if (process.argv.includes('--postgres')) {
    const { startLocalPostgres } = await import('@sigstack/server');
    const local = await startLocalPostgres();
    postgres = local;
    const database = await local.createDatabase('bench');
    const keyPath = join(dir, 'log-key.pem');
    writeFileSync(keyPath, generateKeyPair('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    for (let i = 0; i < 2; i++) {
      servers.push(await startServerChild([main, 'log', 'serve', '--postgres', database, '--key', keyPath, '--name', 'bench.log', '--port', '0'], /PostgreSQL at (http:\/\/\S+)/, 'log front end'));
    }
  } else {
    servers.push(await startServerChild([main, 'log', 'serve', '--dir', dir, '--port', '0'], /serving at (http:\/\/\S+)/, 'log server'));
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
    const started = performance.now();
    await drive(seconds * 1000, true);
    const elapsed = (performance.now() - started) / 1000;
    if (next >= requests.length) process.stderr.write('bench:log: ran out of pre-signed requests; the figure is a lower bound\n');
    if (failures > 0) throw new Error(`${failures} appends failed`);
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
