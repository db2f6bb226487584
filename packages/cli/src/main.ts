#!/usr/bin/env node
// The `sigstack` command: dispatches to subcommands; any failure is one line with a code.

import './threadpool.js';
import { describeError } from './errors.js';

const HELP = `sigstack: sigstore, whole, in TypeScript

usage: sigstack <command> [flags]

commands:
  sign FILE --bundle OUT ...             sign a file: keyless (OIDC token → certificate) or --key (see: sigstack sign --help)
  attest FILE --predicate P --type T     sign an in-toto statement about FILE (DSSE)
  generate-key-pair                      make a managed signing key pair (PEM)
  verify FILE_OR_DIGEST --bundle B ...   verify a sigstore bundle offline (see: sigstack verify --help)
  sign|attest IMAGE ...                  sign an image in its registry (REGISTRY/REPO:TAG or @sha256:…), cosign's layouts
  verify IMAGE ...                       verify an image's signatures (see: sigstack verify-attestation --help)
  verify-attestation IMAGE [--type T]    verify an image's attestations
  tree IMAGE                             list what is attached to an image (signatures, attestations, bundles)
  log serve|info|get|search|proof        run or query a transparency log (see: sigstack log help)
  ca init|serve                          run the keyless certificate authority (see: sigstack ca help)
  ctlog serve --roots ROOT.pem           run the certificate transparency log the CA records into
  ca|tsa|ctlog rotate --dir D            retire a stack's CA, TSA or CT log key (the trusted root keeps it, with its end)
  oidc-dev serve                         run the DEVELOPMENT-ONLY OIDC issuer
  dev-token (--dir D | --url U) --email E  print an ID token from the development issuer
  up [--dir D] [--port P]                the whole stack in one process: log, CA + CT, TSA, dev OIDC, TUF
  trust init --url U [--root F]          fetch and cache a trusted root and signing config through TUF
  witness serve|generate-key             run a C2SP tlog-witness that cosigns log checkpoints
  monitor --log URL --state F ...        watch a log: consistency, identities, witnesses (see: sigstack monitor --help)
  tuf init|rotate-root|sign-root|sign-targets  offline TUF root and targets keys (see: sigstack tuf help)
  backup --dir D --out F / restore F --dir D2    back up a stack (keys only with --include-keys); restore it, verified
  backup --postgres URL --key K --out F / restore F --postgres URL    the same for a PostgreSQL log (into an empty database)
  help                                   this text

Example (a bundle from the public sigstore instance):
  sigstack verify artifact.txt --bundle artifact.sigstore.json \\
    --certificate-identity you@example.com \\
    --certificate-oidc-issuer https://github.com/login/oauth
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'verify-attestation': {
      const { imageVerifyCommand, IMAGE_VERIFY_USAGE } = await import('./commands/image-verify.js');
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${IMAGE_VERIFY_USAGE}\n`);
        return 0;
      }
      return imageVerifyCommand(rest, true);
    }
    case 'tree': {
      const { treeCommand, TREE_USAGE } = await import('./commands/tree.js');
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${TREE_USAGE}\n`);
        return 0;
      }
      return treeCommand(rest);
    }
    case 'verify': {
      const { isImageInvocation } = await import('./commands/image-options.js');
      if (isImageInvocation(rest, 'verify')) {
        const { imageVerifyCommand, IMAGE_VERIFY_USAGE } = await import('./commands/image-verify.js');
        if (rest.includes('--help') || rest.includes('-h')) {
          process.stdout.write(`${IMAGE_VERIFY_USAGE}\n`);
          return 0;
        }
        return imageVerifyCommand(rest, false);
      }
      const { verifyCommand, VERIFY_USAGE } = await import('./commands/verify.js');
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${VERIFY_USAGE}\n`);
        return 0;
      }
      return verifyCommand(rest);
    }
    case 'ctlog': {
      const { ctlogCommand } = await import('./commands/ctlog.js');
      return ctlogCommand(rest);
    }
    case 'log': {
      const { logCommand } = await import('./commands/log.js');
      return logCommand(rest);
    }
    case 'ca': {
      const { caCommand } = await import('./commands/ca.js');
      return caCommand(rest);
    }
    case 'oidc-dev': {
      const { oidcDevCommand } = await import('./commands/oidc-dev.js');
      return oidcDevCommand(rest);
    }
    case 'dev-token': {
      const { devTokenCommand } = await import('./commands/oidc-dev.js');
      return devTokenCommand(rest);
    }
    case 'sign':
    case 'attest':
    case 'generate-key-pair': {
      const { isImageInvocation } = await import('./commands/image-options.js');
      if (command !== 'generate-key-pair' && isImageInvocation(rest, 'sign') && !rest.includes('--help') && !rest.includes('-h')) {
        const { imageSignCommand } = await import('./commands/image-sign.js');
        return imageSignCommand(rest, command === 'attest');
      }
      const { signCommand, attestCommand, generateKeyPairCommand, SIGN_USAGE } = await import('./commands/sign.js');
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${SIGN_USAGE}\n`);
        return 0;
      }
      return command === 'sign' ? signCommand(rest) : command === 'attest' ? attestCommand(rest) : generateKeyPairCommand(rest);
    }
    case 'up':
    case 'start': {
      const { upCommand } = await import('./commands/up.js');
      return upCommand(rest);
    }
    case 'backup':
    case 'restore': {
      const { backupCommand, restoreCommand } = await import('./commands/backup.js');
      return command === 'backup' ? backupCommand(rest) : restoreCommand(rest);
    }
    case 'tuf': {
      const { tufCommand } = await import('./commands/tuf.js');
      return tufCommand(rest);
    }
    case 'tsa': {
      const { tsaCommand } = await import('./commands/key-rotate.js');
      return tsaCommand(rest);
    }
    case 'trust': {
      const { trustCommand } = await import('./commands/trust.js');
      return trustCommand(rest);
    }
    case 'witness': {
      const { witnessCommand } = await import('./commands/witness.js');
      return witnessCommand(rest);
    }
    case 'monitor': {
      const { monitorCommand } = await import('./commands/monitor.js');
      return monitorCommand(rest);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`sigstack: unknown command "${command}"\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`sigstack: ${describeError(err)}\n`);
    process.exitCode = (err as { code?: string })?.code === 'USAGE' ? 2 : 1;
  },
);
