// The keyless certificate authority (Fulcio's job): OIDC token checks, CA keys, Fulcio-profile
// certificates with embedded SCTs, the v2 HTTP API and the service that runs it.
export * from './oidc/index.js';
export * from './keys/index.js';
export * from './cert/index.js';
export * from './http/index.js';
export { startCaService, type CaService, type CaServiceOptions } from './service.js';
