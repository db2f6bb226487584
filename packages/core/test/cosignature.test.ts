// Tests for cosignature.ts, witness-protocol.ts and tlog-policy.ts. The cosignatures sigstack
// makes are checked by an independent tlog-cosignature/v1 implementation written here from the
// spec text (c2sp.org/tlog-cosignature), and it makes cosignatures sigstack must accept.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import {
  checkCosignatures,
  cosignatureLine,
  formatCosignerVkey,
  parseCosignerVkey,
  verifyCosignature,
} from '../src/cosignature.js';
import { formatAddCheckpointRequest, originHash, parseAddCheckpointRequest, parseTlogSize } from '../src/witness-protocol.js';
import { checkWitnessPolicy, parseTlogPolicy, quorumMet, thresholdPolicy } from '../src/tlog-policy.js';
import { formatVerifierKey, parseSignedNote } from '../src/note.js';
import { CoreError } from '../src/errors.js';

// ---- An independent tlog-cosignature/v1 (Ed25519) implementation, from the spec only ----
const spec = {
  raw(pub: KeyObject): Buffer {
    // The last 32 bytes of an Ed25519 SubjectPublicKeyInfo are the RFC 8032 public key.
    return pub.export({ format: 'der', type: 'spki' }).subarray(-32);
  },
  keyId(name: string, pub: KeyObject): Buffer {
    // SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 cosigner public key)[:4]
    return createHash('sha256').update(Buffer.concat([Buffer.from(name + '\n'), Buffer.of(4), spec.raw(pub)])).digest().subarray(0, 4);
  },
  message(body: string, time: number): Buffer {
    return Buffer.from('cosignature/v1\n' + 'time ' + time.toString(10) + '\n' + body);
  },
  line(body: string, name: string, priv: KeyObject, time: number): string {
    const ts = Buffer.alloc(8);
    ts.writeUInt32BE(Math.floor(time / 2 ** 32), 0);
    ts.writeUInt32BE(time % 2 ** 32, 4);
    const sig = sign(null, spec.message(body, time), priv);
    return '\u2014 ' + name + ' ' + Buffer.concat([spec.keyId(name, createPublicKey(priv)), ts, sig]).toString('base64') + '\n';
  },
  check(line: string, body: string, name: string, pub: KeyObject): number | undefined {
    const m = /^\u2014 (\S+) (\S+)\n?$/.exec(line);
    if (!m || m[1] !== name) return undefined;
    const raw = Buffer.from(m[2] as string, 'base64');
    if (raw.length !== 76 || !raw.subarray(0, 4).equals(spec.keyId(name, pub))) return undefined;
    const time = raw.readUInt32BE(4) * 2 ** 32 + raw.readUInt32BE(8);
    return time > 0 && verify(null, spec.message(body, time), pub, raw.subarray(12)) ? time : undefined;
  },
};

const body = 'example.com/log\n42\n' + Buffer.alloc(32, 7).toString('base64') + '\nTimestamp: 123\n';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const NAME = 'witness.example/w1';

test('a sigstack cosignature verifies under the independent implementation (76 bytes, type 0x04 key ID, extension lines signed)', () => {
  const line = cosignatureLine(body, NAME, privateKey, 1_700_000_000);
  assert.equal(spec.check(line, body, NAME, publicKey), 1_700_000_000);
  assert.equal(Buffer.from(line.split(' ')[2] as string, 'base64').length, 76);
  // The extension line is part of the signed message: dropping it breaks the signature.
  assert.equal(spec.check(line, body.replace('Timestamp: 123\n', ''), NAME, publicKey), undefined);
});

test('an independently made cosignature verifies in sigstack; a tampered one does not', () => {
  const vkey = parseCosignerVkey(formatCosignerVkey(NAME, publicKey));
  const line = spec.line(body, NAME, privateKey, 1_800_000_123);
  const note = parseSignedNote(body + '\n' + line);
  assert.equal(verifyCosignature(note.body, note.signatures[0]!, vkey)?.timestamp, 1_800_000_123);
  const otherBody = body.replace('\n42\n', '\n43\n');
  assert.equal(verifyCosignature(otherBody, note.signatures[0]!, vkey), undefined, 'a line copied onto another tree fails');
  assert.throws(() => cosignatureLine(body, NAME, privateKey, 0), (e: CoreError) => e.code === 'COSIGNATURE_INVALID');
});

