// What a bundle signed, in the form the checks need: the signature bytes, the bytes the
// signature covers (or their digest), and the digests log entries record for it.

import { digestOf, preAuthEncoding, type Bundle, type BundleDsseEnvelope } from '@sigstack/core';
import { fail } from './errors.js';

/** The artifact: its bytes, or only its digest (`sha256:<hex>` on the command line). */
export type Artifact = { kind: 'bytes'; data: Uint8Array } | { kind: 'digest'; algorithm: 'sha256' | 'sha384' | 'sha512'; digest: Buffer };

export type SignedContent =
  | {
      kind: 'message';
      signature: Buffer;
      /** The artifact digest under the algorithm the bundle names (computed when bytes were given). */
      digest: Buffer;
      hash: 'sha256' | 'sha384' | 'sha512';
      artifact: Artifact;
    }
  | {
      kind: 'dsse';
      signature: Buffer;
      envelope: BundleDsseEnvelope;
      pae: Buffer;
      payloadSha256: Buffer;
      paeSha256: Buffer;
      artifact: Artifact | undefined;
    };

const HASHES: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  SHA2_256: 'sha256',
  SHA2_384: 'sha384',
  SHA2_512: 'sha512',
  HASH_ALGORITHM_UNSPECIFIED: 'sha256',
};

export function signedContent(bundle: Bundle, artifact: Artifact | undefined): SignedContent {
  const content = bundle.content;
  if (content.kind === 'dsseEnvelope') {
    const envelope = content.envelope;
    const pae = preAuthEncoding(envelope.payloadType, envelope.payload);
    return {
      kind: 'dsse',
      signature: (envelope.signatures[0] as { sig: Buffer }).sig,
      envelope,
      pae,
      payloadSha256: sha(envelope.payload, 'sha256'),
      paeSha256: sha(pae, 'sha256'),
      artifact,
    };
  }
  if (!artifact) fail('ARTIFACT_REQUIRED', 'this bundle signs an artifact: give the file or its sha256: digest');
  const named = content.messageDigest ? HASHES[content.messageDigest.algorithm] : 'sha256';
  if (!named) fail('BUNDLE_INVALID', `messageDigest.algorithm ${content.messageDigest?.algorithm} is not supported`);
  let digest: Buffer;
  if (artifact.kind === 'bytes') {
    digest = sha(artifact.data, named);
  } else {
    if (artifact.algorithm !== named) {
      fail('ARTIFACT_DIGEST_MISMATCH', `the bundle signs a ${named} digest but a ${artifact.algorithm} digest was given`);
    }
    digest = artifact.digest;
  }
  if (content.messageDigest && !content.messageDigest.digest.equals(digest)) {
    fail('ARTIFACT_DIGEST_MISMATCH', `the artifact's ${named} digest is not the one the bundle records: this bundle is for a different artifact`);
  }
  return { kind: 'message', signature: content.signature, digest, hash: named, artifact };
}

export function sha(data: Uint8Array, hash: 'sha256' | 'sha384' | 'sha512'): Buffer {
  return digestOf(hash, data);
}
