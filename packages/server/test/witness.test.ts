// The witness service over real HTTP on 127.0.0.1: every tlog-witness status code, the
// cosignature it returns, the 20-way rollback race, the monitoring read, and state kept across
// a restart (SIGKILL is covered by the CLI's process tests).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkCosignatures,
  consistencyProof,
  formatAddCheckpointRequest,
  formatCheckpoint,
  formatVerifierKey,
  leafHash,
  noteKeyHint,
  originHash,
  parseCosignerVkey,
  rootFromLeafHashes,
  signNote,
} from '@sigstack/core';
import { sign } from 'node:crypto';
import { startWitnessService } from '../src/witness/service.js';

const ORIGIN = 'log.example/test';
const logKey = generateKeyPairSync('ed25519');
const logVkey = formatVerifierKey(ORIGIN, logKey.publicKey);
const leaves = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));

function checkpointNote(size: number, options: { leavesOf?: Buffer[]; key?: typeof logKey; origin?: string; extension?: string } = {}): string {
  const of = options.leavesOf ?? leaves;
  const root = size === 0 ? createHash('sha256').digest() : rootFromLeafHashes(of.slice(0, size));
  const origin = options.origin ?? ORIGIN;
  const key = options.key ?? logKey;
  const body = formatCheckpoint({ origin, size, rootHash: root, ...(options.extension ? { extensions: [options.extension] } : {}) });
  return signNote(body, [{ name: origin, keyHint: noteKeyHint(origin, key.publicKey), sign: (m) => sign(null, m, key.privateKey) }]);
}

async function add(url: string, oldSize: number, size: number, options: Parameters<typeof checkpointNote>[1] & { proof?: Buffer[] } = {}) {
  const proof = options.proof ?? (oldSize === 0 ? [] : consistencyProof(oldSize, (options.leavesOf ?? leaves).slice(0, size)));
  const response = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest(oldSize, proof, checkpointNote(size, options)) });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

async function withWitness(fn: (url: string, vkey: string, dir: string) => Promise<void>, dir = mkdtempSync(join(tmpdir(), 'witness-'))) {
  const service = await startWitnessService({ dir, name: 'witness.test/w1', logs: [`${ORIGIN}=${logVkey}`] });
  try {
    await fn(service.url, service.vkey, dir);
  } finally {
    await service.close();
  }
  return dir;
}

test('add-checkpoint: 200 with a valid cosignature, then every refusal with its status code', async () => {
  const dir = await withWitness(async (url, vkey) => {
    const first = await add(url, 0, 10, { extension: 'Timestamp: 1' });
    assert.equal(first.status, 200, first.body);
    const key = parseCosignerVkey(vkey);
    const check = checkCosignatures(checkpointNote(10, { extension: 'Timestamp: 1' }).replace(/\n$/, '\n') + first.body, [key]);
    assert.equal(check.valid.size, 1, 'the cosignature verifies over the whole body, extension line included');
    assert.equal(Buffer.from(first.body.split(' ')[2] as string, 'base64').length, 76);
    assert.ok((check.valid.get(key.vkey)?.timestamp ?? 0) > 0);

    assert.equal((await add(url, 0, 12, { origin: 'other.example/log' })).status, 404, 'unknown origin');
    assert.equal((await add(url, 10, 12, { key: generateKeyPairSync('ed25519') })).status, 403, 'no trusted signature');
    const forged = checkpointNote(12).replace(/ (\S+)\n$/, (_m, b64: string) => ` ${Buffer.from(b64, 'base64').fill(1, 10, 20).toString('base64')}\n`);
    const forgedStatus = (await fetch(`${url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest(10, consistencyProof(10, leaves.slice(0, 12)), forged) })).status;
    assert.equal(forgedStatus, 403, 'a trusted key whose signature fails');
    assert.equal((await add(url, 13, 12, { proof: [] })).status, 400, 'old size above the checkpoint');
    const stale = await add(url, 0, 12);
    assert.deepEqual([stale.status, stale.type, stale.body], [409, 'text/x.tlog.size', '10\n'], 'old size not the last cosigned one');
    assert.equal((await add(url, 10, 12, { proof: [Buffer.alloc(32)] })).status, 422, 'bad proof');
    assert.equal((await add(url, 10, 12, { proof: Array.from({ length: 64 }, () => Buffer.alloc(32)) })).status, 422, 'more than 63 proof lines');
    const fork = leaves.map((l, i) => (i === 3 ? leafHash(Buffer.from('forked')) : l));
    assert.equal((await add(url, 10, 10, { leavesOf: fork, proof: [] })).status, 422, 'another root at the same size');
    assert.equal((await add(url, 10, 12, { leavesOf: fork })).status, 422, 'a fork is not consistent');
    assert.equal((await fetch(`${url}/add-checkpoint`, { method: 'POST', body: 'garbage' })).status, 400);
    assert.equal((await add(url, 10, 10, { proof: [] })).status, 200, 'the same checkpoint again is fine');
    assert.equal((await add(url, 10, 20)).status, 200);

    const read = await fetch(`${url}/${originHash(ORIGIN)}/checkpoint`);
    const note = await read.text();
    assert.equal(read.status, 200);
    assert.match(note, /^log\.example\/test\n20\n/);
    assert.equal(checkCosignatures(note, [key]).valid.size, 1, 'the monitoring read carries the cosignature');
    assert.match(note, new RegExp(`\u2014 ${ORIGIN.replace('.', '\\.')} `), 'and the log signature');
    assert.equal((await fetch(`${url}/${originHash('nope')}/checkpoint`)).status, 404);
  });
  // A restart keeps the state: the old size must be 20 now, and a size-zero first contact is refused.
  await withWitness(async (url) => {
    assert.deepEqual([(await add(url, 0, 25)).status, (await add(url, 0, 25)).body], [409, '20\n']);
    assert.equal((await add(url, 20, 25)).status, 200);
  }, dir);
  rmSync(dir, { recursive: true, force: true });
});

test('a size-0 checkpoint needs the empty root, and a non-empty proof from 0 is refused', async () => {
  await withWitness(async (url) => {
    const bogus = signNote(formatCheckpoint({ origin: ORIGIN, size: 0, rootHash: Buffer.alloc(32, 9) }), [{ name: ORIGIN, keyHint: noteKeyHint(ORIGIN, logKey.publicKey), sign: (m) => sign(null, m, logKey.privateKey) }]);
    assert.equal((await fetch(`${url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest(0, [], bogus) })).status, 422);
    assert.equal((await add(url, 0, 5, { proof: [Buffer.alloc(32)] })).status, 422);
    assert.equal((await add(url, 0, 0)).status, 200);
  });
});

