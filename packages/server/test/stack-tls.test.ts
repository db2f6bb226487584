// `sigstack up` serving HTTPS itself (the built CLI, as an operator runs it) with a certificate
// from a test CA made here by openssl: `sigstack sign`, `sigstack trust init` and sigstore-js
// sign and fetch over TLS (trusting the CA through NODE_EXTRA_CA_CERTS, as a user would), both
// verifiers accept the bundles, and SIGHUP swaps in a renewed certificate (a bad one is refused
// and the old one kept).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseBundle, parseTrustedRoot } from '@sigstack/core';
import { TrustMaterial, Verifier } from '@sigstack/verify';
import { startTestOidcProvider, type TestOidcProvider } from './oidc-provider.js';
import { freePort } from './nginx.js';

const require = createRequire(import.meta.url);
const sigstoreVerify = require('@sigstore/verify');
const sigstoreBundle = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = join(repo, 'packages/cli/dist/bundle/main.js');
const EMAIL = 'tls@corp.example';
const dir = mkdtempSync(join(tmpdir(), 'sigstack-tls-'));
const stackDir = join(dir, 'stack');
const pki = (name: string) => join(dir, name);
const artifact = join(dir, 'artifact.txt');
let provider: TestOidcProvider;
let up: ChildProcess;
let stderr = '';
let port: number;
let base: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A server certificate for 127.0.0.1 signed by the test CA. */
function serverCertificate(name: string, serial: string): void {
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', pki(`${name}.key`));
  openssl('req', '-new', '-key', pki(`${name}.key`), '-subj', '/CN=127.0.0.1', '-out', pki(`${name}.csr`));
  writeFileSync(pki(`${name}.ext`), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n');
  openssl('x509', '-req', '-in', pki(`${name}.csr`), '-CA', pki('ca.crt'), '-CAkey', pki('ca.key'), '-set_serial', serial, '-days', '2', '-extfile', pki(`${name}.ext`), '-out', pki(`${name}.crt`));
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: repo, timeout: 30_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const trustingCa = () => ({ NODE_EXTRA_CA_CERTS: pki('ca.crt') });

/** The serial number of the certificate the stack presents now. */
function servedSerial(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(pki('ca.crt')) }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

before(async () => {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', pki('ca.key'), '-subj', '/CN=sigstack test CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-out', pki('ca.crt'));
  serverCertificate('one', '0x01');
  serverCertificate('two', '0x02');
  copyFileSync(pki('one.crt'), pki('server.crt'));
  copyFileSync(pki('one.key'), pki('server.key'));
  writeFileSync(artifact, 'signed over TLS\n');
  provider = await startTestOidcProvider();
  writeFileSync(pki('issuers.json'), JSON.stringify({ OIDCIssuers: { [provider.issuer]: { IssuerURL: provider.issuer, ClientID: 'sigstore', Type: 'email' } } }));
  port = await freePort();
  base = `https://127.0.0.1:${port}`;
  const args = [cli, 'up', '--dir', stackDir, '--port', String(port), '--bind', '127.0.0.1', '--public-url', base, '--oidc-config', pki('issuers.json'), '--tls-cert', pki('server.crt'), '--tls-key', pki('server.key')];
  up = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  up.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sigstack up did not come up in 20 s:\n${output}\n${stderr}`)), 20_000);
    up.once('exit', (code) => reject(new Error(`sigstack up exited (${code}):\n${output}\n${stderr}`)));
    up.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ctrl-C stops it.')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  assert.match(output, new RegExp(`sigstack is up: ${base.replace(/[.]/g, '\\.')}`));
  assert.doesNotMatch(output, /OIDC issuer \(dev\)/);
});

after(async () => {
  if (up && up.exitCode === null) {
    const exited = new Promise((resolve) => up.once('exit', resolve));
    up.kill('SIGTERM');
    await exited;
  }
  await provider?.close();
  rmSync(dir, { recursive: true, force: true });
});

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

async function verifyBoth(what: string, bundle: Record<string, unknown>, root: Record<string, unknown>): Promise<void> {
  const data = readFileSync(artifact);
  const ours = await new Verifier(new TrustMaterial(parseTrustedRoot(root))).verify(parseBundle(bundle), { kind: 'bytes', data }, { identity: EMAIL, issuer: provider.issuer });
  assert.equal(ours.tlogEntries[0]?.logUrl, base, what);
  const trust = sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(root));
  const signer = new sigstoreVerify.Verifier(trust).verify(sigstoreVerify.toSignedEntity(sigstoreBundle.bundleFromJSON(bundle), data), { subjectAlternativeName: EMAIL, extensions: { issuer: provider.issuer } });
  assert.equal(signer.identity?.subjectAlternativeName, EMAIL, what);
}

test('sigstack trust init fetches the trust over HTTPS; sigstack sign and verify work against it', async () => {
  const cache = join(dir, 'trust-cache');
  const init = await run([cli, 'trust', 'init', '--url', `${base}/tuf`, '--root', join(stackDir, 'tuf/root.json'), '--dir', cache], trustingCa());
  assert.equal(init.code, 0, init.stderr);
  const untrusted = await run([cli, 'trust', 'init', '--url', `${base}/tuf`, '--root', join(stackDir, 'tuf/root.json'), '--dir', join(dir, 'untrusted')]);
  assert.notEqual(untrusted.code, 0, 'a client that does not trust the test CA cannot fetch');

  const bundle = join(dir, 'sigstack.sigstore.json');
  const token = await provider.token(EMAIL);
  const signed = await run([cli, 'sign', artifact, '--bundle', bundle, '--signing-config', join(cache, 'signing_config.json'), '--trusted-root', join(cache, 'trusted_root.json'), '--identity-token', token], trustingCa());
  assert.equal(signed.code, 0, signed.stderr);
  const verified = await run([cli, 'verify', artifact, '--bundle', bundle, '--certificate-identity', EMAIL, '--certificate-oidc-issuer', provider.issuer, '--trusted-root', join(cache, 'trusted_root.json')]);
  assert.equal(verified.code, 0, verified.stderr);
  await verifyBoth('sigstack over TLS', readJson(bundle), readJson(join(cache, 'trusted_root.json')));
});

test('sigstore-js signs over HTTPS from the signing config (Rekor v2, TSA); both verifiers accept it', async () => {
  const script = join(dir, 'sigstore-js-sign.cjs');
  writeFileSync(
    script,
    `const sign = require(${JSON.stringify(require.resolve('@sigstore/sign'))});
const specs = require(${JSON.stringify(require.resolve('@sigstore/protobuf-specs'))});
const bundles = require(${JSON.stringify(require.resolve('@sigstore/bundle'))});
const fs = require('node:fs');
const [config, token, file, out] = process.argv.slice(2);
const signingConfig = specs.SigningConfig.fromJSON(JSON.parse(fs.readFileSync(config, 'utf8')));
const builder = sign.bundleBuilderFromSigningConfig({ signingConfig, identityProvider: { getToken: async () => token }, bundleType: 'messageSignature' });
builder.create({ data: fs.readFileSync(file) }).then((b) => fs.writeFileSync(out, JSON.stringify(bundles.bundleToJSON(b))), (e) => { console.error(e); process.exit(1); });
`,
  );
  const out = join(dir, 'sigstore-js.sigstore.json');
  const signed = await run([script, join(stackDir, 'signing_config.json'), await provider.token(EMAIL), artifact, out], trustingCa());
  assert.equal(signed.code, 0, signed.stderr);
  const bundle = readJson(out);
  assert.equal((bundle as any).verificationMaterial.tlogEntries[0].kindVersion.version, '0.0.2');
  await verifyBoth('sigstore-js over TLS', bundle, readJson(join(stackDir, 'trusted_root.json')));
});

test('SIGHUP reloads the TLS certificate and key; a bad pair is refused and the old one kept', async () => {
  assert.equal(await servedSerial(), '01');
  const waitFor = async (check: () => Promise<boolean>, what: string) => {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`${what}; stderr:\n${stderr}`);
  };
  copyFileSync(pki('two.crt'), pki('server.crt'));
  copyFileSync(pki('two.key'), pki('server.key'));
  up.kill('SIGHUP');
  await waitFor(async () => (await servedSerial()) === '02', 'the renewed certificate is served after SIGHUP');
  assert.match(stderr, /TLS certificate and key reloaded/);

  copyFileSync(pki('one.key'), pki('server.key')); // no longer matches server.crt
  up.kill('SIGHUP');
  await waitFor(async () => /TLS reload failed.*TLS_FILES_INVALID/.test(stderr), 'a mismatched pair is reported');
  assert.equal(await servedSerial(), '02');
  const response = await run([cli, 'log', 'info', '--url', base], trustingCa());
  assert.equal(response.code, 0, response.stderr);
  assert.equal(up.exitCode, null, 'still running');
});
