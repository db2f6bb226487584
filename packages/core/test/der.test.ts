// The DER reader under core's parsers: the tree it reads from well-formed DER (tags, contents,
// OIDs, times, strings) and what it refuses (BER lengths, non-minimal forms, constructed
// strings, truncation, trailing bytes, runaway nesting), always as CoreError with the caller's code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreError } from '../src/errors.js';
import { UNIVERSAL, bitStringBytes, children, contentBytes, oidOf, parseDer, rawBytes, stringOf, tagOf, timeOf } from '../src/der.js';

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const refuses = (h: string | Buffer, pattern: RegExp) =>
  assert.throws(() => parseDer(typeof h === 'string' ? hex(h) : h, 'X_BAD', 'thing'), (err: unknown) => err instanceof CoreError && err.code === 'X_BAD' && pattern.test(err.message));

test('reads a SEQUENCE of an OID, an INTEGER, a BIT STRING and a context tag', () => {
  // SEQUENCE { OID 1.2.840.10045.4.3.2, INTEGER 5, BIT STRING 00 ff, [0] { NULL } }
  const der = hex('3015 0608 2a8648ce3d040302 020105 030200ff a0020500');
  const top = parseDer(der, 'X_BAD', 'thing');
  const [oid, int, bits, ctx] = children(top, 'X_BAD', 'thing');
  assert.equal(oidOf(oid, 'X_BAD', 'oid'), '1.2.840.10045.4.3.2');
  assert.deepEqual(Buffer.from(contentBytes(int, 'X_BAD', 'int')), hex('05'));
  assert.deepEqual(Buffer.from(bitStringBytes(bits, 'X_BAD', 'bits')), hex('ff'));
  assert.deepEqual(tagOf(ctx!), { cls: 3, number: 0 });
  assert.deepEqual(Buffer.from(rawBytes(ctx!)), hex('a0020500'));
  assert.equal(oidOf(parseDer(hex('06032a0304'), 'X', 'o'), 'X', 'o'), '1.2.3.4');
  assert.equal(oidOf(parseDer(hex('0603 883703'), 'X', 'o'), 'X', 'o'), '2.999.3');
});

test('times and strings', () => {
  assert.equal(timeOf(parseDer(hex('170d3234303331393137323632365a'), 'X', 't'), 'X', 't').toISOString(), '2024-03-19T17:26:26.000Z');
  assert.equal(timeOf(parseDer(hex('170d3939313233313233353935395a'), 'X', 't'), 'X', 't').getUTCFullYear(), 1999);
  assert.equal(timeOf(parseDer(Buffer.concat([hex('180f'), Buffer.from('20500101000000Z')]), 'X', 't'), 'X', 't').getUTCFullYear(), 2050);
  assert.throws(() => timeOf(parseDer(Buffer.concat([hex('170d'), Buffer.from('241319172626Z')]), 'X', 't'), 'X', 't'), CoreError);
  assert.equal(stringOf(parseDer(Buffer.concat([hex('0c04'), Buffer.from('h\u00e9y', 'utf8')]), 'X', 's'), 'X', 's'), 'h\u00e9y');
  assert.equal(stringOf(parseDer(hex('1e0400680069'), 'X', 's'), 'X', 's'), 'hi');
  assert.equal(UNIVERSAL.SEQUENCE, 16);
});

test('refuses BER and malformed DER with the caller\'s code', () => {
  refuses('3080 0500 0000', /indefinite length/);
  refuses('30 8103 050000', /non-minimal length/);
  refuses('04 820003 616263', /non-minimal length/);
  refuses('24 06 0401 61 0401 62', /constructed encoding of a primitive type/);
  refuses('1f 1e 00', /non-minimal tag/);
  refuses('3005 0500', /end of input/);
  refuses('0500 00', /trailing bytes/);
  refuses('', /no data/);
  refuses('30 85 0000000001 00', /length too large/);
  refuses(Buffer.concat([...Array.from({ length: 70 }, () => hex('3080'))]), /indefinite|nested/);
  let deep = hex('0500');
  for (let i = 0; i < 70; i++) deep = Buffer.concat([Buffer.from([0x30, 0x81, deep.length]).subarray(0, deep.length < 0x80 ? 0 : 3), deep.length < 0x80 ? Buffer.from([0x30, deep.length]) : Buffer.alloc(0), deep]);
  refuses(deep, /nested deeper/);
});
