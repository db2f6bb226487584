// `sigstack ca rotate`, `sigstack tsa rotate`, `sigstack ctlog rotate` (--dir D, the stack
// stopped): retire the key in use (its certificates or public key stay in the trusted root, valid
// until now) so that the next `sigstack up` makes a new one and republishes the trust over TUF.

import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';

export const KEY_ROTATE_USAGE = `usage: sigstack ca rotate --dir D [--root]
       sigstack tsa rotate --dir D [--root]
       sigstack ctlog rotate --dir D

  For the stack in D (stopped): retires the CA's intermediate (with --root, the whole hierarchy),
  the TSA's certificate and key (with --root, its root too) or the CT log's key and log. The
  retired chain or public key is kept in D/<part>-retired-N (its private key is deleted) and
  stays in trusted_root.json with validFor.end = now; the next \`sigstack up --dir D\` makes the
  new key and certificate (valid from now) and publishes the new trusted root over TUF.`;

export async function keyRotateCommand(component: 'ca' | 'tsa' | 'ctlog', args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({ args, options: { dir: { type: 'string' }, root: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${KEY_ROTATE_USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${KEY_ROTATE_USAGE}\n`);
    return 0;
  }
  if (!values.dir) throw new CliError('USAGE', `--dir is required (the directory \`sigstack up\` uses)\n${KEY_ROTATE_USAGE}`);
  if (values.root && component === 'ctlog') throw new CliError('USAGE', `--root is for the CA and the TSA\n${KEY_ROTATE_USAGE}`);
  const { rotateStackKey } = await import('@sigstack/server');
  const record = rotateStackKey(values.dir, component, { root: values.root === true });
  const what = component === 'ca' ? (record.root ? 'CA root and intermediate' : 'CA intermediate') : component === 'tsa' ? (record.root ? 'TSA root and certificate' : 'TSA certificate') : 'CT log key';
  process.stdout.write(`retired the ${what} (in use ${record.start} to ${record.end}) into ${values.dir}/${record.dir}\nrestart the stack (sigstack up --dir ${values.dir}) to make the new one and publish the new trusted root\n`);
  return 0;
}

/** `sigstack tsa …`: the TSA runs inside `sigstack up`; its one command is `rotate`. */
export async function tsaCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'rotate') throw new CliError('USAGE', `the TSA runs inside \`sigstack up\`; its command is "sigstack tsa rotate"\n${KEY_ROTATE_USAGE}`);
  return keyRotateCommand('tsa', rest);
}
