// `sigstack up` with its CA, TSA and log keys on a PKCS#11 token (SoftHSM2 made in a temp dir):
// the CA issues under the intermediate whose key is on the token (chain from --ca-chain), the TSA
// and the transparency log sign with token keys, no such key file is made, and files signed
// against the stack (Rekor v1 and v2) verify, also after the log is rotated onto another token
// key. Skipped without SoftHSM2 unless CI is set.

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
import { storeArgs } from './stack-store.js';

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
  keygen('EC:prime256v1', 'PKCS11LOG', '03');
  keygen('EC:prime256v1', 'PKCS11LOG2', '04');

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

  await startUp('0');
});

async function startUp(port: string): Promise<void> {
  output = '';
  up = spawn(process.execPath, [cli, 'up', '--dir', stackDir, '--port', port, '--pkcs11-module', MODULE, '--pkcs11-token', TOKEN, '--ca-chain', join(dir, 'ca-chain.pem'), '--pkcs11-tsa', '--pkcs11-log', ...storeArgs()], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  up.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sigstack up did not start:\n${output}\n${stderr}`)), 30_000);
    up!.once('exit', (code) => reject(new Error(`sigstack up exited (${code}):\n${output}\n${stderr}`)));
    up!.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
      if (output.includes('Ctrl-C stops it.')) {
        clearTimeout(timer);
        up!.removeAllListeners('exit');
        resolve();
      }
    });
  });
}

async function stopUp(): Promise<void> {
  if (!up || up.exitCode !== null) return;
  const exited = new Promise((r) => up!.once('exit', r));
  up.kill('SIGTERM');
  await exited;
}

const artifact = join(dir, 'artifact.txt');
const bundles: string[] = [];

/** Signs the artifact with the stack's signing config, only Rekor API `version`, and verifies every bundle so far. */
async function signAndVerify(version: 1 | 2): Promise<void> {
  const token = await run(['dev-token', '--dir', stackDir, '--email', 'hsm@example.test']);
  assert.equal(token.code, 0, token.stderr);
  const config = JSON.parse(readFileSync(join(stackDir, 'signing_config.json'), 'utf8'));
  config.rekorTlogUrls = config.rekorTlogUrls.filter((s: { majorApiVersion: number }) => s.majorApiVersion === version);
  const configPath = join(dir, `signing_config.v${version}.json`);
  writeFileSync(configPath, JSON.stringify(config));
  const bundle = join(dir, `artifact.${bundles.length}.sigstore.json`);
  const signed = await run(['sign', artifact, '--bundle', bundle, '--signing-config', configPath, '--trusted-root', join(stackDir, 'trusted_root.json'), '--identity-token', token.stdout.trim()]);
  assert.equal(signed.code, 0, signed.stderr);
  bundles.push(bundle);
  const issuer = /OIDC issuer \(dev\)\s+(\S+)/.exec(output)![1]!;
  for (const b of bundles) {
    const verified = await run(['verify', artifact, '--bundle', b, '--certificate-identity', 'hsm@example.test', '--certificate-oidc-issuer', issuer, '--trusted-root', join(stackDir, 'trusted_root.json')]);
    assert.equal(verified.code, 0, `${b}: ${verified.stderr}`);
  }
}

after(async () => {
  await stopUp();
  rmSync(dir, { recursive: true, force: true });
});

test('the stack issues with the token CA key and timestamps and logs with token keys; what it signs verifies', { skip }, async () => {
  for (const file of ['ca/ca-root-key.pem', 'ca/ca-intermediate-key.pem', 'tsa/tsa-key.pem', 'log/log-key.pem']) assert.equal(existsSync(join(stackDir, file)), false, `${file} is not made`);
  const root = JSON.parse(readFileSync(join(stackDir, 'trusted_root.json'), 'utf8')) as any;
  assert.deepEqual(root.certificateAuthorities[0].certChain.certificates.map((c: { rawBytes: string }) => c.rawBytes), caChainDer.map((d) => d.toString('base64')));
  const tokenLog = await loadPkcs11Signer({ modulePath: MODULE, tokenLabel: TOKEN, pin: PIN, keyLabel: 'PKCS11LOG' });
  assert.equal(root.tlogs[0].publicKey.rawBytes, tokenLog.spki.toString('base64'), 'the log key is the token key');
  assert.equal(root.tlogs[0].publicKey.keyDetails, 'PKIX_ECDSA_P256_SHA_256');
  tokenLog.close();
  writeFileSync(artifact, 'signed with keys on a token\n');
  await signAndVerify(2);
  await signAndVerify(1);
  const made = JSON.parse(readFileSync(bundles[0]!, 'utf8')) as any;
  assert.equal(made.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1, 'timestamped by the token TSA key');
});

test('the log rotates onto another token key; old and new bundles verify', { skip }, async () => {
  const port = new URL(/sigstack is up: (\S+)/.exec(output)![1]!).port;
  await stopUp();
  await new Promise((r) => setTimeout(r, 1000));
  const rotated = await run(['log', 'rotate', '--dir', stackDir, '--pkcs11-key-label', 'PKCS11LOG2', ...storeArgs()]);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.equal(existsSync(join(stackDir, 'log-2', 'log-key.pem')), false);
  await startUp(port);
  const root = JSON.parse(readFileSync(join(stackDir, 'trusted_root.json'), 'utf8')) as any;
  assert.equal(root.tlogs.length, 2);
  const tokenLog2 = await loadPkcs11Signer({ modulePath: MODULE, tokenLabel: TOKEN, pin: PIN, keyLabel: 'PKCS11LOG2' });
  assert.equal(root.tlogs[1].publicKey.rawBytes, tokenLog2.spki.toString('base64'));
  tokenLog2.close();
  await signAndVerify(2);
  await signAndVerify(1);
});
