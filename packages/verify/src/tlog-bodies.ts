// Log entry bodies against the bundle: one checker per entry kind and version, registered in
// one table. Each confirms the logged entry records this bundle's signature, the digest of
// what was signed, and the same signing certificate or key.

import { CoreError, base64Decode, pemDecodeAll, type FixedKeyVerifier, type X509 } from '@sigstack/core';
import type { KeyObject } from 'node:crypto';
import { fail } from './errors.js';
import type { SignedContent } from './signed-content.js';

export interface Signer {
  certificate?: X509;
  publicKey: KeyObject;
  spki: Buffer;
  /** A managed key (`--key`) prepared once for ECDSA checks; never a key from the bundle. */
  fixedKey?: FixedKeyVerifier;
}

type Json = Record<string, unknown>;
type BodyChecker = (spec: Json, content: SignedContent, signer: Signer) => void;

const MISMATCH = 'TLOG_BODY_MISMATCH';

function at(value: unknown, ...path: string[]): unknown {
  let node = value;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') fail(MISMATCH, `the log entry has no ${what}`);
  return value;
}

function b64(value: unknown, what: string): Buffer {
  try {
    return base64Decode(text(value, what), `log entry ${what}`);
  } catch (err) {
    if (err instanceof CoreError) fail(MISMATCH, `the log entry's ${what} is not valid base64`);
    throw err;
  }
}

/**
 * A recorded value that must be the bundle's. A different signature and a different digest get
 * their own codes (a tampered signature and a tampered artifact or payload are different stories).
 */
function expectEqual(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  const code = what === 'signature' ? 'TLOG_SIGNATURE_MISMATCH' : 'TLOG_DIGEST_MISMATCH';
  fail(code, `the log entry's ${what} does not match the bundle: the entry is for something else`);
}

/** A verifier given as base64 of PEM (a certificate or a public key), as Rekor v1 bodies hold it. */
function expectPemSigner(value: unknown, signer: Signer, what: string): void {
  const pem = b64(value, what).toString('utf8');
  const block = pemDecodeAll(pem)[0];
  if (!block) fail(MISMATCH, `the log entry's ${what} is not PEM`);
  expectDerSigner(block.label === 'CERTIFICATE' ? { cert: block.der } : { spki: block.der }, signer, what);
}

function expectDerSigner(given: { cert?: Buffer; spki?: Buffer }, signer: Signer, what: string): void {
  const same = given.cert ? signer.certificate?.der.equals(given.cert) : given.spki?.equals(signer.spki);
  if (same) return;
  if (!signer.certificate) fail('KEY_MISMATCH', `the log entry's ${what} is another public key: this was not signed with the given key`);
  fail(MISMATCH, `the log entry's ${what} is not the bundle's signing certificate`);
}

function v2Verifier(verifier: unknown, signer: Signer): void {
  const cert = at(verifier, 'x509Certificate', 'rawBytes');
  const key = at(verifier, 'publicKey', 'rawBytes');
  if (cert !== undefined) expectDerSigner({ cert: b64(cert, 'verifier certificate') }, signer, 'verifier');
  else expectDerSigner({ spki: b64(key, 'verifier public key') }, signer, 'verifier');
}

