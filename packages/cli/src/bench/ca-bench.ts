// bench:ca: a development OIDC issuer (in this process), the CT log and the CA (`sigstack ca
// serve`) in child processes on loopback; pre-minted tokens, keys and proofs of possession drive
// concurrent signingCert requests for about 10 s after a warm-up; last line `ca: <N> certs/s, p50 <X> ms, p99 <Y> ms`.

import { sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, pemEncode } from '@sigstack/core';
import { describeError } from '../errors.js';
import { serverModule } from '../commands/ca.js';
import { LoadConnection, type LoadResponse } from './http-load.js';
import { startServerChild, type ServerChild } from './server-child.js';
import { warmUp } from './warm-up.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const identities = Number(process.env.BENCH_IDENTITIES ?? 2000);
const caWorkers = Number(process.env.BENCH_CA_WORKERS ?? 1);
/** Key type of the bench CA's root and intermediate (default: the CA's default, P-256). */
const caKeyType = process.env.BENCH_CA_KEY_TYPE;
const main = fileURLToPath(new URL('../main.js', import.meta.url));
const self = fileURLToPath(import.meta.url);

/** Child role: the CT log service, accepting chains up to the given root. */
async function ctRole(dir: string, rootPath: string): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const { startCtLogService } = await serverModule('ctlog');
  const service = await startCtLogService({ dir, rootsPem: readFileSync(rootPath, 'utf8') });
  process.stderr.write(`ct serving at ${service.url} key ${service.ctLog.spki.toString('base64')}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await service.close();
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-ca-bench-'));
  const children: ServerChild[] = [];
  let issuer: { close(): Promise<void> } | undefined;
  try {
    // The issuer, then the CA hierarchy (the CT log must accept its root), the CT log, the CA.
    const { startDevOidcIssuer } = await serverModule('oidc-dev');
    const dev = await startDevOidcIssuer({ dir: join(dir, 'oidc'), warn: () => {} });
    issuer = dev;
    const caDir = join(dir, 'ca');
    const { createCaHierarchy } = await serverModule('ca');
    const hierarchy = await createCaHierarchy({ dir: caDir, ...(caKeyType ? { rootKeyType: caKeyType as never, intermediateKeyType: caKeyType as never } : {}) });
    const rootPath = join(dir, 'root.pem');
    writeFileSync(rootPath, hierarchy.root.pem);
    const ct = await startServerChild([self, '--role', 'ct', join(dir, 'ct'), rootPath], /ct serving at (http:\/\/\S+) key (\S+)/, 'CT log');
    children.push(ct);
    const configPath = join(dir, 'oidc-config.json');
    writeFileSync(configPath, JSON.stringify({ OIDCIssuers: { [dev.url]: { IssuerURL: dev.url, ClientID: 'sigstore', Type: 'email' } } }));
    const ctKeyPath = join(dir, 'ct-key.pem');
    writeFileSync(ctKeyPath, pemEncode('PUBLIC KEY', Buffer.from(ct.match[2]!, 'base64')));
    const ca = await startServerChild(
      [main, 'ca', 'serve', '--dir', caDir, '--port', '0', '--oidc-config', configPath, '--ct-url', ct.match[1]!, '--ct-public-key', ctKeyPath, '--workers', String(caWorkers)],
      /serving at (http:\/\/\S+)/,
      'CA',
    );
    children.push(ca);
    const endpoint = new URL(`${ca.match[1]}/api/v2/signingCert`);

    // Pre-minted: a token per identity, a P-256 key each, and its proof of possession.
    const bodies: Buffer[] = [];
    for (let i = 0; i < identities; i++) {
      const email = `bench-${i}@example.test`;
      const minted = await dev.app.inject({ method: 'POST', url: '/token', payload: { email, expires_in: 3600 } });
      const token = (minted.json() as { id_token: string }).id_token;
      const key = generateKeyPair('ec', { namedCurve: 'P-256' });
      bodies.push(
        Buffer.from(
          JSON.stringify({
            credentials: { oidcIdentityToken: token },
            publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: pemEncode('PUBLIC KEY', key.spki) }, proofOfPossession: sign('sha256', Buffer.from(email), key.privateKey).toString('base64') },
          }),
        ),
      );
    }

    const pool = Array.from({ length: connections }, () => new LoadConnection(endpoint));
    const post = (connection: LoadConnection, body: Buffer): Promise<LoadResponse> => connection.post(endpoint.pathname, body);
    // One request first: it fetches the issuer's discovery document and keys.
    const first = await post(pool[0]!, bodies[0]!);
    if (first.status !== 200) throw new Error(`the CA refused the first request: ${first.status} ${first.body.toString('utf8', 0, 500)}`);

    const run = async (durationMs: number, record: boolean) => {
      const latencies: number[] = [];
      let issued = 0;
      let failures = 0;
      let lastFailure = '';
      let next = 0;
      const deadline = performance.now() + durationMs;
      const worker = async (connection: LoadConnection) => {
        while (performance.now() < deadline) {
          const body = bodies[next++ % bodies.length]!;
          const started = performance.now();
          const res = await post(connection, body);
          if (res.status === 200) {
            issued++;
            if (record) latencies.push(performance.now() - started);
          } else {
            failures++;
            lastFailure = `${res.status} ${res.body.toString('utf8', 0, 300)}`;
          }
        }
      };
      const started = performance.now();
      await Promise.all(pool.map(worker));
      return { latencies, issued, failures, lastFailure, elapsed: (performance.now() - started) / 1000 };
    };
    process.stderr.write(`bench:ca: CA root and intermediate keys ${caKeyType ?? 'P-256 (the default)'}; warming up until throughput settles\n`);
    await warmUp(async (ms) => (await run(ms, false)).issued);
    const result = await run(seconds * 1000, true);
    for (const connection of pool) connection.close();
    if (result.failures > 0) process.stderr.write(`ca-bench: ${result.failures} requests failed, last: ${result.lastFailure}\n`);
    const sorted = result.latencies.sort((a, b) => a - b);
    const rate = sorted.length / result.elapsed;
    process.stdout.write(`ca: ${Math.round(rate)} certs/s, p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms\n`);
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await issuer?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const roleAt = process.argv.indexOf('--role');
const task = roleAt > 0 && process.argv[roleAt + 1] === 'ct' ? ctRole(process.argv[roleAt + 2]!, process.argv[roleAt + 3]!) : bench();
task.catch((err: unknown) => {
  process.stderr.write(`ca-bench: ${describeError(err)}\n`);
  if (process.env.BENCH_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = 1;
});
