// `sigstack backup --dir D --out FILE [--include-keys]` and `sigstack restore FILE --dir D2`:
// a consistent snapshot of a (running) stack, and its restore into a new directory after every
// file and every log's tree were verified.

import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';

export const BACKUP_USAGE = `usage: sigstack backup --dir D --out FILE [--include-keys]
       sigstack backup --postgres URL [--schema S] --key KEY.pem --out FILE [--include-keys]
       sigstack restore FILE --dir D2
       sigstack restore FILE --postgres URL [--schema S] [--key KEY.pem] [--log log/log.db]

  backup: a consistent snapshot of the stack in D, running or not (each log database through
  SQLite's online backup), as a gzip'd tar with a manifest of SHA-256s. Private keys are left out
  (listed in the manifest) unless --include-keys; keep such a backup as safe as the keys.
  restore: unpacks FILE into D2 (new or empty), checking every file against the manifest and
  every log by recomputing each tile and the root from its entries and checking the checkpoint's
  signature against the backup's trusted root; a damaged or altered backup is refused
  (BACKUP_CORRUPT, BACKUP_TREE_INVALID) and D2 is left as it was. Put left-out keys back before
  \`sigstack up --dir D2\` (it refuses to give a log with entries a new key: KEY_MISSING).
  --postgres: a PostgreSQL log (sigstack log serve --postgres) is backed up at one checkpoint (one
  REPEATABLE READ snapshot, while its front ends keep appending) as log/log.db (a SQLite log
  database) with the log's public key; restore --postgres verifies the archive the same way and
  loads its log (a stack backup's log/log.db, or --log) into an empty database (else
  RESTORE_TARGET_NOT_EMPTY); with --key the checkpoint must be signed by that key. A PostgreSQL
  backup restores into a directory with --dir, and a stack backup into PostgreSQL. --schema: the
  PostgreSQL schema of the log (log serve --schema; a stack on PostgreSQL: sigstack_log, sigstack_ctlog).`;

export async function backupCommand(args: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({ args, options: { dir: { type: 'string' }, postgres: { type: 'string' }, schema: { type: 'string' }, key: { type: 'string' }, out: { type: 'string' }, 'include-keys': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${BACKUP_USAGE}`);
  }
  if (v.help) {
    process.stdout.write(`${BACKUP_USAGE}\n`);
    return 0;
  }
  if (!(v.dir || v.postgres) || (v.dir && v.postgres) || !v.out) throw new CliError('USAGE', `one of --dir D or --postgres URL, and --out FILE, are required\n${BACKUP_USAGE}`);
  if (v.postgres && !v.key) throw new CliError('USAGE', `--postgres needs --key KEY.pem (the log's key file: its public key goes in the backup)\n${BACKUP_USAGE}`);
  const { backup } = await import('@sigstack/server');
  const manifest = v.postgres
    ? await backup.makePostgresBackup({ postgres: v.postgres, keyPath: v.key as string, out: v.out, includeKeys: v['include-keys'] === true, ...(v.schema ? { schema: v.schema } : {}) })
    : await backup.makeBackup({ stackDir: v.dir as string, out: v.out, includeKeys: v['include-keys'] === true });
  process.stdout.write(`backup          ${v.out} (${manifest.files.length} files)\n`);
  for (const log of manifest.logs) process.stdout.write(`log             ${log.path}: ${log.origin || '(empty)'} size ${log.size}${log.rootHash ? ` root ${log.rootHash}` : ''}\n`);
  if (manifest.keysLeftOut.length > 0) process.stdout.write(`keys left out   ${manifest.keysLeftOut.join(' ')}\n`);
  return 0;
}

export async function restoreCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { dir: { type: 'string' }, postgres: { type: 'string' }, schema: { type: 'string' }, key: { type: 'string' }, log: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${BACKUP_USAGE}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${BACKUP_USAGE}\n`);
    return 0;
  }
  const [file, ...extra] = parsed.positionals;
  const { dir, postgres } = parsed.values;
  if (!file || extra.length > 0 || !(dir || postgres) || (dir && postgres)) throw new CliError('USAGE', `give one backup FILE and one of --dir D2 or --postgres URL\n${BACKUP_USAGE}`);
  const { backup } = await import('@sigstack/server');
  if (postgres) {
    const restored = await backup.restorePostgres({ file, postgres, ...(parsed.values.key ? { keyPath: parsed.values.key } : {}), ...(parsed.values.log ? { log: parsed.values.log } : {}), ...(parsed.values.schema ? { schema: parsed.values.schema } : {}) });
    process.stdout.write(`restored        ${restored.path} into PostgreSQL (backup of ${restored.manifest.createdAt})\n`);
    process.stdout.write(`verified        ${restored.origin} size ${restored.size} root ${restored.rootHash.toString('hex')}, ${restored.tiles} tiles recomputed\n`);
    process.stdout.write(`serve it with   sigstack log serve --postgres URL${parsed.values.schema ? ` --schema ${parsed.values.schema}` : ''} --key KEY.pem --name ${restored.origin}\n`);
    return 0;
  }
  const result = await backup.restoreBackup({ file, dir: dir as string });
  process.stdout.write(`restored        ${dir as string} (${result.manifest.files.length} files, backup of ${result.manifest.createdAt})\n`);
  for (const log of result.logs) process.stdout.write(`verified        ${log.path}: ${log.origin || '(empty)'} size ${log.size}, ${log.tiles} tiles recomputed\n`);
  if (result.manifest.keysLeftOut.length > 0) process.stdout.write(`put back keys   ${result.manifest.keysLeftOut.join(' ')}\n`);
  return 0;
}
