// What is attached to an image, in cosign's two layouts, read from any ImageSource and written
// to a registry: bundle-layout referrers (found through the referrers API and the fallback tag
// `sha256-<hex>`, whose index is appended to, never replaced) and legacy `.sig` / `.att` layers.

import { OciError } from './errors.js';
import {
  ANNOTATION,
  BUNDLE_ARTIFACT_TYPE,
  EMPTY_BLOB,
  OCI_INDEX,
  appendToIndex,
  bundleArtifactManifest,
  descriptorFor,
  fallbackTag,
  legacyManifest,
  legacyTag,
  parseImageIndex,
  parseImageManifest,
  OCI_MANIFEST,
  type Descriptor,
  type ImageIndex,
} from './manifests.js';
import type { ImageReference } from './reference.js';
import type { RegistryClient } from './registry.js';
import type { ImageSource } from './source.js';

const MAX_ATTACHMENT_BYTES = 16 * 1024 * 1024;

export interface ResolvedImage {
  /** The image's manifest (or index) digest: what gets signed. */
  digest: string;
  /** Its descriptor (media type, digest, size), the subject of referrers. */
  descriptor: Descriptor;
}

/** Resolves a reference's tag (or checks its digest) against the source. */
export async function resolveImage(source: ImageSource, ref: ImageReference): Promise<ResolvedImage> {
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const manifest = await source.getManifest(ref.repository, reference);
  if (!manifest) {
    throw new OciError('IMAGE_NOT_FOUND', `${source.describe(ref.repository)}: no image ${reference} (404)`, { registry: ref.registry, repository: ref.repository, status: 404 });
  }
  return { digest: manifest.digest, descriptor: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length } };
}

export interface BundleAttachment {
  layout: 'bundle';
  /** The artifact manifest's digest. */
  manifestDigest: string;
  /** Where it was found: the referrers API or the fallback tag. */
  foundVia: 'referrers API' | 'fallback tag';
  annotations: Record<string, string>;
  bundle: Buffer;
}

export interface LegacyAttachment {
  layout: 'legacy';
  kind: 'sig' | 'att';
  tag: string;
  layer: Descriptor;
  /** The layer blob: a simple-signing payload (.sig) or a DSSE envelope (.att). */
  data: Buffer;
}

export type Attachment = BundleAttachment | LegacyAttachment;

async function fallbackIndex(source: ImageSource, repository: string, digest: string): Promise<ImageIndex | undefined> {
  const fetched = await source.getManifest(repository, fallbackTag(digest));
  if (!fetched) return undefined;
  return parseImageIndex(fetched.bytes, `the referrers fallback tag ${fallbackTag(digest)}`);
}

/** Sigstore bundles attached as referrers of `digest` (referrers API and fallback tag, both read). */
export async function readBundleAttachments(source: ImageSource, repository: string, digest: string): Promise<BundleAttachment[]> {
  const [api, fallback] = await Promise.all([source.referrers(repository, digest), fallbackIndex(source, repository, digest)]);
  const candidates = new Map<string, { descriptor: Descriptor; foundVia: BundleAttachment['foundVia'] }>();
  for (const d of api?.manifests ?? []) candidates.set(d.digest, { descriptor: d, foundVia: 'referrers API' });
  for (const d of fallback?.manifests ?? []) if (!candidates.has(d.digest)) candidates.set(d.digest, { descriptor: d, foundVia: 'fallback tag' });
  const found = await Promise.all(
    [...candidates.values()]
      .filter(({ descriptor }) => descriptor.artifactType === undefined || descriptor.artifactType === BUNDLE_ARTIFACT_TYPE)
      .map(async ({ descriptor, foundVia }): Promise<BundleAttachment | undefined> => {
        const fetched = await source.getManifest(repository, descriptor.digest);
        if (!fetched) return undefined;
        const manifest = parseImageManifest(fetched.bytes, `referrer ${descriptor.digest}`);
        // A referrer counts only if it says it is a bundle about this image.
        if (manifest.artifactType !== BUNDLE_ARTIFACT_TYPE || manifest.subject?.digest !== digest) return undefined;
        const layer = manifest.layers.find((l) => l.mediaType === BUNDLE_ARTIFACT_TYPE);
        if (!layer) return undefined;
        const bundle = await source.getBlob(repository, layer.digest, MAX_ATTACHMENT_BYTES);
        return { layout: 'bundle', manifestDigest: descriptor.digest, foundVia, annotations: { ...manifest.annotations }, bundle };
      }),
  );
  return found.filter((a): a is BundleAttachment => a !== undefined);
}

