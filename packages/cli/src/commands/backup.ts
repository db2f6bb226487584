// `sigstack backup --dir D --out FILE [--include-keys]` and `sigstack restore FILE --dir D2`:
// a consistent snapshot of a (running) stack, and its restore into a new directory after every
// file and every log's tree were verified.

import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';

export const BACKUP_USAGE = `usage: sigstack backup --dir D --out FILE [--include-keys]
       sigstack restore FILE --dir D2

  backup: a consistent snapshot of the stack in D, running or not (each log database through
  SQLite's online backup), as a gzip'd tar with a manifest of SHA-256s. Private keys are left out
  (listed in the manifest) unless --include-keys; keep such a backup as safe as the keys.
  restore: unpacks FILE into D2 (new or empty), checking every file against the manifest and
  every log by recomputing each tile and the root from its entries and checking the checkpoint's
  signature against the backup's trusted root; a damaged or altered backup is refused
  (BACKUP_CORRUPT, BACKUP_TREE_INVALID) and D2 is left as it was. Put left-out keys back before
  \`sigstack up --dir D2\` (it refuses to give a log with entries a new key: KEY_MISSING).`;

export async function backupCommand(args: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({ args, options: { dir: { type: 'string' }, out: { type: 'string' }, 'include-keys': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${BACKUP_USAGE}`);
  }
  if (v.help) {
    process.stdout.write(`${BACKUP_USAGE}\n`);
    return 0;
  }
  if (!v.dir || !v.out) throw new CliError('USAGE', `--dir D and --out FILE are required\n${BACKUP_USAGE}`);
  const { backup } = await import('@sigstack/server');
  const manifest = await backup.makeBackup({ stackDir: v.dir, out: v.out, includeKeys: v['include-keys'] === true });
  process.stdout.write(`backup          ${v.out} (${manifest.files.length} files)\n`);
  for (const log of manifest.logs) process.stdout.write(`log             ${log.path}: ${log.origin || '(empty)'} size ${log.size}${log.rootHash ? ` root ${log.rootHash}` : ''}\n`);
  if (manifest.keysLeftOut.length > 0) process.stdout.write(`keys left out   ${manifest.keysLeftOut.join(' ')}\n`);
  return 0;
}

export async function restoreCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${BACKUP_USAGE}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${BACKUP_USAGE}\n`);
    return 0;
  }
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length > 0 || !parsed.values.dir) throw new CliError('USAGE', `give one backup FILE and --dir D2\n${BACKUP_USAGE}`);
  const { backup } = await import('@sigstack/server');
  const result = await backup.restoreBackup({ file, dir: parsed.values.dir });
  process.stdout.write(`restored        ${parsed.values.dir} (${result.manifest.files.length} files, backup of ${result.manifest.createdAt})\n`);
  for (const log of result.logs) process.stdout.write(`verified        ${log.path}: ${log.origin || '(empty)'} size ${log.size}, ${log.tiles} tiles recomputed\n`);
  if (result.manifest.keysLeftOut.length > 0) process.stdout.write(`put back keys   ${result.manifest.keysLeftOut.join(' ')}\n`);
  return 0;
}
