// Backups of a PostgreSQL (cluster) log in the same archive format as a stack's: `sigstack backup
// --postgres URL` reads the log in one REPEATABLE READ transaction (one checkpoint, while front
// ends keep appending) into a SQLite log database `log/log.db` beside the log's public key; and
// `sigstack restore FILE --postgres URL` verifies the archive as a directory restore does (every
// file's SHA-256, every tile recomputed, the checkpoint's signature), then loads its log database
// into an empty PostgreSQL database in one transaction, checking the tree there again before
// committing. A stack's SQLite backup restores into PostgreSQL this way, and a PostgreSQL backup
// restores into a directory with `sigstack restore FILE --dir D2`: how a log moves between them.

import type { KeyObject } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseCheckpoint, parseSignedNote, verifyNoteSignature } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { loadPrivateKeyPem } from '../keys.js';
import { LogSigner } from '../log/engine/log-signer.js';
import type { LogStorage } from '../log/engine/storage.js';
import { MerkleTree } from '../log/engine/tree.js';
import { openSqlite } from '../storage/sqlite.js';
import { checkSchemaName, connectionOptions, PostgresLogStorage, redactUrl } from '../storage/postgres/postgres.js';
import { SCHEMA_VERSION, schemaVersion } from '../storage/postgres/schema.js';
import { BACKUP_FORMAT, PUBLIC_KEY_SUFFIX, type BackupManifest } from './archive.js';
import { checkpointOf, describeFiles, writeArchive } from './backup.js';
import { restoreBackup } from './restore.js';
import type { VerifiedLog } from './verify-log.js';
import Database from 'better-sqlite3';

const CHUNK = 5000;
const LOG_DB = 'log/log.db';

export interface PostgresBackupOptions {
  postgres: string;
  /** The log's private key file (every process of the log has it): its public key goes in the backup. */
  keyPath: string;
  out: string;
  includeKeys?: boolean;
  /** The PostgreSQL schema holding the log (log serve --schema; a stack's logs: sigstack_log, sigstack_ctlog). */
  schema?: string;
}

async function connect(url: string, name: string, schema: string | undefined): Promise<pg.Client> {
  if (schema) checkSchemaName(schema);
  const options = connectionOptions(schema);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, application_name: name, ...(options ? { options } : {}) });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new ServiceError(503, 'POSTGRES_UNREACHABLE', `cannot connect to PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}; check the URL and that the server runs`);
  }
  return client;
}

/** Copies the log at one checkpoint of the open REPEATABLE READ transaction into a SQLite log database. */
async function copyToSqlite(client: pg.Client, path: string, size: number, note: string, meta: Map<string, string>): Promise<void> {
  const sqlite = openSqlite(path);
  const { db, statements } = sqlite;
  try {
    // Entries with their keys, a chunk of indexes at a time: the SQLite log files both into its runs in index order.
    for (let start = 0; start < size; start += CHUNK) {
      const end = Math.min(size, start + CHUNK);
      const rows = (await client.query('SELECT idx, leaf_hash, body, integrated_time, kind, api_version, extra FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx', [start, end])).rows;
      const keys = (await client.query('SELECT idx, key FROM entry_keys WHERE idx >= $1 AND idx < $2 ORDER BY idx, key', [start, end])).rows;
      db.transaction(() => {
        for (const r of rows) statements.insertEntry.run(Number(r.idx), r.leaf_hash, r.body, Number(r.integrated_time), r.kind, r.api_version, r.extra ?? null);
        sqlite.writeRuns(
          rows.map((r) => ({ leafHash: r.leaf_hash as Buffer, index: Number(r.idx) })),
          keys.map((r) => ({ key: r.key as string, index: Number(r.idx) })),
        );
      })();
    }
    let after = { level: -1, idx: -1 };
    for (;;) {
      const rows = (await client.query('SELECT level, idx, hashes FROM tiles WHERE (level, idx) > ($1, $2) ORDER BY level, idx LIMIT $3', [after.level, after.idx, CHUNK])).rows;
      if (rows.length === 0) break;
      db.transaction(() => {
        for (const r of rows) statements.upsertTile.run(r.level, Number(r.idx), r.hashes);
      })();
      const last = rows[rows.length - 1]!;
      after = { level: last.level as number, idx: Number(last.idx) };
    }
    db.transaction(() => {
      statements.insertCheckpoint.run(size, note);
      for (const [key, value] of meta) statements.setMeta.run(key, value);
    })();
  } finally {
    db.close();
  }
}

