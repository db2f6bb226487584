// Offline TUF root and targets keys, as the public-good instance keeps them: `sigstack tuf init`
// makes N root keys (threshold K) and the targets keys outside the served directory and moves the
// repository to them (a new root version signed by the old root key and the new ones); later root
// versions are staged and take one signature at a time (`sign-root`, `sign-targets`). The server
// keeps only the snapshot and timestamp keys online.

import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ServiceError } from '../errors.js';
import { assertStackStopped } from '../log/shards.js';
import { loadRoleKeyFile, tufPublicKey, type TufRole, type TufRoleKey } from './keys.js';
import { TufRepository } from './repository.js';

export interface OfflineKeysOptions {
  /** The stack directory (its TUF repository is D/tuf). */
  stackDir: string;
  /** Where the new private keys are written (outside the stack directory's served files). */
  keysOut: string;
  rootKeys: number;
  rootThreshold: number;
  targetsKeys?: number;
  targetsThreshold?: number;
}

export interface SigningOutcome {
  published: boolean;
  version: number;
  missing: string[];
  /** Private key files written. */
  keyFiles: string[];
}

function tufDir(stackDir: string): string {
  return join(stackDir, 'tuf');
}

function openExisting(stackDir: string): TufRepository {
  const dir = tufDir(stackDir);
  if (!existsSync(join(dir, 'repository')) || !readdirSync(join(dir, 'repository')).some((n) => /^\d+\.root\.json$/.test(n))) {
    throw new ServiceError(400, 'TUF_NOT_STARTED', `${stackDir} has no TUF repository yet: start the stack once (sigstack up --dir ${stackDir}), stop it, then run this`);
  }
  return TufRepository.open({ dir });
}

/** Writes `count` new Ed25519 keys for `role` into `keysOut` (mode 0600; encrypted with SIGSTACK_KEY_PASSWORD when set). */
function makeKeys(keysOut: string, role: TufRole, count: number, stackDir: string): TufRoleKey[] {
  const out = resolve(keysOut);
  const served = resolve(tufDir(stackDir));
  const rel = relative(served, out);
  if (rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'))) {
    throw new ServiceError(400, 'TUF_KEYS_OUT_INVALID', `--keys-out ${keysOut} is inside the TUF directory ${served}: offline keys belong elsewhere (e.g. a removable disk)`);
  }
  if (!Number.isInteger(count) || count < 1 || count > 32) throw new ServiceError(400, 'TUF_KEY_COUNT_INVALID', `the number of ${role} keys must be 1 to 32, not ${count}`);
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const password = process.env.SIGSTACK_KEY_PASSWORD;
  const keys: TufRoleKey[] = [];
  let n = 1;
  for (let made = 0; made < count; n++) {
    const path = join(out, `${role}-${n}.pem`);
    if (existsSync(path)) continue;
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = password ? privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password }) : privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
    keys.push(loadRoleKeyFile(path, role));
    made++;
  }
  return keys;
}

/**
 * Moves a stopped stack's TUF repository to offline root and targets keys: stages a root with
 * the new keys, signs it with the current (online) root key and the new keys, publishes it, and
 * re-signs the targets with the new targets keys. The online root and targets keys are deleted.
 */
export function initOfflineKeys(options: OfflineKeysOptions): SigningOutcome & { rootVersion: number } {
  assertStackStopped(options.stackDir, 'changing its TUF keys');
  const repo = openExisting(options.stackDir);
  if (!repo.isOnline('root')) throw new ServiceError(409, 'TUF_ALREADY_OFFLINE', 'the TUF root keys are already offline: change them with `sigstack tuf rotate-root`');
  const rootKeys = makeKeys(options.keysOut, 'root', options.rootKeys, options.stackDir);
  const targetsKeys = makeKeys(options.keysOut, 'targets', options.targetsKeys ?? 1, options.stackDir);
  repo.stageRoot({ rootKeys: rootKeys.map((k) => k.key), rootThreshold: options.rootThreshold, targetsKeys: targetsKeys.map((k) => k.key), targetsThreshold: options.targetsThreshold ?? 1 });
  const onlineRoot = loadRoleKeyFile(join(tufDir(options.stackDir), 'keys', 'root.pem'), 'root');
  let outcome = repo.signStagedRoot(onlineRoot);
  for (const key of rootKeys) if (!outcome.published) outcome = repo.signStagedRoot(key);
  if (!outcome.published) throw new ServiceError(500, 'TUF_ROOT_NOT_PUBLISHED', `the new root was not published: ${outcome.missing.join('; ')}`);
  let targets = { published: true, version: 0, missing: [] as string[] };
  for (const key of targetsKeys) {
    targets = repo.signStagedTargets(key);
    if (targets.published) break;
  }
  return { ...targets, rootVersion: outcome.version, keyFiles: [...rootKeys, ...targetsKeys].map((k) => k.path) };
}

/**
 * Stages the next root version: new root keys (written to `keysOut`, and signing it at once) or,
 * without `rootKeys`, the same keys with a new expiry. It is published by `signRoot` once the
 * current root's threshold (and its own) have signed.
 */
export function rotateRoot(options: { stackDir: string; rootKeys?: number; rootThreshold?: number; keysOut?: string }): SigningOutcome {
  const repo = openExisting(options.stackDir);
  if (repo.stagedRoot()) throw new ServiceError(409, 'TUF_ROOT_ALREADY_STAGED', `root version ${repo.stagedRoot()!.signed.version} is staged already: sign it (sigstack tuf sign-root --key FILE) or remove ${join(tufDir(options.stackDir), 'staged', 'root.json')}`);
  let newKeys: TufRoleKey[] = [];
  if (options.rootKeys !== undefined) {
    if (!options.keysOut) throw new ServiceError(400, 'TUF_KEYS_OUT_REQUIRED', '--keys-out DIR is required with --root-keys (where the new private keys go)');
    newKeys = makeKeys(options.keysOut, 'root', options.rootKeys, options.stackDir);
  }
  const staged = repo.stageRoot({
    ...(newKeys.length > 0 ? { rootKeys: newKeys.map((k) => k.key) } : {}),
    ...(options.rootThreshold !== undefined ? { rootThreshold: options.rootThreshold } : {}),
  });
  let outcome: { published: boolean; version: number; missing: string[] } = { published: false, version: staged.signed.version, missing: ['signatures by the current root keys'] };
  for (const key of newKeys) outcome = repo.signStagedRoot(key);
  return { ...outcome, keyFiles: newKeys.map((k) => k.path) };
}

export function signRoot(stackDir: string, keyPath: string): SigningOutcome {
  const repo = openExisting(stackDir);
  return { ...repo.signStagedRoot(loadRoleKeyFile(keyPath, 'root')), keyFiles: [] };
}

export function signTargets(stackDir: string, keyPath: string): SigningOutcome {
  const repo = openExisting(stackDir);
  return { ...repo.signStagedTargets(loadRoleKeyFile(keyPath, 'targets')), keyFiles: [] };
}
