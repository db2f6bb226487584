// `sigstack up` with its CA and TSA keys on a PKCS#11 token (SoftHSM2 made in a temp dir): the CA
// issues under the intermediate whose key is on the token (chain from --ca-chain), the TSA signs
// with the token key (certified by the stack's own TSA root), no CA or TSA key file is made, and
// a file signed against the stack verifies. Skipped without SoftHSM2 unless CI is set.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import { pemEncode } from '@sigstack/core';
import { buildCaCertificate } from '../src/ca/cert/index.js';
import { keyObjectSigner, loadPkcs11Signer } from '../src/ca/keys/index.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const TOKEN = 'sigstack-up';
const PIN = '4321';
const skip = !existsSync(MODULE) && !process.env['CI'] ? `SoftHSM2 (${MODULE}) is not installed; set CI to require this test` : false;
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = join(repo, 'packages/cli/dist/bundle/main.js');
const dir = mkdtempSync(join(tmpdir(), 'sigstack-up-pkcs11-'));
const stackDir = join(dir, 'stack');
const env = { ...process.env, SOFTHSM2_CONF: join(dir, 'softhsm2.conf'), SIGSTACK_PKCS11_PIN: PIN };
let up: ChildProcess | undefined;
let output = '';
let caChainDer: Buffer[] = [];

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: repo, env, timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

before(async () => {
  if (skip) return;
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(env.SOFTHSM2_CONF, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env['SOFTHSM2_CONF'] = env.SOFTHSM2_CONF;
  const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { env, stdio: 'pipe' });
  sh('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', '8765']);
  const keygen = (type: string, label: string, id: string) => sh('pkcs11-tool', ['--module', MODULE, '--login', '--pin', PIN, '--token-label', TOKEN, '--keypairgen', '--key-type', type, '--label', label, '--id', id]);
  keygen('EC:prime256v1', 'PKCS11CA', '01');
  keygen('EC:prime256v1', 'PKCS11TSA', '02');

  // The CA chain: a root made here certifies an intermediate whose key is the token's PKCS11CA.
  const tokenKey = await loadPkcs11Signer({ modulePath: MODULE, tokenLabel: TOKEN, pin: PIN });
  const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rootSigner = keyObjectSigner(root.privateKey);
  const now = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 30 * 86400_000);
  const rootCert = await buildCaCertificate({ subject: { organization: 'example corp', commonName: 'corp sigstore root' }, spki: rootSigner.spki, signer: rootSigner, notBefore: now, notAfter, pathLength: 1 });
  const intermediate = await buildCaCertificate({ subject: { organization: 'example corp', commonName: 'corp sigstore hsm intermediate' }, spki: tokenKey.spki, parent: { cert: rootCert, signer: rootSigner }, notBefore: now, notAfter, pathLength: 0, codeSigning: true });
  tokenKey.close();
  caChainDer = [intermediate, rootCert];
  writeFileSync(join(dir, 'ca-chain.pem'), caChainDer.map((der) => pemEncode('CERTIFICATE', der)).join(''));

  up = spawn(process.execPath, [cli, 'up', '--dir', stackDir, '--port', '0', '--pkcs11-module', MODULE, '--pkcs11-token', TOKEN, '--ca-chain', join(dir, 'ca-chain.pem'), '--pkcs11-tsa'], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  up.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sigstack up did not start:\n${output}\n${stderr}`)), 30_000);
    up!.once('exit', (code) => reject(new Error(`sigstack up exited (${code}):\n${output}\n${stderr}`)));
    up!.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
      if (output.includes('Ctrl-C stops it.')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
});

after(async () => {
  if (up && up.exitCode === null) {
    const exited = new Promise((r) => up!.once('exit', r));
    up.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test('the stack issues with the token CA key and timestamps with the token TSA key; what it signs verifies', { skip }, async () => {
  for (const file of ['ca/ca-root-key.pem', 'ca/ca-intermediate-key.pem', 'tsa/tsa-key.pem']) assert.equal(existsSync(join(stackDir, file)), false, `${file} is not made`);
  const root = JSON.parse(readFileSync(join(stackDir, 'trusted_root.json'), 'utf8')) as any;
  assert.deepEqual(root.certificateAuthorities[0].certChain.certificates.map((c: { rawBytes: string }) => c.rawBytes), caChainDer.map((d) => d.toString('base64')));
  const token = await run(['dev-token', '--dir', stackDir, '--email', 'hsm@example.test']);
  assert.equal(token.code, 0, token.stderr);
  const artifact = join(dir, 'artifact.txt');
  writeFileSync(artifact, 'signed with keys on a token\n');
  const bundle = join(dir, 'artifact.sigstore.json');
  const signed = await run(['sign', artifact, '--bundle', bundle, '--signing-config', join(stackDir, 'signing_config.json'), '--trusted-root', join(stackDir, 'trusted_root.json'), '--identity-token', token.stdout.trim()]);
  assert.equal(signed.code, 0, signed.stderr);
  const issuer = /OIDC issuer \(dev\)\s+(\S+)/.exec(output)![1]!;
  const verified = await run(['verify', artifact, '--bundle', bundle, '--certificate-identity', 'hsm@example.test', '--certificate-oidc-issuer', issuer, '--trusted-root', join(stackDir, 'trusted_root.json')]);
  assert.equal(verified.code, 0, verified.stderr);
  const made = JSON.parse(readFileSync(bundle, 'utf8')) as any;
  assert.equal(made.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1, 'timestamped by the token TSA key');
});
