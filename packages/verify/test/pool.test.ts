// The VerifierPool's batching: many jobs asked for in one turn (and more while replies come
// back) all settle, each with its own bundle's outcome, whichever batch carried it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VerificationError, VerifierPool, type Artifact } from '../src/index.js';

const cases = fileURLToPath(new URL('../../../../test/fixtures/conformance/bundle-verify/', import.meta.url));
const A_TXT: Artifact = { kind: 'bytes', data: readFileSync(`${cases}a.txt`) };
const KEY = readFileSync(`${cases}managed-key-happy-path/key.pub`, 'utf8');
const GOOD = readFileSync(`${cases}managed-key-happy-path/bundle.sigstore.json`, 'utf8');

function withBadSignature(text: string): string {
  const bundle = JSON.parse(text);
  const sig = Buffer.from(bundle.messageSignature.signature, 'base64');
  sig[sig.length - 1]! ^= 1;
  bundle.messageSignature.signature = sig.toString('base64');
  return JSON.stringify(bundle);
}

test('pool: 60 jobs in one turn and 20 more as replies arrive each settle with their own outcome', async () => {
  const pool = new VerifierPool({ size: 2 });
  try {
    const bad = withBadSignature(GOOD);
    const kinds = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? 'bad' : i % 7 === 0 ? 'garbage' : 'good'));
    const run = (kind: string) => pool.verify(kind === 'good' ? GOOD : kind === 'bad' ? bad : '{not json', A_TXT, { key: KEY });
    const outcomes = kinds.map((kind) => run(kind).then(() => 'good', (err: unknown) => (err instanceof VerificationError ? (kind === 'bad' ? 'bad' : 'garbage') : 'other')));
    // More jobs while the first replies come back (posted from reply handlers, in later turns).
    const later = outcomes.slice(0, 20).map((first, i) => first.then(() => run(i % 2 ? 'good' : 'bad').then(() => 'good', () => 'bad')));
    assert.deepEqual(await Promise.all(outcomes), kinds);
    assert.deepEqual(await Promise.all(later), Array.from({ length: 20 }, (_, i) => (i % 2 ? 'good' : 'bad')));
    const result = await pool.verify(GOOD, A_TXT, { key: KEY });
    assert.equal(result.tlogEntries.length, 1);
    assert.ok(result.signedAt.every((t) => t instanceof Date));
  } finally {
    await pool.close();
  }
});
