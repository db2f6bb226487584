// `sigstack up --witness-policy`: the whole stack's transparency log asks a real witness for
// cosignatures, and its /checkpoint carries them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkWitnessPolicy, formatVerifierKey, parseTlogPolicy } from '@sigstack/core';
import { startStack } from '../src/stack.js';
import { startWitnessService } from '../src/witness/service.js';
import { hashedrekordV001, newSigner } from './helpers.js';

test('the stack\'s log, given a tlog-policy, publishes checkpoints cosigned by its witness', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-stack-witness-'));
  let stack = await startStack({ dir: join(dir, 'stack'), port: 0, admissionWorkers: 0, warn: () => {} });
  const port = Number(new URL(stack.urls.origin).port);
  const origin = stack.logName;
  const vkey = formatVerifierKey(origin, stack.log.signer.publicKey);
  await stack.close();
  const witness = await startWitnessService({ dir: join(dir, 'w'), name: 'stack.test/w', logs: [`${origin}=${vkey}`] });
  try {
    const policy = `log ${vkey}\nwitness w ${witness.vkey} ${witness.url}\nquorum w\n`;
    writeFileSync(join(dir, 'policy'), policy);
    stack = await startStack({ dir: join(dir, 'stack'), port, admissionWorkers: 0, warn: () => {}, witnessPolicy: join(dir, 'policy') });
    const signer = newSigner();
    const res = await fetch(`${stack.urls.origin}/api/v1/log/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hashedrekordV001(signer, Buffer.from('witnessed stack'))) });
    assert.equal(res.status, 201);
    const note = await (await fetch(`${stack.urls.origin}/checkpoint`)).text();
    assert.deepEqual(checkWitnessPolicy(note, parseTlogPolicy(policy)), { cosigned: ['w'], quorum: true });
    await stack.close();
  } finally {
    await witness.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
