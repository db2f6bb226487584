// Tests for checkpoint.ts: the C2SP tlog-checkpoint example, real Rekor v1 / v2 checkpoints from
// the conformance suite (including its malformed-checkpoint cases), and hand-built negatives.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { formatCheckpoint, parseCheckpoint } from '../src/checkpoint.js';
import { parseSignedNote } from '../src/note.js';
import { CoreError } from '../src/errors.js';

const V = JSON.parse(
  readFileSync(new URL('../../test/vectors/signed-notes.json', import.meta.url), 'utf8'),
) as { c2sp: { checkpointNote: string }; formats: { sigstoreNote: string } };

const CONFORMANCE = new URL('../../../../../shared/conformance/bundle-verify/', import.meta.url);
const haveShared = existsSync(CONFORMANCE);

function caseCheckpoint(name: string): string {
  const bundle = JSON.parse(readFileSync(new URL(`${name}/bundle.sigstore.json`, CONFORMANCE), 'utf8'));
  return bundle.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope as string;
}

function malformed(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CoreError, `expected CoreError, got ${String(err)}`);
    assert.equal(err.code, 'CHECKPOINT_MALFORMED');
    assert.match(err.message, pattern);
    return true;
  });
}

const ROOT = Buffer.alloc(32, 0xab);
const ROOT_B64 = ROOT.toString('base64');

