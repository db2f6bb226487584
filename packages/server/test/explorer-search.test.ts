// The explorer's search on a real SQLite file: exact keys, identity patterns (literal prefix,
// literal suffix, GLOB characters taken literally), time ranges, counts and their limit, stable
// newest-first pages, the dense plan for patterns matching many entries, and that every search
// statement's query plan reads indexes (SEARCH), never a whole table (SCAN), as do the storage's
// own reads. Then the HTTP API.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { EntrySearch } from '../src/log/engine/storage.js';
import { SqliteLogStorage, openSqlite } from '../src/storage/sqlite.js';
import { searchStatements } from '../src/storage/sqlite-search.js';
import { startLogService, type LogService } from '../src/log/service.js';
import { get, hashedrekordV001, newSigner, post } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-explorer-search-'));
const path = join(dir, 'log.db');
const N = 3000;
const BASE_TIME = 1_700_000_000;
let storage: SqliteLogStorage;

const digest = (i: number) => createHash('sha256').update(`artifact ${i}`).digest('hex');
const workflow = (i: number) => `https://github.com/org${i % 3}/repo${i % 7}/.github/workflows/ci.yml@refs/heads/main`;

before(async () => {
  storage = new SqliteLogStorage(path, { writerThread: false });
  const batch = 500;
  for (let start = 0; start < N; start += batch) {
    const entries = [];
    const index = [];
    for (let i = start; i < start + batch; i++) {
      entries.push({ index: i, leafHash: createHash('sha256').update(`leaf ${i}`).digest(), body: Buffer.from(`{"i":${i}}`), integratedTime: BASE_TIME + i * 10, kind: 'hashedrekord', apiVersion: '0.0.1' });
      index.push({ key: `email:user${i % 50}@example.com`, index: i }, { key: `subject:${workflow(i)}`, index: i }, { key: `hash:sha256:${digest(i)}`, index: i });
      if (i === 7) index.push({ key: 'subject:https://x.test/a?b[1]', index: i });
      if (i === 8) index.push({ key: 'subject:https://x.test/aXb11', index: i });
    }
    assert.ok(await storage.appendBatch({ entries, tiles: [], index, previousSize: start, checkpoint: { size: start + batch, note: `size ${start + batch}` } }));
  }
});

