// Runs every vendored sigstore-conformance verification case through bin/conformance-client,
// exactly as the suite would: `_fail` cases must be rejected, every other case must verify.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cases = join(repo, 'test/fixtures/conformance/bundle-verify');
const client = join(repo, 'bin/conformance-client');
const IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [client, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

export function caseArgs(dir: string): string[] {
  const path = join(cases, dir);
  const args = ['verify-bundle', '--bundle', join(path, 'bundle.sigstore.json')];
  if (existsSync(join(path, 'key.pub'))) args.push('--key', join(path, 'key.pub'));
  else args.push('--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER);
  if (existsSync(join(path, 'trusted_root.json'))) args.push('--trusted-root', join(path, 'trusted_root.json'));
  args.push(existsSync(join(path, 'artifact')) ? join(path, 'artifact') : join(cases, 'a.txt'));
  return args;
}

const dirs = readdirSync(cases, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

test('the vendored conformance suite is all there', () => {
  assert.ok(dirs.length >= 48, `expected at least 48 cases, found ${dirs.length}`);
});

for (const dir of dirs) {
  const mustFail = dir.endsWith('_fail');
  test(`conformance ${dir} ${mustFail ? 'is rejected' : 'verifies'}`, async () => {
    const result = await run(caseArgs(dir));
    if (mustFail) {
      assert.equal(result.code, 1, `expected rejection, got exit ${result.code}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /^conformance-client: \[[A-Z0-9_]+\] .+\n$/, 'one line with a code');
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    } else {
      assert.equal(result.code, 0, `expected success, got exit ${result.code}: ${result.stderr}`);
      assert.match(result.stdout, /^Verified OK: signed by .+ logged at .+ index \d+/);
    }
  });
}

test('a digest stands in for the artifact (sha256:HEX)', async () => {
  const { createHash } = await import('node:crypto');
  const { readFileSync } = await import('node:fs');
  const digest = createHash('sha256').update(readFileSync(join(cases, 'a.txt'))).digest('hex');
  const args = caseArgs('happy-path-v0.3');
  args[args.length - 1] = `sha256:${digest}`;
  const ok = await run(args);
  assert.equal(ok.code, 0, ok.stderr);
  args[args.length - 1] = `sha256:${'0'.repeat(64)}`;
  const bad = await run(args);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /ARTIFACT_DIGEST_MISMATCH/);
});
