// Tests for note.ts: C2SP / Go sumdb / transparency-dev / rekor-tiles published vectors, real
// Rekor v1 (ECDSA) and Rekor v2 (Ed25519) checkpoints from the conformance suite, and negatives.

import { generateKeyPair } from '../src/keygen.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import {
  ecdsaKeyHint,
  ed25519KeyHint,
  formatVerifierKey,
  isValidNoteKeyName,
  noteKeyHint,
  noteSignatureMatches,
  parseSignedNote,
  parseVerifierKey,
  signNote,
  verifyNoteSignature,
  type NoteSignature,
  type NoteSigner,
} from '../src/note.js';
import { CoreError } from '../src/errors.js';

const V = JSON.parse(
  readFileSync(new URL('../../test/vectors/signed-notes.json', import.meta.url), 'utf8'),
) as {
  c2sp: { vkey: string; note: string; poemNote: string; checkpointNote: string };
  go: { skey: string; peterKey: string; enochKey: string; text: string; peterSig: string; enochSig: string; badKeys: string[] };
  formats: { sigstoreKey: string; sigstoreNote: string; pixelKey: string; pixelNote: string; badKeys: string[] };
  rekorTiles: { origin: string; ed25519PrivateKeyPem: string; ed25519KeyId: number; ecdsaPrivateKeyPem: string; ecdsaKeyId: number };
};

