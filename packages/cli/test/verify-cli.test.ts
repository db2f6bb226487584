// `sigstack verify`'s features for cosign and `gh attestation verify` users, through the bundled
// CLI on real conformance bundles: --type with cosign's aliases, the CI identity flags and
// --certificate-extension (expected against found), --output json, and --bundle-list.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cases = join(repo, 'test/fixtures/conformance/bundle-verify');
const cli = join(repo, 'packages/cli/dist/bundle/main.js');
const IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';
const KEYLESS = ['--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER];
const A_TXT = join(cases, 'a.txt');
const bundle = (name: string) => join(cases, name, 'bundle.sigstore.json');
const DSSE = bundle('happy-path-intoto-in-dsse-v3');
const MESSAGE = bundle('happy-path-v0.3');

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigstack-verify-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function sigstack(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'verify', ...args], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('--type: a cosign alias or URI must be the statement\'s predicateType', async () => {
  assert.equal((await sigstack(['--bundle', DSSE, ...KEYLESS, '--type', 'slsaprovenance1', A_TXT])).code, 0);
  assert.equal((await sigstack(['--bundle', DSSE, ...KEYLESS, '--type', 'https://slsa.dev/provenance/v1', A_TXT])).code, 0);
  const wrong = await sigstack(['--bundle', DSSE, ...KEYLESS, '--type', 'spdxjson', A_TXT]);
  assert.equal(wrong.code, 1);
  assert.equal(wrong.stderr, 'sigstack: [PREDICATE_TYPE_MISMATCH] none of the attestations matched the predicate type: https://spdx.dev/Document, found: https://slsa.dev/provenance/v1\n');
  const notDsse = await sigstack(['--bundle', MESSAGE, ...KEYLESS, '--type', 'openvex', A_TXT]);
  assert.match(notDsse.stderr, /\[PREDICATE_TYPE_MISMATCH\] none of the attestations matched the predicate type: https:\/\/openvex\.dev\/ns, found: no in-toto statement/);
  const unknown = await sigstack(['--bundle', DSSE, ...KEYLESS, '--type', 'sbom', A_TXT]);
  assert.match(unknown.stderr, /\[USAGE\] --type sbom is neither a URI nor one of slsaprovenance/);
});

test('CI identity flags and --certificate-extension: each checks its Fulcio OID, errors show expected against found', async () => {
  const ok = await sigstack([
    '--bundle', MESSAGE, ...KEYLESS,
    '--certificate-github-workflow-repository', 'sigstore-conformance/extremely-dangerous-public-oidc-beacon',
    '--certificate-github-workflow-ref', 'refs/heads/main',
    '--certificate-github-workflow-sha', 'c7b3dfb335f051e1c86bda4c716fac97df62ad81',
    '--certificate-github-workflow-trigger', 'workflow_dispatch',
    '--certificate-github-workflow-name', 'Extremely dangerous OIDC beacon',
    '--certificate-extension', '1.3.6.1.4.1.57264.1.11=github-hosted',
    '--certificate-extension', '1.3.6.1.4.1.57264.1.12=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon',
    A_TXT,
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const sha = await sigstack(['--bundle', MESSAGE, ...KEYLESS, '--certificate-github-workflow-sha', 'deadbeef', A_TXT]);
  assert.equal(sha.stderr, 'sigstack: [EXTENSION_MISMATCH] --certificate-github-workflow-sha: expected "deadbeef", found "c7b3dfb335f051e1c86bda4c716fac97df62ad81"\n');
  const trigger = await sigstack(['--bundle', MESSAGE, ...KEYLESS, '--certificate-github-workflow-trigger', 'push', A_TXT]);
  assert.match(trigger.stderr, /--certificate-github-workflow-trigger: expected "push", found "workflow_dispatch"/);
  const absent = await sigstack(['--bundle', MESSAGE, ...KEYLESS, '--certificate-extension', '1.2.3.4=x', A_TXT]);
  assert.match(absent.stderr, /\[EXTENSION_MISMATCH\] --certificate-extension 1\.2\.3\.4: expected "x", found no extension 1\.2\.3\.4 in the certificate/);
  const malformed = await sigstack(['--bundle', MESSAGE, ...KEYLESS, '--certificate-extension', 'runner=github-hosted', A_TXT]);
  assert.match(malformed.stderr, /\[USAGE\] --certificate-extension runner=github-hosted: write OID=VALUE/);
  const withKey = await sigstack(['--bundle', bundle('managed-key-happy-path'), '--key', join(cases, 'managed-key-happy-path/key.pub'), '--certificate-github-workflow-sha', 'x', A_TXT]);
  assert.match(withKey.stderr, /\[USAGE\] --key verifies a managed key and takes no --certificate-\* flags/);
});

test('--output json: one object with identity, issuer, Fulcio extensions by name, entries, times and the statement', async () => {
  const message = await sigstack(['--bundle', MESSAGE, ...KEYLESS, '--output', 'json', A_TXT]);
  assert.equal(message.code, 0, message.stderr);
  const json = JSON.parse(message.stdout);
  assert.equal(json.verified, true);
  assert.equal(json.identity, IDENTITY);
  assert.equal(json.issuer, ISSUER);
  assert.equal(json.certificateExtensions.githubWorkflowRepository, 'sigstore-conformance/extremely-dangerous-public-oidc-beacon');
  assert.equal(json.certificateExtensions.runnerEnvironment, 'github-hosted');
  assert.equal(json.certificateExtensions.sourceRepositoryVisibilityAtSigning, 'public');
  assert.deepEqual(json.tlogEntries, [{ logUrl: 'https://rekor.sigstore.dev', logIndex: 79571823 }]);
  assert.deepEqual(json.signedAt, ['2024-03-19T17:26:26.000Z']);
  assert.equal(json.statement, undefined);
  const dsse = JSON.parse((await sigstack(['--bundle', DSSE, ...KEYLESS, '--output', 'json', A_TXT])).stdout);
  assert.equal(dsse.statement.predicateType, 'https://slsa.dev/provenance/v1');
  assert.equal(dsse.statement._type, 'https://in-toto.io/Statement/v1');
  assert.ok(Array.isArray(dsse.statement.subject) && dsse.statement.subject.length > 0);
  const managed = JSON.parse((await sigstack(['--bundle', bundle('managed-key-happy-path'), '--key', join(cases, 'managed-key-happy-path/key.pub'), '--output', 'json', A_TXT])).stdout);
  assert.equal(managed.identity, null);
  assert.deepEqual(managed.certificateExtensions, {});
  assert.match((await sigstack(['--bundle', MESSAGE, ...KEYLESS, '--output', 'yaml', A_TXT])).stderr, /\[USAGE\] --output yaml: use json/);
});

test('--bundle-list: every pair verified on the pool, one line each in order, exit 1 if any failed', async () => {
  const good = join(dir, 'good.txt');
  writeFileSync(good, `# artifact bundle\n${A_TXT} ${MESSAGE}\n\n${A_TXT}   ${DSSE}\n`);
  const ok = await sigstack(['--bundle-list', good, ...KEYLESS]);
  assert.equal(ok.code, 0, ok.stderr);
  const lines = ok.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, new RegExp(`^OK ${A_TXT} ${MESSAGE}: Verified OK: .* index 79571823`));
  assert.match(lines[1]!, new RegExp(`^OK ${A_TXT} ${DSSE}: Verified OK`));
  assert.match(ok.stderr, /2 of 2 bundles verified/);

  const mixed = join(dir, 'mixed.txt');
  writeFileSync(mixed, [`${A_TXT} ${MESSAGE}`, `${A_TXT} ${bundle('signature-mismatch_fail')}`, `${A_TXT} ${join(dir, 'missing.json')}`, `sha256:${'0'.repeat(64)} ${MESSAGE}`].join('\n'));
  const bad = await sigstack(['--bundle-list', mixed, ...KEYLESS, '--output', 'json']);
  assert.equal(bad.code, 1);
  const results = bad.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(results.map((r) => r.verified), [true, false, false, false]);
  assert.equal(results[0].identity, IDENTITY);
  assert.match(results[1].error.code, /^[A-Z_]+$/);
  assert.equal(results[2].error.code, 'BUNDLE_UNREADABLE');
  assert.equal(results[3].error.code, 'ARTIFACT_DIGEST_MISMATCH');

  const malformed = join(dir, 'malformed.txt');
  writeFileSync(malformed, `${A_TXT}\n`);
  assert.match((await sigstack(['--bundle-list', malformed, ...KEYLESS])).stderr, /\[USAGE\] .*malformed\.txt line 1: expected "ARTIFACT BUNDLE"/);
  assert.match((await sigstack(['--bundle-list', good, '--bundle', MESSAGE, ...KEYLESS])).stderr, /\[USAGE\] --bundle-list names every artifact and bundle/);
});
