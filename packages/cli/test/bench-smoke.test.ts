// A short smoke run of every benchmark (the real runs are `npm run bench:*`, kept out of the
// suite): each starts what it measures, does some work, and ends with its figure line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bench = (name: string) => fileURLToPath(new URL(`../src/bench/${name}.js`, import.meta.url));
const conformance = fileURLToPath(new URL('../../../../test/fixtures/conformance/bundle-verify/', import.meta.url));
const SHORT = { BENCH_SECONDS: '1', BENCH_WARMUP_SECONDS: '1', BENCH_IDENTITIES: '20', BENCH_CONNECTIONS: '8', BENCH_ENTRIES: '2000' };

function run(name: string, args: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bench(name), ...args], { env: { ...process.env, ...SHORT }, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${name} failed: ${err.message}\n${stderr}`));
      else resolve(stdout.trim().split('\n').at(-1) ?? '');
    });
  });
}

test('bench:verify ends with its throughput line', async () => {
  const last = await run('verify-bench', [
    '--bundle', `${conformance}happy-path-v0.3/bundle.sigstore.json`,
    '--certificate-identity', 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
    '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com',
    `${conformance}a.txt`,
  ]);
  assert.match(last, /^verify: [1-9]\d* bundles\/s$/);
});

test('bench:verify-compare\'s sigstore-js baseline ends with its throughput line', async () => {
  const last = await run('verify-sigstore-js-bench', [
    '--bundle', `${conformance}managed-key-happy-path/bundle.sigstore.json`,
    '--key', `${conformance}managed-key-happy-path/key.pub`,
    `${conformance}a.txt`,
  ]);
  assert.match(last, /^sigstore-js verify: [1-9]\d* bundles\/s$/);
});

test('bench:log ends with its throughput and latency line', async () => {
  assert.match(await run('log-bench'), /^log: [1-9]\d* entries\/s, p50 [\d.]+ ms, p99 [\d.]+ ms$/);
});

test('bench:log --postgres (its own PostgreSQL, two front ends) ends with its throughput and latency line', async () => {
  assert.match(await run('log-bench', ['--postgres']), /^log: [1-9]\d* entries\/s, p50 [\d.]+ ms, p99 [\d.]+ ms$/);
});

test('bench:log-scale (SQLite and its own PostgreSQL, a short fill) ends with its ratio, latency and size line', async () => {
  assert.match(await run('log-scale-bench', ['--entries', '2000', '--samples', '100']), /^log-scale: append [\d.]+ of empty, proof p99 [\d.]+ ms, search p99 [\d.]+ ms, [1-9]\d* bytes\/entry$/);
});

test('bench:ca ends with its throughput and latency line', async () => {
  assert.match(await run('ca-bench'), /^ca: [1-9]\d* certs\/s, p50 [\d.]+ ms, p99 [\d.]+ ms$/);
});

test('bench:sign ends with its latency line', async () => {
  assert.match(await run('sign-bench'), /^sign: p50 [\d.]+ ms, p99 [\d.]+ ms$/);
});

test('bench:image ends with its sign and verify latency line', async () => {
  assert.match(await run('image-bench'), /^image: sign p50 [\d.]+ ms, verify p50 [\d.]+ ms$/);
});

test('bench:explorer ends with its throughput and latency line', async () => {
  assert.match(await run('explorer-bench'), /^explorer: [1-9]\d* searches\/s, p99 [\d.]+ ms$/);
});

test('bench:monitor ends with its throughput line', async () => {
  const previous = process.env.BENCH_ENTRIES;
  process.env.BENCH_ENTRIES = '1000';
  try {
    assert.match(await run('monitor-bench'), /^monitor: [1-9]\d* entries\/s$/);
  } finally {
    if (previous === undefined) delete process.env.BENCH_ENTRIES;
    else process.env.BENCH_ENTRIES = previous;
  }
});