const SHARED = new URL('../../../../../shared/', import.meta.url);
const CONFORMANCE = new URL('conformance/bundle-verify/', SHARED);
const haveShared = existsSync(CONFORMANCE);

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CoreError, `expected CoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

function rejectsAny(fn: () => unknown, what: string): void {
  let threw = false;
  try {
    fn();
  } catch (err) {
    threw = true;
    assert.ok(err instanceof CoreError, `${what}: expected CoreError, got ${String(err)}`);
  }
  assert.ok(threw, `${what}: was accepted`);
}

/** The Go sumdb private key format: PRIVATE+KEY+<name>+<hash>+base64(0x01 || 32-byte seed). */
function goSigner(skey: string): { name: string; key: KeyObject; signer: NoteSigner } {
  const parts = skey.split('+');
  const name = parts[2] as string;
  const raw = Buffer.from(parts.slice(4).join('+'), 'base64');
  assert.equal(raw[0], 1);
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), raw.subarray(1)]);
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const keyHint = noteKeyHint(name, key);
  assert.equal(keyHint.toString('hex'), parts[3]);
  return { name, key, signer: { name, keyHint, sign: (msg) => sign(null, msg, key) } };
}

interface TrustedLog {
  baseUrl: string;
  logId: { keyId: string };
  publicKey: { rawBytes: string; keyDetails: string };
}

function readJson(url: URL): any {
  return JSON.parse(readFileSync(url, 'utf8'));
}

function caseCheckpoint(name: string): string {
  const bundle = readJson(new URL(`${name}/bundle.sigstore.json`, CONFORMANCE));
  return bundle.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope as string;
}

function caseLogs(name: string | null): TrustedLog[] {
  const url =
    name === null
      ? new URL('trust/public-good/trusted_root.json', SHARED)
      : new URL(`${name}/trusted_root.json`, CONFORMANCE);
  return readJson(url).tlogs as TrustedLog[];
}

function logKey(log: TrustedLog): { key: KeyObject; spki: Buffer; logId: Buffer } {
  const spki = Buffer.from(log.publicKey.rawBytes, 'base64');
  return {
    key: createPublicKey({ key: spki, format: 'der', type: 'spki' }),
    spki,
    logId: Buffer.from(log.logId.keyId, 'base64'),
  };
}

test('C2SP spec example: vkey parses and verifies the example note', () => {
  const vk = parseVerifierKey(V.c2sp.vkey);
  assert.equal(vk.name, 'example.com/foo');
  assert.equal(vk.type, 'ed25519');
  assert.equal(vk.keyHint.toString('hex'), '530d903a');
  const note = parseSignedNote(V.c2sp.note);
  assert.equal(note.body, 'This is an example message.\n');
  assert.equal(note.signatures.length, 1);
  const sig = note.signatures[0] as NoteSignature;
  assert.equal(sig.name, 'example.com/foo');
  assert.ok(noteSignatureMatches(sig, vk.name, vk.keyHint));
  assert.equal(sig.signature.length, 64);
  assert.ok(verifyNoteSignature(note.body, sig, vk.key));
  assert.equal(verifyNoteSignature('This is an example message!\n', sig, vk.key), false);
  assert.equal(formatVerifierKey(vk.name, vk.key), V.c2sp.vkey);
});

test('C2SP spec poem: the text may contain blank lines; the last one separates signatures', () => {
  const note = parseSignedNote(V.c2sp.poemNote);
  assert.equal(
    note.body,
    'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n',
  );
  assert.equal(note.signatures.length, 1);
  assert.equal(note.signatures[0]?.name, 'quasimodo.example/salvatore');
  assert.equal(note.signatures[0]?.keyHint.length, 4);
  assert.equal(note.signatures[0]?.signature.length, 64);
});

test('Go sumdb vectors: signNote reproduces the published note byte for byte', () => {
  const { signer } = goSigner(V.go.skey);
  const note = signNote(V.go.text, [signer]);
  assert.equal(note, `${V.go.text}\n${V.go.peterSig}`);
  const peter = parseVerifierKey(V.go.peterKey);
  const enoch = parseVerifierKey(V.go.enochKey);
  const parsed = parseSignedNote(`${V.go.text}\n${V.go.peterSig}${V.go.enochSig}`);
  assert.equal(parsed.body, V.go.text);
  assert.deepEqual(
    parsed.signatures.map((s) => [s.name, s.keyHint.toString('hex')]),
    [
      ['PeterNeumann', 'c74f20a3'],
      ['EnochRoot', 'af0cfe78'],
    ],
  );
  const [ps, es] = parsed.signatures as [NoteSignature, NoteSignature];
  assert.ok(noteSignatureMatches(ps, peter.name, peter.keyHint));
  assert.ok(!noteSignatureMatches(ps, enoch.name, enoch.keyHint));
  assert.ok(!noteSignatureMatches(ps, 'PeterNeuman', peter.keyHint));
  assert.ok(verifyNoteSignature(parsed.body, ps, peter.key));
  assert.ok(verifyNoteSignature(parsed.body, es, enoch.key));
  assert.equal(verifyNoteSignature(parsed.body, ps, enoch.key), false);
  // A corrupted signature (Go's "ABCD" insertion) decodes but does not verify.
  const bad = parseSignedNote(`${V.go.text}\n${V.go.peterSig.slice(0, 60)}ABCD${V.go.peterSig.slice(60)}`);
  assert.equal(verifyNoteSignature(bad.body, bad.signatures[0] as NoteSignature, peter.key), false);
});

test('Go sumdb vectors: malformed notes are rejected', () => {
  const { text, peterSig } = V.go;
  const bad = [
    text,
    `${text}\n`,
    `${text}\n${peterSig.slice(0, -1)}`,
    `\u0001${text}\n${peterSig}`,
    `\ud800${text}\n${peterSig}`,
    `${text}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
    `${text}\n${peterSig}Unexpected line.\n`,
    `${text}\n${peterSig.repeat(101)}`,
  ];
  for (const msg of bad) throwsCode(() => parseSignedNote(msg), 'NOTE_MALFORMED');
  // 100 signatures are fine (the spec requires accepting at least 16).
  assert.equal(parseSignedNote(`${text}\n${peterSig.repeat(100)}`).signatures.length, 100);
});

