// Sigstore bundles v0.1, v0.2 and v0.3 (both v0.3 media type spellings): parsed from JSON into
// one typed shape, with the structural rules of each version checked.

import { CoreError } from './errors.js';
import { FieldReader, type JsonObject } from './json-fields.js';

export const BUNDLE_MEDIA_TYPES: Record<string, BundleVersion> = {
  'application/vnd.dev.sigstore.bundle+json;version=0.1': '0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2': '0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3': '0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json': '0.3',
};
export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export type BundleVersion = '0.1' | '0.2' | '0.3';

export type VerificationKeyMaterial =
  | { kind: 'certificate'; certificate: Buffer }
  | { kind: 'x509CertificateChain'; certificates: Buffer[] }
  | { kind: 'publicKey'; hint: string };

export interface InclusionProof {
  logIndex: number;
  rootHash: Buffer;
  treeSize: number;
  hashes: Buffer[];
  /** The signed note text of the checkpoint (absent only in some v0.1 bundles). */
  checkpoint?: string;
}

export interface TransparencyLogEntry {
  logIndex: number;
  logId: Buffer;
  kindVersion: { kind: string; version: string };
  /** Seconds since the epoch; 0 for Rekor v2 entries, which carry no time. */
  integratedTime: number;
  inclusionPromise?: { signedEntryTimestamp: Buffer };
  inclusionProof?: InclusionProof;
  canonicalizedBody: Buffer;
}

export interface BundleDsseEnvelope {
  payloadType: string;
  payload: Buffer;
  signatures: { keyid: string; sig: Buffer }[];
}

export type BundleContent =
  | { kind: 'messageSignature'; messageDigest?: { algorithm: string; digest: Buffer }; signature: Buffer }
  | { kind: 'dsseEnvelope'; envelope: BundleDsseEnvelope };

export interface Bundle {
  mediaType: string;
  version: BundleVersion;
  keyMaterial: VerificationKeyMaterial;
  tlogEntries: TransparencyLogEntry[];
  rfc3161Timestamps: Buffer[];
  content: BundleContent;
}

const f: FieldReader = new FieldReader('BUNDLE_INVALID');

/** Parses bundle JSON text; malformed JSON is BUNDLE_MALFORMED_JSON. */
export function parseBundleJson(text: string): Bundle {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CoreError('BUNDLE_MALFORMED_JSON', `bundle is not valid JSON: ${(err as Error).message}`);
  }
  return parseBundle(json);
}

export function parseBundle(json: unknown): Bundle {
  const doc = f.object(json, 'bundle');
  const mediaType = f.string(doc.mediaType, 'mediaType');
  const version = BUNDLE_MEDIA_TYPES[mediaType];
  if (!version) {
    throw new CoreError('BUNDLE_UNSUPPORTED_VERSION', `bundle media type "${mediaType}" is not a supported version (v0.1, v0.2, v0.3)`);
  }
  const material = f.object(doc.verificationMaterial, 'verificationMaterial');
  const keyMaterial = parseKeyMaterial(material, version);
  const tlogEntries = f.optionalArray(material.tlogEntries, 'verificationMaterial.tlogEntries').map((entry, i) =>
    parseTlogEntry(entry, `verificationMaterial.tlogEntries[${i}]`, version),
  );
  const tsData = f.optionalObject(material.timestampVerificationData, 'verificationMaterial.timestampVerificationData');
  const rfc3161Timestamps = f.optionalArray(tsData?.rfc3161Timestamps, 'timestampVerificationData.rfc3161Timestamps').map((ts, i) =>
    f.bytes(f.object(ts, `rfc3161Timestamps[${i}]`).signedTimestamp, `rfc3161Timestamps[${i}].signedTimestamp`),
  );
  return { mediaType, version, keyMaterial, tlogEntries, rfc3161Timestamps, content: parseContent(doc) };
}

function parseKeyMaterial(material: JsonObject, version: BundleVersion): VerificationKeyMaterial {
  if (material.certificate !== undefined) {
    const cert = f.object(material.certificate, 'verificationMaterial.certificate');
    return { kind: 'certificate', certificate: f.bytes(cert.rawBytes, 'verificationMaterial.certificate.rawBytes') };
  }
  if (material.x509CertificateChain !== undefined) {
    if (version === '0.3') {
      throw new CoreError('BUNDLE_INVALID', 'a v0.3 bundle must carry verificationMaterial.certificate, not x509CertificateChain');
    }
    const chain = f.object(material.x509CertificateChain, 'verificationMaterial.x509CertificateChain');
    const certificates = f.array(chain.certificates, 'x509CertificateChain.certificates').map((c, i) =>
      f.bytes(f.object(c, `x509CertificateChain.certificates[${i}]`).rawBytes, `x509CertificateChain.certificates[${i}].rawBytes`),
    );
    if (certificates.length === 0) {
      throw new CoreError('BUNDLE_INVALID', 'verificationMaterial.x509CertificateChain.certificates is empty: the bundle has no signing certificate');
    }
    return { kind: 'x509CertificateChain', certificates };
  }
  if (material.publicKey !== undefined) {
    const key = f.object(material.publicKey, 'verificationMaterial.publicKey');
    return { kind: 'publicKey', hint: key.hint === undefined ? '' : f.string(key.hint, 'verificationMaterial.publicKey.hint') };
  }
  throw new CoreError('BUNDLE_INVALID', 'verificationMaterial needs one of certificate, x509CertificateChain or publicKey');
}