test('cosigner vkeys: type 0x04, key ID checked, log keys and ML-DSA-44 refused with clear codes', () => {
  const text = formatCosignerVkey(NAME, publicKey);
  // The key's base64 may itself hold '+': only the first two separate fields.
  const [name, id, ...rest] = text.split('+');
  const b64 = rest.join('+');
  assert.equal(name, NAME);
  assert.equal(id, spec.keyId(NAME, publicKey).toString('hex'));
  assert.equal(Buffer.from(b64!, 'base64')[0], 0x04);
  assert.throws(() => parseCosignerVkey(`${name}+00000000+${b64}`), (e: CoreError) => e.code === 'COSIGNER_KEY_INVALID');
  assert.throws(() => parseCosignerVkey(formatVerifierKey(NAME, publicKey)), (e: CoreError) => e.code === 'COSIGNER_KEY_UNSUPPORTED');
  const mldsa = Buffer.concat([Buffer.of(6), Buffer.alloc(1311)]).toString('base64');
  assert.throws(() => parseCosignerVkey(`${NAME}+00000000+${mldsa}`), (e: CoreError) => e.code === 'COSIGNER_KEY_INVALID' && /1312/.test(e.message));
});

test('ML-DSA-44 cosignatures (type 0x06) match an independent cosigned_message built from the spec', async () => {
  const { ml_dsa44 } = await import('@noble/post-quantum/ml-dsa.js');
  const { formatMldsaCosignerVkey, mldsaCosignatureLine, mldsaKeyPair } = await import('../src/cosignature.js');
  const keys = mldsaKeyPair(Buffer.alloc(32, 3));
  const vkey = parseCosignerVkey(formatMldsaCosignerVkey(NAME, keys.publicKey));
  assert.equal(vkey.keyHint.toString('hex'), createHash('sha256').update(Buffer.concat([Buffer.from(NAME + '\n'), Buffer.of(6), keys.publicKey])).digest().subarray(0, 4).toString('hex'));
  // struct { "subtree/v1\n\0"; opaque cosigner_name<1..255>; u64 timestamp; opaque log_origin<1..255>; u64 start; u64 end; u8 hash[32] }
  const specMessage = (time: number) => {
    const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeUInt32BE(Math.floor(n / 2 ** 32), 0); b.writeUInt32BE(n % 2 ** 32, 4); return b; };
    return Buffer.concat([Buffer.from('subtree/v1\n\0'), Buffer.of(NAME.length), Buffer.from(NAME), u64(time), Buffer.of('example.com/log'.length), Buffer.from('example.com/log'), u64(0), u64(42), Buffer.alloc(32, 7)]);
  };
  const line = mldsaCosignatureLine(body, NAME, keys.secretKey, keys.publicKey, 1_700_000_000);
  const raw = Buffer.from(line.trim().split(' ')[2] as string, 'base64');
  assert.equal(raw.length, 2432);
  assert.equal(raw.readUInt32BE(8), 1_700_000_000);
  assert.ok(ml_dsa44.verify(raw.subarray(12), specMessage(1_700_000_000), keys.publicKey), 'the spec message is what was signed');
  // An independently made one verifies in sigstack; on another tree it does not.
  const ts = Buffer.alloc(8);
  ts.writeUInt32BE(1_800_000_000, 4);
  const own = '\u2014 ' + NAME + ' ' + Buffer.concat([vkey.keyHint, ts, Buffer.from(ml_dsa44.sign(specMessage(1_800_000_000), keys.secretKey))]).toString('base64') + '\n';
  const note = parseSignedNote(body + '\n' + own);
  assert.equal(verifyCosignature(note.body, note.signatures[0]!, vkey)?.timestamp, 1_800_000_000);
  assert.equal(verifyCosignature(body.replace('\n42\n', '\n43\n'), note.signatures[0]!, vkey), undefined);
  // Extension lines are not part of an ML-DSA-44 cosignature.
  assert.ok(verifyCosignature(body.replace('Timestamp: 123\n', ''), note.signatures[0]!, vkey));
});

test('checkCosignatures ignores unknown keys and reports a known key whose signature fails', () => {
  const key = parseCosignerVkey(formatCosignerVkey(NAME, publicKey));
  const other = generateKeyPairSync('ed25519');
  const good = cosignatureLine(body, NAME, privateKey, 1_700_000_001);
  const stranger = cosignatureLine(body, 'someone.else', other.privateKey, 1_700_000_001);
  assert.equal(checkCosignatures(body + '\n' + stranger + good, [key]).valid.size, 1);
  const [dash, name, b64] = good.trim().split(' ') as [string, string, string];
  const raw = Buffer.from(b64, 'base64');
  raw[40] ^= 0x01; // a bit of the Ed25519 signature itself
  const broken = `${dash} ${name} ${raw.toString('base64')}\n`;
  assert.deepEqual(checkCosignatures(body + '\n' + broken, [key]).failed, [NAME]);
});

