// bench:explorer: fills a log (SQLite, temporary directory) with BENCH_ENTRIES entries (default
// 100,000) through the engine (appends of canonical hashedrekord bodies with realistic index
// keys: 2,000 signers' emails and keys, 1,000 CI workflow URIs, unique digests), serves it with
// `sigstack log serve` in its own process, and drives the explorer's search API from 64
// keep-alive connections with a mix of searches (email, digest, index, UUID, key, SAN prefix and
// suffix patterns, time ranges) for about 10 s. Prints `explorer: <N> searches/s, p99 <X> ms` last.

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError } from '../errors.js';
import { LoadConnection } from './http-load.js';
import { startServerChild } from './server-child.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const warmUpSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const total = Number(process.env.BENCH_ENTRIES ?? 100_000);
const main = fileURLToPath(new URL('../main.js', import.meta.url));

const USERS = 2000;
const WORKFLOWS = 1000;
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const email = (i: number) => `user${i % USERS}@example${i % 7}.com`;
const workflow = (i: number) => `https://github.com/org${i % 100}/repo${i % WORKFLOWS}/.github/workflows/release.yml@refs/tags/v1.${i % 50}`;
const artifactDigest = (i: number) => sha256(`bench artifact ${i}`);
const keyFingerprint = (i: number) => sha256(`bench key ${i % USERS}`);

/** Entry i: a canonical hashedrekord body and the index keys the log would give it. */
function entry(i: number) {
  const spec = { data: { hash: { algorithm: 'sha256', value: artifactDigest(i) } }, signature: { content: Buffer.from(`signature ${i}`).toString('base64'), publicKey: { content: Buffer.from(`certificate of ${email(i)}`).toString('base64') } } };
  const body = Buffer.from(JSON.stringify({ apiVersion: '0.0.1', kind: 'hashedrekord', spec }));
  const identity = i % 2 === 0 ? { type: 'email' as const, value: email(i) } : { type: 'subject' as const, value: workflow(i) };
  return {
    kind: 'hashedrekord',
    apiVersion: '0.0.1',
    body,
    indexKeys: [identity, { type: 'hash' as const, value: `sha256:${artifactDigest(i)}` }, { type: 'publicKey' as const, value: keyFingerprint(i) }],
  };
}

async function fill(dir: string): Promise<{ firstTime: number; lastTime: number }> {
  const { startLogService } = await import('@sigstack/server');
  const service = await startLogService({ dir, port: 0, admissionWorkers: 0 });
  const started = performance.now();
  let firstTime = 0;
  let lastTime = 0;
  for (let start = 0; start < total; start += 8192) {
    const results = await Promise.all(Array.from({ length: Math.min(8192, total - start) }, (_, j) => service.log.append(entry(start + j))));
    firstTime ||= results[0]!.integratedTime;
    lastTime = results.at(-1)!.integratedTime;
  }
  process.stderr.write(`bench:explorer: filled ${total} entries in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  await service.close();
  return { firstTime, lastTime };
}

/** The search mix: what people look for, each a GET of the search API. */
function searches(count: number, times: { firstTime: number; lastTime: number }): string[] {
  const pick = (n: number) => Math.floor(Math.random() * n);
  const uuid = (i: number) => createHash('sha256').update(Buffer.from([0])).update(entry(i).body).digest('hex');
  const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
  const kinds: (() => string)[] = [
    () => email(pick(total / 2) * 2),
    () => `sha256:${artifactDigest(pick(total))}`,
    () => String(pick(total)),
    () => uuid(pick(total)),
    () => `key:${keyFingerprint(pick(USERS))}`,
    () => workflow(pick(total / 2) * 2 + 1),
    () => `https://github.com/org${pick(100)}/repo*`,
    () => `*@example${pick(7)}.com`,
    () => `${email(pick(total / 2) * 2)} after:${iso(times.firstTime + pick(Math.max(1, times.lastTime - times.firstTime)))}`,
    () => `https://github.com/org${pick(100)}/* before:${iso(times.lastTime)}`,
  ];
  return Array.from({ length: count }, (_, i) => `/api/v1/explorer/search?q=${encodeURIComponent(kinds[i % kinds.length]!())}${i % 5 === 0 ? '&page=2' : ''}`);
}

async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-bench-explorer-'));
  try {
    process.stderr.write(`bench:explorer: filling a log with ${total} entries...\n`);
    const times = await fill(dir);
    const paths = searches(20_000, times);
    const server = await startServerChild([main, 'log', 'serve', '--dir', dir, '--port', '0'], /serving at (http:\/\/\S+)/, 'log server');
    const url = server.match[1] as string;
    const pool = Array.from({ length: connections }, () => new LoadConnection(new URL(url)));
    let next = 0;
    let failures = 0;
    let firstFailure = '';
    const latencies: number[] = [];
    const drive = async (ms: number, record: boolean) => {
      const end = performance.now() + ms;
      await Promise.all(
        pool.map(async (connection) => {
          while (performance.now() < end) {
            const path = paths[next++ % paths.length]!;
            const started = performance.now();
            const { status, body } = await connection.get(path);
            if (status !== 200) {
              failures++;
              firstFailure ||= `${path}: ${status} ${body.toString().slice(0, 200)}`;
            }
            if (record) latencies.push(performance.now() - started);
          }
        }),
      );
    };
    try {
      process.stderr.write(`bench:explorer: warming up against ${url}\n`);
      await drive(warmUpSeconds * 1000, false);
      const started = performance.now();
      await drive(seconds * 1000, true);
      const elapsed = (performance.now() - started) / 1000;
      if (failures > 0) throw new Error(`${failures} searches failed, e.g. ${firstFailure}`);
      latencies.sort((a, b) => a - b);
      const pct = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(1);
      process.stderr.write(`bench:explorer: ${latencies.length} searches, p50 ${pct(0.5)} ms\n`);
      process.stdout.write(`explorer: ${Math.round(latencies.length / elapsed)} searches/s, p99 ${pct(0.99)} ms\n`);
    } finally {
      for (const connection of pool) connection.close();
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

run().catch((err: unknown) => {
  process.stderr.write(`bench:explorer: ${describeError(err)}\n`);
  process.exitCode = 1;
});
