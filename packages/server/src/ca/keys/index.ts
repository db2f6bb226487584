// CA key backends (ephemeral, PEM file, PKCS#11 shape) behind CaSigner, and the CA hierarchy
// (root + intermediate) kept in a data directory.
export * from './signer.js';
export * from './ephemeral.js';
export * from './pem.js';
export * from './pkcs11.js';
export * from './hierarchy.js';
