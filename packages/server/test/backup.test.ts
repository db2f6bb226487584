// Backups of a running stack (the built CLI against a stack in this process): `sigstack backup`
// while entries keep arriving, `sigstack restore` into a new directory, and the restored stack
// serves the log at the backup's size and root (`sigstack log info`); keys only with
// --include-keys (a restored log without its key refuses to start); a damaged archive and one
// whose log database was altered (manifest hashes updated to match) are refused.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip, createGzip } from 'node:zlib';
import Database from 'better-sqlite3';
import tar from 'tar-stream';
import { leafHash } from '@sigstack/core';
import { startStack, type Stack } from '../src/stack.js';
import { hashedrekordV002Request, newSigner } from './helpers.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = join(repo, 'packages/cli/dist/bundle/main.js');
const dir = mkdtempSync(join(tmpdir(), 'sigstack-backup-'));
const stackDir = join(dir, 'stack');
let stack: Stack;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: repo, timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

async function append(n: number): Promise<void> {
  const signer = newSigner();
  for (let i = 0; i < n; i++) {
    const response = await fetch(`${stack.urls.rekor}/api/v2/log/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hashedrekordV002Request(signer, Buffer.from(`entry ${i} ${Math.random()}`))) });
    assert.equal(response.status, 201);
    await response.arrayBuffer();
  }
}

before(async () => {
  stack = await startStack({ dir: stackDir, port: 0, admissionWorkers: 0, warn: () => {} });
  await Promise.all([append(75), append(75), append(75), append(75)]); // more than a full tile (256)
});

after(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Members of a backup archive, in order. */
async function readArchive(file: string): Promise<{ name: string; data: Buffer }[]> {
  const members: { name: string; data: Buffer }[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      members.push({ name: header.name, data: Buffer.concat(chunks) });
      next();
    });
  });
  await pipeline(createReadStream(file), createGunzip(), extract);
  return members;
}

async function writeArchive(file: string, members: { name: string; data: Buffer }[]): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, createGzip(), createWriteStream(file));
  for (const m of members) pack.entry({ name: m.name, size: m.data.length }, m.data);
  pack.finalize();
  await done;
}

test('a backup under load restores into a stack that serves the log at the backup\'s size and root', async () => {
  let load = true;
  const loader = (async () => {
    while (load) await append(5);
  })();
  const out = join(dir, 'with-keys.tar.gz');
  const made = await run(['backup', '--dir', stackDir, '--out', out, '--include-keys']);
  load = false;
  await loader;
  assert.equal(made.code, 0, made.stderr);
  const logLine = /log\s+log\/log\.db: (\S+) size (\d+) root ([0-9a-f]{64})/.exec(made.stdout);
  assert.ok(logLine, made.stdout);
  const size = Number(logLine[2]);
  assert.ok(size >= 300);
  assert.ok(stack.log.checkpoint.size > size, 'entries kept arriving after the backup');
  assert.equal(logLine[3], (await stack.log.rootAt(size)).toString('hex'), 'the backup is the live log at that size');

  const restoredDir = join(dir, 'restored');
  const restored = await run(['restore', out, '--dir', restoredDir]);
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, new RegExp(`verified\\s+log/log\\.db: \\S+ size ${size}, \\d+ tiles recomputed`));
  assert.match(restored.stdout, /verified\s+ctlog\/ctlog\.db/);
  const again = await run(['restore', out, '--dir', restoredDir]);
  assert.match(again.stderr, /RESTORE_TARGET_NOT_EMPTY/);

  const copy = await startStack({ dir: restoredDir, port: 0, admissionWorkers: 0, warn: () => {} });
  try {
    // Another port (a development stack names its services after it), the same log and keys.
    const tlogs = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as { tlogs: unknown }).tlogs;
    assert.deepEqual(tlogs(copy.files.trustedRoot), tlogs(stack.files.trustedRoot));
    const info = await run(['log', 'info', '--url', copy.urls.rekor]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, new RegExp(`${size}`));
    const served = (await (await fetch(`${copy.urls.rekor}/api/v1/log`)).json()) as { treeSize: number; rootHash: string };
    assert.equal(served.treeSize, size);
    assert.equal(served.rootHash, logLine[3]);
  } finally {
    await copy.close();
  }
});

test('without --include-keys the keys are left out, and the restored log refuses to start until they are back', async () => {
  const out = join(dir, 'no-keys.tar.gz');
  const made = await run(['backup', '--dir', stackDir, '--out', out]);
  assert.equal(made.code, 0, made.stderr);
  const members = await readArchive(out);
  assert.ok(!members.some((m) => /key\.pem$/.test(m.name) || m.name.startsWith('tuf/keys/')), members.map((m) => m.name).join(' '));
  const manifest = JSON.parse(members[0]!.data.toString()) as { keysLeftOut: string[] };
  assert.ok(manifest.keysLeftOut.includes('log/log-key.pem') && manifest.keysLeftOut.includes('tuf/keys/timestamp.pem'));

  const restoredDir = join(dir, 'restored-no-keys');
  const restored = await run(['restore', out, '--dir', restoredDir]);
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, /put back keys\s+.*log\/log-key\.pem/);
  await assert.rejects(startStack({ dir: restoredDir, port: 0, admissionWorkers: 0, warn: () => {} }), (err: { code?: string }) => err.code === 'KEY_MISSING');
  for (const key of manifest.keysLeftOut) {
    mkdirSync(dirname(join(restoredDir, key)), { recursive: true });
    copyFileSync(join(stackDir, key), join(restoredDir, key));
  }
  const copy = await startStack({ dir: restoredDir, port: 0, admissionWorkers: 0, warn: () => {} });
  assert.ok(copy.log.checkpoint.size >= 300);
  await copy.close();
});

test('a damaged backup and one whose log was altered are refused, and nothing is restored', async () => {
  const out = join(dir, 'good.tar.gz');
  assert.equal((await run(['backup', '--dir', stackDir, '--out', out])).code, 0);

  const damaged = join(dir, 'damaged.tar.gz');
  const bytes = readFileSync(out);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  writeFileSync(damaged, bytes);
  const refused = await run(['restore', damaged, '--dir', join(dir, 'from-damaged')]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /BACKUP_CORRUPT/);
  assert.equal(existsSync(join(dir, 'from-damaged')), false);

  // An entry rewritten (with its leaf hash) and the manifest's SHA-256 updated: only the tree check can tell.
  const members = await readArchive(out);
  const dbMember = members.find((m) => m.name === 'log/log.db')!;
  const scratch = join(dir, 'scratch.db');
  writeFileSync(scratch, dbMember.data);
  const db = new Database(scratch);
  const forged = Buffer.from('{"forged":true}');
  db.prepare('UPDATE entries SET body = ?, leaf_hash = ? WHERE idx = 7').run(forged, leafHash(forged));
  db.pragma('journal_mode = DELETE');
  db.close();
  dbMember.data = readFileSync(scratch);
  const manifest = JSON.parse(members[0]!.data.toString()) as { files: { path: string; size: number; sha256: string }[] };
  const listed = manifest.files.find((f) => f.path === 'log/log.db')!;
  listed.size = dbMember.data.length;
  listed.sha256 = createHash('sha256').update(dbMember.data).digest('hex');
  members[0]!.data = Buffer.from(JSON.stringify(manifest));
  const altered = join(dir, 'altered.tar.gz');
  await writeArchive(altered, members);
  const tampered = await run(['restore', altered, '--dir', join(dir, 'from-altered')]);
  assert.equal(tampered.code, 1);
  assert.match(tampered.stderr, /\[BACKUP_TREE_INVALID\] the log database .*log\.db does not verify: tile 0\/0 differs/);
  assert.equal(existsSync(join(dir, 'from-altered')), false);
});
