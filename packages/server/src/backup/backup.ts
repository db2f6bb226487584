// `sigstack backup`: a consistent snapshot of a (running) stack directory. Each SQLite database
// is copied with SQLite's online backup (a consistent image while the stack writes); the other
// files are copied as they are; private keys are left out unless asked for.

import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, createWriteStream, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import Database from 'better-sqlite3';
import tar from 'tar-stream';
import { parseCheckpoint, parseSignedNote } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { BACKUP_FORMAT, MANIFEST_NAME, isDatabase, isPrivateKeyFile, isSkipped, type BackupManifest } from './archive.js';

export interface BackupOptions {
  stackDir: string;
  out: string;
  includeKeys?: boolean;
}

/** Packs the manifest and then each file (copied aside in `copy`) into a gzip'd tar at `out`, written aside and renamed into place. */
export async function writeArchive(out: string, manifest: BackupManifest, files: { path: string; copy: string }[]): Promise<void> {
  const pack = tar.pack();
  const tmpOut = join(dirname(out), `.${Date.now()}.${process.pid}.backup.tmp`);
  const written = pipeline(pack, createGzip(), createWriteStream(tmpOut, { mode: 0o600 }));
  const add = (name: string, data: Buffer, mode: number) =>
    new Promise<void>((resolve, reject) => pack.entry({ name, size: data.length, mode, mtime: new Date() }, data, (err) => (err ? reject(err) : resolve())));
  try {
    await add(MANIFEST_NAME, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 0o644);
    for (const file of files) {
      const mode = isPrivateKeyFile(file.path) || isDatabase(file.path) ? 0o600 : 0o644;
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ name: file.path, size: statSync(file.copy).size, mode, mtime: new Date() }, (err) => (err ? reject(err) : resolve()));
        createReadStream(file.copy).on('error', reject).pipe(entry);
      });
    }
    pack.finalize();
    await written;
    renameSync(tmpOut, out);
  } catch (err) {
    pack.destroy();
    rmSync(tmpOut, { force: true });
    throw err;
  }
}

/** Each file's manifest line (size and SHA-256 of its copy). */
export function describeFiles(files: { path: string; copy: string }[]): Promise<BackupManifest['files']> {
  return Promise.all(files.map(async (f) => ({ path: f.path, size: statSync(f.copy).size, sha256: await sha256File(f.copy) })));
}

function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full, base));
    else if (entry.isFile()) out.push(relative(base, full).split('\\').join('/'));
  }
  return out.sort();
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('error', reject).on('data', (chunk) => hash.update(chunk)).on('end', () => resolve(hash.digest('hex')));
  });
}

/** The origin, size and root of the checkpoint in a SQLite log database. */
export function checkpointOf(dbPath: string): { origin: string; size: number; rootHash: string } {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT note FROM checkpoint WHERE id = 1').get() as { note: string } | undefined;
    if (!row) return { origin: '', size: 0, rootHash: '' };
    const checkpoint = parseCheckpoint(parseSignedNote(row.note).body);
    return { origin: checkpoint.origin, size: checkpoint.size, rootHash: checkpoint.rootHash.toString('hex') };
  } finally {
    db.close();
  }
}

export async function makeBackup(options: BackupOptions): Promise<BackupManifest> {
  const { stackDir } = options;
  try {
    statSync(join(stackDir, 'stack.json'));
  } catch {
    throw new ServiceError(400, 'STACK_NOT_FOUND', `${stackDir} is not a sigstack directory (no stack.json); give the --dir that \`sigstack up\` uses`);
  }
  // A stack run with `up --postgres` keeps its logs in the database, not in this directory: a
  // backup of the directory alone would look complete without them.
  let logStore: unknown;
  try {
    logStore = (JSON.parse(readFileSync(join(stackDir, 'stack.json'), 'utf8')) as { logStore?: unknown }).logStore;
  } catch {
    // not JSON: backed up as it is
  }
  if (logStore === 'postgres') {
    throw new ServiceError(400, 'BACKUP_POSTGRES_UNSUPPORTED', `the logs of the stack in ${stackDir} live in PostgreSQL (up --postgres), which sigstack backup does not copy yet: back the database up with pg_dump, and this directory (its keys) with your file backup`);
  }
  const work = mkdtempSync(join(tmpdir(), 'sigstack-backup-'));
  try {
    // First every file into the work directory (databases through SQLite's online backup: a
    // consistent copy while the stack keeps writing), then hashed and packed from there.
    const files: { path: string; copy: string }[] = [];
    const logs: BackupManifest['logs'] = [];
    const keysLeftOut: string[] = [];
    for (const path of walk(stackDir)) {
      if (isSkipped(path)) continue;
      if (isPrivateKeyFile(path) && !options.includeKeys) {
        keysLeftOut.push(path);
        continue;
      }
      const copy = join(work, String(files.length));
      if (isDatabase(path)) {
        const source = new Database(join(stackDir, path), { fileMustExist: true });
        try {
          await source.backup(copy);
        } finally {
          source.close();
        }
        if (path.endsWith('log.db')) logs.push({ path, ...checkpointOf(copy) });
      } else {
        copyFileSync(join(stackDir, path), copy);
      }
      files.push({ path, copy });
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      createdAt: new Date().toISOString(),
      includeKeys: options.includeKeys === true,
      files: await describeFiles(files),
      logs,
      keysLeftOut,
    };
    await writeArchive(options.out, manifest, files);
    return manifest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
