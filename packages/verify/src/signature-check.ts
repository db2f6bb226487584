// The signature over what was signed: the artifact (its bytes, or a digest of them) or the
// DSSE envelope's PAE; and, for DSSE, that the artifact is what the envelope is about.

import { constants, publicDecrypt, type KeyObject } from 'node:crypto';
import { hashForKey, parseStatement, statementHasSubjectDigest, verifySignatureAsync, CoreError } from '@sigstack/core';
import { fail } from './errors.js';
import { sha, type Artifact, type SignedContent } from './signed-content.js';

export async function verifyContentSignature(content: SignedContent, key: KeyObject): Promise<boolean> {
  const pure = key.asymmetricKeyType === 'ed25519';
  if (content.kind === 'dsse') {
    return verifySignatureAsync({ name: 'dsse', hash: hashForKey(key) }, content.pae, key, content.signature);
  }
  if (content.artifact.kind === 'bytes') {
    return verifySignatureAsync({ name: 'message', hash: pure ? null : content.hash }, content.artifact.data, key, content.signature);
  }
  return verifyPrehashed(key, content.digest, content.hash, content.signature);
}

/** Signature over a digest the caller computed (the artifact itself is not at hand). */
async function verifyPrehashed(key: KeyObject, digest: Buffer, hash: 'sha256' | 'sha384' | 'sha512', signature: Buffer): Promise<boolean> {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const noble = curve === 'prime256v1' ? (await import('@noble/curves/nist.js')).p256
      : curve === 'secp384r1' ? (await import('@noble/curves/nist.js')).p384
      : curve === 'secp521r1' ? (await import('@noble/curves/nist.js')).p521 : undefined;
    if (!noble) fail('KEY_UNSUPPORTED', `ECDSA curve ${curve} is not supported`);
    const point = key.export({ format: 'jwk' });
    const raw = Buffer.concat([Buffer.from([4]), Buffer.from(point.x as string, 'base64url'), Buffer.from(point.y as string, 'base64url')]);
    try {
      return noble.verify(signature, digest, raw, { prehash: false, format: 'der', lowS: false });
    } catch {
      return false;
    }
  }
  if (key.asymmetricKeyType === 'rsa') {
    try {
      const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      return recovered.equals(Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash], 'hex'), digest]));
    } catch {
      return false;
    }
  }
  return fail('ARTIFACT_REQUIRED', `a ${key.asymmetricKeyType} signature covers the artifact itself, not its digest: give the file instead`);
}

/** DER DigestInfo headers that precede the digest in an RSA PKCS#1 v1.5 signature (RFC 8017 §9.2). */
const DIGEST_INFO_PREFIX = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
} as const;

/** For DSSE bundles: the artifact must be a subject of the in-toto statement (or the payload itself). */
export function verifyDsseSubject(content: Extract<SignedContent, { kind: 'dsse' }>): void {
  const artifact: Artifact | undefined = content.artifact;
  if (!artifact) return;
  const envelope = content.envelope;
  if (envelope.payloadType !== 'application/vnd.in-toto+json') {
    const digest = artifact.kind === 'bytes' ? sha(artifact.data, 'sha256') : artifact.digest;
    if (!digest.equals(content.payloadSha256)) fail('ARTIFACT_MISMATCH', 'the artifact is not the DSSE payload this bundle signs');
    return;
  }
  let statement;
  try {
    statement = parseStatement(envelope.payload);
  } catch (err) {
    if (err instanceof CoreError) fail('INTOTO_INVALID', `the signed in-toto statement is malformed: ${err.message}`);
    throw err;
  }
  const algorithm = artifact.kind === 'bytes' ? 'sha256' : artifact.algorithm;
  const digest = artifact.kind === 'bytes' ? sha(artifact.data, 'sha256') : artifact.digest;
  if (!statementHasSubjectDigest(statement, algorithm, digest.toString('hex'))) {
    fail('ARTIFACT_MISMATCH', `the artifact's ${algorithm} digest is not a subject of the signed in-toto statement`);
  }
}
