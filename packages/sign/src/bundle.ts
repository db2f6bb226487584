// Sigstore bundle v0.3 JSON (protobuf-specs JSON names: base64 bytes, int64 as strings) for
// message signatures and DSSE envelopes, with the certificate or public-key hint, the log
// entries and the RFC 3161 timestamps; and the in-toto v1 statements `attest` signs.

import { createHash } from 'node:crypto';
import { BUNDLE_V03_MEDIA_TYPE, INTOTO_PAYLOAD_TYPE, STATEMENT_TYPE_V1, canonicalize } from '@sigstack/core';

export interface InclusionProofJson {
  logIndex: string;
  rootHash: string;
  treeSize: string;
  hashes: string[];
  checkpoint: { envelope: string };
}

/** A TransparencyLogEntry as bundles carry it. */
export interface TlogEntryJson {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  /** Rekor v1 only (Rekor v2 entries carry no time). */
  integratedTime?: string;
  inclusionPromise?: { signedEntryTimestamp: string };
  inclusionProof: InclusionProofJson;
  canonicalizedBody: string;
}

export type VerificationMaterialKey = { certificate: { rawBytes: string } } | { publicKey: { hint: string } };

export interface BundleJson {
  mediaType: string;
  verificationMaterial: VerificationMaterialKey & {
    tlogEntries: TlogEntryJson[];
    timestampVerificationData: { rfc3161Timestamps: { signedTimestamp: string }[] };
  };
  messageSignature?: { messageDigest: { algorithm: string; digest: string }; signature: string };
  dsseEnvelope?: { payload: string; payloadType: string; signatures: { sig: string; keyid: string }[] };
}

export type SignedContent =
  | { kind: 'message'; digest: Buffer; algorithm: 'sha256' | 'sha384' | 'sha512'; signature: Buffer }
  | { kind: 'dsse'; payloadType: string; payload: Buffer; signature: Buffer };

export type KeyMaterial = { kind: 'certificate'; der: Buffer } | { kind: 'publicKey'; hint: string };

const DIGEST_NAMES = { sha256: 'SHA2_256', sha384: 'SHA2_384', sha512: 'SHA2_512' } as const;

export function buildBundle(key: KeyMaterial, content: SignedContent, tlogEntries: TlogEntryJson[], timestamps: Buffer[]): BundleJson {
  const keyJson: VerificationMaterialKey = key.kind === 'certificate' ? { certificate: { rawBytes: key.der.toString('base64') } } : { publicKey: { hint: key.hint } };
  const bundle: BundleJson = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {
      ...keyJson,
      tlogEntries,
      timestampVerificationData: { rfc3161Timestamps: timestamps.map((t) => ({ signedTimestamp: t.toString('base64') })) },
    },
  };
  if (content.kind === 'message') {
    bundle.messageSignature = {
      messageDigest: { algorithm: DIGEST_NAMES[content.algorithm], digest: content.digest.toString('base64') },
      signature: content.signature.toString('base64'),
    };
  } else {
    bundle.dsseEnvelope = {
      payload: content.payload.toString('base64'),
      payloadType: content.payloadType,
      signatures: [{ sig: content.signature.toString('base64'), keyid: '' }],
    };
  }
  return bundle;
}

/** The bundle as a file's text (pretty JSON, final newline). */
export function bundleToText(bundle: BundleJson): string {
  return `${JSON.stringify(bundle, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// in-toto statements

export interface StatementSubjectInput {
  name: string;
  digest: Record<string, string>;
}

/** An in-toto v1 Statement, serialized as RFC 8785 canonical JSON (stable bytes to sign). */
export function buildStatement(subjects: StatementSubjectInput[], predicateType: string, predicate: unknown = {}): Buffer {
  const statement = { _type: STATEMENT_TYPE_V1, subject: subjects, predicateType, predicate: predicate ?? {} };
  return Buffer.from(canonicalize(statement), 'utf8');
}

/** The statement subject for a file: its name and SHA-256. */
export function subjectFor(name: string, data: Uint8Array): StatementSubjectInput {
  return { name, digest: { sha256: createHash('sha256').update(data).digest('hex') } };
}

export { INTOTO_PAYLOAD_TYPE };
