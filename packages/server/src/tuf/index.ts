// TUF trust distribution: a repository of root, targets, snapshot and timestamp metadata made
// with @tufjs/models (Ed25519 role keys), and its HTTP routes.
export * from './keys.js';
export * from './repository.js';
export * from './http.js';
export * from './offline.js';
