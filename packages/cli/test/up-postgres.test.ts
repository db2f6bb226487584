// `sigstack up --postgres` as an operator runs it: two processes of the built CLI on one
// PostgreSQL database (a server of the test's own), the second given a copy of the first's
// --dir. The printed "try it" lines work; a file signed through one verifies with the other's
// trust files and is found through the other's search and explorer; SIGKILL of the process that
// sequences and the other takes over and keeps logging. A start without --postgres
// and a directory-only backup are refused with a code; one log's schema is backed up and restored.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterLogInfo, startLocalPostgres, type LocalPostgres } from '@sigstack/server';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = join(repo, 'packages/cli/dist/bundle/main.js');
const dir = mkdtempSync(join(tmpdir(), 'sigstack-up-pg-'));
const EMAIL = 'pg@example.test';

interface Up {
  dir: string;
  child: ChildProcess;
  output: string;
  origin: string;
  oidc: string;
  tryIt: string[];
  exited: Promise<number | null>;
}

let server: LocalPostgres;
let url: string;
const ups: Up[] = [];

function run(args: string[], timeout = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: repo, timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function bash(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-e', '-c', script], { cwd: repo, timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

async function up(stackDir: string): Promise<Up> {
  const child = spawn(process.execPath, [cli, 'up', '--dir', stackDir, '--port', '0', '--postgres', url], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sigstack up --postgres did not come up in 30 s:\n${output}\n${stderr}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ctrl-C stops it.')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`sigstack up --postgres exited (${code}):\n${output}\n${stderr}`)));
  });
  const origin = /^sigstack is up: (http:\/\/127\.0\.0\.1:\d+) /m.exec(output)?.[1];
  assert.ok(origin, output);
  assert.match(output, /^sigstack is up: \S+ \(data in \S+, logs in PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/\w+\)$/m);
  const tryIt = output.split('\ntry it:\n')[1]?.split('\n\n')[0]?.split('\n').map((l) => l.replace(/^ {2}/, '')) ?? [];
  return { dir: stackDir, child, output, origin, oidc: `${origin}/oidc`, tryIt, exited };
}

before(async () => {
  server = await startLocalPostgres();
  url = await server.createDatabase();
  const first = await up(join(dir, 'a'));
  ups.push(first);
  // The second process is given a copy of the first one's key material (its --dir).
  cpSync(first.dir, join(dir, 'b'), { recursive: true });
  ups.push(await up(join(dir, 'b')));
});

after(async () => {
  for (const u of ups) {
    if (u.child.exitCode === null && u.child.signalCode === null) {
      u.child.kill('SIGKILL');
      await u.exited;
    }
  }
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function token(via: Up): Promise<string> {
  const result = await run(['dev-token', '--url', via.oidc, '--email', EMAIL]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

/** Signs a new file through `via` (its signing config); returns the file, its bundle and the sign command's stderr. */
async function signThrough(via: Up, name: string): Promise<{ file: string; bundle: string; stderr: string }> {
  const file = join(dir, name);
  writeFileSync(file, `${name}: signed through ${via.origin}\n`);
  const bundle = `${file}.sigstore.json`;
  const signed = await run(['sign', file, '--bundle', bundle, '--signing-config', join(via.dir, 'signing_config.json'), '--trusted-root', join(via.dir, 'trusted_root.json'), '--identity-token', await token(via)]);
  assert.equal(signed.code, 0, signed.stderr);
  return { file, bundle, stderr: signed.stderr };
}

async function verifyWith(trustDir: string, signed: { file: string; bundle: string }, issuer: string): Promise<void> {
  const verified = await run(['verify', signed.file, '--bundle', signed.bundle, '--certificate-identity', EMAIL, '--certificate-oidc-issuer', issuer, '--trusted-root', join(trustDir, 'trusted_root.json')]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, /^Verified OK: signed by pg@example\.test/m);
}

test('the first process\'s printed "try it" lines sign and verify, as printed', async () => {
  const result = await bash(ups[0]!.tryIt.join('\n'));
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /^Verified OK: signed by you@example\.com/m);
  assert.match(result.stderr, /Logged in http:\/\/127\.0\.0\.1:\d+ \(Rekor v2\) at index \d+/);
});

test('signed through one process: verifies with the other\'s trust files, found through the other\'s search and explorer', async () => {
  const [a, b] = ups as [Up, Up];
  const signed = await signThrough(a, 'through-a.txt');
  // The trust files of both processes name the same logs and keys.
  const rootA = JSON.parse(readFileSync(join(a.dir, 'trusted_root.json'), 'utf8'));
  const rootB = JSON.parse(readFileSync(join(b.dir, 'trusted_root.json'), 'utf8'));
  assert.deepEqual(rootB.tlogs, rootA.tlogs);
  assert.deepEqual(rootB.ctlogs.map((c: { logId: unknown }) => c.logId), rootA.ctlogs.map((c: { logId: unknown }) => c.logId));
  await verifyWith(b.dir, signed, a.oidc);

  const digest = createHash('sha256').update(readFileSync(signed.file)).digest('hex');
  const search = await run(['log', 'search', '--url', b.origin, '--sha256', digest]);
  assert.equal(search.code, 0, search.stderr);
  const ids = search.stdout.trim().split('\n').filter(Boolean);
  assert.equal(ids.length, 1, search.stdout);
  const got = await run(['log', 'get', '--url', b.origin, '--uuid', ids[0]!]);
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, /verified in tree of size \d+/);
  const explorer = (await (await fetch(`${b.origin}/api/v1/explorer/search?q=${encodeURIComponent(`sha256:${digest}`)}`)).json()) as { count: number };
  assert.equal(explorer.count, 1);
  // Both processes serve one tree (the CT log too).
  const [logA, logB] = await Promise.all([a, b].map(async (u) => (await (await fetch(`${u.origin}/api/v1/log`)).json()) as { treeSize: number; rootHash: string }));
  assert.deepEqual(logB, logA);
  const [sthA, sthB] = await Promise.all([a, b].map(async (u) => (await (await fetch(`${u.origin}/ct/v1/get-sth`)).json()) as { tree_size: number; sha256_root_hash: string }));
  assert.equal(sthB.tree_size, sthA.tree_size);
  assert.equal(sthB.sha256_root_hash, sthA.sha256_root_hash);
});

test('SIGKILL of the sequencing process: the other takes over and keeps logging; what was logged stays', async () => {
  const before = await clusterLogInfo(url, 'sigstack_log');
  const holderPid = Number(before.sequencer!.holder.split(':')[1]);
  const victim = ups.find((u) => u.child.pid === holderPid);
  assert.ok(victim, `the log's sequencer is one of the two processes (${before.sequencer!.holder})`);
  const survivor = ups.find((u) => u !== victim)!;
  const sizeBefore = before.treeSize;
  victim.child.kill('SIGKILL');
  await victim.exited;

  const started = Date.now();
  const signed = await signThrough(survivor, 'after-kill.txt');
  const took = Date.now() - started;
  assert.ok(took < 15_000, `signing after the takeover took ${took} ms`);
  await verifyWith(survivor.dir, signed, survivor.oidc);
  const after = await clusterLogInfo(url, 'sigstack_log');
  assert.equal(Number(after.sequencer!.holder.split(':')[1]), survivor.child.pid);
  assert.ok(after.sequencer!.epoch > before.sequencer!.epoch);
  assert.equal(after.treeSize, sizeBefore + 1);
  const ct = await clusterLogInfo(url, 'sigstack_ctlog');
  assert.equal(Number(ct.sequencer!.holder.split(':')[1]), survivor.child.pid, 'the CT log is sequenced by the survivor too');
  // `log info --postgres --schema` reads the same.
  const info = await run(['log', 'info', '--postgres', url, '--schema', 'sigstack_log']);
  assert.equal(info.code, 0, info.stderr);
  assert.equal(JSON.parse(info.stdout).treeSize, sizeBefore + 1);
});

test('a PostgreSQL stack started without --postgres, and a directory-only backup, are refused with a code', async () => {
  const [plain, backup] = await Promise.all([
    run(['up', '--dir', ups[1]!.dir, '--port', '0']),
    // sigstack backup copies the directory only: refused rather than a backup without the logs.
    run(['backup', '--dir', ups[1]!.dir, '--out', join(dir, 'backup.tar.gz')]),
  ]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /STACK_NEEDS_POSTGRES/);
  assert.equal(backup.code, 1);
  assert.match(backup.stderr, /BACKUP_POSTGRES_UNSUPPORTED/);
});

test('the stack\'s transparency log is backed up from its schema (backup --postgres --schema) and restored into a schema of another database', async () => {
  const archive = join(dir, 'log-schema-backup.tar.gz');
  const backedUp = await run(['backup', '--postgres', url, '--schema', 'sigstack_log', '--key', join(ups[1]!.dir, 'log', 'log-key.pem'), '--out', archive]);
  assert.equal(backedUp.code, 0, backedUp.stderr);
  const size = Number(/size (\d+)/.exec(backedUp.stdout)![1]);
  assert.ok(size > 0, backedUp.stdout);
  const target = await server.createDatabase();
  const restored = await run(['restore', archive, '--postgres', target, '--schema', 'moved_log']);
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, /--schema moved_log/);
  const info = await clusterLogInfo(target, 'moved_log');
  assert.equal(info.treeSize, size);
  const again = await run(['restore', archive, '--postgres', target, '--schema', 'moved_log']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /RESTORE_TARGET_NOT_EMPTY/);
});
