// The stack's keys encrypted at rest (SIGSTACK_KEY_PASSWORD → keyPassword): every key the stack
// makes (log, CT log, CA root and intermediate, TSA, TUF roles, a rotated log shard) is written
// as encrypted PKCS#8; without the password or with a wrong one the stack refuses to start with
// a code; with it, it signs (certificate, Rekor v2 entry, timestamp) as before.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBundle, parseSigningConfig, parseTrustedRoot } from '@sigstack/core';
import { TrustMaterial, Verifier } from '@sigstack/verify';
import { startStack } from '../src/stack.js';
import { rotateLogShard } from '../src/log/shards.js';

const SIGN_PACKAGE = '@sigstack/sign';
const dir = mkdtempSync(join(tmpdir(), 'sigstack-keys-'));
const stackDir = join(dir, 'stack');
const PASSWORD = 'correct horse battery staple';
const KEYS = ['log/log-key.pem', 'ctlog/ctlog-key.pem', 'ca/ca-root-key.pem', 'ca/ca-intermediate-key.pem', 'tsa/tsa-key.pem', 'tsa/tsa-root-key.pem', 'tuf/keys/root.pem', 'tuf/keys/targets.pem', 'tuf/keys/snapshot.pem', 'tuf/keys/timestamp.pem'];

after(() => rmSync(dir, { recursive: true, force: true }));

test('with a key password every stack key is encrypted, the stack signs, and it refuses to start without the password', async () => {
  let stack = await startStack({ dir: stackDir, port: 0, admissionWorkers: 0, keyPassword: PASSWORD, warn: () => {} });
  const port = Number(new URL(stack.urls.origin).port);
  try {
    for (const key of KEYS) assert.match(readFileSync(join(stackDir, key), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/, key);
    const signing = (await import(SIGN_PACKAGE)) as any;
    const minted = await fetch(`${stack.urls.oidc}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'keys@example.test' }) });
    const token = ((await minted.json()) as { id_token: string }).id_token;
    const services = signing.servicesFromSigningConfig(parseSigningConfig(JSON.parse(readFileSync(stack.files.signingConfig, 'utf8'))));
    const signer = new signing.Signer({ services, identityToken: { token, claims: signing.parseIdentityToken(token), source: 'test' } });
    const artifact = Buffer.from('signed with encrypted keys\n');
    const { bundle } = await signer.signMessage(artifact);
    const result = await new Verifier(new TrustMaterial(parseTrustedRoot(JSON.parse(readFileSync(stack.files.trustedRoot, 'utf8'))))).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, { identity: 'keys@example.test', issuer: stack.urls.oidc });
    assert.equal(result.identity, 'keys@example.test');
  } finally {
    await stack.close();
  }

  await assert.rejects(startStack({ dir: stackDir, port, admissionWorkers: 0, warn: () => {} }), (err: { code?: string; message: string }) => err.code === 'KEY_PASSWORD_REQUIRED' && /SIGSTACK_KEY_PASSWORD/.test(err.message));
  await assert.rejects(startStack({ dir: stackDir, port, admissionWorkers: 0, keyPassword: 'wrong', warn: () => {} }), (err: { code?: string }) => err.code === 'KEY_PASSWORD_WRONG');

  await new Promise((r) => setTimeout(r, 1000));
  await rotateLogShard(stackDir, new Date(), PASSWORD);
  assert.match(readFileSync(join(stackDir, 'log-2/log-key.pem'), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  stack = await startStack({ dir: stackDir, port, admissionWorkers: 0, keyPassword: PASSWORD, warn: () => {} });
  assert.equal(stack.logShards.length, 2);
  await stack.close();
});
