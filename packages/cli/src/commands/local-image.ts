// `--offline --local-image DIR`: an image and its signatures read from disk, never a registry.
// DIR is an OCI image layout (oci-layout, index.json, blobs/sha256/…; attachments are the
// manifests index.json names by their tags, `sha256-<hex>[.sig|.att]`, or that have the image
// as subject) or a `skopeo copy … dir:DIR` export (manifest.json, blobs named by hex, and the
// sigstore attachments skopeo writes as signature-N files).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  ANNOTATION,
  OCI_INDEX,
  OCI_MANIFEST,
  OciError,
  parseImageIndex,
  parseImageManifest,
  parseImageReference,
  type Descriptor,
  type FetchedManifest,
  type ImageIndex,
  type ImageReference,
  type ImageSource,
} from '@sigstack/oci';
import { CliError } from '../errors.js';
import { readSkopeoDir } from './skopeo-dir.js';

function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function mediaTypeOf(bytes: Buffer): string {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof doc.mediaType === 'string') return doc.mediaType;
    return Array.isArray(doc.manifests) ? OCI_INDEX : OCI_MANIFEST;
  } catch {
    return OCI_MANIFEST;
  }
}

/** An in-memory image source: manifests by digest and by tag, blobs by digest. */
export class LocalImageSource implements ImageSource {
  constructor(
    private readonly dir: string,
    private readonly manifests: Map<string, Buffer>,
    private readonly tags: Map<string, string>,
    private readonly blob: (digest: string) => Buffer | undefined,
  ) {}

  describe(): string {
    return `image directory ${this.dir}`;
  }

  async getManifest(_repository: string, reference: string): Promise<FetchedManifest | undefined> {
    const digest = reference.startsWith('sha256:') ? reference : this.tags.get(reference);
    if (!digest) return undefined;
    const bytes = this.manifests.get(digest) ?? this.blob(digest);
    if (!bytes) return undefined;
    if (sha256(bytes) !== digest) throw new OciError('MANIFEST_DIGEST_MISMATCH', `${this.describe()}: manifest ${digest} has digest ${sha256(bytes)}`);
    return { bytes, mediaType: mediaTypeOf(bytes), digest };
  }

  async getBlob(_repository: string, digest: string, maxBytes: number): Promise<Buffer> {
    const bytes = this.blob(digest);
    if (!bytes) throw new OciError('BLOB_NOT_FOUND', `${this.describe()}: no blob ${digest}`);
    if (bytes.length > maxBytes) throw new OciError('RESPONSE_TOO_LARGE', `${this.describe()}: blob ${digest} is more than ${maxBytes} bytes`);
    if (sha256(bytes) !== digest) throw new OciError('BLOB_DIGEST_MISMATCH', `${this.describe()}: blob ${digest} has digest ${sha256(bytes)}`);
    return bytes;
  }

  /** The layout's referrers: every manifest it holds whose subject is `digest`. */
  async referrers(_repository: string, digest: string): Promise<ImageIndex | undefined> {
    const manifests: Descriptor[] = [];
    for (const [d, bytes] of this.manifests) {
      try {
        const m = parseImageManifest(bytes);
        if (m.subject?.digest === digest) manifests.push({ mediaType: OCI_MANIFEST, digest: d, size: bytes.length, ...(m.artifactType ? { artifactType: m.artifactType } : {}), ...(m.annotations ? { annotations: m.annotations } : {}) });
      } catch {
        // an index or another document: not a referrer
      }
    }
    return { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
  }
}

function readOciLayout(dir: string): { source: LocalImageSource; images: { digest: string; name?: string }[] } {
  const blob = (digest: string) => {
    const path = join(dir, 'blobs', ...digest.split(':'));
    return existsSync(path) ? readFileSync(path) : undefined;
  };
  const index = parseImageIndex(readFileSync(join(dir, 'index.json')), `${dir}/index.json`);
  const manifests = new Map<string, Buffer>();
  const tags = new Map<string, string>();
  const images: { digest: string; name?: string }[] = [];
  for (const d of index.manifests) {
    const bytes = blob(d.digest);
    if (bytes) manifests.set(d.digest, bytes);
    const name = d.annotations?.[ANNOTATION.refName];
    if (name) tags.set(name.includes(':') ? name.slice(name.lastIndexOf(':') + 1) : name, d.digest);
    const isAttachment = (name !== undefined && /^sha256-[0-9a-f]{64}(\.sig|\.att)?$/.test(name.slice(name.lastIndexOf(':') + 1))) || (bytes !== undefined && /"subject"\s*:/.test(bytes.toString('utf8')));
    if (!isAttachment) images.push({ digest: d.digest, ...(name ? { name } : {}) });
  }
  return { source: new LocalImageSource(dir, manifests, tags, blob), images };
}

/** Opens DIR and picks the image (by IMAGE's digest or tag when given, else the only one there). */
export async function openLocalImage(dir: string, image: string | undefined): Promise<{ source: ImageSource; ref: ImageReference }> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError('LOCAL_IMAGE_UNREADABLE', `--local-image ${dir} is not a directory`);
  let wanted: ImageReference | undefined;
  if (image !== undefined) {
    try {
      wanted = parseImageReference(image);
    } catch (err) {
      throw new CliError('USAGE', (err as Error).message);
    }
  }
  const repository = wanted?.repository ?? 'local';
  let source: LocalImageSource;
  let images: { digest: string; name?: string }[];
  try {
    if (existsSync(join(dir, 'index.json'))) {
      ({ source, images } = readOciLayout(dir));
    } else if (existsSync(join(dir, 'manifest.json'))) {
      const skopeo = readSkopeoDir(dir);
      source = new LocalImageSource(dir, skopeo.manifests, skopeo.tags, skopeo.blob);
      images = [{ digest: skopeo.imageDigest }];
    } else {
      throw new CliError('LOCAL_IMAGE_UNREADABLE', `${dir} is neither an OCI image layout (index.json) nor a skopeo dir: copy (manifest.json)`);
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError((err as { code?: string }).code ?? 'LOCAL_IMAGE_UNREADABLE', `cannot read ${dir}: ${(err as Error).message}`);
  }
  let chosen = images;
  if (wanted?.digest) chosen = images.filter((i) => i.digest === wanted.digest);
  else if (wanted?.tag) chosen = images.filter((i) => i.name === undefined || i.name === wanted.tag || i.name.endsWith(`:${wanted.tag}`));
  if (chosen.length !== 1) {
    throw new CliError('LOCAL_IMAGE_AMBIGUOUS', `${dir} holds ${chosen.length === 0 ? 'no' : chosen.length} matching image${chosen.length === 1 ? '' : 's'} (${images.map((i) => i.name ?? i.digest).join(', ') || 'none'}): name one as IMAGE@sha256:…`);
  }
  const digest = (chosen[0] as { digest: string }).digest;
  return { source, ref: { registry: wanted?.registry ?? 'local', repository, digest } };
}