test('signed-note format rules', () => {
  const sigB64 = Buffer.concat([Buffer.from('abcd'), Buffer.alloc(64, 7)]).toString('base64');
  const ok = `hello\n\n— example.com/k ${sigB64}\n`;
  assert.equal(parseSignedNote(ok).body, 'hello\n');
  const cases: [string, string][] = [
    ['no blank line', `hello\n— example.com/k ${sigB64}\n`],
    ['no final newline', `hello\n\n— example.com/k ${sigB64}`],
    ['empty text', `\n\n— example.com/k ${sigB64}\n`],
    ['ascii dash', `hello\n\n- example.com/k ${sigB64}\n`],
    ['en dash', `hello\n\n\u2013 example.com/k ${sigB64}\n`],
    ['no space after dash', `hello\n\n—example.com/k ${sigB64}\n`],
    ['double space', `hello\n\n— example.com/k  ${sigB64}\n`],
    ['trailing space', `hello\n\n— example.com/k ${sigB64} \n`],
    ['three fields', `hello\n\n— example.com/k ${sigB64} extra\n`],
    ['no signature', `hello\n\n— example.com/k\n`],
    ['empty name', `hello\n\n—  ${sigB64}\n`],
    ['plus in name', `hello\n\n— example.com+k ${sigB64}\n`],
    ['nbsp in name', `hello\n\n— example.com\u00a0k ${sigB64}\n`],
    ['tab in text', `hel\tlo\n\n— example.com/k ${sigB64}\n`],
    ['CR in text', `hello\r\n\n— example.com/k ${sigB64}\n`],
    ['bad base64 char', `hello\n\n— example.com/k ${sigB64.slice(0, -4)}AB*=\n`],
    ['url-safe base64', `hello\n\n— example.com/k ${Buffer.alloc(9, 0xff).toString('base64url')}\n`],
    ['unpadded base64', `hello\n\n— example.com/k ${Buffer.alloc(8, 1).toString('base64').replace(/=+$/, '')}\n`],
    ['too short', `hello\n\n— example.com/k ${Buffer.alloc(4, 1).toString('base64')}\n`],
    ['trailing blank line', `hello\n\n— a ${sigB64}\n\n`],
  ];
  for (const [desc, text] of cases) {
    assert.throws(
      () => parseSignedNote(text),
      (err: unknown) => err instanceof CoreError && err.code === 'NOTE_MALFORMED',
      desc,
    );
  }
  // Only the last blank line separates: an earlier signature-looking line belongs to the text.
  const twoBlocks = parseSignedNote(`hello\n\n— a ${sigB64}\n\n— b ${sigB64}\n`);
  assert.equal(twoBlocks.body, `hello\n\n— a ${sigB64}\n`);
  assert.deepEqual(twoBlocks.signatures.map((s) => s.name), ['b']);
  throwsCode(() => parseSignedNote(42 as unknown as string), 'NOTE_MALFORMED');
  // A 5-byte signature (hint plus one byte) is the smallest accepted.
  const five = Buffer.from([1, 2, 3, 4, 5]).toString('base64');
  assert.deepEqual(parseSignedNote(`x\n\n— k ${five}\n`).signatures[0]?.signature, Buffer.from([5]));
  assert.ok(isValidNoteKeyName('rekor.sigstore.dev'));
  assert.ok(!isValidNoteKeyName('rekor.sigstore.dev - 123'));
  assert.ok(!isValidNoteKeyName(''));
  assert.ok(!isValidNoteKeyName('a\u0085b'));
});

test('verifier keys: Go manglings and bad keys are rejected', () => {
  const vkey = V.go.peterKey;
  for (let i = 0; i <= vkey.length; i++) {
    for (let j = i + 1; j <= vkey.length; j++) {
      if (i === 0 && j === vkey.length) continue;
      rejectsAny(() => parseVerifierKey(vkey.slice(i, j)), `substring ${i}..${j}`);
    }
  }
  for (let i = 0; i < vkey.length; i++) {
    const mangled = vkey.slice(0, i) + String.fromCharCode(vkey.charCodeAt(i) + 1) + vkey.slice(i + 1);
    rejectsAny(() => parseVerifierKey(mangled), `byte ${i} incremented`);
  }
  throwsCode(() => parseVerifierKey(V.go.badKeys[0] as string), 'NOTE_KEY_INVALID');
  throwsCode(() => parseVerifierKey(V.go.badKeys[1] as string), 'NOTE_KEY_UNSUPPORTED');
  for (const k of V.formats.badKeys) rejectsAny(() => parseVerifierKey(k), k);
  throwsCode(() => parseVerifierKey(vkey.toUpperCase()), 'NOTE_KEY_INVALID');
  throwsCode(() => parseVerifierKey(undefined as unknown as string), 'NOTE_KEY_INVALID');
});

