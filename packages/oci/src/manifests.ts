// OCI image spec 1.1 documents (manifests, indexes, descriptors) and cosign's two layouts as data:
// the bundle layout's artifact manifest and its referrers fallback tag, the legacy layout's
// `.sig` / `.att` tags and their layer manifests. Pure: no I/O.

import { createHash } from 'node:crypto';
import { OciError } from './errors.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
/** The empty descriptor's blob: `{}`. */
export const EMPTY_BLOB = Buffer.from('{}', 'utf8');
export const EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_LAYER_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

export const ANNOTATION = {
  bundleContent: 'dev.sigstore.bundle.content',
  bundlePredicateType: 'dev.sigstore.bundle.predicateType',
  created: 'org.opencontainers.image.created',
  refName: 'org.opencontainers.image.ref.name',
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  rekorBundle: 'dev.sigstore.cosign/bundle',
  rfc3161Timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
  predicateType: 'predicateType',
} as const;

/** Manifest media types an image (or its index) may have; what we ask a registry for. */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function descriptorFor(mediaType: string, data: Uint8Array): Descriptor {
  return { mediaType, digest: sha256Digest(data), size: data.length };
}

/** Bytes of a JSON document as pushed (compact; the digest is over exactly these bytes). */
export function documentBytes(document: unknown): Buffer {
  return Buffer.from(JSON.stringify(document), 'utf8');
}

function hexOf(digest: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!match) throw new OciError('DIGEST_INVALID', `${digest} is not a sha256 digest`);
  return match[1] as string;
}

/** The referrers tag schema (distribution spec): `sha256-<hex>`. */
export function fallbackTag(digest: string): string {
  return `sha256-${hexOf(digest)}`;
}

/** cosign's legacy tags: `sha256-<hex>.sig` and `sha256-<hex>.att`. */
export function legacyTag(digest: string, kind: 'sig' | 'att'): string {
  return `sha256-${hexOf(digest)}.${kind}`;
}

// ---------------------------------------------------------------------------------------------
// Parsing what registries answer (only the fields we use, checked)

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value) || typeof value.mediaType !== 'string' || typeof value.digest !== 'string' || typeof value.size !== 'number') {
    throw new OciError('MANIFEST_INVALID', `${where} is not a descriptor (mediaType, digest, size)`);
  }
  const descriptor: Descriptor = { mediaType: value.mediaType, digest: value.digest, size: value.size };
  if (typeof value.artifactType === 'string') descriptor.artifactType = value.artifactType;
  if (isObject(value.annotations)) descriptor.annotations = stringMap(value.annotations);
  return descriptor;
}

function stringMap(value: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new OciError('MANIFEST_INVALID', `${what} is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw new OciError('MANIFEST_INVALID', `${what} is not a JSON object`);
  return value;
}

export function parseImageManifest(bytes: Uint8Array, what = 'the manifest'): ImageManifest {
  const doc = parseJson(bytes, what);
  if (!isObject(doc.config) || !Array.isArray(doc.layers)) throw new OciError('MANIFEST_INVALID', `${what} is not an image manifest (no config and layers)`);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    config: parseDescriptor(doc.config, `${what}'s config`),
    layers: doc.layers.map((l, i) => parseDescriptor(l, `${what}'s layer ${i}`)),
  };
  if (typeof doc.mediaType === 'string') manifest.mediaType = doc.mediaType;
  if (typeof doc.artifactType === 'string') manifest.artifactType = doc.artifactType;
  if (doc.subject !== undefined) manifest.subject = parseDescriptor(doc.subject, `${what}'s subject`);
  if (isObject(doc.annotations)) manifest.annotations = stringMap(doc.annotations);
  return manifest;
}

export function parseImageIndex(bytes: Uint8Array, what = 'the index'): ImageIndex {
  const doc = parseJson(bytes, what);
  if (!Array.isArray(doc.manifests)) throw new OciError('MANIFEST_INVALID', `${what} is not an image index (no manifests)`);
  const index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: doc.manifests.map((m, i) => parseDescriptor(m, `${what}'s manifest ${i}`)) };
  if (isObject(doc.annotations)) index.annotations = stringMap(doc.annotations);
  return index;
}

// ---------------------------------------------------------------------------------------------
// The bundle layout (cosign v3, specs/BUNDLE_SPEC.md)

export interface BundleArtifact {
  manifest: ImageManifest;
  bytes: Buffer;
  descriptor: Descriptor;
}

/** The artifact manifest for a bundle: empty config, the bundle as its one layer, the image as subject. */
export function bundleArtifactManifest(subject: Descriptor, bundle: Uint8Array, annotations: Record<string, string>): BundleArtifact {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BUNDLE_ARTIFACT_TYPE,
    config: { mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: EMPTY_BLOB.length },
    layers: [descriptorFor(BUNDLE_ARTIFACT_TYPE, bundle)],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  const bytes = documentBytes(manifest);
  return { manifest, bytes, descriptor: { ...descriptorFor(OCI_MANIFEST, bytes), artifactType: BUNDLE_ARTIFACT_TYPE, annotations } };
}

/** The fallback tag's index with `descriptor` appended (never replacing what is there). */
export function appendToIndex(existing: ImageIndex | undefined, descriptor: Descriptor): { index: ImageIndex; changed: boolean } {
  const manifests = existing ? [...existing.manifests] : [];
  if (manifests.some((m) => m.digest === descriptor.digest)) return { index: existing as ImageIndex, changed: false };
  manifests.push(descriptor);
  return { index: { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, changed: true };
}

// ---------------------------------------------------------------------------------------------
// The legacy layout (cosign ≤ 2, specs/SIGNATURE_SPEC.md)

export interface LegacyLayer {
  descriptor: Descriptor;
  data: Buffer;
}

/** cosign's config for a signature image: the layers' digests as its rootfs. */
export function legacyConfig(layers: Descriptor[]): Buffer {
  return documentBytes({
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: [{ created: '0001-01-01T00:00:00Z' }],
    os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    config: {},
  });
}

/** The `.sig`/`.att` manifest: the layers there already, then the new one (unless it is there). */
export function legacyManifest(existing: ImageManifest | undefined, layer: Descriptor): { manifest: Buffer; config: Buffer; added: boolean } {
  const layers = existing ? [...existing.layers] : [];
  const same = layers.some((l) => l.digest === layer.digest && JSON.stringify(l.annotations ?? {}) === JSON.stringify(layer.annotations ?? {}));
  if (!same) layers.push(layer);
  const config = legacyConfig(layers);
  const manifest = documentBytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptorFor(OCI_IMAGE_CONFIG, config), layers });
  return { manifest, config, added: !same };
}
