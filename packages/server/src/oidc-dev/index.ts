// The development OIDC issuer: for local end-to-end signing and tests only, never production.
export { buildDevOidcApp, DEV_OIDC_WARNING, type DevOidcAppOptions } from './app.js';
export { startDevOidcIssuer, type DevOidcIssuer, type DevOidcIssuerOptions } from './service.js';
export { devSigningKey, loadOrCreateDevKey, type DevOidcAlgorithm, type DevSigningKey } from './key.js';
export { installDevOidcFlows, type DevOidcFlowOptions } from './flows.js';
