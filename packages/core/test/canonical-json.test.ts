// Tests for canonical-json.ts: the cyberphone/json-canonicalization reference pairs, RFC 8785
// Appendix B number samples, the RFC's sorting example, and values that must be rejected.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { canonicalize } from '../src/canonical-json.js';
import { CoreError } from '../src/errors.js';

const V = JSON.parse(
  readFileSync(new URL('../../test/vectors/jcs-cyberphone.json', import.meta.url), 'utf8'),
) as { cases: { name: string; input: string; output: string }[]; numbers: [string, string][]; nonFinite: string[] };

const fromBits = (hex: string): number => Buffer.from(hex.padStart(16, '0'), 'hex').readDoubleBE(0);

function rejects(value: unknown, pattern?: RegExp): void {
  assert.throws(
    () => canonicalize(value),
    (err: unknown) => {
      assert.ok(err instanceof CoreError, `expected CoreError, got ${String(err)}`);
      assert.equal(err.code, 'JSON_NOT_CANONICALIZABLE');
      if (pattern) assert.match(err.message, pattern);
      return true;
    },
  );
}

test('cyberphone reference input/output pairs', () => {
  assert.equal(V.cases.length, 6);
  for (const c of V.cases) {
    const out = canonicalize(JSON.parse(c.input));
    assert.equal(out, c.output, c.name);
    // Canonical text is a fixed point.
    assert.equal(canonicalize(JSON.parse(out)), out, `${c.name} (again)`);
  }
});

test('RFC 8785 Appendix B number serialization samples', () => {
  for (const [hex, expected] of V.numbers) {
    assert.equal(canonicalize(fromBits(hex)), expected, hex);
    assert.equal(canonicalize([fromBits(hex)]), `[${expected}]`, hex);
  }
  for (const hex of V.nonFinite) rejects(fromBits(hex), /not a JSON number/);
  rejects(NaN);
  rejects({ a: [1, Infinity] }, /\$\.a\[1\]/);
});

test('RFC 8785 §3.2.3 sorting example: keys ordered by UTF-16 code units', () => {
  const value = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji: Grinning Face',
    '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  };
  assert.equal(
    canonicalize(value),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
      '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
});

test('RFC 8785 §3.2.2 main example', () => {
  const input = '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
    ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}';
  assert.equal(
    canonicalize(JSON.parse(input)),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
      '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
  );
});

test('strings: control characters, escapes and non-ASCII', () => {
  assert.equal(canonicalize('\b\t\n\f\r'), '"\\b\\t\\n\\f\\r"');
  assert.equal(canonicalize('\u0000\u001f\u007f'), '"\\u0000\\u001f\u007f"');
  assert.equal(canonicalize('\u2028\u2029/'), '"\u2028\u2029/"');
  assert.equal(canonicalize('😂'), '"😂"');
  rejects('\ud800', /lone UTF-16 surrogate/);
  rejects('a\udc00b', /lone UTF-16 surrogate/);
  rejects({ ['\udead']: 1 }, /lone UTF-16 surrogate/);
});

test('scalars, nesting and -0', () => {
  assert.equal(canonicalize(null), 'null');
  assert.equal(canonicalize(true), 'true');
  assert.equal(canonicalize(false), 'false');
  assert.equal(canonicalize(-0), '0');
  assert.equal(canonicalize([]), '[]');
  assert.equal(canonicalize({}), '{}');
  assert.equal(canonicalize(Object.create(null) as object), '{}');
  assert.equal(canonicalize({ b: [{ d: 1, c: 2 }], a: { z: null, y: 'x' } }), '{"a":{"y":"x","z":null},"b":[{"c":2,"d":1}]}');
  const deep: unknown[] = [];
  let cur = deep;
  for (let i = 0; i < 1000; i++) {
    const next: unknown[] = [];
    cur.push(next);
    cur = next;
  }
  assert.equal(canonicalize(deep), '['.repeat(1001) + ']'.repeat(1001));
});

test('non-JSON values are rejected with a path', () => {
  rejects(undefined, /undefined/);
  rejects({ a: undefined }, /\$\.a: undefined/);
  rejects([1, undefined], /\$\[1\]/);
  // eslint-disable-next-line no-sparse-arrays
  rejects([1, , 3], /\$\[1\]/);
  rejects(() => 1, /function/);
  rejects({ f() {} }, /function/);
  rejects(Symbol('s'), /symbol/);
  rejects(10n, /bigint/);
  rejects(new Date(0), /Date/);
  rejects(new Map(), /Map/);
  rejects(Buffer.from('x'), /not a plain JSON object/);
  rejects({ [Symbol('k')]: 1 }, /symbol keys/);
  class Thing {
    a = 1;
  }
  rejects(new Thing(), /Thing/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  rejects(cyclic, /cycle/);
  // Shared (non-cyclic) references are fine.
  const shared = { x: 1 };
  assert.equal(canonicalize([shared, shared]), '[{"x":1},{"x":1}]');
  // Pathologically deep input becomes a CoreError, not a RangeError.
  let deep: unknown = 0;
  for (let i = 0; i < 200_000; i++) deep = [deep];
  rejects(deep, /nested too deeply/);
});
