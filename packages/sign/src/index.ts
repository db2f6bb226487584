// @sigstack/sign: the signing client — identity token providers, CA / log / TSA HTTP clients,
// v0.3 bundle builders and the keyless or managed-key signing flow.
export { SignError, type SignErrorDetails } from './errors.js';
export { httpRequest, USER_AGENT, type HttpRequest, type HttpResponse, type RetryOptions } from './http.js';
export {
  DEFAULT_OIDC_CLIENT_ID,
  DEFAULT_OIDC_ISSUER,
  browserAvailable,
  browserTokenProvider,
  describeIdentity,
  deviceFlowTokenProvider,
  environmentTokenProvider,
  explicitTokenProvider,
  githubActionsTokenProvider,
  interactiveTokenProvider,
  parseIdentityToken,
  resolveIdentityToken,
  tokenProviders,
  tokenSubject,
  type IdentityToken,
  type InteractiveOptions,
  type ResolveTokenOptions,
  type TokenClaims,
  type TokenProvider,
} from './tokens.js';
export { FulcioClient, CA_SERVICE, type SigningCertificate, type SigningCertificateRequest } from './fulcio.js';
export {
  LOG_SERVICE,
  RekorV1Client,
  RekorV2Client,
  checkTlogEntry,
  rekorV1ProposedEntry,
  rekorV2Request,
  tlogClient,
  tlogEntryFromV1,
  type EntryContent,
  type EntryVerifier,
  type RekorV1Entry,
  type TlogClient,
} from './rekor.js';
export { TimestampClient, TSA_SERVICE, timestampRequest, type Timestamp } from './tsa.js';
export {
  buildBundle,
  buildStatement,
  bundleToText,
  subjectFor,
  INTOTO_PAYLOAD_TYPE,
  type BundleJson,
  type KeyMaterial,
  type SignedContent,
  type StatementSubjectInput,
  type TlogEntryJson,
} from './bundle.js';
export {
  PUBLIC_GOOD_SIGNING_CONFIG,
  STAGING_SIGNING_CONFIG,
  loadSigningConfig,
  resolveServices,
  servicesFromSigningConfig,
  type ExplicitServices,
  type SigningServices,
} from './services.js';
export {
  ephemeralSigner,
  generateKeyPairFiles,
  loadSignerFile,
  publicKeyHint,
  signerFromKeyObject,
  signerFromPem,
  type GeneratedKeyFiles,
  type KeySigner,
} from './keys.js';
export { Signer, type SignOptions, type SignResult } from './signer.js';
