// The CA's HTTP API (Fulcio v2 REST): the app, the signing-certificate pipeline, CSR checks.
export * from './app.js';
export * from './csr.js';
export * from './metrics.js';
export * from './signing-cert.js';
