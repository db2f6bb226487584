// TUF as the public-good instance runs it, on a stack: `sigstack tuf init` takes the root and
// targets keys offline (3 root keys, threshold 2); a root rotation to new keys is staged and
// published one signature at a time; tuf-js starting from root 1 follows 1 → 2 → 3; after a log
// rotation the server stages the new targets until `sign-targets` signs them, while clients keep
// the current ones; an expired timestamp makes `sigstack trust init` fail with a code and time.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { startStack, TUF_TARGETS, type Stack } from '../src/stack.js';
import { TufRepository } from '../src/tuf/repository.js';
import { registerTufRoutes } from '../src/tuf/http.js';

const require = createRequire(import.meta.url);
const { Updater } = require('tuf-js') as typeof import('tuf-js');
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = join(repo, 'packages/cli/dist/bundle/main.js');
const dir = mkdtempSync(join(tmpdir(), 'sigstack-tuf-offline-'));
const stackDir = join(dir, 'stack');
const keys1 = join(dir, 'offline-1');
const keys2 = join(dir, 'offline-2');
const cache = join(dir, 'tuf-client');
let stack: Stack | undefined;
let port: number;
let root1: string;
const warnings: string[] = [];

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: repo, timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

async function start(): Promise<Stack> {
  stack = await startStack({ dir: stackDir, port, admissionWorkers: 0, warn: (m) => warnings.push(m) });
  return stack;
}

async function stop(): Promise<void> {
  await stack?.close();
  stack = undefined;
}

/** tuf-js from the client's cache (first: root 1): the trusted root target and the versions it trusts. */
async function clientFetch(): Promise<{ rootVersion: number; targetsVersion: number; trustedRoot: Buffer }> {
  const tuf = `http://127.0.0.1:${port}/tuf`;
  const updater = new Updater({ metadataDir: cache, metadataBaseUrl: tuf, targetDir: join(cache, 'targets'), targetBaseUrl: `${tuf}/targets` });
  await updater.refresh();
  const info = await updater.getTargetInfo(TUF_TARGETS.trustedRoot);
  assert.ok(info);
  const path = await updater.downloadTarget(info, join(cache, 'targets', TUF_TARGETS.trustedRoot));
  const version = (name: string) => (JSON.parse(readFileSync(join(cache, name), 'utf8')) as { signed: { version: number } }).signed.version;
  return { rootVersion: version('root.json'), targetsVersion: version('targets.json'), trustedRoot: readFileSync(path) };
}

before(async () => {
  port = 0;
  await start();
  port = Number(new URL(stack!.urls.origin).port);
  mkdirSync(join(cache, 'targets'), { recursive: true });
  root1 = join(dir, 'root-1.json');
  copyFileSync(stack!.files.tufRoot, root1);
  copyFileSync(root1, join(cache, 'root.json'));
  assert.equal((await clientFetch()).rootVersion, 1);
});

