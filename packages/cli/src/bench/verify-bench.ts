// bench:verify: verifies one bundle repeatedly in this process for about 3 s after a warm-up
// (until throughput stops climbing) and prints `verify: <N> bundles/s` as its last line. Each
// verification parses the bundle JSON afresh; a VerifierPool runs them on every core
// (BENCH_WORKERS=0: main thread only).

import '../threadpool.js';
import { parseBundleJson } from '@sigstack/core';
import { VerifierPool } from '@sigstack/verify';
import { describeError } from '../errors.js';
import { parseVerifyArgs, prepareVerification } from '../commands/verify.js';
import { measureRate } from './warm-up.js';

const args = process.argv.slice(2);
if (args[0] === 'verify-bundle') args.shift();
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const workers = process.env.BENCH_WORKERS === undefined ? undefined : Number(process.env.BENCH_WORKERS);

async function main(): Promise<void> {
  const request = parseVerifyArgs(args);
  const { bundleText, artifact, verifier, policy } = prepareVerification(request);
  const pool = workers === 0 ? undefined : new VerifierPool({ ...(request.trustedRoot ? { trustedRootPath: request.trustedRoot } : {}), ...(workers ? { size: workers } : {}) });
  const once = pool
    ? () => pool.verify(bundleText, artifact, policy)
    : () => verifier.verify(parseBundleJson(bundleText), artifact, policy);
  const inFlight = Number(process.env.BENCH_CONCURRENCY ?? 16);
  try {
    await once(); // fails loudly if the bundle does not verify at all

    const runFor = async (ms: number): Promise<number> => {
      const end = performance.now() + ms;
      let count = 0;
      const lane = async () => {
        while (performance.now() < end) {
          await once();
          count++;
        }
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
      return count;
    };

    // CPU time counts every thread of this process (the pool's workers too).
    const rate = await measureRate(runFor, seconds);
    process.stdout.write(`cpu: ${rate.perCpuSecond} bundles per CPU-second\n`);
    process.stdout.write(`verify: ${rate.perSecond} bundles/s\n`);
  } finally {
    await pool?.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:verify: ${describeError(err)}\n`);
  process.exitCode = 1;
});