const V2_HASHES: Record<string, string> = { SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' };

function onlySignature(list: unknown, what: string): Json {
  if (!Array.isArray(list) || list.length !== 1) fail(MISMATCH, `the log entry must record exactly one ${what}`);
  return list[0] as Json;
}

const hashedrekord001: BodyChecker = (spec, content, signer) => {
  if (content.kind !== 'message') fail(MISMATCH, 'a hashedrekord 0.0.1 entry cannot record a DSSE envelope');
  expectEqual(b64(at(spec, 'signature', 'content'), 'signature'), content.signature, 'signature');
  const algorithm = text(at(spec, 'data', 'hash', 'algorithm'), 'hash algorithm');
  if (algorithm !== content.hash) fail(MISMATCH, `the log entry hashes with ${algorithm}, the bundle with ${content.hash}`);
  expectEqual(Buffer.from(text(at(spec, 'data', 'hash', 'value'), 'artifact hash'), 'hex'), content.digest, 'artifact hash');
  expectPemSigner(at(spec, 'signature', 'publicKey', 'content'), signer, 'public key');
};

const hashedrekord002: BodyChecker = (spec, content, signer) => {
  const entry = at(spec, 'hashedRekordV002') as Json;
  expectEqual(b64(at(entry, 'signature', 'content'), 'signature'), content.signature, 'signature');
  const algorithm = V2_HASHES[text(at(entry, 'data', 'algorithm'), 'digest algorithm')];
  const digest = b64(at(entry, 'data', 'digest'), 'digest');
  if (content.kind === 'message') {
    if (algorithm !== content.hash) fail(MISMATCH, `the log entry's digest algorithm is not the bundle's ${content.hash}`);
    expectEqual(digest, content.digest, 'artifact digest');
  } else {
    // Rekor v2 logs a DSSE envelope as a hashedrekord over its PAE bytes.
    if (algorithm !== 'sha256') fail(MISMATCH, 'the log entry does not record a SHA-256 digest of the envelope');
    expectEqual(digest, content.paeSha256, 'envelope digest');
  }
  v2Verifier(at(entry, 'signature', 'verifier'), signer);
};

const dsse001: BodyChecker = (spec, content, signer) => {
  if (content.kind !== 'dsse') fail(MISMATCH, 'a dsse entry cannot record a message signature');
  const signature = onlySignature(spec.signatures, 'signature');
  expectEqual(b64(signature.signature, 'signature'), content.signature, 'signature');
  if (text(at(spec, 'payloadHash', 'algorithm'), 'payload hash algorithm') !== 'sha256') fail(MISMATCH, 'the log entry does not hash the payload with sha256');
  expectEqual(Buffer.from(text(at(spec, 'payloadHash', 'value'), 'payload hash'), 'hex'), content.payloadSha256, 'payload hash');
  expectPemSigner(signature.verifier, signer, 'verifier');
};

const dsse002: BodyChecker = (spec, content, signer) => {
  if (content.kind !== 'dsse') fail(MISMATCH, 'a dsse entry cannot record a message signature');
  const entry = at(spec, 'dsseV002') as Json;
  const signature = onlySignature(at(entry, 'signatures'), 'signature');
  expectEqual(b64(signature.content, 'signature'), content.signature, 'signature');
  if (V2_HASHES[text(at(entry, 'payloadHash', 'algorithm'), 'payload hash algorithm')] !== 'sha256') fail(MISMATCH, 'the log entry does not hash the payload with SHA-256');
  expectEqual(b64(at(entry, 'payloadHash', 'digest'), 'payload hash'), content.payloadSha256, 'payload hash');
  v2Verifier(signature.verifier, signer);
};

const intoto002: BodyChecker = (spec, content, signer) => {
  if (content.kind !== 'dsse') fail(MISMATCH, 'an intoto entry cannot record a message signature');
  const signature = onlySignature(at(spec, 'content', 'envelope', 'signatures'), 'signature');
  // intoto 0.0.2 stores the envelope's base64 signature base64-encoded once more.
  const sig = b64(b64(signature.sig, 'signature').toString('latin1'), 'signature (base64 inside base64)');
  expectEqual(sig, content.signature, 'signature');
  if (text(at(spec, 'content', 'payloadHash', 'algorithm'), 'payload hash algorithm') !== 'sha256') fail(MISMATCH, 'the log entry does not hash the payload with sha256');
  expectEqual(Buffer.from(text(at(spec, 'content', 'payloadHash', 'value'), 'payload hash'), 'hex'), content.payloadSha256, 'payload hash');
  expectPemSigner(signature.publicKey, signer, 'public key');
};

/** The entry kinds a bundle may carry, by `kind/apiVersion`. */
const CHECKERS: Record<string, BodyChecker> = {
  'hashedrekord/0.0.1': hashedrekord001,
  'hashedrekord/0.0.2': hashedrekord002,
  'dsse/0.0.1': dsse001,
  'dsse/0.0.2': dsse002,
  'intoto/0.0.2': intoto002,
};

export function verifyEntryBody(canonicalizedBody: Buffer, kindVersion: { kind: string; version: string }, content: SignedContent, signer: Signer): void {
  let body: Json;
  try {
    body = JSON.parse(canonicalizedBody.toString('utf8')) as Json;
  } catch {
    fail(MISMATCH, 'the log entry body is not JSON');
  }
  if (body.kind !== kindVersion.kind || body.apiVersion !== kindVersion.version) {
    fail(MISMATCH, `the log entry body is ${String(body.kind)}/${String(body.apiVersion)} but the bundle says ${kindVersion.kind}/${kindVersion.version}`);
  }
  const checker = CHECKERS[`${kindVersion.kind}/${kindVersion.version}`];
  if (!checker) fail('TLOG_KIND_UNSUPPORTED', `log entries of kind ${kindVersion.kind} ${kindVersion.version} are not supported`);
  const spec = body.spec;
  if (typeof spec !== 'object' || spec === null) fail(MISMATCH, 'the log entry body has no spec');
  checker(spec as Json, content, signer);
}
