// `sigstack up --witness-policy`: the whole stack's transparency log asks a real witness for
// cosignatures, and its /checkpoint carries them (on PostgreSQL too: stack-witness-postgres.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkWitnessPolicy, formatVerifierKey, parseTlogPolicy } from '@sigstack/core';
import { rotateLogShard } from '../src/log/shards.js';
import { startStack } from '../src/stack.js';
import { startWitnessService } from '../src/witness/service.js';
import { hashedrekordV001, newSigner } from './helpers.js';
import { freshStoreOptions } from './stack-store.js';

test('the stack\'s log, given a tlog-policy, publishes checkpoints cosigned by its witness', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-stack-witness-'));
  const store = await freshStoreOptions();
  let stack = await startStack({ dir: join(dir, 'stack'), port: 0, admissionWorkers: 0, warn: () => {}, ...store });
  const port = Number(new URL(stack.urls.origin).port);
  const origin = stack.logName;
  const vkey = formatVerifierKey(origin, stack.log.signer.publicKey);
  await stack.close();
  const witness = await startWitnessService({ dir: join(dir, 'w'), name: 'stack.test/w', logs: [`${origin}=${vkey}`] });
  try {
    const policy = `log ${vkey}\nwitness w ${witness.vkey} ${witness.url}\nquorum w\n`;
    writeFileSync(join(dir, 'policy'), policy);
    stack = await startStack({ dir: join(dir, 'stack'), port, admissionWorkers: 0, warn: () => {}, ...store, witnessPolicy: join(dir, 'policy') });
    const signer = newSigner();
    const res = await fetch(`${stack.urls.origin}/api/v1/log/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hashedrekordV001(signer, Buffer.from('witnessed stack'))) });
    assert.equal(res.status, 201);
    const note = await (await fetch(`${stack.urls.origin}/checkpoint`)).text();
    assert.deepEqual(checkWitnessPolicy(note, parseTlogPolicy(policy)), { cosigned: ['w'], quorum: true });
  } finally {
    await stack.close().catch(() => {});
    await witness.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after a log rotation the witnesses cosign the active shard (the one taking entries)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-stack-witness-rotated-'));
  const store = await freshStoreOptions();
  let stack = await startStack({ dir: join(dir, 'stack'), port: 0, admissionWorkers: 0, warn: () => {}, ...store });
  const port = Number(new URL(stack.urls.origin).port);
  await stack.close();
  await rotateLogShard(join(dir, 'stack'), new Date(Date.now() + 1500), undefined, undefined, store.postgres); // a shard lives at least a second
  // Once to learn the new shard's name and key (made by the rotation), then with the policy.
  stack = await startStack({ dir: join(dir, 'stack'), port, admissionWorkers: 0, warn: () => {}, ...store });
  const active = stack.logShards[stack.logShards.length - 1]!;
  const vkey = formatVerifierKey(active.name, active.log.signer.publicKey);
  await stack.close();
  const witness = await startWitnessService({ dir: join(dir, 'w'), name: 'stack.test/w', logs: [`${active.name}=${vkey}`] });
  try {
    const policy = `log ${vkey}\nwitness w ${witness.vkey} ${witness.url}\nquorum w\n`;
    writeFileSync(join(dir, 'policy'), policy);
    stack = await startStack({ dir: join(dir, 'stack'), port, admissionWorkers: 0, warn: () => {}, ...store, witnessPolicy: join(dir, 'policy') });
    assert.equal(stack.logShards.length, 2);
    const res = await fetch(`${stack.urls.rekor}/api/v1/log/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hashedrekordV001(newSigner(), Buffer.from('witnessed shard'))) });
    assert.equal(res.status, 201, await res.clone().text());
    const note = await (await fetch(`${stack.urls.rekor}/checkpoint`)).text();
    assert.match(note, new RegExp(`^${active.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
    assert.deepEqual(checkWitnessPolicy(note, parseTlogPolicy(policy)), { cosigned: ['w'], quorum: true });
  } finally {
    await stack.close().catch(() => {});
    await witness.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
