// Keyless signing end to end on loopback: a dev OIDC token → the CA (proof of possession, SCT
// from the CT log) → the transparency log → a v0.3 bundle, for a message and an in-toto
// statement, verified with @sigstack/verify and with sigstore-js.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSigningConfig } from '@sigstack/core';
import { INTOTO_PAYLOAD_TYPE, SignError, Signer, buildStatement, explicitTokenProvider, resolveIdentityToken, servicesFromSigningConfig, subjectFor } from '../src/index.js';
import { EMAIL, devToken, signingConfigFor, startStack, verifyBoth, type Stack } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-sign-keyless-'));
let stack: Stack;

before(async () => {
  stack = await startStack(dir, { keyless: true });
});
after(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

test('keyless message signature: dev token → certificate → Rekor v1 → bundle that both verifiers accept', async () => {
  const token = await resolveIdentityToken({ identityToken: await devToken(stack), env: {} });
  assert.equal(token.source, '--identity-token');
  const lines: string[] = [];
  const services = servicesFromSigningConfig(parseSigningConfig(signingConfigFor(stack, 1)));
  const artifact = Buffer.from('signed keylessly against the sigstack stack');
  const result = await new Signer({ services, identityToken: token, log: (l) => lines.push(l) }).signMessage(artifact);
  assert.equal(result.identity, EMAIL);
  assert.ok('certificate' in result.bundle.verificationMaterial);
  const status = lines.join('\n');
  assert.match(status, new RegExp(`Identity token from --identity-token: ${EMAIL}`));
  assert.match(status, new RegExp(`Certificate for ${EMAIL} from ${stack.ca!.url}`));
  assert.match(status, /Logged in .* \(Rekor v1\) at index \d+/);
  const { ours } = await verifyBoth(stack, result.bundle, artifact);
  assert.equal(ours.identity, EMAIL);
});

test('keyless in-toto attestation (DSSE) in Rekor v1 verifies in both verifiers', async () => {
  const services = servicesFromSigningConfig(parseSigningConfig(signingConfigFor(stack, 1)));
  const artifact = Buffer.from('an artifact with provenance');
  const statement = buildStatement([subjectFor('artifact.txt', artifact)], 'https://slsa.dev/provenance/v1', { builder: { id: 'test' } });
  const provider = explicitTokenProvider(await devToken(stack));
  const identityToken = () => resolveIdentityToken({ env: {}, providers: [provider] });
  const result = await new Signer({ services, identityToken }).signDsse(statement, INTOTO_PAYLOAD_TYPE);
  assert.deepEqual(result.bundle.verificationMaterial.tlogEntries[0]!.kindVersion, { kind: 'dsse', version: '0.0.1' });
  await verifyBoth(stack, result.bundle, artifact);
});

test('keyless with Rekor v2 and a TSA timestamp verifies in both verifiers with the default threshold', async () => {
  const services = servicesFromSigningConfig(parseSigningConfig(signingConfigFor(stack, 2, true)));
  const artifact = Buffer.from('keyless, Rekor v2, timestamped');
  const token = await resolveIdentityToken({ env: { SIGSTORE_ID_TOKEN: await devToken(stack) } });
  assert.equal(token.source, 'SIGSTORE_ID_TOKEN');
  const result = await new Signer({ services, identityToken: token }).signMessage(artifact);
  assert.deepEqual(result.bundle.verificationMaterial.tlogEntries[0]!.kindVersion, { kind: 'hashedrekord', version: '0.0.2' });
  assert.equal(result.bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
  await verifyBoth(stack, result.bundle, artifact);

  const statement = buildStatement([subjectFor('artifact.txt', artifact)], 'https://example.test/v1');
  const dsse = await new Signer({ services, identityToken: token }).signDsse(statement, INTOTO_PAYLOAD_TYPE);
  assert.deepEqual(dsse.bundle.verificationMaterial.tlogEntries[0]!.kindVersion, { kind: 'dsse', version: '0.0.2' });
  await verifyBoth(stack, dsse.bundle, artifact);
});

test('signing config selectors: ALL logs (v1 and v2 operators) and EXACT 1 of two TSAs', async () => {
  const config = signingConfigFor(stack, 1, true);
  const validFor = config.rekorTlogUrls[0]!.validFor;
  config.rekorTlogUrls.push({ url: stack.rekor.url, majorApiVersion: 2, validFor, operator: 'another operator' });
  config.rekorTlogConfig = { selector: 'ALL' };
  config.tsaUrls.push({ url: stack.tsa.url, majorApiVersion: 1, validFor, operator: 'another operator' });
  (config as { tsaConfig: unknown }).tsaConfig = { selector: 'EXACT', count: 1 };
  const services = servicesFromSigningConfig(parseSigningConfig(config));
  assert.deepEqual(services.tlogs.map((t) => t.majorApiVersion).sort(), [1, 2]);
  assert.equal(services.tsas.length, 1);
  const artifact = Buffer.from('logged twice');
  const result = await new Signer({ services, identityToken: await resolveIdentityToken({ identityToken: await devToken(stack) }) }).signMessage(artifact);
  const kinds = result.bundle.verificationMaterial.tlogEntries.map((e) => e.kindVersion.version).sort();
  assert.deepEqual(kinds, ['0.0.1', '0.0.2']);
  await verifyBoth(stack, result.bundle, artifact);
});

test('the CA refusing a token is reported with the service, URL and reason', async () => {
  const services = servicesFromSigningConfig(parseSigningConfig(signingConfigFor(stack, 1)));
  const token = await resolveIdentityToken({ identityToken: await devToken(stack) });
  const tampered = { ...token, token: `${token.token.slice(0, -4)}AAAA` };
  await assert.rejects(new Signer({ services, identityToken: tampered }).signMessage(Buffer.from('x')), (err: SignError) => {
    assert.equal(err.code, 'CERTIFICATE_REFUSED');
    assert.match(err.message, new RegExp(`^certificate authority at ${stack.ca!.url}/api/v2/signingCert refused to issue a certificate: HTTP 4\\d\\d: .+`));
    return true;
  });
});
