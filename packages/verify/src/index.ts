// @sigstack/verify: offline verification of sigstore bundles against a trusted root.
export { Verifier, type VerificationResult, type VerifierOptions, type VerifyPolicy } from './verifier.js';
export { TrustMaterial } from './trust-material.js';
export { VerificationError } from './errors.js';
export type { Artifact } from './signed-content.js';
export type { IdentityPolicy } from './policy.js';
export { VerifierPool, type VerifierPoolOptions } from './pool.js';
export { checkBundleWitnesses, witnessPolicyFromKeys, witnessPolicyFromText } from './witness.js';
export { FULCIO_EXTENSIONS, extensionText, fulcioExtensions, type ExtensionRequirement } from './fulcio-extensions.js';
