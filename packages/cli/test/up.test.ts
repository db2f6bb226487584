// `sigstack up` as a user runs it (the built CLI, port 0, a temporary directory): its printed
// "try it" lines work as printed, the conformance client's sign-bundle → verify-bundle round trip
// (blob and --in-toto) passes against it, and `sigstack trust init` fetches its trust over TUF.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = join(repo, 'packages/cli/dist/bundle/main.js');
const client = join(repo, 'bin/conformance-client');
const dir = mkdtempSync(join(tmpdir(), 'sigstack-up-'));
const stackDir = join(dir, 'stack');
const EMAIL = 'conformance@example.test';

let up: ChildProcess;
let output = '';
let exited: Promise<number | null>;

interface Printed {
  origin: string;
  oidc: string;
  tuf: string;
  tryIt: string[];
}
let printed: Printed;

function run(file: string, args: string[], options: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd ?? repo, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The value column of a row printed as `  <label>  <value> [note]`. */
function row(label: string): string {
  const line = output.split('\n').find((l) => l.startsWith(`  ${label}`));
  assert.ok(line, `up printed a "${label}" line:\n${output}`);
  return line.slice(2 + label.length).trim().split(/\s+/)[0] as string;
}

before(async () => {
  up = spawn(process.execPath, [cli, 'up', '--dir', stackDir, '--port', '0'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  up.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  exited = new Promise((resolve) => up.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sigstack up did not come up in 20 s:\n${output}\n${stderr}`)), 20_000);
    up.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ctrl-C stops it.')) {
        clearTimeout(timer);
        resolve();
      }
    });
    up.once('exit', (code) => reject(new Error(`sigstack up exited (${code}):\n${output}\n${stderr}`)));
  });
  const origin = /^sigstack is up: (http:\/\/127\.0\.0\.1:\d+) /m.exec(output)?.[1];
  assert.ok(origin, output);
  const tryIt = output.split('\ntry it:\n')[1]?.split('\n\n')[0]?.split('\n').map((l) => l.replace(/^ {2}/, '')) ?? [];
  printed = { origin, oidc: row('OIDC issuer (dev)'), tuf: row('TUF repository'), tryIt };
});

after(async () => {
  if (up && up.exitCode === null) {
    up.kill('SIGKILL');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test('up prints every service on one port, the trust files and three "try it" lines', () => {
  assert.equal(printed.oidc, `${printed.origin}/oidc`);
  assert.equal(printed.tuf, `${printed.origin}/tuf`);
  assert.equal(row('transparency log'), printed.origin);
  assert.equal(row('timestamp auth.'), `${printed.origin}/api/v1/timestamp`);
  assert.equal(row('trusted root'), join(stackDir, 'trusted_root.json'));
  assert.equal(row('signing config'), join(stackDir, 'signing_config.json'));
  assert.equal(printed.tryIt.length, 3, output);
  assert.match(printed.tryIt[0]!, /^TOKEN=\$\(.* dev-token --url \S+ --email \S+\)$/);
  assert.match(printed.tryIt[1]!, / sign /);
  assert.match(printed.tryIt[2]!, / verify /);
});

test('the printed "try it" lines sign and verify, as printed', async () => {
  const result = await run('bash', ['-e', '-c', printed.tryIt.join('\n')]);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /^Verified OK: signed by you@example\.com \(issuer http:\/\/127\.0\.0\.1:\d+\/oidc\)/m);
  assert.match(result.stderr, /Logged in http:\/\/127\.0\.0\.1:\d+ \(Rekor v2\) at index \d+/);
  assert.match(result.stderr, /Timestamp from /);
});

async function devToken(): Promise<string> {
  const result = await run(process.execPath, [cli, 'dev-token', '--url', printed.oidc, '--email', EMAIL]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

test('dev-token --dir accepts the stack directory `sigstack up` made (its issuer is in DIR/oidc)', async () => {
  const result = await run(process.execPath, [cli, 'dev-token', '--dir', stackDir, '--email', EMAIL]);
  assert.equal(result.code, 0, result.stderr);
  const payload = JSON.parse(Buffer.from(result.stdout.trim().split('.')[1]!, 'base64url').toString('utf8'));
  assert.equal(payload.iss, printed.oidc);
  assert.equal(payload.email, EMAIL);
});

test('conformance client: sign-bundle then verify-bundle against the stack, blob and --in-toto', async () => {
  const trustedRoot = join(stackDir, 'trusted_root.json');
  const signingConfig = join(stackDir, 'signing_config.json');
  const artifact = join(dir, 'artifact.txt');
  writeFileSync(artifact, 'signed by the conformance client against sigstack up\n');
  const verifyArgs = ['--certificate-identity', EMAIL, '--certificate-oidc-issuer', printed.oidc, '--trusted-root', trustedRoot];

  const blobBundle = join(dir, 'blob.sigstore.json');
  const signed = await run(client, ['sign-bundle', '--identity-token', await devToken(), '--bundle', blobBundle, '--signing-config', signingConfig, '--trusted-root', trustedRoot, artifact]);
  assert.equal(signed.code, 0, signed.stderr);
  const verified = await run(client, ['verify-bundle', '--bundle', blobBundle, ...verifyArgs, artifact]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, new RegExp(`^Verified OK: signed by ${EMAIL.replace('.', '\\.')}`));

  const digest = createHash('sha256').update(readFileSync(artifact)).digest('hex');
  const statement = join(dir, 'statement.json');
  writeFileSync(
    statement,
    JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'artifact.txt', digest: { sha256: digest } }], predicateType: 'https://slsa.dev/provenance/v1', predicate: {} }),
  );
  const dsseBundle = join(dir, 'statement.sigstore.json');
  const attested = await run(client, ['sign-bundle', '--in-toto', '--identity-token', await devToken(), '--bundle', dsseBundle, '--signing-config', signingConfig, '--trusted-root', trustedRoot, statement]);
  assert.equal(attested.code, 0, attested.stderr);
  assert.equal(JSON.parse(readFileSync(dsseBundle, 'utf8')).dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
  for (const subject of [artifact, `sha256:${digest}`]) {
    const checked = await run(client, ['verify-bundle', '--bundle', dsseBundle, ...verifyArgs, subject]);
    assert.equal(checked.code, 0, `${subject}: ${checked.stderr}`);
  }
  // A different file is not the statement's subject.
  const other = await run(client, ['verify-bundle', '--bundle', dsseBundle, ...verifyArgs, statement]);
  assert.equal(other.code, 1);
});

test('trust init fetches the trusted root and signing config through TUF', async () => {
  const cache = join(dir, 'trust-cache');
  const result = await run(process.execPath, [cli, 'trust', 'init', '--url', printed.tuf, '--root', join(stackDir, 'tuf', 'root.json'), '--dir', cache]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^trusted root\s+\S+trusted_root\.json\nsigning config\s+\S+signing_config\.json\n$/);
  assert.ok(readFileSync(join(cache, 'trusted_root.json')).equals(readFileSync(join(stackDir, 'trusted_root.json'))));
  assert.ok(readFileSync(join(cache, 'signing_config.json')).equals(readFileSync(join(stackDir, 'signing_config.json'))));

  // Again from the cache (no --root): the cached TUF root is used and the files are the same.
  const again = await run(process.execPath, [cli, 'trust', 'init', '--url', printed.tuf, '--dir', cache]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /trusted on first use/);

  // A repository whose root does not match the given one is refused.
  const wrongRoot = join(dir, 'wrong-root.json');
  const root = JSON.parse(readFileSync(join(stackDir, 'tuf', 'root.json'), 'utf8'));
  root.signed.expires = '2999-01-01T00:00:00Z';
  writeFileSync(wrongRoot, JSON.stringify(root));
  const refused = await run(process.execPath, [cli, 'trust', 'init', '--url', printed.tuf, '--root', wrongRoot, '--dir', join(dir, 'trust-wrong')]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^sigstack: \[TUF_VERIFICATION_FAILED\] /m);
});

test('up stops cleanly on SIGINT', async () => {
  up.kill('SIGINT');
  assert.equal(await exited, 0);
});