test('add-checkpoint bodies: old line, proof lines, blank line, checkpoint; 63 lines at most', () => {
  const proof = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
  const text = formatAddCheckpointRequest(5, proof, body + '\n— x AAAAAAA=\n');
  const parsed = parseAddCheckpointRequest(text);
  assert.equal(parsed.oldSize, 5);
  assert.deepEqual(parsed.proof, proof);
  assert.equal(parsed.checkpoint, body + '\n— x AAAAAAA=\n');
  for (const bad of ['old 01\n\nx', 'old -1\n\nx', 'new 1\n\nx', 'old 1\nnot-base64\n\nx', 'old 1']) {
    assert.throws(() => parseAddCheckpointRequest(bad), (e: CoreError) => e.code === 'WITNESS_REQUEST_MALFORMED', bad);
  }
  const long = formatAddCheckpointRequest(1, Array.from({ length: 64 }, () => Buffer.alloc(32)), body);
  assert.throws(() => parseAddCheckpointRequest(long), (e: CoreError) => e.code === 'WITNESS_PROOF_TOO_LONG');
  assert.equal(parseTlogSize('17\n'), 17);
  assert.throws(() => parseTlogSize('17'), (e: CoreError) => e.code === 'WITNESS_RESPONSE_MALFORMED');
  assert.equal(originHash('example.com/log'), createHash('sha256').update('example.com/log').digest('hex'));
});

test('tlog-policy: the spec example parses; groups, thresholds and quorum evaluate; errors name the line', () => {
  const keys = Array.from({ length: 6 }, (_, i) => formatCosignerVkey(`w${i}.example`, generateKeyPairSync('ed25519').publicKey));
  const log = formatVerifierKey('example.com/log', generateKeyPairSync('ed25519').publicKey);
  const text = `# example\nlog ${log} https://log.example\n\nwitness X1 ${keys[0]}\nwitness X2 ${keys[1]}\nwitness X3 ${keys[2]}\ngroup X-witnesses 2 X1 X2 X3\n\twitness Y1 ${keys[3]} https://y1.example\nwitness Y2 ${keys[4]}\nwitness Y3 ${keys[5]}\ngroup Y-witnesses any Y1 Y2 Y3\ngroup X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n`;
  const policy = parseTlogPolicy(text);
  assert.equal(policy.logs.length, 1);
  assert.equal(policy.witnesses.get('Y1')?.url, 'https://y1.example');
  assert.equal(quorumMet(policy, new Set(['X1', 'X2', 'Y3'])), true);
  assert.equal(quorumMet(policy, new Set(['X1', 'Y1', 'Y2'])), false);
  assert.equal(quorumMet(parseTlogPolicy('quorum none\n'), new Set()), true);
  const cases: [string, RegExp][] = [
    [`witness A ${keys[0]}\nquorum B\n`, /line 2: B is not defined/],
    [`witness A ${keys[0]}\nwitness B ${keys[0]}\nquorum A\n`, /line 2: duplicate key/],
    [`witness A ${keys[0]}\ngroup G 2 A\nquorum G\n`, /line 2: threshold/],
    [`witness A ${keys[0]}\ngroup G any A A\nquorum G\n`, /listed twice/],
    [`witness A ${keys[0]}\n`, /no quorum line/],
    [`witness none ${keys[0]}\nquorum none\n`, /reserved/],
    [`frobnicate\nquorum none\n`, /unknown keyword/],
  ];
  for (const [t, re] of cases) assert.throws(() => parseTlogPolicy(t), (e: CoreError) => e.code === 'POLICY_INVALID' && re.test(e.message), t);
});

test('checkWitnessPolicy counts valid cosignatures, rejects a failing known one', () => {
  const w = [generateKeyPairSync('ed25519'), generateKeyPairSync('ed25519')];
  const vkeys = w.map((k, i) => formatCosignerVkey(`w${i}`, k.publicKey));
  const policy = thresholdPolicy(vkeys, 2);
  const one = cosignatureLine(body, 'w0', w[0]!.privateKey, 1_700_000_000);
  assert.deepEqual(checkWitnessPolicy(body + '\n' + one, policy), { cosigned: ['w0'], quorum: false });
  const two = one + cosignatureLine(body, 'w1', w[1]!.privateKey, 1_700_000_000);
  assert.equal(checkWitnessPolicy(body + '\n' + two, policy).quorum, true);
  const otherTree = body.replace('\n42\n', '\n41\n');
  assert.throws(() => checkWitnessPolicy(otherTree + '\n' + two, policy), (e: CoreError) => e.code === 'COSIGNATURE_INVALID');
});

test('compact ranges fold to the RFC 6962 root at every size and survive a save', async () => {
  const { CompactRange } = await import('../src/compact-range.js');
  const { leafHash, rootFromLeafHashes } = await import('../src/merkle.js');
  const leaves = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
  let range = CompactRange.empty();
  for (let i = 0; i < leaves.length; i++) {
    range.append(leaves[i]!);
    assert.deepEqual(range.root(), rootFromLeafHashes(leaves.slice(0, i + 1)), `size ${i + 1}`);
    const saved = range.toJSON();
    range = CompactRange.from(saved.size, saved.hashes.map((h) => Buffer.from(h, 'base64')));
  }
  assert.throws(() => CompactRange.from(3, [Buffer.alloc(32)]), (e: CoreError) => e.code === 'COMPACT_RANGE_INVALID');
});
