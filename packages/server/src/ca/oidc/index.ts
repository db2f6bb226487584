// The keyless CA's OIDC layer: Fulcio-format issuer configuration, ID token verification, and
// the mapping from a verified identity to the certificate's SAN and Fulcio extensions.
export * from './config.js';
export * from './extensions.js';
export * from './verify-token.js';
export * from './principal.js';
export { compileTemplate, TemplateError, type CompiledTemplate } from './ci-template.js';
