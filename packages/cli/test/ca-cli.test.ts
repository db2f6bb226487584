// `sigstack oidc-dev serve`, `dev-token` (--dir and --url), `ca init` and `ca serve` end to end:
// real processes on loopback, a CT log, and a certificate for a token printed by dev-token.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { X509, generateKeyPair, pemDecodeAll, pemEncode } from '@sigstack/core';
import { serverModule } from '../src/commands/ca.js';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sigstack-ca-cli-'));
const children: ChildProcess[] = [];

after(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
});

function sigstack(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** Starts a long-running command and waits for its "serving at URL" line. */
function serve(args: string[]): Promise<{ url: string; stderr: () => string; child: ChildProcess }> {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const match = /serving at (http:\/\/\S+)/.exec(err);
      if (match) resolve({ url: match[1]!, stderr: () => err, child });
    });
    child.once('exit', (code) => reject(new Error(`sigstack ${args.join(' ')} exited (${code}): ${err}`)));
  });
}

function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

test('oidc-dev serve + dev-token (--dir and --url) + ca init + ca serve: a certificate for the printed token', async () => {
  const oidcDir = join(dir, 'oidc');
  const issuer = await serve(['oidc-dev', 'serve', '--dir', oidcDir, '--port', '0']);
  assert.match(issuer.stderr(), /DEVELOPMENT ONLY/);
  assert.deepEqual(JSON.parse(readFileSync(join(oidcDir, 'oidc-dev-issuer.json'), 'utf8')), { issuer: issuer.url });

  const local = await sigstack(['dev-token', '--dir', oidcDir, '--email', 'carol@example.test']);
  assert.equal(local.code, 0, local.stderr);
  const token = local.stdout.trim();
  assert.equal(token.split('.').length, 3);
  assert.equal(claims(token)['iss'], issuer.url);
  assert.equal(claims(token)['aud'], 'sigstore');
  assert.equal(claims(token)['email'], 'carol@example.test');
  const remote = await sigstack(['dev-token', '--url', issuer.url, '--email', 'dave@example.test', '--subject', 'dave', '--audience', 'other']);
  assert.equal(remote.code, 0, remote.stderr);
  assert.equal(claims(remote.stdout.trim())['sub'], 'dave');
  assert.equal(claims(remote.stdout.trim())['aud'], 'other');

  // The CA hierarchy first: the CT log accepts chains up to its root.
  const caDir = join(dir, 'ca');
  const unknownType = await sigstack(['ca', 'init', '--dir', caDir, '--ca-key-type', 'P-192']);
  assert.equal(unknownType.code, 2);
  assert.match(unknownType.stderr, /\[USAGE\] --ca-key-type P-192 is not a CA key type: use one of P-256, P-384/);
  assert.ok(!existsSync(caDir), 'nothing made');
  const init = await sigstack(['ca', 'init', '--dir', caDir, '--ca-key-type', 'P-384']);
  assert.equal(init.code, 0, init.stderr);
  const rootPath = init.stdout.trim();
  assert.ok(existsSync(rootPath));
  assert.equal(X509.fromDer(pemDecodeAll(readFileSync(rootPath, 'utf8'))[0]!.der).signatureAlgorithm.name, 'ecdsa-with-SHA384', 'the P-384 root asked for');
  const { startCtLogService } = await serverModule('ctlog');
  const ct = await startCtLogService({ dir: join(dir, 'ct'), rootsPem: readFileSync(rootPath, 'utf8') });
  try {
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `oidc-issuers:\n  ${issuer.url}:\n    issuer-url: ${issuer.url}\n    client-id: sigstore\n    type: email\n`);
    const ctKey = join(dir, 'ct.pem');
    writeFileSync(ctKey, pemEncode('PUBLIC KEY', ct.ctLog.spki));
    const ca = await serve(['ca', 'serve', '--dir', caDir, '--port', '0', '--oidc-config', config, '--ct-url', ct.url, '--ct-public-key', ctKey]);
    assert.match(ca.stderr(), /1 OIDC issuer/);

    const key = generateKeyPair('ec', { namedCurve: 'P-256' });
    const response = await fetch(`${ca.url}/api/v2/signingCert`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: pemEncode('PUBLIC KEY', key.spki) }, proofOfPossession: sign('sha256', Buffer.from('carol@example.test'), key.privateKey).toString('base64') } }),
    });
    const body = (await response.json()) as { signedCertificateEmbeddedSct: { chain: { certificates: string[] } } };
    assert.equal(response.status, 200, JSON.stringify(body));
    const [leaf, , root] = body.signedCertificateEmbeddedSct.chain.certificates.map((pem) => X509.fromDer(pemDecodeAll(pem)[0]!.der));
    assert.deepEqual(leaf!.subjectAltNames, [{ kind: 'email', value: 'carol@example.test' }]);
    assert.equal(leaf!.oidcIssuer, issuer.url);
    assert.deepEqual(root!.der, pemDecodeAll(readFileSync(rootPath, 'utf8'))[0]!.der, 'the hierarchy made by ca init');
    assert.equal(ct.log.checkpoint.size, 1);
  } finally {
    await ct.close();
  }
});

test('usage errors and missing issuer state are one coded line', async () => {
  const noConfig = await sigstack(['ca', 'serve', '--dir', join(dir, 'x'), '--ct-url', 'http://127.0.0.1:1']);
  assert.equal(noConfig.code, 2);
  assert.match(noConfig.stderr, /\[USAGE\] --oidc-config FILE is required/);
  const noKey = await sigstack(['dev-token', '--dir', join(dir, 'empty'), '--email', 'e@example.test']);
  assert.equal(noKey.code, 1);
  assert.match(noKey.stderr, /\[DEV_ISSUER_KEY_MISSING\].*oidc-dev serve --dir/);
  const both = await sigstack(['dev-token', '--dir', 'a', '--url', 'http://b', '--email', 'e@example.test']);
  assert.equal(both.code, 2);
  const badConfig = join(dir, 'bad.json');
  writeFileSync(badConfig, '{"OIDCIssuers": {"https://x.example.com": {"Type": "nope"}}}');
  const refused = await sigstack(['ca', 'serve', '--dir', join(dir, 'ca-bad'), '--port', '0', '--oidc-config', badConfig, '--ct-url', 'http://127.0.0.1:1']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /\[CONFIG_INVALID\].*unknown Type "nope"/);
});
