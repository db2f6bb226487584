// The signature over what was signed: the artifact (its bytes, or a digest of them) or the
// DSSE envelope's PAE; and, for DSSE, that the artifact is what the envelope is about.

import {
  hashForKeyInfo,
  parseStatement,
  spkiKeyInfo,
  statementHasSubjectDigest,
  verifyEcdsaNatively,
  verifyPrehashedSignature,
  verifySignatureAsync,
  CoreError,
  type Statement,
} from '@sigstack/core';
import { fail } from './errors.js';
import { sha, type Artifact, type SignedContent } from './signed-content.js';
import type { Signer } from './tlog-bodies.js';

/** ECDSA keys are checked natively from their point when the addon is loaded (no KeyObject is made). */
export async function verifyContentSignature(content: SignedContent, signer: Signer): Promise<boolean> {
  const info = signer.certificate?.publicKeyInfo ?? spkiKeyInfo(signer.spki);
  const pure = info.type === 'ed25519' || info.type === 'ed448';
  // A managed ECDSA key prepared once (FixedKeyVerifier exists only for ECDSA keys).
  const fixed = signer.fixedKey;
  if (content.kind === 'dsse') {
    const hash = hashForKeyInfo(info);
    if (fixed && hash) return fixed.verify(hash, content.pae, content.signature);
    return (hash && verifyEcdsaNatively(info, hash, content.pae, content.signature)) ?? verifySignatureAsync({ name: 'dsse', hash }, content.pae, signer.publicKey, content.signature);
  }
  if (content.artifact.kind === 'bytes') {
    const hash = pure ? null : content.hash;
    const data = content.artifact.data;
    if (fixed && hash) return fixed.verify(hash, data, content.signature);
    return (hash && verifyEcdsaNatively(info, hash, data, content.signature)) ?? verifySignatureAsync({ name: 'message', hash }, data, signer.publicKey, content.signature);
  }
  if (pure) {
    fail('ARTIFACT_REQUIRED', 'an Ed25519 signature covers the artifact itself, not its digest: give the file instead');
  }
  if (fixed) return fixed.verifyDigest(content.digest, content.signature);
  return verifyPrehashedSignature(signer.spki, content.digest, content.hash, content.signature, info.type === 'rsa' ? signer.publicKey : undefined);
}

/**
 * For DSSE bundles: the artifact must be a subject of the in-toto statement (or the payload
 * itself). Returns the verified in-toto statement (undefined for other payload types).
 */
export function verifyDsseSubject(content: Extract<SignedContent, { kind: 'dsse' }>): Statement | undefined {
  const artifact: Artifact | undefined = content.artifact;
  const envelope = content.envelope;
  if (envelope.payloadType !== 'application/vnd.in-toto+json') {
    if (!artifact) return undefined;
    const digest = artifact.kind === 'bytes' ? sha(artifact.data, 'sha256') : artifact.digest;
    if (!digest.equals(content.payloadSha256)) fail('ARTIFACT_MISMATCH', 'the artifact is not the DSSE payload this bundle signs');
    return undefined;
  }
  let statement;
  try {
    statement = parseStatement(envelope.payload);
  } catch (err) {
    // Without an artifact to find in it, a statement that does not parse is only not reported.
    if (err instanceof CoreError && !artifact) return undefined;
    if (err instanceof CoreError) fail('INTOTO_INVALID', `the signed in-toto statement is malformed: ${err.message}`);
    throw err;
  }
  if (!artifact) return statement;
  const algorithm = artifact.kind === 'bytes' ? 'sha256' : artifact.algorithm;
  const digest = artifact.kind === 'bytes' ? sha(artifact.data, 'sha256') : artifact.digest;
  if (!statementHasSubjectDigest(statement, algorithm, digest.toString('hex'))) {
    fail('ARTIFACT_MISMATCH', `the artifact's ${algorithm} digest is not a subject of the signed in-toto statement`);
  }
  return statement;
}

/** cosign's --type check: the verified statement's predicateType must be the one asked for. */
export function verifyPredicateType(statement: Statement | undefined, wanted: string): void {
  const found = statement?.predicateType;
  if (found !== wanted) {
    fail('PREDICATE_TYPE_MISMATCH', `none of the attestations matched the predicate type: ${wanted}, found: ${found ?? (statement ? 'none' : 'no in-toto statement (this bundle is not an attestation)')}`);
  }
}