function parseTlogEntry(value: unknown, path: string, version: BundleVersion): TransparencyLogEntry {
  const entry = f.object(value, path);
  const kindVersion = f.object(entry.kindVersion, `${path}.kindVersion`);
  const promise = f.optionalObject(entry.inclusionPromise, `${path}.inclusionPromise`);
  const proof = f.optionalObject(entry.inclusionProof, `${path}.inclusionProof`);
  if (version === '0.1' && !promise) {
    throw new CoreError('BUNDLE_INVALID', `${path}.inclusionPromise is required in a v0.1 bundle`);
  }
  if (version !== '0.1' && !proof) {
    throw new CoreError('BUNDLE_INVALID', `${path}.inclusionProof is required in a v${version} bundle`);
  }
  const parsed: TransparencyLogEntry = {
    // proto3 JSON omits zero values: a missing logIndex is entry 0 (sigstore-js writes it so).
    logIndex: entry.logIndex === undefined ? 0 : f.integer(entry.logIndex, `${path}.logIndex`),
    logId: f.bytes(f.object(entry.logId, `${path}.logId`).keyId, `${path}.logId.keyId`),
    kindVersion: { kind: f.nonEmptyString(kindVersion.kind, `${path}.kindVersion.kind`), version: f.nonEmptyString(kindVersion.version, `${path}.kindVersion.version`) },
    integratedTime: entry.integratedTime === undefined ? 0 : f.integer(entry.integratedTime, `${path}.integratedTime`),
    canonicalizedBody: f.bytes(entry.canonicalizedBody, `${path}.canonicalizedBody`),
  };
  if (promise) {
    parsed.inclusionPromise = { signedEntryTimestamp: f.bytes(promise.signedEntryTimestamp, `${path}.inclusionPromise.signedEntryTimestamp`) };
  }
  if (proof) parsed.inclusionProof = parseInclusionProof(proof, `${path}.inclusionProof`, version);
  return parsed;
}

function parseInclusionProof(proof: JsonObject, path: string, version: BundleVersion): InclusionProof {
  const checkpoint = f.optionalObject(proof.checkpoint, `${path}.checkpoint`);
  if (version !== '0.1' && !checkpoint) {
    throw new CoreError('BUNDLE_INVALID', `${path}.checkpoint is required in a v${version} bundle`);
  }
  const parsed: InclusionProof = {
    logIndex: proof.logIndex === undefined ? 0 : f.integer(proof.logIndex, `${path}.logIndex`),
    rootHash: f.bytes(proof.rootHash, `${path}.rootHash`),
    treeSize: f.integer(proof.treeSize, `${path}.treeSize`),
    hashes: f.optionalArray(proof.hashes, `${path}.hashes`).map((h, i) => f.bytes(h, `${path}.hashes[${i}]`)),
  };
  if (checkpoint) parsed.checkpoint = f.nonEmptyString(checkpoint.envelope, `${path}.checkpoint.envelope`);
  return parsed;
}

function parseContent(doc: JsonObject): BundleContent {
  if (doc.messageSignature !== undefined) {
    const ms = f.object(doc.messageSignature, 'messageSignature');
    const content: BundleContent = { kind: 'messageSignature', signature: f.bytes(ms.signature, 'messageSignature.signature') };
    if (ms.messageDigest !== undefined) {
      const md = f.object(ms.messageDigest, 'messageSignature.messageDigest');
      content.messageDigest = {
        algorithm: md.algorithm === undefined ? 'SHA2_256' : f.string(md.algorithm, 'messageSignature.messageDigest.algorithm'),
        digest: f.bytes(md.digest, 'messageSignature.messageDigest.digest'),
      };
    }
    return content;
  }
  if (doc.dsseEnvelope !== undefined) {
    const env = f.object(doc.dsseEnvelope, 'dsseEnvelope');
    const signatures = f.array(env.signatures, 'dsseEnvelope.signatures').map((s, i) => {
      const sig = f.object(s, `dsseEnvelope.signatures[${i}]`);
      return { keyid: sig.keyid === undefined ? '' : f.string(sig.keyid, `dsseEnvelope.signatures[${i}].keyid`), sig: f.bytes(sig.sig, `dsseEnvelope.signatures[${i}].sig`) };
    });
    if (signatures.length !== 1) {
      throw new CoreError('BUNDLE_INVALID', `dsseEnvelope must carry exactly one signature, found ${signatures.length}`);
    }
    return {
      kind: 'dsseEnvelope',
      envelope: { payloadType: f.nonEmptyString(env.payloadType, 'dsseEnvelope.payloadType'), payload: f.bytes(env.payload, 'dsseEnvelope.payload'), signatures },
    };
  }
  throw new CoreError('BUNDLE_INVALID', 'bundle needs messageSignature or dsseEnvelope content');
}

/** The signature bytes a bundle's content carries (what timestamps and log entries cover). */
export function bundleSignature(content: BundleContent): Buffer {
  return content.kind === 'messageSignature' ? content.signature : (content.envelope.signatures[0] as { sig: Buffer }).sig;
}
