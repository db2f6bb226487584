// The CLI commands end to end against the stack on loopback: generate-key-pair then sign --key,
// keyless sign and attest from a signing config, and the conformance client's sign-bundle (blob
// and --in-toto) — each bundle then verified by `sigstack verify` / verify-bundle.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMAIL, devToken, signingConfigFor, startStack, trustedRootFor, type Stack } from './helpers.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = join(repo, 'packages/cli/dist/src/main.js');
const CONFORMANCE = join(repo, 'packages/cli/dist/src/conformance.js');
const dir = mkdtempSync(join(tmpdir(), 'sigstack-sign-cli-'));
let stack: Stack;
const rootPath = join(dir, 'trusted_root.json');
const configV1 = join(dir, 'signing_config.json');
const configV2 = join(dir, 'signing_config_v2.json');
const artifact = join(dir, 'artifact.txt');

function run(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { SIGSTORE_ID_TOKEN: _token, ACTIONS_ID_TOKEN_REQUEST_URL: _actions, ...inherited } = process.env;
    const childEnv: NodeJS.ProcessEnv = { ...inherited, ...env };
    execFile(process.execPath, [script, ...args], { env: childEnv }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  stack = await startStack(dir, { keyless: true });
  writeFileSync(rootPath, JSON.stringify(trustedRootFor(stack)));
  writeFileSync(configV1, JSON.stringify(signingConfigFor(stack, 1)));
  writeFileSync(configV2, JSON.stringify(signingConfigFor(stack, 2, true)));
  writeFileSync(artifact, 'an artifact signed from the command line\n');
});
after(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

test('generate-key-pair, then sign --key and verify --key', async () => {
  const prefix = join(dir, 'cosign');
  const generated = await run(MAIN, ['generate-key-pair', '--output-key-prefix', prefix], { SIGSTACK_PASSWORD: 'hunter2' });
  assert.equal(generated.code, 0, generated.stderr);
  assert.match(generated.stderr, /Wrote private key .*cosign\.key \(encrypted with SIGSTACK_PASSWORD\) and public key .*cosign\.pub/);
  assert.equal(statSync(`${prefix}.key`).mode & 0o777, 0o600);

  const bundle = join(dir, 'key.sigstore.json');
  const noPassword = await run(MAIN, ['sign', artifact, '--key', `${prefix}.key`, '--rekor-url', stack.rekor.url, '--bundle', bundle]);
  assert.equal(noPassword.code, 1);
  assert.match(noPassword.stderr, /^sigstack: \[KEY_PASSWORD_REQUIRED\] .*SIGSTACK_PASSWORD/m);

  const signed = await run(MAIN, ['sign', artifact, '--key', `${prefix}.key`, '--rekor-url', stack.rekor.url, '--bundle', bundle, '--trusted-root', rootPath], { SIGSTACK_PASSWORD: 'hunter2' });
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stderr, /Signing with the managed key .* \(PKIX_ECDSA_P256_SHA_256\)\nLogged in .* \(Rekor v1\) at index \d+\nVerified against .*\nWrote bundle to .*key\.sigstore\.json\n$/);
  const verified = await run(MAIN, ['verify', artifact, '--bundle', bundle, '--key', `${prefix}.pub`, '--trusted-root', rootPath]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, /^Verified OK: signed by the managed key/);
});

