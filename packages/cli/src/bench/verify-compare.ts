// bench:verify-compare: bench:verify against its sigstore-js baseline on four kinds of bundle
// from the conformance suite (Rekor v1 keyless, Rekor v2 + TSA, managed key + TSA, DSSE), run
// one after the other on this machine. For each: sigstack on one thread (BENCH_WORKERS=0), on
// every core (the default VerifierPool), and sigstore-js (one thread, it has no pool). On a
// shared machine the load changes from one minute to the next, so this is done in rounds
// (BENCH_ROUNDS, default 3), the three runs of a round one right after the other, and each
// figure is the median over the rounds. The last line is the smallest ratio of the every-core
// figure to sigstore-js's.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cases = fileURLToPath(new URL('../../../../../test/fixtures/conformance/bundle-verify/', import.meta.url));
const bench = (name: string) => fileURLToPath(new URL(`./${name}.js`, import.meta.url));
const IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';
const CASES = (process.env.BENCH_CASES ?? 'happy-path-v0.3,rekor2-happy-path,managed-key-happy-path,happy-path-intoto-in-dsse-v3').split(',');

function caseArgs(name: string): string[] {
  const dir = join(cases, name);
  const args = ['--bundle', join(dir, 'bundle.sigstore.json')];
  if (existsSync(join(dir, 'key.pub'))) args.push('--key', join(dir, 'key.pub'));
  else args.push('--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER);
  if (existsSync(join(dir, 'trusted_root.json'))) args.push('--trusted-root', join(dir, 'trusted_root.json'));
  args.push(existsSync(join(dir, 'artifact')) ? join(dir, 'artifact') : join(cases, 'a.txt'));
  return args;
}

interface Figures {
  /** Wall-clock throughput. */
  perSecond: number;
  /** Bundles per CPU-second of the whole process (robust against other load on the machine). */
  perCpuSecond: number;
}

function measure(script: string, args: string[], env: Record<string, string> = {}): Promise<Figures> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bench(script), ...args], { env: { ...process.env, ...env }, timeout: 300_000 }, (err, stdout, stderr) => {
      const lines = stdout.trim().split('\n');
      const wall = /: (\d+) bundles\/s$/.exec(lines.at(-1) ?? '');
      const cpu = /^cpu: (\d+) bundles per CPU-second$/.exec(lines.at(-2) ?? '');
      if (err || !wall || !cpu) reject(new Error(`${script} ${args.join(' ')} failed: ${err?.message ?? lines.at(-1)}\n${stderr}`));
      else resolve({ perSecond: Number(wall[1]), perCpuSecond: Number(cpu[1]) });
    });
  });
}

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return Math.round(sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2);
}

function medianFigures(runs: Figures[]): Figures {
  return { perSecond: median(runs.map((r) => r.perSecond)), perCpuSecond: median(runs.map((r) => r.perCpuSecond)) };
}

async function main(): Promise<void> {
  let worst: { name: string; ratio: number } | undefined;
  for (const name of CASES) {
    const args = caseArgs(name);
    const runs: { single: Figures[]; pool: Figures[]; js: Figures[] } = { single: [], pool: [], js: [] };
    for (let round = 0; round < ROUNDS; round++) {
      runs.single.push(await measure('verify-bench', args, { BENCH_WORKERS: '0' }));
      runs.pool.push(await measure('verify-bench', args));
      runs.js.push(await measure('verify-sigstore-js-bench', args));
    }
    const single = medianFigures(runs.single);
    const pool = medianFigures(runs.pool);
    const js = medianFigures(runs.js);
    const ratio = pool.perSecond / js.perSecond;
    process.stdout.write(
      `${name}: sigstack ${pool.perSecond}/s on every core (${pool.perCpuSecond} per CPU-s), ${single.perSecond}/s on one thread (${single.perCpuSecond} per CPU-s); ` +
        `sigstore-js ${js.perSecond}/s (${js.perCpuSecond} per CPU-s): ${ratio.toFixed(1)}x, per CPU-s ${(pool.perCpuSecond / js.perCpuSecond).toFixed(1)}x on every core, ${(single.perCpuSecond / js.perCpuSecond).toFixed(1)}x on one thread` +
        `${ROUNDS > 1 ? ` (medians of ${ROUNDS} rounds)` : ''}\n`,
    );
    if (!worst || ratio < worst.ratio) worst = { name, ratio };
  }
  process.stdout.write(`verify vs sigstore-js: at least ${worst!.ratio.toFixed(1)}x (${worst!.name})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:verify-compare: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
