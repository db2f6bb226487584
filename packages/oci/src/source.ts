// What reading signatures needs from where an image lives (a registry, or an image layout on
// disk): manifests by tag or digest, blobs by digest, and the referrers of a digest.

import type { ImageIndex } from './manifests.js';

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  /** sha256 of `bytes`. */
  digest: string;
}

export interface ImageSource {
  /** Where, for messages: `registry 127.0.0.1:5000, repository app` or `image layout DIR`. */
  describe(repository: string): string;
  /** A manifest by tag or digest; undefined when there is none. */
  getManifest(repository: string, reference: string): Promise<FetchedManifest | undefined>;
  /** A blob's bytes, checked against its digest; at most `maxBytes`. */
  getBlob(repository: string, digest: string, maxBytes: number): Promise<Buffer>;
  /** The referrers index of a digest; undefined when the source has no referrers API. */
  referrers(repository: string, digest: string): Promise<ImageIndex | undefined>;
}
