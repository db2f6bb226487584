// Log shards, as Rekor's yearly shards: the stack's transparency log is a list of shards, the
// last one active. Rotating freezes the active shard (it keeps serving entries, proofs, tiles and
// search, and refuses writes) and starts a new one with a new key and origin (<first name>/logN),
// recorded in the stack's state file; the trust files name every shard with its validity.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { ServiceError } from '../errors.js';
import { loadOrCreateKey } from '../keys.js';
import { SqliteLogStorage } from '../storage/sqlite.js';
import { AdmissionPool } from './admission/pool.js';
import { TransparencyLog, type LogOptions } from './engine/log.js';
import { LogSigner } from './engine/log-signer.js';
import { buildLogApp } from './http/app.js';
import { openShardKeyFor, type Pkcs11LogKeys } from './shard-keys.js';
import type { ClusterWitnessingOptions } from './witnessing/cluster.js';
import { assertShardNotServed, assertShardsCurrent, openClusterShard, openShardStore, recordShards, shardSchema } from './shards-postgres.js';

/** One shard as the state file records it. */
export interface ShardRecord {
  /** Its directory under the stack directory ('log' for the first). */
  dir: string;
  /** Where it is served under the public URL ('' for the first, '/log2', ...). */
  path: string;
  /** When it started taking entries (ISO 8601). */
  start: string;
  /** When it was frozen (absent: the active shard). */
  end?: string;
  /** The label of its key on the PKCS#11 token (absent: the key file in its directory). */
  keyLabel?: string;
}

const STATE_FILE = 'stack.json';
const PID_FILE = 'stack.pid';

function readStateJson(stackDir: string): Record<string, unknown> & { createdAt: string } {
  const path = join(stackDir, STATE_FILE);
  if (!existsSync(path)) throw new ServiceError(400, 'STACK_NOT_FOUND', `${stackDir} is not a sigstack directory (no ${STATE_FILE}); give the --dir that \`sigstack up\` made`);
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> & { createdAt: string };
}

/** The shards of a stack's state (one, the first, when it was never rotated). */
export function shardsOf(state: { createdAt: string; logShards?: unknown }): ShardRecord[] {
  if (Array.isArray(state.logShards) && state.logShards.length > 0) return state.logShards as ShardRecord[];
  return [{ dir: 'log', path: '', start: state.createdAt }];
}

/** Writes `state` atomically (a crash leaves the old file or the new one). */
function writeStateJson(stackDir: string, state: Record<string, unknown>): void {
  const path = join(stackDir, STATE_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Records that this process serves the stack (removed by releaseStackPid). */
export function claimStackPid(stackDir: string): void {
  writeFileSync(join(stackDir, PID_FILE), `${process.pid}\n`);
}

export function releaseStackPid(stackDir: string): void {
  const path = join(stackDir, PID_FILE);
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) writeFileSync(path, '');
  } catch {
    // gone already
  }
}

/** STACK_RUNNING when another live process serves the stack in `stackDir`. */
export function assertStackStopped(stackDir: string, what: string): void {
  let pid = NaN;
  try {
    pid = Number(readFileSync(join(stackDir, PID_FILE), 'utf8').trim());
  } catch {
    return;
  }
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
    throw new ServiceError(409, 'STACK_RUNNING', `the stack in ${stackDir} is running (pid ${pid}): stop it before ${what}, or use \`sigstack up --rotate-log\` when starting it`);
  }
}

export interface RotationResult {
  frozen: ShardRecord & { name: string };
  active: ShardRecord & { name: string };
}

/**
 * Freezes the active shard and creates the next one (key, tree ID and name), recorded in the
 * stack's state. The stack must be stopped; its next start serves both and rewrites the trust files.
 */