test('C2SP tlog-checkpoint example parses and formats back', () => {
  const note = parseSignedNote(V.c2sp.checkpointNote);
  const cp = parseCheckpoint(note.body);
  assert.equal(cp.origin, 'example.com/behind-the-sofa');
  assert.equal(cp.size, 20852163);
  assert.equal(cp.rootHash.toString('base64'), 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
  assert.deepEqual(cp.extensions, []);
  assert.equal(formatCheckpoint(cp), note.body);
  assert.equal(note.signatures[0]?.name, 'example.com/behind-the-sofa');
});

test('transparency-dev/formats Rekor checkpoint body', () => {
  const cp = parseCheckpoint(parseSignedNote(V.formats.sigstoreNote).body);
  assert.equal(cp.origin, 'Rekor');
  assert.equal(cp.size, 798034);
});

test('conformance Rekor v1 and v2 checkpoints', { skip: !haveShared }, () => {
  const v1 = parseCheckpoint(parseSignedNote(caseCheckpoint('happy-path-v0.1')).body);
  assert.equal(v1.origin, 'rekor.sigstore.dev - 2605736670972794746');
  assert.equal(v1.size, 23083062);
  assert.equal(v1.rootHash.length, 32);
  assert.deepEqual(v1.extensions, ['Timestamp: 1689177396617352539']);
  assert.equal(formatCheckpoint(v1), parseSignedNote(caseCheckpoint('happy-path-v0.1')).body);

  const v2 = parseCheckpoint(parseSignedNote(caseCheckpoint('rekor2-happy-path')).body);
  assert.equal(v2.origin, 'log2025-alpha1.rekor.sigstage.dev');
  assert.equal(v2.size, 736);
  assert.deepEqual(v2.extensions, []);

  malformed(
    () => parseCheckpoint(parseSignedNote(caseCheckpoint('rekor2-checkpoint-missing-origin_fail')).body),
    /missing its origin line/,
  );
  malformed(
    () => parseCheckpoint(parseSignedNote(caseCheckpoint('rekor2-checkpoint-missing-size_fail')).body),
    /missing its tree size line/,
  );
});

test('tree size rules: decimal, no leading zeros, safe integer', () => {
  assert.equal(parseCheckpoint(`o\n0\n${ROOT_B64}\n`).size, 0);
  assert.equal(parseCheckpoint(`o\n${Number.MAX_SAFE_INTEGER}\n${ROOT_B64}\n`).size, Number.MAX_SAFE_INTEGER);
  for (const bad of ['01', '00', '-1', '+1', '1.0', '1e3', ' 1', '1 ', '0x10', 'ten', '١٢']) {
    malformed(() => parseCheckpoint(`o\n${bad}\n${ROOT_B64}\n`), /tree size/);
  }
  malformed(() => parseCheckpoint(`o\n9007199254740992\n${ROOT_B64}\n`), /larger than/);
  malformed(() => parseCheckpoint(`o\n99999999999999999999999\n${ROOT_B64}\n`), /larger than/);
});

test('root hash rules: standard base64 of exactly 32 bytes', () => {
  malformed(() => parseCheckpoint(`o\n1\n${Buffer.alloc(31).toString('base64')}\n`), /31 bytes/);
  malformed(() => parseCheckpoint(`o\n1\n${Buffer.alloc(33).toString('base64')}\n`), /33 bytes/);
  malformed(() => parseCheckpoint(`o\n1\n${ROOT_B64.replace(/=$/, '')}\n`), /base64/);
  malformed(() => parseCheckpoint(`o\n1\n${Buffer.alloc(32, 0xff).toString('base64url')}=\n`), /base64/);
  malformed(() => parseCheckpoint(`o\n1\n${ROOT_B64.slice(0, -2)}!=\n`), /base64/);
  malformed(() => parseCheckpoint(`o\n1\n\n`), /root hash/);
});

test('missing and empty lines are named', () => {
  malformed(() => parseCheckpoint(''), /origin/);
  malformed(() => parseCheckpoint('\n1\nabc\n'), /origin/);
  malformed(() => parseCheckpoint('origin\n'), /tree size line/);
  malformed(() => parseCheckpoint('origin\n\n'), /tree size line/);
  malformed(() => parseCheckpoint('origin\n5\n'), /root hash line/);
  malformed(() => parseCheckpoint(`origin\n${ROOT_B64}\n`), /tree size line/);
  malformed(() => parseCheckpoint(`12\n${ROOT_B64}\n`), /origin line/);
  malformed(() => parseCheckpoint(`origin\n1\n${ROOT_B64}`), /newline/);
  malformed(() => parseCheckpoint(`origin\n1\n${ROOT_B64}\n\nextra\n`), /extension line 1 is empty/);
  malformed(() => parseCheckpoint(`origin\r\n1\n${ROOT_B64}\n`), /control character/);
  malformed(() => parseCheckpoint(7 as unknown as string), /string/);
});

test('extensions are kept in order', () => {
  const cp = parseCheckpoint(`o\n3\n${ROOT_B64}\nfirst\nsecond line\n`);
  assert.deepEqual(cp.extensions, ['first', 'second line']);
  assert.equal(formatCheckpoint(cp), `o\n3\n${ROOT_B64}\nfirst\nsecond line\n`);
});

test('formatCheckpoint validates its input', () => {
  assert.equal(formatCheckpoint({ origin: 'log.example', size: 0, rootHash: ROOT }), `log.example\n0\n${ROOT_B64}\n`);
  const bad: [string, unknown][] = [
    ['empty origin', { origin: '', size: 1, rootHash: ROOT }],
    ['two-line origin', { origin: 'a\nb', size: 1, rootHash: ROOT }],
    ['negative size', { origin: 'o', size: -1, rootHash: ROOT }],
    ['fractional size', { origin: 'o', size: 1.5, rootHash: ROOT }],
    ['unsafe size', { origin: 'o', size: 2 ** 53, rootHash: ROOT }],
    ['string size', { origin: 'o', size: '1', rootHash: ROOT }],
    ['short root', { origin: 'o', size: 1, rootHash: Buffer.alloc(31) }],
    ['empty extension', { origin: 'o', size: 1, rootHash: ROOT, extensions: [''] }],
    ['multi-line extension', { origin: 'o', size: 1, rootHash: ROOT, extensions: ['a\nb'] }],
    ['missing input', undefined],
  ];
  for (const [desc, input] of bad) {
    assert.throws(
      () => formatCheckpoint(input as Parameters<typeof formatCheckpoint>[0]),
      (err: unknown) => err instanceof CoreError && err.code === 'CHECKPOINT_MALFORMED',
      desc,
    );
  }
});
