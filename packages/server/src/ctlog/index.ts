// The certificate transparency log (RFC 6962) over the shared log engine: leaf and TLS
// structures, chain validation, the CtLog, its HTTP API and service, and the CA's HTTP client.
export * from './types.js';
export * from './leaf.js';
export * from './chain.js';
export * from './sct-json.js';
export * from './ct-log.js';
export * from './client.js';
export * from './http.js';
export * from './service.js';
export * from './cluster-service.js';
