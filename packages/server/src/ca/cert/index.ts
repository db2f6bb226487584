// Fulcio-profile certificates: CA certificates, precertificates and final certificates with
// embedded SCTs, and the requester's proof of possession.
export * from './builder.js';
export * from './ca-certificate.js';
export * from './leaf.js';
export * from './proof-of-possession.js';
