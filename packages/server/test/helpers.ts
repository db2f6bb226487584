// Test helpers for the log APIs: signed hashedrekord requests from fresh P-256 keys, and
// sigstore bundles built from log responses with a trusted root naming the test log.

import { generateKeyPair, pemEncode } from '@sigstack/core';
import assert from 'node:assert/strict';
import { createHash, sign, type KeyObject } from 'node:crypto';
import { ServiceError } from '../src/errors.js';

export interface Signer {
  privateKey: KeyObject;
  publicKey: KeyObject;
  pem: string;
  spki: Buffer;
}

export function newSigner(): Signer {
  const { privateKey, publicKey } = generateKeyPair('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, pem: publicKey.export({ type: 'spki', format: 'pem' }) as string, spki: publicKey.export({ type: 'spki', format: 'der' }) };
}

export function signArtifact(signer: Signer, artifact: Buffer) {
  return { digest: createHash('sha256').update(artifact).digest(), signature: sign('sha256', artifact, signer.privateKey) };
}

export function hashedrekordV001(signer: Signer, artifact: Buffer) {
  const { digest, signature } = signArtifact(signer, artifact);
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
      signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(signer.pem).toString('base64') } },
    },
  };
}

export function hashedrekordV002Request(signer: Signer, artifact: Buffer) {
  const { digest, signature } = signArtifact(signer, artifact);
  return {
    hashedRekordRequestV002: {
      digest: digest.toString('base64'),
      signature: { content: signature.toString('base64'), verifier: { publicKey: { rawBytes: signer.spki.toString('base64') }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } },
    },
  };
}

type V1Entry = { body: string; integratedTime: number; logID: string; logIndex: number; verification: { signedEntryTimestamp: string; inclusionProof: { logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string } } };

/**
 * A v0.3 bundle from a Rekor v1 entry response: with `certificate` (DER) a keyless one, else a
 * managed-key one (publicKey hint "test-key").
 */
export function bundleFromV1(response: Record<string, V1Entry>, artifact: Buffer, signature: Buffer, options: { certificate?: Buffer; kind?: string; version?: string } = {}) {
  const entry = Object.values(response)[0] as V1Entry;
  const proof = entry.verification.inclusionProof;
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      ...(options.certificate ? { certificate: { rawBytes: options.certificate.toString('base64') } } : { publicKey: { hint: 'test-key' } }),
      tlogEntries: [
        {
          logIndex: String(entry.logIndex),
          logId: { keyId: Buffer.from(entry.logID, 'hex').toString('base64') },
          kindVersion: { kind: options.kind ?? 'hashedrekord', version: options.version ?? '0.0.1' },
          integratedTime: String(entry.integratedTime),
          inclusionPromise: { signedEntryTimestamp: entry.verification.signedEntryTimestamp },
          inclusionProof: {
            logIndex: String(proof.logIndex),
            rootHash: Buffer.from(proof.rootHash, 'hex').toString('base64'),
            treeSize: String(proof.treeSize),
            hashes: proof.hashes.map((h) => Buffer.from(h, 'hex').toString('base64')),
            checkpoint: { envelope: proof.checkpoint },
          },
          canonicalizedBody: entry.body,
        },
      ],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(artifact).digest('base64') }, signature: signature.toString('base64') },
  };
}

/** A v0.3 bundle (managed key) from a Rekor v2 TransparencyLogEntry response. */
export function bundleFromV2(entry: Record<string, unknown>, artifact: Buffer, signature: Buffer) {
  const { integratedTime: _ignored, ...tlogEntry } = entry;
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: 'test-key' }, tlogEntries: [tlogEntry], timestampVerificationData: { rfc3161Timestamps: [] } },
    messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(artifact).digest('base64') }, signature: signature.toString('base64') },
  };
}

/** Signs `artifact` with a certificate's key, logs it as a hashedrekord in the Rekor at `rekorUrl`, and builds the v0.3 bundle. */
export async function certificateBundle(rekorUrl: string, certificate: Buffer, privateKey: KeyObject, artifact: Buffer) {
  const signature = sign('sha256', artifact, privateKey);
  const digest = createHash('sha256').update(artifact).digest();
  const created = await post(`${rekorUrl}/api/v1/log/entries`, {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
      signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(pemEncode('CERTIFICATE', certificate)).toString('base64') } },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return bundleFromV1(created.json, artifact, signature, { certificate });
}

export function trustedRootFor(url: string, logSpki: Buffer, logId: Buffer, keyDetails: string) {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: logSpki.toString('base64'), keyDetails, validFor: { start: '2020-01-01T00:00:00Z' } }, logId: { keyId: logId.toString('base64') } }],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
}

export async function post(url: string, body: unknown): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

export async function get(url: string): Promise<{ status: number; headers: Headers; json: any; bytes: Buffer }> {
  const response = await fetch(url);
  const bytes = Buffer.from(await response.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, bytes };
}

/** An assert.rejects / assert.throws check: a ServiceError with this code (and message pattern). */
export function rejectsWith(code: string, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ServiceError, `expected a ServiceError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}