test('keyless sign and attest from a signing config, verified by sigstack verify', async () => {
  const token = await devToken(stack);
  const signed = await run(MAIN, ['sign', artifact, '--signing-config', configV1, '--trusted-root', rootPath], { SIGSTORE_ID_TOKEN: token });
  assert.equal(signed.code, 0, signed.stderr);
  const lines = signed.stderr.trim().split('\n');
  assert.match(lines[0]!, new RegExp(`^Identity token from SIGSTORE_ID_TOKEN: ${EMAIL} \\(issuer ${stack.oidc!.url}\\)$`));
  assert.match(lines[1]!, new RegExp(`^Certificate for ${EMAIL} from ${stack.ca!.url} \\(valid until .+\\)$`));
  assert.match(lines[2]!, /^Logged in .* \(Rekor v1\) at index \d+$/);
  assert.equal(lines.at(-1), `Wrote bundle to ${artifact}.sigstore.json`);
  const identity = ['--certificate-identity', EMAIL, '--certificate-oidc-issuer', stack.oidc!.url, '--trusted-root', rootPath];
  const verified = await run(MAIN, ['verify', artifact, '--bundle', `${artifact}.sigstore.json`, ...identity]);
  assert.equal(verified.code, 0, verified.stderr);

  const predicate = join(dir, 'predicate.json');
  writeFileSync(predicate, JSON.stringify({ buildDefinition: { buildType: 'https://example.test/build' } }));
  const attestation = join(dir, 'attestation.sigstore.json');
  const attested = await run(MAIN, ['attest', artifact, '--predicate', predicate, '--type', 'slsaprovenance1', '--identity-token', token, '--signing-config', configV1, '--bundle', attestation]);
  assert.equal(attested.code, 0, attested.stderr);
  const envelope = JSON.parse(readFileSync(attestation, 'utf8')).dsseEnvelope;
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v1');
  assert.deepEqual(statement.subject[0].name, 'artifact.txt');
  const verifiedAttestation = await run(MAIN, ['verify', artifact, '--bundle', attestation, ...identity]);
  assert.equal(verifiedAttestation.code, 0, verifiedAttestation.stderr);

  const usage = await run(MAIN, ['attest', artifact, '--predicate', predicate]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /\[USAGE\] attest needs --type T/);
});

test('conformance sign-bundle (blob and --in-toto) then verify-bundle', async () => {
  const token = await devToken(stack);
  const bundle = join(dir, 'conformance.sigstore.json');
  const signed = await run(CONFORMANCE, ['sign-bundle', '--identity-token', token, '--bundle', bundle, '--trusted-root', rootPath, '--signing-config', configV1, artifact]);
  assert.equal(signed.code, 0, signed.stderr);
  const verified = await run(CONFORMANCE, ['verify-bundle', '--bundle', bundle, '--certificate-identity', EMAIL, '--certificate-oidc-issuer', stack.oidc!.url, '--trusted-root', rootPath, artifact]);
  assert.equal(verified.code, 0, verified.stderr);

  // Rekor v2 with the TSA, from the signing config.
  const bundleV2 = join(dir, 'conformance-v2.sigstore.json');
  const signedV2 = await run(CONFORMANCE, ['sign-bundle', '--identity-token', token, '--bundle', bundleV2, '--trusted-root', rootPath, '--signing-config', configV2, artifact]);
  assert.equal(signedV2.code, 0, signedV2.stderr);
  assert.match(signedV2.stderr, /Timestamp from .*\n.*\(Rekor v2\) at index \d+|\(Rekor v2\) at index \d+\n.*Timestamp from/);
  const verifiedV2 = await run(CONFORMANCE, ['verify-bundle', '--bundle', bundleV2, '--certificate-identity', EMAIL, '--certificate-oidc-issuer', stack.oidc!.url, '--trusted-root', rootPath, artifact]);
  assert.equal(verifiedV2.code, 0, verifiedV2.stderr);

  const statement = join(repo, 'test/fixtures/conformance/statement.json');
  const subject = join(repo, 'test/fixtures/conformance/bundle-verify/a.txt');
  const intoto = join(dir, 'intoto.sigstore.json');
  const signedStatement = await run(CONFORMANCE, ['sign-bundle', '--in-toto', '--identity-token', token, '--bundle', intoto, '--trusted-root', rootPath, '--signing-config', configV1, statement]);
  assert.equal(signedStatement.code, 0, signedStatement.stderr);
  assert.equal(JSON.parse(readFileSync(intoto, 'utf8')).dsseEnvelope.payload, readFileSync(statement).toString('base64'), 'the statement is signed as given');
  const verifiedStatement = await run(CONFORMANCE, ['verify-bundle', '--bundle', intoto, '--certificate-identity', EMAIL, '--certificate-oidc-issuer', stack.oidc!.url, '--trusted-root', rootPath, subject]);
  assert.equal(verifiedStatement.code, 0, verifiedStatement.stderr);

  const bad = await run(CONFORMANCE, ['sign-bundle', '--identity-token', 'not-a-token', '--bundle', bundle, '--signing-config', configV1, artifact]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^conformance-client: \[TOKEN_INVALID\] .+\n$/);
});
