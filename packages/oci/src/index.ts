// @sigstack/oci: images in OCI registries and on disk: references, the distribution API client
// (Docker token and basic auth), cosign's bundle and legacy layouts, simple-signing payloads.
export { OciError, type OciErrorDetails } from './errors.js';
export * from './reference.js';
export * from './manifests.js';
export * from './simple-signing.js';
export { dockerConfigCredentials, dockerConfigPath, parseChallenge, type Challenge, type Credentials } from './credentials.js';
export { RegistryClient, USER_AGENT, type RegistryOptions } from './registry.js';
export type { FetchedManifest, ImageSource } from './source.js';
export * from './attachments.js';
export * from './legacy-bundle.js';