/** The layers of the legacy `.sig` or `.att` tag of `digest`. */
export async function readLegacyAttachments(source: ImageSource, repository: string, digest: string, kind: 'sig' | 'att'): Promise<LegacyAttachment[]> {
  const tag = legacyTag(digest, kind);
  const fetched = await source.getManifest(repository, tag);
  if (!fetched) return [];
  const manifest = parseImageManifest(fetched.bytes, `${tag}`);
  return Promise.all(
    manifest.layers.map(async (layer) => ({ layout: 'legacy' as const, kind, tag, layer, data: await source.getBlob(repository, layer.digest, MAX_ATTACHMENT_BYTES) })),
  );
}

/** Everything attached to `digest`, in both layouts. */
export async function readAttachments(source: ImageSource, repository: string, digest: string): Promise<Attachment[]> {
  const [bundles, sigs, atts] = await Promise.all([
    readBundleAttachments(source, repository, digest),
    readLegacyAttachments(source, repository, digest, 'sig'),
    readLegacyAttachments(source, repository, digest, 'att'),
  ]);
  return [...bundles, ...sigs, ...atts];
}

// ---------------------------------------------------------------------------------------------
// Writing

const APPEND_ATTEMPTS = 8;

/** The pause before reading an appended tag back: long enough for a concurrent write to land. */
function settle(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 25 + Math.random() * 25 * attempt));
}

export interface WrittenBundle {
  manifestDigest: string;
  /** Whether the fallback tag was written (the registry did not index the subject itself). */
  fallbackTag?: string;
}

function withLegacyHint(err: unknown, what: string): never {
  if (err instanceof OciError && err.code === 'REGISTRY_REJECTED_MANIFEST') {
    throw new OciError('REGISTRY_REJECTED_ARTIFACT', `${err.message}. The registry does not accept ${what}: sign with --registry-layout legacy (cosign ≤ 2's .sig/.att tags) instead`, {
      ...(err.registry ? { registry: err.registry } : {}),
      ...(err.repository ? { repository: err.repository } : {}),
      ...(err.status !== undefined ? { status: err.status } : {}),
      cause: err,
    });
  }
  throw err;
}

/** Pushes a bundle as a referrer of `subject` and, where the registry has no referrers API, adds it to the fallback tag. */
export async function writeBundleAttachment(client: RegistryClient, repository: string, subject: Descriptor, bundle: Buffer, annotations: Record<string, string>): Promise<WrittenBundle> {
  const artifact = bundleArtifactManifest(subject, bundle, annotations);
  await Promise.all([client.putBlob(repository, EMPTY_BLOB), client.putBlob(repository, bundle)]);
  let pushed;
  try {
    pushed = await client.putManifest(repository, artifact.descriptor.digest, artifact.bytes, OCI_MANIFEST);
  } catch (err) {
    withLegacyHint(err, 'OCI 1.1 artifact manifests (artifactType, subject)');
  }
  if (pushed.subjectProcessed) return { manifestDigest: pushed.digest };
  const tag = fallbackTag(subject.digest);
  // Read, append, write; then, a moment later, read back, since another signer may have written
  // the tag at the same time (distribution has no conditional PUT): if our entry is gone, again.
  for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
    if (attempt > 0) await settle(attempt);
    const existing = await client.getManifest(repository, tag);
    const { index, changed } = appendToIndex(existing ? parseImageIndex(existing.bytes, `the fallback tag ${tag}`) : undefined, artifact.descriptor);
    if (!changed) return { manifestDigest: pushed.digest, fallbackTag: tag };
    try {
      await client.putManifest(repository, tag, Buffer.from(JSON.stringify(index), 'utf8'), OCI_INDEX);
    } catch (err) {
      withLegacyHint(err, 'the referrers fallback index');
    }
  }
  return { manifestDigest: pushed.digest, fallbackTag: tag };
}

/** Appends a layer to the legacy `.sig` / `.att` tag of `digest` (the layers there are kept). */
export async function writeLegacyAttachment(
  client: RegistryClient,
  repository: string,
  digest: string,
  kind: 'sig' | 'att',
  layer: { mediaType: string; data: Buffer; annotations: Record<string, string> },
): Promise<{ tag: string; layers: number }> {
  const tag = legacyTag(digest, kind);
  const descriptor: Descriptor = { ...descriptorFor(layer.mediaType, layer.data), annotations: layer.annotations };
  await client.putBlob(repository, layer.data);
  let layers = 0;
  // As for the fallback tag: append, write, read back (a concurrent signer may have replaced it).
  for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
    if (attempt > 0) await settle(attempt);
    const existing = await client.getManifest(repository, tag);
    const built = legacyManifest(existing ? parseImageManifest(existing.bytes, tag) : undefined, descriptor);
    layers = (JSON.parse(built.manifest.toString('utf8')) as { layers: unknown[] }).layers.length;
    if (!built.added) break;
    await client.putBlob(repository, built.config);
    await client.putManifest(repository, tag, built.manifest, OCI_MANIFEST);
  }
  return { tag, layers };
}

export { ANNOTATION };