after(async () => {
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

test('tuf init takes the root and targets keys offline: root 2 (2 of 3 keys), the online ones deleted', async () => {
  const running = await run(['tuf', 'init', '--dir', stackDir, '--root-keys', '3', '--threshold', '2', '--keys-out', keys1]);
  assert.match(running.stderr, /STACK_RUNNING/);
  await stop();
  const inside = await run(['tuf', 'init', '--dir', stackDir, '--root-keys', '3', '--threshold', '2', '--keys-out', join(stackDir, 'tuf', 'offline')]);
  assert.match(inside.stderr, /TUF_KEYS_OUT_INVALID/);
  const init = await run(['tuf', 'init', '--dir', stackDir, '--root-keys', '3', '--threshold', '2', '--keys-out', keys1]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /published\s+root version 2/);
  assert.match(init.stdout, /published\s+targets version 2/);
  for (const file of ['root-1.pem', 'root-2.pem', 'root-3.pem', 'targets-1.pem']) assert.equal(statSync(join(keys1, file)).mode & 0o777, 0o600, file);
  assert.equal(existsSync(join(stackDir, 'tuf/keys/root.pem')), false);
  assert.equal(existsSync(join(stackDir, 'tuf/keys/targets.pem')), false);
  assert.ok(existsSync(join(stackDir, 'tuf/keys/timestamp.pem')) && existsSync(join(stackDir, 'tuf/keys/snapshot.pem')));
  const root2 = JSON.parse(readFileSync(join(stackDir, 'tuf/repository/2.root.json'), 'utf8'));
  assert.equal(root2.signed.roles.root.threshold, 2);
  assert.equal(root2.signed.roles.root.keyids.length, 3);
  const again = await run(['tuf', 'init', '--dir', stackDir, '--root-keys', '1', '--threshold', '1', '--keys-out', join(dir, 'x')]);
  assert.match(again.stderr, /TUF_ALREADY_OFFLINE/);
});

test('a root rotation to new keys is staged and published once the old threshold signs; tuf-js follows 1 → 2 → 3', async () => {
  const staged = await run(['tuf', 'rotate-root', '--dir', stackDir, '--root-keys', '2', '--threshold', '2', '--keys-out', keys2]);
  assert.equal(staged.code, 0, staged.stderr);
  assert.match(staged.stdout, /staged\s+root version 3: needs 2 more signature\(s\) by the keys of root version 2/);
  const wrong = await run(['tuf', 'sign-root', '--dir', stackDir, '--key', join(keys1, 'targets-1.pem')]);
  assert.match(wrong.stderr, /TUF_KEY_NOT_TRUSTED/);
  const one = await run(['tuf', 'sign-root', '--dir', stackDir, '--key', join(keys1, 'root-1.pem')]);
  assert.match(one.stdout, /staged\s+root version 3: needs 1 more/);
  assert.equal(existsSync(join(stackDir, 'tuf/repository/3.root.json')), false, 'not published below the threshold');
  const two = await run(['tuf', 'sign-root', '--dir', stackDir, '--key', join(keys1, 'root-3.pem')]);
  assert.equal(two.code, 0, two.stderr);
  assert.match(two.stdout, /published\s+root version 3/);

  await start();
  const fetched = await clientFetch();
  assert.equal(fetched.rootVersion, 3, 'tuf-js went from root 1 to root 3');
  assert.ok(fetched.trustedRoot.equals(readFileSync(stack!.files.trustedRoot)));
  const init = await run(['trust', 'init', '--url', stack!.urls.tuf, '--root', root1, '--dir', join(dir, 'trust-cache')]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stderr, /TUF root version 3/);
});

test('with the targets key offline, changed trust files wait for sign-targets; clients keep the current targets until then', async () => {
  const before = await clientFetch();
  await stop();
  await new Promise((r) => setTimeout(r, 1000));
  const rotated = await run(['log', 'rotate', '--dir', stackDir]);
  assert.equal(rotated.code, 0, rotated.stderr);
  warnings.length = 0;
  await start();
  assert.ok(warnings.some((w) => /targets key is offline: staged as version/.test(w)), warnings.join('\n'));
  const waiting = await clientFetch();
  assert.equal(waiting.targetsVersion, before.targetsVersion);
  assert.ok(waiting.trustedRoot.equals(before.trustedRoot), 'the current targets are still served');
  assert.ok(!waiting.trustedRoot.equals(readFileSync(stack!.files.trustedRoot)));

  // Signed while the stack runs: published at once, with a new snapshot and timestamp.
  const signed = await run(['tuf', 'sign-targets', '--dir', stackDir, '--key', join(keys1, 'targets-1.pem')]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stdout, /published\s+targets version/);
  const after = await clientFetch();
  assert.equal(after.targetsVersion, before.targetsVersion + 1);
  assert.ok(after.trustedRoot.equals(readFileSync(stack!.files.trustedRoot)), 'the new trusted root (two log shards)');
  assert.equal((JSON.parse(after.trustedRoot.toString()) as { tlogs: unknown[] }).tlogs.length, 2);
  // The running server's hourly refresh rereads what was signed and keeps it.
  stack!.tuf.refresh();
  assert.equal((await clientFetch()).targetsVersion, after.targetsVersion);
});

test('an expired timestamp makes trust init fail with TUF_TIMESTAMP_EXPIRED and the time', async () => {
  const tufDir = join(dir, 'expired-tuf');
  const repository = TufRepository.open({ dir: tufDir });
  repository.publish([{ name: TUF_TARGETS.trustedRoot, data: readFileSync(join(stackDir, 'trusted_root.json')) }], { now: new Date(Date.now() - 2 * 86400_000) });
  const expires = repository.timestampExpires!.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const app = Fastify();
  registerTufRoutes(app, repository);
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/tuf`;
    const result = await run(['trust', 'init', '--url', url, '--root', join(tufDir, 'root.json'), '--dir', join(dir, 'expired-cache')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[TUF_TIMESTAMP_EXPIRED\] the TUF timestamp metadata of .* expired at /);
    assert.ok(result.stderr.includes(expires), `names the time ${expires}: ${result.stderr}`);
    assert.equal(existsSync(join(dir, 'expired-cache', 'trusted_root.json')), false, 'no stale answer');
  } finally {
    await app.close();
  }
});
