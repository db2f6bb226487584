// `sigstack verify --bundle-list FILE`: many bundles in one run. FILE has one `ARTIFACT BUNDLE`
// pair a line (blank lines and # comments skipped; ARTIFACT may be sha256:<hex>). Every pair is
// verified on a VerifierPool (a worker per core) under one policy and trusted root, and one line
// is printed for each, in the file's order; the run fails if any bundle did not verify.

import { readFileSync } from 'node:fs';
import { VerifierPool, type VerificationResult, type VerifyPolicy } from '@sigstack/verify';
import { readArtifact } from '../artifact.js';
import { CliError, describeError } from '../errors.js';
import { describeResult, resultJson, type OutputFormat } from './verify-output.js';

export interface BundleListRequest {
  list: string;
  trustedRoot?: string;
  policy: VerifyPolicy;
  output: OutputFormat;
}

export interface BundleListEntry {
  line: number;
  artifact: string;
  bundle: string;
}

const IN_FLIGHT = 64;

function readBundle(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError('BUNDLE_UNREADABLE', `cannot read bundle ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Reads FILE's pairs; a malformed line is a USAGE error naming it. */
export function readBundleList(path: string): BundleListEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError('BUNDLE_LIST_UNREADABLE', `cannot read bundle list ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const entries: BundleListEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw new CliError('USAGE', `${path} line ${i + 1}: expected "ARTIFACT BUNDLE", found ${parts.length} field(s)`);
    entries.push({ line: i + 1, artifact: parts[0] as string, bundle: parts[1] as string });
  });
  if (entries.length === 0) throw new CliError('USAGE', `${path} lists no bundles: write one "ARTIFACT BUNDLE" pair a line`);
  return entries;
}

/** Verifies every pair; prints one line each (in order) and returns the exit code. */
export async function verifyBundleList(request: BundleListRequest, write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const entries = readBundleList(request.list);
  const pool = new VerifierPool(request.trustedRoot ? { trustedRootPath: request.trustedRoot } : {});
  let failed = 0;
  try {
    // A bounded window of bundles in flight keeps every worker busy without reading the whole list at once.
    const outcomes: Promise<VerificationResult>[] = [];
    const start = (i: number) => {
      const entry = entries[i];
      if (entry && !outcomes[i]) outcomes[i] = Promise.resolve().then(() => pool.verify(readBundle(entry.bundle), readArtifact(entry.artifact), request.policy));
      outcomes[i]?.catch(() => undefined); // awaited below, in order
    };
    for (let i = 0; i < IN_FLIGHT; i++) start(i);
    for (const [i, entry] of entries.entries()) {
      start(i + IN_FLIGHT);
      const where = { artifact: entry.artifact, bundle: entry.bundle };
      try {
        const result = await outcomes[i]!;
        write(request.output === 'json' ? JSON.stringify(resultJson(result, where)) : `OK ${entry.artifact} ${entry.bundle}: ${describeResult(result)}`);
      } catch (err) {
        failed++;
        const e = err as { code?: string; message?: string };
        write(request.output === 'json'
          ? JSON.stringify({ ...where, verified: false, error: { code: typeof e.code === 'string' ? e.code : 'INTERNAL_ERROR', message: e.message ?? String(err) } })
          : `FAILED ${entry.artifact} ${entry.bundle}: ${describeError(err)}`);
      }
    }
  } finally {
    await pool.close();
  }
  if (request.output !== 'json') process.stderr.write(`${entries.length - failed} of ${entries.length} bundles verified\n`);
  return failed === 0 ? 0 : 1;
}
