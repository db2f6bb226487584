// What a stack backup holds and how its files are named: a gzip'd tar whose first member is a
// manifest (every file's path, size and SHA-256, and each log's checkpoint at backup time).

import { join } from 'node:path';

export const BACKUP_FORMAT = 'sigstack-backup/1';
export const MANIFEST_NAME = 'sigstack-backup.json';

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  createdAt: string;
  includeKeys: boolean;
  files: { path: string; size: number; sha256: string }[];
  /** The log databases in it, with the checkpoint each had. */
  logs: { path: string; origin: string; size: number; rootHash: string }[];
  /** Private key files left out (without --include-keys): to be put back before the stack starts. */
  keysLeftOut: string[];
}

/** A log's public key in a backup of a PostgreSQL log (its checkpoint is checked with it on restore). */
export const PUBLIC_KEY_SUFFIX = 'log-public.pem';

/** Private keys: every role key of the stack (left out of a backup unless asked for). */
export function isPrivateKeyFile(path: string): boolean {
  const name = path.split('/').pop() ?? '';
  return /(^|-)key\.pem$/.test(name) || /^tuf\/keys\/[^/]+\.pem$/.test(path);
}

/** Files never backed up: SQLite's side files (the database is copied whole), pid and temporary files. */
export function isSkipped(path: string): boolean {
  return /\.db-(wal|shm|journal)$/.test(path) || /(^|\/)stack\.pid$/.test(path) || /\.tmp$/.test(path);
}

export function isDatabase(path: string): boolean {
  return path.endsWith('.db');
}

/** A member path a restore accepts: relative, no `..`, no odd characters. */
export function isSafeMemberPath(path: string): boolean {
  return path.length > 0 && path.length < 1024 && !path.startsWith('/') && !path.split('/').some((s) => s === '' || s === '.' || s === '..') && /^[A-Za-z0-9._\/-]+$/.test(path);
}

export function under(dir: string, path: string): string {
  return join(dir, ...path.split('/'));
}
