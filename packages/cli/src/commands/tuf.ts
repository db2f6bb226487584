// `sigstack tuf init|rotate-root|sign-root|sign-targets --dir D`: offline TUF root and targets
// keys for a stack's repository (the server keeps only snapshot and timestamp keys online).

import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';

export const TUF_USAGE = `usage: sigstack tuf init --dir D --root-keys N --threshold K --keys-out DIR [--targets-keys M --targets-threshold J]
       sigstack tuf rotate-root --dir D [--root-keys N --threshold K --keys-out DIR]
       sigstack tuf sign-root --dir D --key FILE
       sigstack tuf sign-targets --dir D --key FILE

  init (the stack in D started once, then stopped): makes N root keys (K of them must sign a
  root) and M targets keys (default 1, threshold 1) in DIR, outside the served files, and moves
  the repository to them: a new root version signed by the old (online) root key and the new
  keys, the targets re-signed; the online root and targets keys are deleted.
  rotate-root: stages the next root version, with N new root keys (written to DIR; they sign it
  at once) or the same keys with a new expiry. sign-root adds one signature to the staged root;
  it is published once K keys of the current root and K of its own have signed, and tuf-js
  clients follow it from any earlier root. sign-targets adds one signature to the staged targets
  (the server stages them when the trust files change), or renews the current ones; with the
  threshold met they are published with a new snapshot and timestamp. Key files may be
  encrypted (SIGSTACK_KEY_PASSWORD); new ones are written encrypted when it is set.`;

function describe(outcome: { published: boolean; version: number; missing: string[]; keyFiles: string[] }, what: string): void {
  for (const file of outcome.keyFiles) process.stdout.write(`key             ${file}\n`);
  if (outcome.published) process.stdout.write(`published       ${what} version ${outcome.version}\n`);
  else process.stdout.write(`staged          ${what} version ${outcome.version}: needs ${outcome.missing.join('; ')}\n`);
}

export async function tufCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  let v;
  try {
    v = parseArgs({
      args: rest,
      options: {
        dir: { type: 'string' },
        'root-keys': { type: 'string' },
        threshold: { type: 'string' },
        'targets-keys': { type: 'string' },
        'targets-threshold': { type: 'string' },
        'keys-out': { type: 'string' },
        key: { type: 'string' },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${TUF_USAGE}`);
  }
  const count = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new CliError('USAGE', `--${name} must be a whole number\n${TUF_USAGE}`);
    return Number(value);
  };
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    process.stdout.write(`${TUF_USAGE}\n`);
    return sub === undefined ? 2 : 0;
  }
  if (!v.dir) throw new CliError('USAGE', `--dir D is required (the directory \`sigstack up\` uses)\n${TUF_USAGE}`);
  const { tuf } = await import('@sigstack/server');
  switch (sub) {
    case 'init': {
      const rootKeys = count('root-keys', v['root-keys']);
      const threshold = count('threshold', v.threshold);
      if (rootKeys === undefined || threshold === undefined || !v['keys-out']) throw new CliError('USAGE', `init needs --root-keys N --threshold K --keys-out DIR\n${TUF_USAGE}`);
      const targetsKeys = count('targets-keys', v['targets-keys']);
      const targetsThreshold = count('targets-threshold', v['targets-threshold']);
      const outcome = tuf.initOfflineKeys({ stackDir: v.dir, keysOut: v['keys-out'], rootKeys, rootThreshold: threshold, ...(targetsKeys !== undefined ? { targetsKeys } : {}), ...(targetsThreshold !== undefined ? { targetsThreshold } : {}) });
      for (const file of outcome.keyFiles) process.stdout.write(`key             ${file}\n`);
      process.stdout.write(`published       root version ${outcome.rootVersion} (root keys offline, threshold ${threshold} of ${rootKeys})\n`);
      if (outcome.published) process.stdout.write(`published       targets version ${outcome.version}\n`);
      else process.stdout.write(`staged          targets version ${outcome.version}: needs ${outcome.missing.join('; ')} (sigstack tuf sign-targets)\n`);
      process.stdout.write('keep these keys offline; the stack needs only D/tuf/keys/snapshot.pem and timestamp.pem\n');
      return 0;
    }
    case 'rotate-root': {
      const rootKeys = count('root-keys', v['root-keys']);
      const threshold = count('threshold', v.threshold);
      describe(tuf.rotateRoot({ stackDir: v.dir, ...(rootKeys !== undefined ? { rootKeys } : {}), ...(threshold !== undefined ? { rootThreshold: threshold } : {}), ...(v['keys-out'] ? { keysOut: v['keys-out'] } : {}) }), 'root');
      return 0;
    }
    case 'sign-root':
    case 'sign-targets': {
      if (!v.key) throw new CliError('USAGE', `--key FILE is required (one offline ${sub === 'sign-root' ? 'root' : 'targets'} key)\n${TUF_USAGE}`);
      describe(sub === 'sign-root' ? tuf.signRoot(v.dir, v.key) : tuf.signTargets(v.dir, v.key), sub === 'sign-root' ? 'root' : 'targets');
      return 0;
    }
    default:
      throw new CliError('USAGE', `unknown tuf command "${sub}"\n${TUF_USAGE}`);
  }
}
