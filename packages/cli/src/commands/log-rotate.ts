// `sigstack log rotate --dir D`: freezes the stack's active log shard and starts a new one (new
// key and origin), as Rekor's yearly shards; the next `sigstack up` serves both and republishes
// the trust files over TUF (`sigstack up --rotate-log` does both at once).

import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';

export const LOG_ROTATE_USAGE = `usage: sigstack log rotate --dir D [--pkcs11-key-label L] [--postgres URL]

  Freezes the active transparency log shard of the stack in D (stopped): it keeps serving its
  entries, proofs, tiles and search, and refuses new entries. Starts a new shard with a new key,
  tree ID and origin (<first origin>/logN, served under <public URL>/logN). The next
  \`sigstack up --dir D\` writes trusted_root.json (the old shard's validFor.end, the new one's
  start) and signing_config.json (the new shard for writing) and publishes them as a new TUF
  targets version. \`sigstack up --rotate-log\` rotates and starts in one step. With
  --pkcs11-key-label the new shard signs with that ECDSA P-256 key on the token (made there
  beforehand; start the stack with --pkcs11-module ... --pkcs11-log). A stack run with
  \`up --postgres URL\` rotates with the same --postgres URL: the new shard is a new schema of the
  database; stop every process of the stack first, then give each the rotated D (or a copy).`;

export async function logRotateCommand(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({ args, options: { dir: { type: 'string' }, 'pkcs11-key-label': { type: 'string' }, postgres: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${LOG_ROTATE_USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${LOG_ROTATE_USAGE}\n`);
    return 0;
  }
  if (!values.dir) throw new CliError('USAGE', `--dir is required (the directory \`sigstack up\` uses)\n${LOG_ROTATE_USAGE}`);
  const { rotateLogShard } = await import('@sigstack/server');
  const { frozen, active } = await rotateLogShard(values.dir, new Date(), process.env.SIGSTACK_KEY_PASSWORD || undefined, values['pkcs11-key-label'], values.postgres);
  process.stdout.write(`frozen: ${frozen.name} (entries until ${frozen.end})\nactive: ${active.name} (from ${active.start}), served under ${active.path}\nrestart the stack (sigstack up --dir ${values.dir}${values.postgres ? ' --postgres URL' : ''}) to serve it and publish the new trust files\n`);
  return 0;
}
