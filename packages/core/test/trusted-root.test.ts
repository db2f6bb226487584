// Trusted roots: validFor is optional in every list (absent = valid at every time, as
// protobuf-specs and the other sigstore clients read it), but a validFor without a start is a
// malformed root (sigstore-conformance trust-root-tlog-missing-validity-start_fail).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CoreError, VALID_AT_ALL_TIMES, inTimeRange, parseTrustedRoot } from '../src/index.js';

type Json = Record<string, any>;
const publicGood = (): Json => JSON.parse(readFileSync(fileURLToPath(new URL('../../../verify/trust/public-good-trusted-root.json', import.meta.url)), 'utf8'));
const ranges = (root: Json): Json[] => [
  ...root.tlogs.map((t: Json) => t.publicKey),
  ...root.ctlogs.map((t: Json) => t.publicKey),
  ...root.certificateAuthorities,
  ...root.timestampAuthorities,
];

test('a root with no validFor anywhere: every key and authority is valid at every time', () => {
  const json = publicGood();
  for (const holder of ranges(json)) delete holder.validFor;
  const root = parseTrustedRoot(json);
  const all = [...root.tlogs.map((t) => t.publicKey.validFor), ...root.ctlogs.map((t) => t.publicKey.validFor), ...root.certificateAuthorities.map((c) => c.validFor), ...root.timestampAuthorities.map((c) => c.validFor)];
  assert.ok(all.length >= 4);
  for (const range of all) {
    assert.equal(range, VALID_AT_ALL_TIMES);
    assert.ok(inTimeRange(range, new Date('1970-01-01T00:00:00Z')) && inTimeRange(range, new Date('2999-01-01T00:00:00Z')));
  }
});

test('validFor without a start is refused in every list, naming where', () => {
  for (const [list, at] of [['tlogs', 'tlogs[0].publicKey.validFor.start'], ['ctlogs', 'ctlogs[0].publicKey.validFor.start'], ['certificateAuthorities', 'certificateAuthorities[0].validFor.start'], ['timestampAuthorities', 'timestampAuthorities[0].validFor.start']] as const) {
    const json = publicGood();
    const holder = list === 'tlogs' || list === 'ctlogs' ? json[list][0].publicKey : json[list][0];
    holder.validFor = { end: '2030-01-01T00:00:00Z' };
    assert.throws(() => parseTrustedRoot(json), (err: unknown) => err instanceof CoreError && err.code === 'TRUSTED_ROOT_INVALID' && err.message.includes(at), list);
  }
});