after(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const query = (match: EntrySearch['match'], extra: Partial<EntrySearch> = {}) => storage.searchEntries({ match, below: N, offset: 0, limit: 20, countLimit: 10_000, ...extra });

test('an exact key: newest first, counted, paged in a stable order, with the entry summaries', async () => {
  const first = await query({ type: 'key', key: 'email:user7@example.com' });
  assert.equal(first.count, N / 50);
  assert.equal(first.countIsLowerBound, false);
  assert.deepEqual(first.entries.map((e) => e.index).slice(0, 3), [2957, 2907, 2857]);
  const entry = first.entries[0]!;
  assert.equal(entry.integratedTime, BASE_TIME + 2957 * 10);
  assert.deepEqual(entry.keys, [`email:user7@example.com`, `hash:sha256:${digest(2957)}`, `subject:${workflow(2957)}`]);
  const second = await query({ type: 'key', key: 'email:user7@example.com' }, { offset: 20 });
  assert.equal(second.entries[0]!.index, first.entries[19]!.index - 50);
  // Pinned to a smaller tree size, the same page lists the same older entries.
  const pinned = await query({ type: 'key', key: 'email:user7@example.com' }, { below: 2000 });
  assert.equal(pinned.entries[0]!.index, 1957);
  assert.equal(pinned.count, 40);
  assert.equal((await query({ type: 'key', key: `hash:sha256:${digest(123)}` })).entries[0]!.index, 123);
});

test('identity patterns: literal prefix, literal suffix, both, and GLOB characters as themselves', async () => {
  const org1 = await query({ type: 'pattern', keyType: 'subject', pattern: 'https://github.com/org1/*' });
  assert.equal(org1.count, N / 3);
  assert.ok(org1.entries.every((e) => e.index % 3 === 1));
  assert.equal(org1.entries[0]!.index, 2998);

  const repo3 = await query({ type: 'pattern', keyType: 'subject', pattern: '*/repo3/.github/workflows/ci.yml@refs/heads/main' });
  assert.equal(repo3.count, Math.ceil((N - 3) / 7));
  assert.ok(repo3.entries.every((e) => e.index % 7 === 3));

  const middle = await query({ type: 'pattern', keyType: 'subject', pattern: 'https://github.com/org2/*/ci.yml@*' });
  assert.equal(middle.count, N / 3);

  const emails = await query({ type: 'pattern', keyType: 'email', pattern: '*@EXAMPLE.com' });
  assert.equal(emails.count, N);

  const literal = await query({ type: 'pattern', keyType: 'subject', pattern: 'https://x.test/a?b[*' });
  assert.deepEqual(literal.entries.map((e) => e.index), [7]);
});

test('a pattern matching more than the count limit is read newest first and counted as a lower bound', async () => {
  const dense = await query({ type: 'pattern', keyType: 'email', pattern: '*@example.com' }, { countLimit: 500 });
  assert.equal(dense.count, 500);
  assert.equal(dense.countIsLowerBound, true);
  assert.deepEqual(dense.entries.map((e) => e.index), Array.from({ length: 20 }, (_, i) => N - 1 - i));
  const page3 = await query({ type: 'pattern', keyType: 'subject', pattern: 'https://github.com/org0/*' }, { countLimit: 100, offset: 40 });
  assert.deepEqual(page3.entries.slice(0, 2).map((e) => e.index), [N - 3 - 120, N - 3 - 123]);
});

test('time ranges become index ranges; every entry, and one index, too', async () => {
  const window = await query({ type: 'all' }, { fromTime: BASE_TIME + 1000, toTime: BASE_TIME + 1990 });
  assert.equal(window.count, 100);
  assert.equal(window.entries[0]!.index, 199);
  const user = await query({ type: 'key', key: 'email:user0@example.com' }, { fromTime: BASE_TIME + 1000, toTime: BASE_TIME + 1990 });
  assert.deepEqual(user.entries.map((e) => e.index), [150, 100]);
  assert.equal((await query({ type: 'all' }, { fromTime: BASE_TIME + N * 10 })).count, 0);
  const all = await query({ type: 'all' });
  assert.equal(all.count, N);
  assert.equal(all.entries[0]!.index, N - 1);
  assert.deepEqual((await query({ type: 'all' }, { fromIndex: 42, below: 43 })).entries.map((e) => e.index), [42]);
});

test('every search statement is answered from an index, never a table scan', () => {
  const db = new Database(path, { readonly: true });
  try {
    const params = { key: 'email:a', lo: 0, hi: 10, cap: 10, limit: 10, offset: 0, start: 'email:a', end: 'email:b', glob: 'email:a*', run: 0 };
    for (const [name, statement] of Object.entries(searchStatements(db))) {
      // The list of search runs is read whole: a few rows per million entries.
      if (name === 'runs') continue;
      const source = (statement as unknown as { source: string }).source;
      const named = new Set([...source.matchAll(/@(\w+)/g)].map((m) => m[1]!));
      const bound = Object.fromEntries(Object.entries(params).filter(([k]) => named.has(k)));
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${source}`).all(...(source.includes('@') ? [bound] : source.includes('?') ? [1] : [])) as { detail: string }[];
      const details = plan.map((p) => p.detail).join('; ');
      assert.ok(!/\bSCAN (entries|search_index|search_reversed)\b(?! USING)/.test(details), `${name} scans: ${details}`);
      assert.ok(/SEARCH|USING (COVERING )?INDEX|USING PRIMARY KEY/.test(details), `${name}: ${details}`);
      // Patterns read the range of their literal prefix (or reversed suffix) in each run, not every entry.
      if (/^forward/.test(name)) assert.match(details, /search_index USING PRIMARY KEY \(run=\? AND key>\? AND key<\?\)/, name);
      if (/^reversed/.test(name)) assert.match(details, /search_reversed USING PRIMARY KEY \(run=\? AND rkey>\? AND rkey<\?\)/, name);
      if (/^key(Count|Page)$/.test(name)) assert.match(details, /search_index USING PRIMARY KEY \(run=\? AND key=\?/, name);
    }
  } finally {
    db.close();
  }
});

test("the storage's own reads (tiles, entries, leaf hashes, the v1 index, the tree size) are index lookups too", () => {
  const connection = openSqlite(path);
  try {
    for (const name of ['count', 'readTile', 'readEntries', 'findLeaf', 'search', 'checkpoint', 'getMeta'] as const) {
      const source = (connection.statements[name] as unknown as { source: string }).source;
      const args = (source.match(/\?/g) ?? []).map(() => 1);
      const details = (connection.db.prepare(`EXPLAIN QUERY PLAN ${source}`).all(...args) as { detail: string }[]).map((p) => p.detail).join('; ');
      // search_runs is read whole: a few rows per million entries.
      assert.ok(/^SEARCH /.test(details) && !/\bSCAN (?!search_runs\b)/.test(details), `${name}: ${details}`);
    }
  } finally {
    connection.db.close();
  }
});

test('the HTTP API: search, counts, fingerprints of pasted keys, and 400s that say why', async () => {
  const service: LogService = await startLogService({ dir: join(dir, 'http'), port: 0, admissionWorkers: 0 });
  try {
    const signer = newSigner();
    const artifacts = [0, 1, 2].map((i) => Buffer.from(`explorer api ${i}`));
    for (const a of artifacts) assert.equal((await post(`${service.url}/api/v1/log/entries`, hashedrekordV001(signer, a))).status, 201);
    const fp = await post(`${service.url}/api/v1/explorer/fingerprint`, { key: signer.pem });
    assert.equal(fp.status, 200);
    assert.equal(fp.json.format, 'x509');
    const byKey = await get(`${service.url}/api/v1/explorer/search?q=key:${fp.json.fingerprint}`);
    assert.equal(byKey.json.count, 3);
    assert.deepEqual(byKey.json.entries.map((e: { index: number }) => e.index), [2, 1, 0]);
    const hex = createHash('sha256').update(artifacts[1]!).digest('hex');
    const byDigest = await get(`${service.url}/api/v1/explorer/search?q=${hex}`);
    assert.deepEqual(byDigest.json.entries.map((e: { index: number }) => e.index), [1]);
    const uuid = byDigest.json.entries[0].uuid;
    for (const q of [uuid, byDigest.json.entries[0].entryId, '1', `sha256:${hex}`]) {
      assert.deepEqual((await get(`${service.url}/api/v1/explorer/search?q=${q}`)).json.entries.map((e: { uuid: string }) => e.uuid), [uuid], q);
    }
    const pinned = await get(`${service.url}/api/v1/explorer/search?q=&size=2`);
    assert.equal(pinned.json.count, 2);
    for (const [q, pattern] of [
      ['sha256:abc', /64 hex/],
      ['after:yesterday', /after:/],
      ['*a*', /3 literal characters/],
      ['a@b.c d@e.f', /one thing/],
    ] as const) {
      const bad = await get(`${service.url}/api/v1/explorer/search?q=${encodeURIComponent(q)}`);
      assert.equal(bad.status, 400, q);
      assert.equal(bad.json.error, 'QUERY_INVALID');
      assert.match(bad.json.message, pattern);
    }
    assert.equal((await get(`${service.url}/api/v1/explorer/search?page=0`)).status, 400);
    assert.equal((await get(`${service.url}/api/v1/explorer/search?page=999999`)).json.error, 'PAGE_TOO_DEEP');
    const notKey = await post(`${service.url}/api/v1/explorer/fingerprint`, { key: 'hello' });
    assert.equal(notKey.status, 400);
    assert.equal(notKey.json.error, 'PUBLIC_KEY_INVALID');
    const page = await fetch(`${service.url}/explorer/entry/${uuid}`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script type="application\/json" id="explorer-config">\{"name":/);
    assert.ok(html.includes(service.log.signer.spki.toString('base64')));
  } finally {
    await service.close();
  }
});

test('keys made by ssh-keygen, minisign and gpg are found by the fingerprint of their pasted text', async () => {
  const work = join(dir, 'keys');
  mkdirSync(work);
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  const data = Buffer.from('signed with three kinds of keys\n');
  writeFileSync(join(work, 'data'), data);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'explorer@example.test', '-f', 'ssh']);
  run('ssh-keygen', ['-Y', 'sign', '-f', 'ssh', '-n', 'file', 'data']);
  const ssh = { format: 'ssh', key: readFileSync(join(work, 'ssh.pub'), 'utf8'), signature: readFileSync(join(work, 'data.sig')) };
  run('minisign', ['-G', '-W', '-p', 'ms.pub', '-s', 'ms.key']);
  run('minisign', ['-S', '-s', 'ms.key', '-m', 'data', '-x', 'data.minisig']);
  const minisign = { format: 'minisign', key: readFileSync(join(work, 'ms.pub'), 'utf8'), signature: readFileSync(join(work, 'data.minisig')) };
  const home = join(work, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const gpg = (...args: string[]) => run('gpg', ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
  gpg('--quick-gen-key', 'Explorer <pgp@example.test>', 'ed25519', 'sign', 'never');
  gpg('--armor', '--detach-sign', '-o', 'data.asc', 'data');
  const pgp = { format: 'pgp', key: gpg('--armor', '--export', 'pgp@example.test').toString('utf8'), signature: readFileSync(join(work, 'data.asc')) };

  const service = await startLogService({ dir: join(dir, 'keys-log'), port: 0, admissionWorkers: 0 });
  try {
    for (const k of [ssh, minisign, pgp]) {
      const created = await post(`${service.url}/api/v1/log/entries`, {
        apiVersion: '0.0.1',
        kind: 'rekord',
        spec: { signature: { format: k.format, content: k.signature.toString('base64'), publicKey: { content: Buffer.from(k.key).toString('base64') } }, data: { content: data.toString('base64') } },
      });
      assert.equal(created.status, 201, `${k.format}: ${JSON.stringify(created.json)}`);
      const index = (Object.values(created.json)[0] as { logIndex: number }).logIndex;
      const fp = await post(`${service.url}/api/v1/explorer/fingerprint`, { key: k.key });
      assert.equal(fp.status, 200, `${k.format}: ${JSON.stringify(fp.json)}`);
      assert.equal(fp.json.format, k.format);
      const found = await get(`${service.url}/api/v1/explorer/search?q=key:${fp.json.fingerprint}`);
      assert.deepEqual(found.json.entries.map((e: { index: number }) => e.index), [index], k.format);
    }
    // The PGP key's user ID is indexed as an email, and found as one.
    assert.equal((await get(`${service.url}/api/v1/explorer/search?q=pgp@example.test`)).json.count, 1);
  } finally {
    await service.close();
  }
});
