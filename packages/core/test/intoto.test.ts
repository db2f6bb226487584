// Tests for intoto.ts: the conformance suite's in-toto statement, a real DSSE bundle payload,
// v0.1 statements, subject digest matching, and malformed statements.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseStatement, statementHasSubjectDigest, STATEMENT_TYPE_V01, STATEMENT_TYPE_V1 } from '../src/intoto.js';
import { parseEnvelope } from '../src/dsse.js';
import { CoreError } from '../src/errors.js';

const SHARED = new URL('../../../../../shared/conformance/', import.meta.url);
const STATEMENT = new URL('statement.json', SHARED);
const A_TXT_SHA256 = 'a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf';

const enc = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const base = {
  _type: STATEMENT_TYPE_V1,
  subject: [{ name: 'a.txt', digest: { sha256: A_TXT_SHA256 } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: { x: 1 },
};

function malformed(value: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseStatement(value instanceof Uint8Array ? value : enc(value)),
    (err: unknown) => {
      assert.ok(err instanceof CoreError, `expected CoreError, got ${String(err)}`);
      assert.equal(err.code, 'INTOTO_MALFORMED');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('the conformance statement.json parses and names a.txt', { skip: !existsSync(STATEMENT) }, () => {
  const stmt = parseStatement(readFileSync(STATEMENT));
  assert.equal(stmt.type, STATEMENT_TYPE_V1);
  assert.equal(stmt.predicateType, 'https://slsa.dev/provenance/v1');
  assert.deepEqual(stmt.subjects, [{ name: 'a.txt', digest: { sha256: A_TXT_SHA256 } }]);
  assert.equal((stmt.predicate as { buildDefinition: { buildType: string } }).buildDefinition.buildType,
    'https://actions.github.io/buildtypes/workflow/v1');
  assert.ok(statementHasSubjectDigest(stmt, 'sha256', A_TXT_SHA256));
  assert.ok(statementHasSubjectDigest(stmt, 'sha256', A_TXT_SHA256.toUpperCase()));
  assert.ok(!statementHasSubjectDigest(stmt, 'sha256', A_TXT_SHA256.replace(/^a/, 'b')));
  assert.ok(!statementHasSubjectDigest(stmt, 'sha512', 'a'.repeat(128)));
  // The artifact that the suite signs hashes to that digest.
  const artifact = new URL('bundle-verify/a.txt', SHARED);
  if (existsSync(artifact)) {
    assert.equal(createHash('sha256').update(readFileSync(artifact)).digest('hex'), A_TXT_SHA256);
  }
});

const DSSE_BUNDLE = new URL('bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json', SHARED);

test('a DSSE bundle payload parses as a statement', { skip: !existsSync(DSSE_BUNDLE) }, () => {
  const bundleUrl = DSSE_BUNDLE;
  const env = parseEnvelope(JSON.parse(readFileSync(bundleUrl, 'utf8')).dsseEnvelope);
  const stmt = parseStatement(env.payload);
  assert.ok(stmt.subjects.length >= 1);
  assert.ok(stmt.subjects.every((s) => Object.keys(s.digest).length > 0));
});

test('v0.1 statements, unset names and predicates, extra fields', () => {
  const v01 = parseStatement(enc({ ...base, _type: STATEMENT_TYPE_V01, extra: true }));
  assert.equal(v01.type, STATEMENT_TYPE_V01);
  const noName = parseStatement(enc({ ...base, subject: [{ digest: { sha256: A_TXT_SHA256, sha1: 'ab' }, uri: 'x' }] }));
  assert.equal(noName.subjects[0]?.name, '');
  assert.deepEqual(noName.subjects[0]?.digest, { sha256: A_TXT_SHA256, sha1: 'ab' });
  const { predicate: _, ...withoutPredicate } = base;
  assert.deepEqual(parseStatement(enc(withoutPredicate)).predicate, {});
  assert.deepEqual(parseStatement(enc({ ...base, predicate: null })).predicate, {});
  const proto = parseStatement(enc('{"_type":"https://in-toto.io/Statement/v1","predicateType":"p",' +
    '"subject":[{"digest":{"__proto__":"ab","sha256":"' + A_TXT_SHA256 + '"}}]}'));
  assert.deepEqual(Object.keys(proto.subjects[0]!.digest), ['__proto__', 'sha256']);
  assert.ok(statementHasSubjectDigest(proto, 'sha256', A_TXT_SHA256));
});

test('subject digest matching checks its input', () => {
  const stmt = parseStatement(enc({ ...base, subject: [{ name: 'x', digest: { sha256: 'AB'.repeat(32) } }, base.subject[0]] }));
  assert.ok(statementHasSubjectDigest(stmt, 'sha256', 'ab'.repeat(32)));
  assert.ok(statementHasSubjectDigest(stmt, 'sha256', A_TXT_SHA256));
  for (const bad of ['', 'ab', 'zz'.repeat(32), A_TXT_SHA256 + '00', 7 as unknown as string]) {
    assert.throws(
      () => statementHasSubjectDigest(stmt, 'sha256', bad),
      (err: unknown) => err instanceof CoreError && err.code === 'DIGEST_INVALID',
    );
  }
  assert.throws(
    () => statementHasSubjectDigest(stmt, 'md5' as 'sha256', 'ab'.repeat(16)),
    (err: unknown) => err instanceof CoreError && err.code === 'DIGEST_INVALID',
  );
});

test('malformed statements', () => {
  malformed(Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), /UTF-8/);
  malformed('{"_type": ', /JSON/);
  malformed('[]', /JSON object/);
  malformed('null', /JSON object/);
  malformed({ ...base, _type: 'https://in-toto.io/Statement/v2' }, /_type/);
  malformed({ ...base, _type: undefined }, /_type/);
  malformed({ ...base, subject: undefined }, /no subject array/);
  malformed({ ...base, subject: {} }, /no subject array/);
  malformed({ ...base, subject: [] }, /subject list is empty/);
  malformed({ ...base, subject: ['a.txt'] }, /subject\[0\] must be an object/);
  malformed({ ...base, subject: [{ name: 'a' }] }, /subject\[0\]\.digest must be an object/);
  malformed({ ...base, subject: [{ name: 'a', digest: [] }] }, /digest must be an object/);
  malformed({ ...base, subject: [{ name: 'a', digest: 'abc' }] }, /digest must be an object/);
  malformed({ ...base, subject: [{ name: 'a', digest: {} }] }, /digest is empty/);
  malformed({ ...base, subject: [{ name: 'a', digest: { sha256: 5 } }] }, /digest\.sha256 must be a non-empty string/);
  malformed({ ...base, subject: [{ name: 'a', digest: { sha256: '' } }] }, /non-empty string/);
  malformed({ ...base, subject: [base.subject[0], { name: 3, digest: { sha256: 'ab' } }] }, /subject\[1\]\.name/);
  malformed({ ...base, predicateType: undefined }, /predicateType/);
  malformed({ ...base, predicateType: '' }, /predicateType/);
  malformed({ ...base, predicate: 'text' }, /predicate must be a JSON object/);
  malformed({ ...base, predicate: [1] }, /predicate must be a JSON object/);
  assert.throws(() => parseStatement('{}' as unknown as Uint8Array), CoreError);
});
