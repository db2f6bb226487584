// cosign's legacy layer annotations ↔ a sigstore bundle: the signature, the certificate and chain
// (PEM), the Rekor v1 entry with its signed entry timestamp (`dev.sigstore.cosign/bundle`) and
// the RFC 3161 timestamp. Signing turns a v0.3 bundle into annotations; verifying turns a layer
// back into a v0.1 bundle (a SET, no inclusion proof: what the annotations carry). Pure.

import { createHash } from 'node:crypto';
import { OciError } from './errors.js';
import { ANNOTATION, DSSE_LAYER_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE, type Descriptor } from './manifests.js';

const BUNDLE_V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';

/** The parts of a v0.3 bundle JSON (protobuf-specs names) the legacy layout carries. */
export interface BundleJsonLike {
  verificationMaterial: {
    certificate?: { rawBytes: string };
    publicKey?: { hint: string };
    tlogEntries: {
      logIndex: string;
      logId: { keyId: string };
      integratedTime?: string;
      inclusionPromise?: { signedEntryTimestamp: string };
      canonicalizedBody: string;
    }[];
    timestampVerificationData?: { rfc3161Timestamps: { signedTimestamp: string }[] };
  };
  messageSignature?: { signature: string };
  dsseEnvelope?: { payload: string; payloadType: string; signatures: { sig: string; keyid: string }[] };
}

function pem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function pemBlocks(text: string): Buffer[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => Buffer.from((m[1] as string).replace(/\s/g, ''), 'base64'));
}

/** Annotations for a legacy layer from the bundle signing made (its first log entry must carry a SET: Rekor v1). */
export function legacyAnnotations(bundle: BundleJsonLike, chain: Buffer[] = []): Record<string, string> {
  const material = bundle.verificationMaterial;
  const entry = material.tlogEntries[0];
  if (!entry?.inclusionPromise) {
    throw new OciError('LEGACY_NEEDS_REKOR_V1', "cosign's legacy layout stores a Rekor v1 signed entry timestamp, which this signature has none of: sign with --rekor-version 1 or --registry-layout bundle");
  }
  const annotations: Record<string, string> = {
    [ANNOTATION.signature]: bundle.messageSignature?.signature ?? '',
    [ANNOTATION.rekorBundle]: JSON.stringify({
      SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
      Payload: {
        body: entry.canonicalizedBody,
        integratedTime: Number(entry.integratedTime ?? 0),
        logIndex: Number(entry.logIndex),
        logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex'),
      },
    }),
  };
  if (material.certificate) {
    annotations[ANNOTATION.certificate] = pem(Buffer.from(material.certificate.rawBytes, 'base64'));
    if (chain.length > 0) annotations[ANNOTATION.chain] = chain.map(pem).join('');
  }
  const timestamp = material.timestampVerificationData?.rfc3161Timestamps[0];
  if (timestamp) annotations[ANNOTATION.rfc3161Timestamp] = JSON.stringify({ SignedRFC3161Timestamp: timestamp.signedTimestamp });
  return annotations;
}

function parseJsonAnnotation(text: string, name: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new OciError('LEGACY_ANNOTATION_INVALID', `the layer's ${name} annotation is not a JSON object`);
}

/**
 * A v0.1 bundle (JSON) from a legacy layer: a message signature over the simple-signing payload
 * (.sig) or the layer's DSSE envelope (.att). Without a Rekor bundle annotation there is nothing
 * to check the signature's time against: LEGACY_TLOG_MISSING.
 */
export function bundleFromLegacyLayer(layer: Descriptor, data: Buffer): Record<string, unknown> {
  const a = layer.annotations ?? {};
  const rekor = a[ANNOTATION.rekorBundle];
  if (!rekor) {
    throw new OciError('LEGACY_TLOG_MISSING', `legacy layer ${layer.digest} has no ${ANNOTATION.rekorBundle} annotation (it was signed without a transparency log), so it cannot be verified`);
  }
  const set = parseJsonAnnotation(rekor, ANNOTATION.rekorBundle);
  const payload = set.Payload as { body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown } | undefined;
  if (typeof set.SignedEntryTimestamp !== 'string' || !payload || typeof payload.body !== 'string' || typeof payload.logID !== 'string') {
    throw new OciError('LEGACY_ANNOTATION_INVALID', `the ${ANNOTATION.rekorBundle} annotation needs SignedEntryTimestamp and Payload.{body,integratedTime,logIndex,logID}`);
  }
  let kindVersion = { kind: 'hashedrekord', version: '0.0.1' };
  try {
    const body = JSON.parse(Buffer.from(payload.body, 'base64').toString('utf8')) as { kind?: unknown; apiVersion?: unknown };
    if (typeof body.kind === 'string' && typeof body.apiVersion === 'string') kindVersion = { kind: body.kind, version: body.apiVersion };
  } catch {
    throw new OciError('LEGACY_ANNOTATION_INVALID', 'the Rekor entry body in the bundle annotation is not base64 JSON');
  }
  const certificate = a[ANNOTATION.certificate];
  const material: Record<string, unknown> = certificate
    ? { x509CertificateChain: { certificates: pemBlocks(certificate).slice(0, 1).map((der) => ({ rawBytes: der.toString('base64') })) } }
    : { publicKey: { hint: '' } };
  material.tlogEntries = [
    {
      logIndex: String(payload.logIndex ?? 0),
      logId: { keyId: Buffer.from(payload.logID, 'hex').toString('base64') },
      kindVersion,
      integratedTime: String(payload.integratedTime ?? 0),
      inclusionPromise: { signedEntryTimestamp: set.SignedEntryTimestamp },
      canonicalizedBody: payload.body,
    },
  ];
  const tsa = a[ANNOTATION.rfc3161Timestamp];
  const tsaToken = tsa ? parseJsonAnnotation(tsa, ANNOTATION.rfc3161Timestamp).SignedRFC3161Timestamp : undefined;
  material.timestampVerificationData = { rfc3161Timestamps: typeof tsaToken === 'string' ? [{ signedTimestamp: tsaToken }] : [] };

  const bundle: Record<string, unknown> = { mediaType: BUNDLE_V01, verificationMaterial: material };
  if (layer.mediaType === SIMPLE_SIGNING_MEDIA_TYPE) {
    const signature = a[ANNOTATION.signature];
    if (!signature) throw new OciError('LEGACY_ANNOTATION_INVALID', `legacy layer ${layer.digest} has no ${ANNOTATION.signature} annotation`);
    bundle.messageSignature = { messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(data).digest('base64') }, signature };
  } else if (layer.mediaType === DSSE_LAYER_MEDIA_TYPE) {
    let envelope: unknown;
    try {
      envelope = JSON.parse(data.toString('utf8'));
    } catch {
      throw new OciError('LEGACY_ANNOTATION_INVALID', `attestation layer ${layer.digest} is not a DSSE envelope (JSON)`);
    }
    bundle.dsseEnvelope = envelope;
  } else {
    throw new OciError('LEGACY_LAYER_UNSUPPORTED', `legacy layer ${layer.digest} has media type ${layer.mediaType}, neither a simple-signing payload nor a DSSE envelope`);
  }
  return bundle;
}
