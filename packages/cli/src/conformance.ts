// The sigstore-conformance CLI protocol (bin/conformance-client): `verify-bundle` in its
// identity and managed-key forms. Exit 0 on success, 1 with one line on stderr on failure.

import './threadpool.js';
import { CliError, describeError } from './errors.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'verify-bundle': {
      const { parseVerifyArgs, runVerify, describeResult } = await import('./commands/verify.js');
      const result = await runVerify(parseVerifyArgs(rest));
      process.stdout.write(`${describeResult(result)}\n`);
      return 0;
    }
    case 'sign-bundle': {
      const { conformanceSignBundle } = await import('./commands/sign.js');
      return conformanceSignBundle(rest);
    }
    default:
      throw new CliError('USAGE', `unknown command "${command ?? ''}"; expected verify-bundle or sign-bundle`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`conformance-client: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
