// Reads a `skopeo copy docker://IMAGE dir:DIR` export: manifest.json (the image manifest, bytes as
// the registry served them), blobs as files named by their hex digest, and the sigstore
// attachments containers/image stores as signature-N files (a zero byte, "sigstore-json", a
// newline, then {"mimeType", "payload" (base64), "annotations"}), turned back into a legacy
// `.sig` manifest so the verifier reads them as it reads a registry's.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { legacyManifest, legacyTag, type Descriptor } from '@sigstack/oci';

const SIGSTORE_PREFIX = Buffer.from('\x00sigstore-json\n', 'latin1');

function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface SkopeoDir {
  imageDigest: string;
  manifests: Map<string, Buffer>;
  tags: Map<string, string>;
  blob(digest: string): Buffer | undefined;
}

export function readSkopeoDir(dir: string): SkopeoDir {
  const manifest = readFileSync(join(dir, 'manifest.json'));
  const imageDigest = sha256(manifest);
  const extra = new Map<string, Buffer>();
  const manifests = new Map<string, Buffer>([[imageDigest, manifest]]);
  const tags = new Map<string, string>();
  let sigManifest: { manifest: Buffer; config: Buffer } | undefined;
  let layers: Descriptor[] = [];
  const files = readdirSync(dir).filter((f) => /^signature-\d+$/.test(f)).sort((a, b) => Number(a.slice(10)) - Number(b.slice(10)));
  for (const file of files) {
    const data = readFileSync(join(dir, file));
    if (!data.subarray(0, SIGSTORE_PREFIX.length).equals(SIGSTORE_PREFIX)) continue; // a simple-signing (GPG) signature: not ours to check
    const json = JSON.parse(data.subarray(SIGSTORE_PREFIX.length).toString('utf8')) as { mimeType?: string; payload?: string; annotations?: Record<string, string> };
    if (typeof json.mimeType !== 'string' || typeof json.payload !== 'string') continue;
    const payload = Buffer.from(json.payload, 'base64');
    const descriptor: Descriptor = { mediaType: json.mimeType, digest: sha256(payload), size: payload.length, annotations: json.annotations ?? {} };
    extra.set(descriptor.digest, payload);
    const built = legacyManifest(layers.length ? { schemaVersion: 2, config: descriptor, layers } : undefined, descriptor);
    layers = (JSON.parse(built.manifest.toString('utf8')) as { layers: Descriptor[] }).layers;
    sigManifest = built;
  }
  if (sigManifest) {
    const digest = sha256(sigManifest.manifest);
    manifests.set(digest, sigManifest.manifest);
    tags.set(legacyTag(imageDigest, 'sig'), digest);
  }
  return {
    imageDigest,
    manifests,
    tags,
    blob: (digest: string) => {
      const held = extra.get(digest);
      if (held) return held;
      const path = join(dir, digest.slice('sha256:'.length));
      return existsSync(path) ? readFileSync(path) : undefined;
    },
  };
}