test('transparency-dev/formats ECDSA vkeys verify Rekor and Pixel checkpoints', () => {
  for (const [vkey, text] of [
    [V.formats.sigstoreKey, V.formats.sigstoreNote],
    [V.formats.pixelKey, V.formats.pixelNote],
  ] as const) {
    const vk = parseVerifierKey(vkey);
    assert.equal(vk.type, 'ecdsa');
    const spki = vk.key.export({ format: 'der', type: 'spki' });
    assert.deepEqual(vk.keyHint, ecdsaKeyHint(spki));
    assert.deepEqual(noteKeyHint(vk.name, vk.key), vk.keyHint);
    assert.equal(formatVerifierKey(vk.name, vk.key), vkey);
    const note = parseSignedNote(text);
    const sig = note.signatures[0] as NoteSignature;
    assert.ok(noteSignatureMatches(sig, vk.name, vk.keyHint));
    assert.ok(verifyNoteSignature(note.body, sig, vk.key), vkey);
    assert.equal(verifyNoteSignature(note.body.replace('\n', 'X\n'), sig, vk.key), false);
  }
  // The invalid-signature vector still parses (it is base64) but does not verify.
  const bad = V.formats.sigstoreNote.replace(
    /wNI9aj\S+/,
    'THIS/IS/PROBABLY/NOT/A/VALID/SIGNATURE/ANy/MOREowGp/XgIgc+qEHS3+GKVClgqq20uDLet7MCoTURUCRdxwWBHHufk=',
  );
  const note = parseSignedNote(bad);
  assert.equal(verifyNoteSignature(note.body, note.signatures[0] as NoteSignature, parseVerifierKey(V.formats.sigstoreKey).key), false);
});

test('rekor-tiles key IDs: Ed25519 uses name+type, ECDSA hashes the SPKI only', () => {
  const { origin } = V.rekorTiles;
  const ed = createPrivateKey(V.rekorTiles.ed25519PrivateKeyPem);
  const ec = createPrivateKey(V.rekorTiles.ecdsaPrivateKeyPem);
  assert.equal(noteKeyHint(origin, ed).readUInt32BE(0), V.rekorTiles.ed25519KeyId);
  assert.equal(noteKeyHint(origin, ec).readUInt32BE(0), V.rekorTiles.ecdsaKeyId);
  // ECDSA hints do not depend on the name; Ed25519 hints do.
  assert.deepEqual(noteKeyHint('other.name', ec), noteKeyHint(origin, ec));
  assert.notDeepEqual(noteKeyHint('other.name', ed), noteKeyHint(origin, ed));
  const edRaw = Buffer.from(createPublicKey(ed).export({ format: 'der', type: 'spki' }).subarray(-32));
  assert.equal(ed25519KeyHint(origin, edRaw).readUInt32BE(0), V.rekorTiles.ed25519KeyId);
  const ecSpki = createPublicKey(ec).export({ format: 'der', type: 'spki' });
  assert.equal(ecdsaKeyHint(ecSpki).readUInt32BE(0), V.rekorTiles.ecdsaKeyId);
  throwsCode(() => ed25519KeyHint(origin, edRaw.subarray(1)), 'NOTE_KEY_INVALID');
  throwsCode(() => ed25519KeyHint('bad name', edRaw), 'NOTE_KEY_INVALID');
  throwsCode(() => ecdsaKeyHint(new Uint8Array()), 'NOTE_KEY_INVALID');
  const rsa = generateKeyPair('rsa', { modulusLength: 1024 }).publicKey;
  throwsCode(() => noteKeyHint(origin, rsa), 'NOTE_KEY_UNSUPPORTED');
  const p384 = generateKeyPair('ec', { namedCurve: 'P-384' }).publicKey;
  throwsCode(() => noteKeyHint(origin, p384), 'NOTE_KEY_UNSUPPORTED');
  throwsCode(
    () => verifyNoteSignature('x\n', { name: 'k', keyHint: Buffer.alloc(4), signature: Buffer.alloc(64) }, rsa),
    'NOTE_KEY_UNSUPPORTED',
  );
});

