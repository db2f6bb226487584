// `sigstack restore FILE --dir D2`: unpacks a stack backup into a new directory, checking every
// file against the manifest and every log database by recomputing its tree (verify-log.ts),
// before anything is in place: a damaged or altered backup is refused and D2 is not made.

import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { ServiceError } from '../errors.js';
import { BACKUP_FORMAT, MANIFEST_NAME, PUBLIC_KEY_SUFFIX, isDatabase, isPrivateKeyFile, isSafeMemberPath, under, type BackupManifest } from './archive.js';
import { verifyLogDatabase, type VerifiedLog } from './verify-log.js';

export interface RestoreResult {
  manifest: BackupManifest;
  logs: (VerifiedLog & { path: string })[];
}

const MAX_MANIFEST = 16 * 1024 * 1024;

function corrupt(file: string, why: string): ServiceError {
  return new ServiceError(400, 'BACKUP_CORRUPT', `${file} is not an intact sigstack backup: ${why}`);
}

function readManifest(data: Buffer, file: string): BackupManifest {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(data.toString('utf8')) as BackupManifest;
  } catch {
    throw corrupt(file, `its ${MANIFEST_NAME} is not JSON`);
  }
  if (manifest.format !== BACKUP_FORMAT || !Array.isArray(manifest.files) || !Array.isArray(manifest.logs)) throw corrupt(file, `its ${MANIFEST_NAME} is not a ${BACKUP_FORMAT} manifest`);
  for (const f of manifest.files) if (!isSafeMemberPath(f.path) || !/^[0-9a-f]{64}$/.test(f.sha256)) throw corrupt(file, `the manifest names an unsafe or malformed file ${JSON.stringify(f.path)}`);
  return manifest;
}

/** Public keys a restored log's checkpoint may be signed with: the backup's trusted root, and a PostgreSQL log's public key (log-public.pem). */
function checkpointKeys(dir: string, manifest: BackupManifest): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const f of manifest.files.filter((file) => file.path.endsWith(PUBLIC_KEY_SUFFIX))) keys.push(createPublicKey(readFileSync(under(dir, f.path))));
  const rootPath = join(dir, 'trusted_root.json');
  if (existsSync(rootPath)) {
    const root = JSON.parse(readFileSync(rootPath, 'utf8')) as { tlogs?: { publicKey?: { rawBytes?: string } }[]; ctlogs?: { publicKey?: { rawBytes?: string } }[] };
    for (const log of [...(root.tlogs ?? []), ...(root.ctlogs ?? [])]) {
      if (log.publicKey?.rawBytes) keys.push(createPublicKey({ key: Buffer.from(log.publicKey.rawBytes, 'base64'), format: 'der', type: 'spki' }));
    }
  }
  return keys;
}

async function extract(file: string, into: string): Promise<BackupManifest> {
  let manifest: BackupManifest | undefined;
  const seen = new Set<string>();
  const extractor = tar.extract();
  extractor.on('entry', (header, stream, next) => {
    const fail = (err: Error) => {
      stream.resume();
      extractor.destroy(err);
    };
    if (!manifest) {
      if (header.name !== MANIFEST_NAME || header.type !== 'file' || (header.size ?? 0) > MAX_MANIFEST) return fail(corrupt(file, `its first member is not ${MANIFEST_NAME}`));
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        try {
          manifest = readManifest(Buffer.concat(chunks), file);
          next();
        } catch (err) {
          extractor.destroy(err as Error);
        }
      });
      return;
    }
    const expected = manifest.files.find((f) => f.path === header.name);
    if (header.type !== 'file' || !expected || seen.has(header.name)) return fail(corrupt(file, `it holds ${JSON.stringify(header.name)}, which its manifest does not list (once) as a file`));
    seen.add(header.name);
    const target = under(into, header.name);
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    const hash = createHash('sha256');
    let size = 0;
    const out = createWriteStream(target, { mode: isPrivateKeyFile(header.name) || isDatabase(header.name) ? 0o600 : 0o644 });
    const hashing = new Writable({
      write(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        out.write(chunk, done);
      },
      final(done) {
        out.end(done);
      },
    });
    pipeline(stream, hashing).then(
      () => {
        if (size !== expected.size || hash.digest('hex') !== expected.sha256) return extractor.destroy(corrupt(file, `${header.name} does not match its SHA-256 in the manifest`));
        next();
      },
      (err: Error) => extractor.destroy(err),
    );
  });
  try {
    await pipeline(createReadStream(file), createGunzip(), extractor);
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ServiceError(400, 'BACKUP_NOT_FOUND', `${file} does not exist`);
    throw corrupt(file, `it cannot be unpacked as a gzip'd tar (${(err as Error).message})`);
  }
  if (!manifest) throw corrupt(file, 'it is empty');
  const missing = manifest.files.filter((f) => !seen.has(f.path));
  if (missing.length > 0) throw corrupt(file, `it lacks ${missing.length} file(s) its manifest lists (${missing[0]!.path}, …)`);
  return manifest;
}

export async function restoreBackup(options: { file: string; dir: string }): Promise<RestoreResult> {
  const dir = resolve(options.dir);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new ServiceError(409, 'RESTORE_TARGET_NOT_EMPTY', `${options.dir} exists and is not empty: restore into a new directory`);
  const work = `${dir}.restoring-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
  try {
    const manifest = await extract(options.file, work);
    const keys = checkpointKeys(work, manifest);
    const logs: RestoreResult['logs'] = [];
    for (const f of manifest.files.filter((file) => isDatabase(file.path))) {
      const verified = await verifyLogDatabase(under(work, f.path), keys);
      const recorded = manifest.logs.find((l) => l.path === f.path);
      if (recorded && (recorded.size !== verified.size || (recorded.size > 0 && recorded.rootHash !== verified.rootHash.toString('hex')))) {
        throw corrupt(options.file, `${f.path} verifies at size ${verified.size}, but the manifest recorded size ${recorded.size} root ${recorded.rootHash}`);
      }
      logs.push({ path: f.path, ...verified });
    }
    if (existsSync(dir)) rmSync(dir, { recursive: true });
    renameSync(work, dir);
    return { manifest, logs };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