export async function rotateLogShard(stackDir: string, now = new Date(), keyPassword?: string, keyLabel?: string, postgres?: string): Promise<RotationResult> {
  assertStackStopped(stackDir, 'rotating the log');
  const state = readStateJson(stackDir);
  if ((state.logStore === 'postgres') !== (postgres !== undefined)) {
    throw new ServiceError(400, postgres ? 'STACK_NOT_POSTGRES' : 'STACK_NEEDS_POSTGRES', postgres ? `the logs of the stack in ${stackDir} are SQLite files, not in PostgreSQL: rotate without --postgres` : `the logs of the stack in ${stackDir} live in PostgreSQL: give --postgres URL (the database the stack runs on)`);
  }
  const shards = shardsOf(state).map((s) => ({ ...s }));
  const current = shards[shards.length - 1]!;
  const at = new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
  if (Date.parse(at) <= Date.parse(current.start)) throw new ServiceError(409, 'ROTATION_TOO_SOON', `the active log shard started at ${current.start}; rotate again a second later`);

  let baseName: string | undefined;
  let currentName: string;
  if (postgres) {
    // The shards are schemas of the database (shards-postgres.ts).
    const first = await openShardStore(postgres, shards[0]!);
    try {
      await assertShardsCurrent(first, shards, stackDir);
      baseName = await first.getMeta('name');
      if (!baseName) throw new ServiceError(400, 'LOG_NOT_FOUND', `the database holds no log in schema ${shardSchema(shards[0]!)}: start the stack once (sigstack up --postgres) before rotating its log`);
      const active = shards.length === 1 ? first : await openShardStore(postgres, current);
      try {
        await assertShardNotServed(active);
        currentName = (await active.getMeta('name')) ?? baseName;
      } finally {
        if (active !== first) await active.close();
      }
    } finally {
      await first.close();
    }
  } else {
    const firstDb = join(stackDir, shards[0]!.dir, 'log.db');
    if (!existsSync(firstDb)) throw new ServiceError(400, 'LOG_NOT_FOUND', `${firstDb} does not exist: start the stack once (sigstack up) before rotating its log`);
    const first = new SqliteLogStorage(firstDb);
    baseName = await first.getMeta('name');
    await first.close();
    const currentDb = new SqliteLogStorage(join(stackDir, current.dir, 'log.db'));
    currentName = (await currentDb.getMeta('name')) ?? baseName ?? '';
    await currentDb.close();
    if (!baseName) throw new ServiceError(500, 'LOG_NAME_MISSING', `${firstDb} has no name; start the stack once before rotating`);
  }
  const number = shards.length + 1;
  const next: ShardRecord = { dir: `log-${number}`, path: `/log${number}`, start: at, ...(keyLabel ? { keyLabel } : {}) };
  const nextDir = join(stackDir, next.dir);
  mkdirSync(nextDir, { recursive: true, mode: 0o700 });
  // A new key file, unless the new shard's key is on the token (made there beforehand, under keyLabel).
  if (!keyLabel) loadOrCreateKey(join(nextDir, 'log-key.pem'), 'ed25519', keyPassword);
  const storage = postgres ? await openShardStore(postgres, next) : new SqliteLogStorage(join(nextDir, 'log.db'));
  const name = `${baseName}${next.path}`;
  await storage.setMeta('name', name);
  if (!(await storage.getMeta('treeId'))) await storage.setMeta('treeId', randomBytes(8).toString('hex'));
  await storage.close();

  current.end = at;
  shards.push(next);
  writeStateJson(stackDir, { ...state, logShards: shards });
  if (postgres) {
    const first = await openShardStore(postgres, shards[0]!);
    await recordShards(first, shards).finally(() => first.close());
  }
  return { frozen: { ...current, name: currentName }, active: { ...next, name } };
}

export interface OpenShard {
  record: ShardRecord;
  name: string;
  treeId: string;
  log: TransparencyLog;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Opens a shard made by rotateLogShard (its name and tree ID are in its database). */
export async function openLogShard(stackDir: string, record: ShardRecord, options: { logOptions?: LogOptions; admissionWorkers: number; logger: FastifyServerOptions['logger']; keyPassword?: string; hsm?: Pkcs11LogKeys; postgres?: string; witnessing?: ClusterWitnessingOptions }): Promise<OpenShard> {
  if (options.postgres) return openClusterShard(stackDir, record, { ...options, postgres: options.postgres });
  const dir = join(stackDir, record.dir);
  const storage = new SqliteLogStorage(join(dir, 'log.db'));
  const name = await storage.getMeta('name');
  const treeId = await storage.getMeta('treeId');
  if (!name || !treeId) {
    await storage.close();
    throw new ServiceError(500, 'LOG_SHARD_INVALID', `${dir}/log.db has no name or tree ID: it was not made by \`sigstack log rotate\``);
  }
  const key = await openShardKeyFor(dir, record, storage, name, options);
  const log = await TransparencyLog.open(storage, new LogSigner(name, key.key), options.logOptions ?? {});
  const admission = new AdmissionPool(record.end ? 0 : options.admissionWorkers, log.signer);
  const app = buildLogApp({ log, treeId, admission, logger: options.logger });
  return {
    record,
    name,
    treeId,
    log,
    app,
    close: async () => {
      await app.close();
      await admission.close();
      await log.close();
      key.close();
    },
  };
}

/** Makes a frozen shard's app refuse new entries (410, saying where to write now). */
export function freezeLogApp(app: FastifyInstance, frozenAt: string, activeUrl: string): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST') return;
    const path = request.url.split('?', 1)[0];
    if (path !== '/api/v1/log/entries' && path !== '/api/v2/log/entries') return;
    return reply.code(410).send({
      code: 410,
      error: 'LOG_SHARD_FROZEN',
      message: `this log shard was frozen at ${frozenAt} and takes no new entries (it still serves its entries, proofs and tiles); write to the active shard ${activeUrl} (signing_config.json names it)`,
    });
  });
}

/** Records the token key label of the first shard (a stack whose log signed on a token from its start). */
export function setFirstShardKeyLabel(stackDir: string, label: string): void {
  const state = readStateJson(stackDir);
  const shards = shardsOf(state).map((s) => ({ ...s }));
  shards[0]!.keyLabel = label;
  writeStateJson(stackDir, { ...state, logShards: shards });
}