/** `sigstack backup --postgres URL --key KEY.pem --out FILE`: the log at one checkpoint, as a stack backup's log/log.db. */
export async function makePostgresBackup(options: PostgresBackupOptions): Promise<BackupManifest> {
  const key = loadPrivateKeyPem(options.keyPath);
  const client = await connect(options.postgres, 'sigstack-backup', options.schema);
  const work = mkdtempSync(join(tmpdir(), 'sigstack-backup-'));
  try {
    const version = await schemaVersion(client);
    if (version === 0) throw new ServiceError(404, 'LOG_NOT_FOUND', `the database at ${redactUrl(options.postgres)} holds no sigstack log`);
    if (version > SCHEMA_VERSION) throw new ServiceError(500, 'POSTGRES_SCHEMA_TOO_NEW', `the database has log schema version ${version}, newer than this sigstack's ${SCHEMA_VERSION}: use a newer sigstack`);
    if (version < SCHEMA_VERSION) throw new ServiceError(409, 'POSTGRES_SCHEMA_TOO_OLD', `the database has log schema version ${version}, older than this sigstack's ${SCHEMA_VERSION}: start the log once with this sigstack (it migrates the schema), then back it up`);
    // One snapshot: the checkpoint and exactly the entries, tiles and keys it covers.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const head = (await client.query('SELECT c.size, c.note FROM log_head h JOIN checkpoints c ON c.size = h.size WHERE h.id = 1')).rows[0] as { size: string; note: string } | undefined;
    if (!head) throw new ServiceError(404, 'LOG_NOT_FOUND', `the log in ${redactUrl(options.postgres)} has no published checkpoint yet; start it once with sigstack log serve --postgres`);
    const size = Number(head.size);
    const meta = new Map((await client.query('SELECT key, value FROM meta')).rows.map((r) => [r.key as string, r.value as string]));
    const signer = new LogSigner(meta.get('name') ?? '', key);
    if (meta.get('logId') && meta.get('logId') !== signer.logId.toString('hex')) {
      throw new ServiceError(400, 'LOG_KEY_MISMATCH', `${options.keyPath} is not this log's key (the database's log ID is ${meta.get('logId')}): give the --key file its processes serve with`);
    }
    const dbCopy = join(work, 'log.db');
    await copyToSqlite(client, dbCopy, size, head.note, meta);
    await client.query('COMMIT');

    const publicCopy = join(work, 'public.pem');
    writeFileSync(publicCopy, key.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const files = [
      { path: LOG_DB, copy: dbCopy },
      { path: `log/${PUBLIC_KEY_SUFFIX}`, copy: publicCopy },
    ];
    if (options.includeKeys) {
      const keyCopy = join(work, 'key.pem');
      copyFileSync(options.keyPath, keyCopy);
      files.push({ path: 'log/log-key.pem', copy: keyCopy });
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      createdAt: new Date().toISOString(),
      includeKeys: options.includeKeys === true,
      files: await describeFiles(files),
      logs: [{ path: LOG_DB, ...checkpointOf(dbCopy) }],
      keysLeftOut: options.includeKeys ? [] : ['log/log-key.pem'],
    };
    await writeArchive(options.out, manifest, files);
    return manifest;
  } finally {
    await client.end().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}

export interface PostgresRestoreOptions {
  file: string;
  postgres: string;
  /** The log's private key: its checkpoint must be signed by it, and its log ID is recorded. */
  keyPath?: string;
  /** Which log database of the archive (default log/log.db, a stack's transparency log). */
  log?: string;
  /** The PostgreSQL schema to restore the log into (created if missing; default: the database's default schema). */
  schema?: string;
}

/** Refuses a database that holds any log data (restore only into an empty one). */
async function checkEmpty(url: string, schema: string | undefined): Promise<void> {
  const client = await connect(url, 'sigstack-restore', schema);
  try {
    const version = await schemaVersion(client);
    if (version === 0) return;
    if (version > SCHEMA_VERSION) throw new ServiceError(500, 'POSTGRES_SCHEMA_TOO_NEW', `the database has log schema version ${version}, newer than this sigstack's ${SCHEMA_VERSION}: use a newer sigstack`);
    const used = (await client.query('SELECT EXISTS (SELECT 1 FROM entries) OR EXISTS (SELECT 1 FROM checkpoints) OR EXISTS (SELECT 1 FROM meta) AS used')).rows[0]?.used === true;
    if (used) throw notEmpty(url);
  } finally {
    await client.end().catch(() => {});
  }
}

function notEmpty(url: string): ServiceError {
  return new ServiceError(409, 'RESTORE_TARGET_NOT_EMPTY', `the database at ${redactUrl(url)} already holds a log: restore into a new, empty database (createdb)`);
}

/** `sigstack restore FILE --postgres URL`: the archive verified, then its log loaded into an empty database. */
export async function restorePostgres(options: PostgresRestoreOptions): Promise<VerifiedLog & { path: string; manifest: BackupManifest }> {
  const member = options.log ?? LOG_DB;
  await checkEmpty(options.postgres, options.schema);
  const work = mkdtempSync(join(tmpdir(), 'sigstack-restore-'));
  try {
    const restored = await restoreBackup({ file: options.file, dir: join(work, 'archive') });
    const verified = restored.logs.find((l) => l.path === member);
    if (!verified) {
      throw new ServiceError(400, 'RESTORE_LOG_NOT_FOUND', `${options.file} holds no log database ${member} (it has: ${restored.logs.map((l) => l.path).join(', ') || 'none'}); name one with --log`);
    }
    const source = new Database(join(work, 'archive', ...member.split('/')), { readonly: true, fileMustExist: true });
    try {
      const checkpoint = source.prepare('SELECT size, note FROM checkpoint WHERE id = 1').get() as { size: number; note: string } | undefined;
      if (!checkpoint) throw new ServiceError(400, 'RESTORE_LOG_EMPTY', `${member} in ${options.file} has no checkpoint: there is nothing to restore`);
      const meta = new Map((source.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
      const origin = parseCheckpoint(parseSignedNote(checkpoint.note).body).origin;
      if (meta.get('name') !== undefined && meta.get('name') !== origin) throw new ServiceError(400, 'BACKUP_CORRUPT', `${member} is named ${meta.get('name')} but its checkpoint's origin is ${origin}`);
      meta.set('name', origin);
      if (options.keyPath) {
        const signer = new LogSigner(origin, loadPrivateKeyPem(options.keyPath));
        const note = parseSignedNote(checkpoint.note);
        const publicKey: KeyObject = signer.publicKey;
        if (!note.signatures.some((sig) => verifyNoteSignature(note.body, sig, publicKey))) {
          throw new ServiceError(400, 'LOG_KEY_MISMATCH', `the backup's checkpoint is not signed by ${options.keyPath}: give the log's own key`);
        }
        if (meta.get('logId') !== undefined && meta.get('logId') !== signer.logId.toString('hex')) throw new ServiceError(400, 'LOG_KEY_MISMATCH', `the backup's log ID ${meta.get('logId')} is not that of ${options.keyPath}`);
        meta.set('logId', signer.logId.toString('hex'));
      } else if (verified.signedBy) {
        // The log ID of the key the checkpoint verified with (the backup's trusted root or public
        // key): a process later given another key is refused (LOG_KEY_MISMATCH). Only the public
        // half is read to work out the ID.
        const logId = new LogSigner(origin, { publicKey: verified.signedBy, privateKey: verified.signedBy }).logId.toString('hex');
        if (meta.get('logId') !== undefined && meta.get('logId') !== logId) throw new ServiceError(400, 'BACKUP_CORRUPT', `${member}'s log ID ${meta.get('logId')} is not that of the key its checkpoint is signed with`);
        meta.set('logId', logId);
      }
      await load(options.postgres, options.schema, source, checkpoint, meta);
    } finally {
      source.close();
    }
    return { ...verified, manifest: restored.manifest };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Loads the verified SQLite log into PostgreSQL in one transaction, its tree checked there before the commit. */
async function load(url: string, schema: string | undefined, source: Database.Database, checkpoint: { size: number; note: string }, meta: Map<string, string>): Promise<void> {
  const store = await PostgresLogStorage.open(url, { maxConnections: 1, applicationName: 'sigstack-restore', idleInTransactionTimeoutMs: 60_000, ...(schema ? { schema } : {}) });
  try {
    await store.transaction(async (client) => {
      const head = (await client.query('SELECT size FROM log_head WHERE id = 1 FOR UPDATE')).rows[0];
      const used = (await client.query('SELECT EXISTS (SELECT 1 FROM entries) OR EXISTS (SELECT 1 FROM checkpoints) OR EXISTS (SELECT 1 FROM meta) AS used')).rows[0].used === true;
      if (Number(head.size) !== 0 || used) throw notEmpty(url);
      const entries = source.prepare('SELECT idx, leaf_hash, body, integrated_time, kind, api_version, extra FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx');
      const keys = source.prepare('SELECT key, idx FROM entry_keys WHERE idx >= ? AND idx < ? ORDER BY idx, key');
      for (let start = 0; start < checkpoint.size; start += CHUNK) {
        const end = Math.min(checkpoint.size, start + CHUNK);
        const rows = entries.all(start, end) as { idx: number; leaf_hash: Buffer; body: Buffer; integrated_time: number; kind: string; api_version: string; extra: Buffer | null }[];
        await PostgresLogStorage.writeBatch(client, {
          entries: rows.map((r) => ({ index: r.idx, leafHash: r.leaf_hash, body: r.body, integratedTime: r.integrated_time, kind: r.kind, apiVersion: r.api_version, ...(r.extra ? { extra: r.extra } : {}) })),
          tiles: [],
          index: (keys.all(start, end) as { key: string; idx: number }[]).map((k) => ({ key: k.key, index: k.idx })),
        }, store.runPolicy);
      }
      const tiles = source.prepare('SELECT level, idx, hashes FROM tiles ORDER BY level, idx').all() as { level: number; idx: number; hashes: Buffer }[];
      for (let i = 0; i < tiles.length; i += CHUNK) {
        await PostgresLogStorage.writeBatch(client, { entries: [], index: [], tiles: tiles.slice(i, i + CHUNK).map((t) => ({ level: t.level, index: t.idx, hashes: t.hashes })) });
      }
      await client.query('INSERT INTO checkpoints (size, note) VALUES ($1, $2)', [checkpoint.size, checkpoint.note]);
      await client.query('UPDATE log_head SET size = $1 WHERE id = 1', [checkpoint.size]);
      for (const [key, value] of meta) await client.query('INSERT INTO meta (key, value) VALUES ($1, $2)', [key, value]);

      // What PostgreSQL now holds must be the tree the checkpoint signs.
      const count = Number((await client.query('SELECT count(*) AS n FROM entries')).rows[0].n);
      const reader = { readTile: async (level: number, index: number) => (await client.query('SELECT hashes FROM tiles WHERE level = $1 AND idx = $2', [level, index])).rows[0]?.hashes as Buffer | undefined } as unknown as LogStorage;
      const tree = new MerkleTree(reader);
      await tree.load(checkpoint.size);
      const root = await tree.root(checkpoint.size);
      const expected = parseCheckpoint(parseSignedNote(checkpoint.note).body).rootHash;
      if (count !== checkpoint.size || !root.equals(expected)) {
        throw new ServiceError(500, 'RESTORE_FAILED', `the log loaded into PostgreSQL does not match its checkpoint (${count} entries, root ${root.toString('hex')}); nothing was restored`);
      }
      return true;
    });
  } finally {
    await store.close();
  }
}
