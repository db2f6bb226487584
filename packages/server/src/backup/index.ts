// Backups of a stack directory: a consistent snapshot (SQLite online backup; keys only when asked
// for) and a restore that verifies every file and every log's tree before it is in place.
export * from './archive.js';
export * from './backup.js';
export * from './restore.js';
export * from './verify-log.js';
export * from './postgres.js';
