// bench:verify: verifies one bundle repeatedly in this process (after a warm-up) for about
// 3 s, several verifications in flight so signature checks use every core, and prints
// `verify: <N> bundles/s` as its last line. Each round re-parses the bundle JSON.

import '../threadpool.js';
import { parseBundleJson } from '@sigstack/core';
import { describeError } from '../errors.js';
import { parseVerifyArgs, prepareVerification } from '../commands/verify.js';

const args = process.argv.slice(2);
if (args[0] === 'verify-bundle') args.shift();
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const inFlight = Number(process.env.BENCH_CONCURRENCY ?? 8);

async function main(): Promise<void> {
  const { bundleText, artifact, verifier, policy } = prepareVerification(parseVerifyArgs(args));
  const once = () => verifier.verify(parseBundleJson(bundleText), artifact, policy);
  await once(); // fails loudly if the bundle does not verify at all

  async function runFor(ms: number): Promise<number> {
    const end = performance.now() + ms;
    let count = 0;
    const worker = async () => {
      while (performance.now() < end) {
        await once();
        count++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return count;
  }

  await runFor(Math.min(1000, seconds * 300));
  const start = performance.now();
  const count = await runFor(seconds * 1000);
  const elapsed = (performance.now() - start) / 1000;
  process.stdout.write(`verify: ${Math.round(count / elapsed)} bundles/s\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:verify: ${describeError(err)}\n`);
  process.exitCode = 1;
});