test('signNote round trip with Ed25519 and ECDSA signers, plus a cosignature', () => {
  const ed = generateKeyPair('ed25519');
  const ec = generateKeyPair('ec', { namedCurve: 'P-256' });
  const body = 'log.example/one\n5\n' + Buffer.alloc(32, 9).toString('base64') + '\n';
  const signers: NoteSigner[] = [
    { name: 'log.example/one', keyHint: noteKeyHint('log.example/one', ed.publicKey), sign: (m) => sign(null, m, ed.privateKey) },
    { name: 'log.example/ecdsa', keyHint: noteKeyHint('log.example/ecdsa', ec.publicKey), sign: (m) => sign('sha256', m, ec.privateKey) },
  ];
  const text = signNote(body, signers);
  const note = parseSignedNote(text);
  assert.equal(note.body, body);
  const [s1, s2] = note.signatures as [NoteSignature, NoteSignature];
  assert.ok(verifyNoteSignature(body, s1, ed.publicKey));
  assert.ok(verifyNoteSignature(body, s2, ec.publicKey));
  assert.equal(verifyNoteSignature(body, s1, ec.publicKey), false);
  assert.equal(verifyNoteSignature(body, s2, ed.publicKey), false);
  // Wrong-size Ed25519 signature and garbage DER are "does not verify", not exceptions.
  assert.equal(verifyNoteSignature(body, { ...s1, signature: s1.signature.subarray(1) }, ed.publicKey), false);
  assert.equal(verifyNoteSignature(body, { ...s2, signature: Buffer.from('nonsense') }, ec.publicKey), false);
  // Bodies with blank lines inside survive the round trip.
  const tricky = 'a\n\nb\n\n';
  assert.equal(parseSignedNote(signNote(tricky, signers.slice(0, 1))).body, tricky);

  throwsCode(() => signNote('no newline', signers), 'NOTE_MALFORMED');
  throwsCode(() => signNote('\n', signers), 'NOTE_MALFORMED');
  throwsCode(() => signNote('a\tb\n', signers), 'NOTE_MALFORMED');
  throwsCode(() => signNote(body, []), 'NOTE_MALFORMED');
  throwsCode(() => signNote(body, [{ ...signers[0]!, name: 'has space' }]), 'NOTE_MALFORMED');
  throwsCode(() => signNote(body, [{ ...signers[0]!, keyHint: Buffer.alloc(3) }]), 'NOTE_MALFORMED');
  throwsCode(() => signNote(body, [{ ...signers[0]!, sign: () => Buffer.alloc(0) }]), 'NOTE_MALFORMED');
});

