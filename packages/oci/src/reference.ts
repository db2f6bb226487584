// Image references as docker and cosign write them: `[REGISTRY/]REPO[:TAG][@sha256:HEX]`, with
// Docker Hub's defaults (docker.io, library/), and the rule that tells an image argument from a
// file name on the command line.

import { OciError } from './errors.js';

export interface ImageReference {
  /** The registry as written (host[:port]); `docker.io` when none was. */
  registry: string;
  repository: string;
  tag?: string;
  /** `sha256:<hex>` when the reference pins a digest. */
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const DOCKER_HUB = 'docker.io';

/** Whether the first path component names a registry host (docker's rule). */
function isRegistryHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

function invalid(text: string, why: string): OciError {
  return new OciError('IMAGE_REFERENCE_INVALID', `"${text}" is not an image reference (${why}): write REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:HEX`);
}

export function parseImageReference(text: string): ImageReference {
  let rest = text.startsWith('docker://') ? text.slice('docker://'.length) : text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(text, 'the digest must be sha256: and 64 lowercase hex characters');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(text, `"${tag}" is not a valid tag`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  if (parts.length > 1 && isRegistryHost(parts[0] as string)) registry = parts.shift() as string;
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) throw invalid(text, 'repository names are lowercase letters, digits and separators');
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const reference: ImageReference = { registry, repository: parts.join('/') };
  if (tag !== undefined) reference.tag = tag;
  if (digest !== undefined) reference.digest = digest;
  return reference;
}

/** The reference as text; the registry is written out (docker.io included). */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The repository with its registry, as cosign's simple-signing `docker-reference` names it. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/**
 * The command-line rule: an argument names an image when it is not a local path that exists and
 * it is `REGISTRY/REPOSITORY` with a `:TAG` or `@sha256:` digest, REGISTRY being a host (a dot, a
 * port or `localhost`), e.g. `ghcr.io/org/app:1.0`, `127.0.0.1:5000/app@sha256:…`,
 * `docker.io/library/alpine:3` (Docker Hub is written out, so `app:1` stays a file name).
 */
export function looksLikeImageReference(text: string, pathExists: (path: string) => boolean): boolean {
  const body = text.startsWith('docker://') ? text.slice('docker://'.length) : text;
  const slash = body.indexOf('/');
  if (slash <= 0 || !isRegistryHost(body.slice(0, slash))) return false;
  if (!text.startsWith('docker://') && pathExists(text)) return false;
  let ref: ImageReference;
  try {
    ref = parseImageReference(text);
  } catch {
    return false;
  }
  return ref.tag !== undefined || ref.digest !== undefined;
}

/** The API host for a registry (Docker Hub's API lives elsewhere than its name). */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/** Whether a registry host is this machine (plain HTTP is allowed there). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}
