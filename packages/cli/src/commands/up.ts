// `sigstack up`: the whole stack in one process on one port (log, CA + CT, TSA, dev OIDC issuer,
// TUF), keys and logs kept in --dir; prints the URLs, the trust files and a "try it".

import { existsSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join, normalize, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { stack as StackModule } from '@sigstack/server';
import { CliError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';

type Stack = StackModule.Stack;

export const UP_USAGE = `usage: sigstack up [--dir D] [--port P] [--bind ADDR] [--witness-policy POLICY [--witness-fail-closed]]
       sigstack up --public-url https://sigstore.example.com --oidc-config ISSUERS.yaml [--dev-issuer]
                   [--tls-cert CERT.pem --tls-key KEY.pem] [--trust-proxy] [--rate-limit N] [--dir D] [--port P] [--bind ADDR]
       sigstack up ... --rotate-log      freeze the active log shard and start a new one first (sigstack log rotate)
       sigstack up ... --postgres URL    the transparency log and the CT log in PostgreSQL (a schema each)
       sigstack up ... --pkcs11-module LIB.so [--pkcs11-token T] [--ca-chain CHAIN.pem [--ca-key-label L]] [--pkcs11-tsa [--tsa-key-label L] [--tsa-chain CHAIN.pem]] [--pkcs11-log [--log-key-label L]]

  Runs the whole sigstack in one process on one port: the transparency log (Rekor v1 and v2 APIs,
  tiles) at /, the certificate authority (Fulcio v2) at /api/v2/signingCert, its CT log under
  /ct/v1, the timestamp authority at /api/v1/timestamp, a DEVELOPMENT-ONLY OIDC issuer under /oidc
  and a TUF repository under /tuf. The first start makes every key in D (default .sigstack); a
  restart reuses them and keeps the logs. Writes D/trusted_root.json and D/signing_config.json and
  publishes them over TUF. Default port 3000 (0: any free port), bind address 127.0.0.1 (--host is
  the same as --bind).

  Production: --public-url is the URL clients use; every URL in the trust files and every log
  origin come from it, never from the bind address. --oidc-config is Fulcio's issuer configuration
  (JSON or YAML) the CA trusts; the dev issuer is off unless --dev-issuer. --tls-cert/--tls-key
  serve HTTPS (reread on SIGHUP); --trust-proxy takes the client address from X-Forwarded-For /
  X-Real-IP (bind to 127.0.0.1 behind the proxy). --rate-limit N: write requests a minute per
  client (default 600 in production, off in development; 0 turns it off); beyond it a 429 with
  Retry-After. With SIGSTACK_KEY_PASSWORD set, new keys (log, CT log, CA, TSA, TUF) are written as
  encrypted PKCS#8 and existing ones are decrypted with it.

  PKCS#11 (PIN in SIGSTACK_PKCS11_PIN): --ca-chain names the PEM chain (issuing certificate first)
  of the CA key on the token (label --ca-key-label, default PKCS11CA); --pkcs11-tsa puts the TSA
  key on it (label --tsa-key-label, default PKCS11TSA), certified by --tsa-chain or by the stack's
  own TSA root. --pkcs11-log: the transparency log signs with an ECDSA P-256 token key (a new
  log: label --log-key-label, default PKCS11LOG; a log signing with a file key moves to the token
  by rotation: sigstack log rotate --pkcs11-key-label L). The CT log's key stays in a file.

  PostgreSQL (--postgres postgres://user:password@host:port/db): the transparency log (each shard)
  and the CT log live in the database, schemas sigstack_log[_N] and sigstack_ctlog, instead of the
  SQLite files in D; keys stay in D (or on the token). Any number of \`up --postgres\` processes
  given the same key material (the same D, or a copy of it) serve the same logs: each is a full
  front end, one of them sequences, and another takes over within seconds when it dies.`;

/** The stack module of @sigstack/server (loaded only by this command). */
async function stackModule(): Promise<typeof import('@sigstack/server')['stack']> {
  return (await import('@sigstack/server')).stack;
}

/** Quotes for a POSIX shell when needed. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** How to run this CLI again from the current directory: `sigstack` when run by that name, else `node <script>`. */
function selfCommand(): string {
  const script = process.argv[1] ?? '';
  if (basename(script) === 'sigstack' || script === '') return 'sigstack';
  const rel = relative(process.cwd(), script);
  return `node ${shellQuote(rel === '' || rel.startsWith('..') || isAbsolute(rel) ? script : rel)}`;
}

/** A path as the user would type it from here. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return shellQuote(rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : normalize(path));
}

export interface UpSummary {
  text: string;
  tryIt: string[];
}

/** What `up` prints once the stack is serving. */
export function describeStack(stack: Stack, self = selfCommand()): UpSummary {
  const { urls, files } = stack;
  const example = join(files.dir, 'example.txt');
  const bundle = `${example}.sigstore.json`;
  const email = 'you@example.com';
  const tokenLine = stack.devIssuer
    ? `TOKEN=$(${self} dev-token --url ${shellQuote(urls.oidc)} --email ${email})`
    : 'TOKEN=<an ID token from one of the issuers in --oidc-config>';
  const issuer = stack.devIssuer ? urls.oidc : '<that issuer>';
  const identity = stack.devIssuer ? email : '<the identity in the token>';
  const tryIt = [
    tokenLine,
    `${self} sign ${shown(example)} --bundle ${shown(bundle)} --signing-config ${shown(files.signingConfig)} --trusted-root ${shown(files.trustedRoot)} --identity-token "$TOKEN"`,
    `${self} verify ${shown(example)} --bundle ${shown(bundle)} --certificate-identity ${shellQuote(identity)} --certificate-oidc-issuer ${shellQuote(issuer)} --trusted-root ${shown(files.trustedRoot)}`,
  ];
  const row = (label: string, url: string, note = '') => `  ${label.padEnd(19)}${note ? `${url.padEnd(40)} ${note}` : url}`;
  const text = [
    `sigstack is up: ${urls.origin} (data in ${shown(files.dir)}${stack.postgres ? `, logs in PostgreSQL at ${stack.postgres}` : ''})`,
    '',
    row('transparency log', urls.rekor, 'Rekor v1 /api/v1/log, v2 /api/v2/log/entries, tiles /checkpoint'),
    row('certificate auth.', urls.ca, 'Fulcio v2 /api/v2/signingCert'),
    row('CT log', urls.ct),
    row('timestamp auth.', urls.tsa),
    ...(stack.devIssuer ? [row('OIDC issuer (dev)', urls.oidc, 'DEVELOPMENT ONLY: a token for anyone who asks')] : []),
    row('TUF repository', urls.tuf, `root: ${shown(files.tufRoot)}`),
    row('log explorer', `${urls.rekor}/explorer/`, 'search the log; proofs checked in the browser'),
    '',
    'trust files:',
    row('trusted root', shown(files.trustedRoot)),
    row('signing config', shown(files.signingConfig)),
    '',
    'try it:',
    ...tryIt.map((line) => `  ${line}`),
    '',
    `elsewhere: ${self} trust init --url ${shellQuote(urls.tuf)} --root ${shown(files.tufRoot)}`,
    'Ctrl-C stops it.',
    '',
  ].join('\n');
  return { text, tryIt };
}

export async function upCommand(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        dir: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        bind: { type: 'string' },
        'public-url': { type: 'string' },
        'oidc-config': { type: 'string' },
        'dev-issuer': { type: 'boolean' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'pkcs11-module': { type: 'string' },
        'pkcs11-token': { type: 'string' },
        'ca-chain': { type: 'string' },
        'ca-key-label': { type: 'string' },
        'pkcs11-tsa': { type: 'boolean' },
        'tsa-key-label': { type: 'string' },
        'tsa-chain': { type: 'string' },
        'pkcs11-log': { type: 'boolean' },
        'log-key-label': { type: 'string' },
        'trust-proxy': { type: 'boolean' },
        'rate-limit': { type: 'string' },
        'rotate-log': { type: 'boolean' },
        'witness-policy': { type: 'string' },
        'witness-fail-closed': { type: 'boolean' },
        postgres: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${UP_USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${UP_USAGE}\n`);
    return 0;
  }
  const port = values.port === undefined ? 3000 : Number(values.port);
  if (!/^\d+$/.test(values.port ?? '3000') || !Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('USAGE', `--port must be a port number (0 to 65535)\n${UP_USAGE}`);
  const dir = values.dir ?? '.sigstack';
  const production = productionOptions(values);

  const { startStack } = await stackModule();
  const hsm = await hsmKeys(values);
  const stack = await startStack({
    ...hsm.options,
    dir,
    port,
    ...production,
    ...(values['witness-policy'] ? { witnessPolicy: values['witness-policy'] } : {}),
    ...(values['witness-fail-closed'] ? { witnessFailClosed: true } : {}),
    ...(values.postgres !== undefined ? { postgres: values.postgres } : {}),
    logger: { level: 'error', stream: process.stderr },
    warn: (message) => process.stderr.write(`sigstack up: warning: ${message}\n`),
  }).catch((err: unknown) => {
    hsm.close();
    throw err;
  });
  const example = join(stack.files.dir, 'example.txt');
  if (!existsSync(example)) writeFileSync(example, 'hello from sigstack\n');
  process.stdout.write(describeStack(stack).text);

  // SIGHUP rereads the TLS certificate and key (a renewed certificate without a restart).
  const onHangup = () => {
    try {
      stack.reloadTls();
      process.stderr.write('sigstack up: TLS certificate and key reloaded\n');
    } catch (err) {
      process.stderr.write(`sigstack up: TLS reload failed, the previous certificate stays in use: [${(err as { code?: string }).code ?? 'ERROR'}] ${(err as Error).message}\n`);
    }
  };
  if (values['tls-cert']) process.on('SIGHUP', onHangup);

  await stopSignal();
  process.off('SIGHUP', onHangup);
  process.stderr.write('sigstack up: stopping\n');
  await stack.close();
  hsm.close();
  return 0;
}

/** CA and TSA keys on a PKCS#11 token (--pkcs11-module, --pkcs11-token; PIN from SIGSTACK_PKCS11_PIN). */
async function hsmKeys(values: Record<string, string | boolean | undefined>): Promise<{ options: Partial<StackModule.StackOptions>; close(): void }> {
  const module = values['pkcs11-module'];
  const wantsCa = typeof values['ca-chain'] === 'string';
  const wantsTsa = values['pkcs11-tsa'] === true;
  const wantsLog = values['pkcs11-log'] === true;
  if (typeof module !== 'string') {
    if (wantsCa || wantsTsa || wantsLog || values['pkcs11-token'] !== undefined) throw new CliError('USAGE', `--ca-chain, --pkcs11-tsa, --pkcs11-log and --pkcs11-token need --pkcs11-module LIB.so\n${UP_USAGE}`);
    return { options: {}, close: () => {} };
  }
  if (!wantsCa && !wantsTsa && !wantsLog) throw new CliError('USAGE', `--pkcs11-module: say which keys are on the token: --ca-chain CHAIN.pem (the CA key), --pkcs11-tsa, --pkcs11-log\n${UP_USAGE}`);
  const pin = process.env.SIGSTACK_PKCS11_PIN;
  if (!pin) throw new CliError('USAGE', 'the PKCS#11 token\'s PIN goes in SIGSTACK_PKCS11_PIN');
  const server = await import('@sigstack/server');
  const base = { modulePath: module, pin, ...(typeof values['pkcs11-token'] === 'string' ? { tokenLabel: values['pkcs11-token'] } : {}) };
  const opened: { close(): void }[] = [];
  const close = () => {
    for (const signer of opened) signer.close();
  };
  try {
    const options: Partial<StackModule.StackOptions> = {};
    if (wantsCa) {
      const signer = await server.ca.loadPkcs11Signer({ ...base, ...(typeof values['ca-key-label'] === 'string' ? { keyLabel: values['ca-key-label'] } : {}) });
      opened.push(signer);
      options.ca = server.ca.loadFileCa({ chainPath: values['ca-chain'] as string, signer });
    }
    if (wantsTsa) {
      const signer = await server.tsa.loadPkcs11TsaSigner({ ...base, ...(typeof values['tsa-key-label'] === 'string' ? { keyLabel: values['tsa-key-label'] } : {}) });
      opened.push(signer);
      options.tsaSigner = signer;
      if (typeof values['tsa-chain'] === 'string') options.tsaChainPath = values['tsa-chain'];
    }
    if (wantsLog) options.pkcs11Log = { ...base, ...(typeof values['log-key-label'] === 'string' ? { keyLabel: values['log-key-label'] } : {}) };
    return { options, close };
  } catch (err) {
    close();
    throw err;
  }
}

/** The production options of `up` (public URL, issuers, TLS, proxy, rate limit), checked. */
function productionOptions(values: Record<string, string | boolean | undefined>): Partial<StackModule.StackOptions> {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  if (values.host !== undefined && values.bind !== undefined && values.host !== values.bind) throw new CliError('USAGE', `--host and --bind are the same option; give one\n${UP_USAGE}`);
  const bind = text('bind') ?? text('host');
  const publicUrl = text('public-url');
  const tlsCert = text('tls-cert');
  const tlsKey = text('tls-key');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new CliError('USAGE', `--tls-cert and --tls-key go together\n${UP_USAGE}`);
  let rateLimit: number | undefined;
  if (values['rate-limit'] !== undefined) {
    rateLimit = Number(values['rate-limit']);
    if (!/^\d+$/.test(String(values['rate-limit'])) || !Number.isSafeInteger(rateLimit)) throw new CliError('USAGE', `--rate-limit must be a whole number of write requests a minute per client (0: no limit)\n${UP_USAGE}`);
  }
  if (publicUrl === undefined && values['oidc-config'] === undefined && values['dev-issuer']) throw new CliError('USAGE', `--dev-issuer is for a production stack (--public-url); a development stack always has it\n${UP_USAGE}`);
  return {
    ...(bind !== undefined ? { host: bind } : {}),
    ...(publicUrl !== undefined ? { publicUrl } : {}),
    ...(text('oidc-config') !== undefined ? { oidcConfigPath: text('oidc-config')! } : {}),
    ...(values['dev-issuer'] ? { devIssuer: true } : {}),
    ...(tlsCert !== undefined && tlsKey !== undefined ? { tls: { certPath: tlsCert, keyPath: tlsKey } } : {}),
    ...(values['trust-proxy'] ? { trustProxy: true } : {}),
    ...(rateLimit !== undefined ? { rateLimitPerMinute: rateLimit } : {}),
    ...(values['rotate-log'] ? { rotateLog: true } : {}),
    ...(process.env.SIGSTACK_KEY_PASSWORD ? { keyPassword: process.env.SIGSTACK_KEY_PASSWORD } : {}),
  };
}
