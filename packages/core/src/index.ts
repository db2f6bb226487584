// Public entry point of @sigstack/core: re-exports every building block module.
export * from './rfc3161.js';
export * from './errors.js';
export * from './encoding.js';
export * from './signature.js';
export * from './x509.js';
export * from './sct.js';
export * from './bundle.js';
export * from './trusted-root.js';
export * from './signing-config.js';
export * from './merkle.js';
export * from './note.js';
export * from './checkpoint.js';
export * from './canonical-json.js';
export * from './dsse.js';
export * from './intoto.js';
export * from './tiles.js';