test('Rekor v1 public-good checkpoint (ECDSA P-256) verifies with the trusted root key', { skip: !haveShared }, () => {
  const [rekor] = caseLogs(null).filter((l) => l.baseUrl === 'https://rekor.sigstore.dev');
  assert.ok(rekor);
  const { key, spki, logId } = logKey(rekor);
  // Rekor v1's log ID is SHA-256 of the DER SPKI; the note key hint is its first 4 bytes.
  assert.deepEqual(createHash('sha256').update(spki).digest(), logId);
  assert.deepEqual(ecdsaKeyHint(spki), logId.subarray(0, 4));
  assert.deepEqual(noteKeyHint('rekor.sigstore.dev', key), logId.subarray(0, 4));

  for (const c of ['happy-path-v0.3', 'happy-path-v0.1']) {
    const note = parseSignedNote(caseCheckpoint(c));
    assert.match(note.body, /^rekor\.sigstore\.dev - \d+\n\d+\n/);
    assert.equal(note.signatures.length, 1);
    const sig = note.signatures[0] as NoteSignature;
    // Rekor v1 signs as the bare host name, not the origin line.
    assert.equal(sig.name, 'rekor.sigstore.dev');
    assert.ok(noteSignatureMatches(sig, 'rekor.sigstore.dev', logId.subarray(0, 4)));
    assert.ok(verifyNoteSignature(note.body, sig, key), c);
    // Tampered body, wrong key.
    assert.equal(verifyNoteSignature(note.body.replace(/\n\d/, (m) => `\n${(Number(m[1]) + 1) % 10}`), sig, key), false);
    const otherLog = logKey(caseLogs(null).find((l) => l.baseUrl !== rekor.baseUrl) as TrustedLog);
    assert.equal(verifyNoteSignature(note.body, sig, otherLog.key), false);
  }

  // checkpoint-bad-keyhint_fail: the hint no longer names the trusted log.
  const badHint = parseSignedNote(caseCheckpoint('checkpoint-bad-keyhint_fail'));
  assert.ok(!noteSignatureMatches(badHint.signatures[0] as NoteSignature, 'rekor.sigstore.dev', logId.subarray(0, 4)));
  // invalid-checkpoint-signature_fail: the hint matches but the signature does not verify.
  const badSig = parseSignedNote(caseCheckpoint('invalid-checkpoint-signature_fail'));
  const sig = badSig.signatures[0] as NoteSignature;
  assert.ok(noteSignatureMatches(sig, 'rekor.sigstore.dev', logId.subarray(0, 4)));
  assert.equal(verifyNoteSignature(badSig.body, sig, key), false);
});

test('Rekor v2 checkpoints (Ed25519) verify; witness cosignatures are tolerated', { skip: !haveShared }, () => {
  const logs = caseLogs('rekor2-happy-path');
  const log = logs.find((l) => l.publicKey.keyDetails === 'PKIX_ED25519') as TrustedLog;
  const { key, spki, logId } = logKey(log);
  const name = new URL(log.baseUrl).host;
  assert.equal(name, 'log2025-alpha1.rekor.sigstage.dev');
  const raw = spki.subarray(-32);
  // rekor-tiles: the log ID is the untruncated C2SP Ed25519 key ID hash.
  const full = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([1]), raw])).digest();
  assert.deepEqual(full, logId);
  assert.deepEqual(ed25519KeyHint(name, raw), logId.subarray(0, 4));
  assert.equal(formatVerifierKey(name, key).split('+')[1], logId.subarray(0, 4).toString('hex'));

  for (const c of ['rekor2-happy-path', 'rekor2-checkpoint-cosigned', 'rekor2-checkpoint-multiple-cosigs', 'rekor2-checkpoint-two-sigs-cosigned']) {
    const note = parseSignedNote(caseCheckpoint(c));
    const ours: NoteSignature[] = note.signatures.filter((s) => noteSignatureMatches(s, name, logId.subarray(0, 4)));
    assert.equal(ours.length, 1, c);
    assert.ok(verifyNoteSignature(note.body, ours[0] as NoteSignature, key), c);
    assert.equal(verifyNoteSignature(note.body.replace('736', '737'), ours[0] as NoteSignature, key), false);
    // Every other line (witness cosignatures, an unknown second log key) is parsed and left alone.
    assert.ok(note.signatures.length >= 1);
  }
  const cosigned = parseSignedNote(caseCheckpoint('rekor2-checkpoint-cosigned'));
  assert.equal(cosigned.signatures[1]?.name, 'witness.example');
  assert.equal(cosigned.signatures[1]?.signature.length, 8 + 64); // timestamp || Ed25519 signature

  // No log signature line at all: not even a well-formed note.
  throwsCode(() => parseSignedNote(caseCheckpoint('rekor2-checkpoint-missing-log-signature_fail')), 'NOTE_MALFORMED');
  // Renamed signer: the name no longer matches, and the Ed25519 hint for that name differs too.
  const renamed = parseSignedNote(caseCheckpoint('rekor2-checkpoint-no-matching-signature_fail'));
  const rs = renamed.signatures[0] as NoteSignature;
  assert.ok(!noteSignatureMatches(rs, name, logId.subarray(0, 4)));
  assert.notDeepEqual(ed25519KeyHint(rs.name, raw), rs.keyHint);
  assert.equal(verifyNoteSignature(renamed.body, rs, key), false);
});
