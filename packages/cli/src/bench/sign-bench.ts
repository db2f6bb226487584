// bench:sign: starts the whole stack (sigstack up's services, in this process) in a temporary
// directory and signs a file repeatedly, keyless, through its signing config (CA with SCTs from
// the CT log, Rekor v2 with a TSA timestamp), one signature at a time, each with a fresh key and
// certificate; prints `sign: p50 <X> ms, p99 <Y> ms` as its last line.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Signer, loadSigningConfig, parseIdentityToken, servicesFromSigningConfig } from '@sigstack/sign';
import { describeError } from '../errors.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);

async function run(): Promise<void> {
  const { startStack } = await import('@sigstack/server').then((m) => m.stack);
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-bench-sign-'));
  const stack = await startStack({ dir, port: 0, warn: () => {} });
  try {
    const response = await fetch(`${stack.urls.oidc}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@example.com' }) });
    const { access_token: accessToken, id_token: idToken } = (await response.json()) as { id_token?: string; access_token?: string };
    const token = idToken ?? accessToken;
    if (!token) throw new Error('the development issuer gave no token');
    const identityToken = { token, claims: parseIdentityToken(token), source: 'bench' };
    const services = servicesFromSigningConfig(loadSigningConfig(stack.files.signingConfig));
    const signer = new Signer({ services, identityToken });
    const artifact = Buffer.from('bench:sign artifact');
    for (let i = 0; i < 5; i++) await signer.signMessage(artifact);
    const latencies: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const started = performance.now();
      await signer.signMessage(artifact);
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(1);
    process.stdout.write(`sign: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms\n`);
  } finally {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

run().catch((err: unknown) => {
  process.stderr.write(`bench:sign: ${describeError(err)}\n`);
  process.exitCode = 1;
});