test('the rollback race: 20 concurrent submissions from one old size give one 200 and 409s naming the winner', async () => {
  await withWitness(async (url) => {
    assert.equal((await add(url, 0, 10)).status, 200);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => add(url, 10, 11 + i)));
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, JSON.stringify(results.map((r) => r.status)));
    const winner = 11 + results.findIndex((r) => r.status === 200);
    for (const r of results.filter((x) => x.status !== 200)) assert.deepEqual([r.status, r.body], [409, `${winner}\n`]);
    const note = await (await fetch(`${url}/${originHash(ORIGIN)}/checkpoint`)).text();
    assert.equal(note.split('\n')[1], String(winner));
  });
});

test('--ml-dsa: the witness also cosigns with ML-DSA-44 (type 0x06), and both lines verify', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'witness-mldsa-'));
  const service = await startWitnessService({ dir, name: 'witness.test/pq', logs: [`${ORIGIN}=${logVkey}`], mldsa: true });
  try {
    assert.ok(service.mldsaVkey);
    const res = await add(service.url, 0, 7);
    assert.equal(res.status, 200);
    assert.equal(res.body.trim().split('\n').length, 2);
    const keys = [parseCosignerVkey(service.vkey), parseCosignerVkey(service.mldsaVkey!)];
    const check = checkCosignatures(checkpointNote(7) + res.body, keys);
    assert.deepEqual([check.valid.size, check.failed], [2, []]);
    const note = await (await fetch(`${service.url}/${originHash(ORIGIN)}/checkpoint`)).text();
    assert.equal(checkCosignatures(note, keys).valid.size, 2);
  } finally {
    await service.close();
  }
  // The seed is kept: the same ML-DSA-44 vkey after a restart.
  const again = await startWitnessService({ dir, name: 'witness.test/pq', logs: [`${ORIGIN}=${logVkey}`], mldsa: true });
  const vkey = again.mldsaVkey;
  await again.close();
  const first = await startWitnessService({ dir, name: 'witness.test/pq', logs: [`${ORIGIN}=${logVkey}`], mldsa: true });
  assert.equal(first.mldsaVkey, vkey);
  await first.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a log removed from the configuration and added again resumes from its old state', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'witness-readd-'));
  const other = generateKeyPairSync('ed25519');
  const start = (logs: string[]) => startWitnessService({ dir, name: 'witness.test/r', logs });
  let w = await start([`${ORIGIN}=${logVkey}`]);
  assert.equal((await add(w.url, 0, 9)).status, 200);
  await w.close();
  w = await start([`other.example/log=${formatVerifierKey('other.example/log', other.publicKey)}`]);
  assert.equal((await add(w.url, 0, 3)).status, 404, 'removed: unknown now');
  assert.equal((await fetch(`${w.url}/${originHash(ORIGIN)}/checkpoint`)).status, 404);
  await w.close();
  w = await start([`${ORIGIN}=${logVkey}`]);
  try {
    const fresh = await add(w.url, 0, 3);
    assert.deepEqual([fresh.status, fresh.body], [409, '9\n'], 'not a fresh state');
  } finally {
    await w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
