// `sigstack ca init|serve`: create the CA hierarchy in a directory, and run the keyless CA
// (Fulcio's v2 API) with an issuer configuration and a CT log to embed SCTs from.

import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';

export const CA_USAGE = `usage: sigstack ca init  [--dir D] [--ca-key-type T] [--ca-key-password-file F]
       sigstack ca serve [--dir D] [--port P] [--host H] --oidc-config FILE --ct-url URL [--ct-public-key FILE]
                         [--ca-key KEY.pem --ca-chain CHAIN.pem] [--ca-key-password-file F] [--ca-key-type P-256|P-384|…]
                         [--pkcs11-module LIB.so [--pkcs11-token LABEL] [--pkcs11-key-label L] --ca-chain CHAIN.pem]
                         [--workers N]

  init    creates the CA hierarchy (root + intermediate, keys mode 0600) in --dir and prints where
          the root certificate is (give it to the CT log as its accepted root). Keys are P-256
          unless --ca-key-type says otherwise (P-384, P-521, ed25519, rsa-2048|3072|4096);
          Fulcio's certificate specification advises P-384 for a long-lived CA, at about half
          the issuance rate
  serve   POST /api/v2/signingCert, GET /api/v2/trustBundle, GET /api/v2/configuration, /metrics;
          the hierarchy in --dir is made on first start and reused after (or a file CA: --ca-key
          and --ca-chain, the issuing certificate first). --oidc-config is Fulcio's issuer
          configuration (JSON or YAML). Key password: SIGSTACK_CA_KEY_PASSWORD or --ca-key-password-file.
          --workers N runs N processes sharing the port (node:cluster), for more cores.`;

type Server = typeof import('@sigstack/server');

/** A part of @sigstack/server, loaded on first use (the CLI's other commands never load it). */
export async function serverModule(part: 'ca'): Promise<Server['ca']>;
export async function serverModule(part: 'oidc-dev'): Promise<Server['oidcDev']>;
export async function serverModule(part: 'ctlog'): Promise<Server['ctlog']>;
export async function serverModule(part: 'ca' | 'oidc-dev' | 'ctlog'): Promise<unknown> {
  const server = await import('@sigstack/server');
  return part === 'ca' ? server.ca : part === 'oidc-dev' ? server.oidcDev : server.ctlog;
}

function options(args: string[], spec: Record<string, { type: 'string' | 'boolean' }>) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${CA_USAGE}`);
  }
}

function caKeyPassword(file: string | undefined): string | undefined {
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new CliError('FILE_UNREADABLE', `cannot read --ca-key-password-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const env = process.env.SIGSTACK_CA_KEY_PASSWORD;
  return env === undefined || env === '' ? undefined : env;
}

/** `--ca-key-type T`, checked: the key type of a hierarchy made now (root and intermediate). */
async function caKeyType(v: Record<string, string | boolean | undefined>) {
  const type = v['ca-key-type'];
  if (typeof type !== 'string') return undefined;
  const { CA_KEY_TYPES } = await serverModule('ca');
  const known = CA_KEY_TYPES.find((t) => t === type);
  if (!known) throw new CliError('USAGE', `--ca-key-type ${type} is not a CA key type: use one of ${CA_KEY_TYPES.join(', ')}`);
  return known;
}

/** The hierarchy options `--ca-key-type T` asks for (nothing when not given). */
async function hierarchyKeyTypes(v: Record<string, string | boolean | undefined>) {
  const type = await caKeyType(v);
  return type === undefined ? {} : { rootKeyType: type, intermediateKeyType: type };
}

async function init(args: string[]): Promise<number> {
  const v = options(args, { dir: { type: 'string' }, 'ca-key-password-file': { type: 'string' }, 'ca-key-type': { type: 'string' } });
  const dir = (v.dir as string | undefined) ?? '.sigstack/ca';
  const { createCaHierarchy, CA_FILES } = await serverModule('ca');
  const password = caKeyPassword(v['ca-key-password-file'] as string | undefined);
  const hierarchy = await createCaHierarchy({
    dir,
    ...(password !== undefined ? { passphrase: password } : {}),
    ...(await hierarchyKeyTypes(v)),
  });
  process.stderr.write(`sigstack ca: ${hierarchy.created ? 'created' : 'reused'} the CA hierarchy in ${dir}\n`);
  process.stdout.write(`${join(dir, CA_FILES.rootCert)}\n`);
  return 0;
}

async function serve(args: string[]): Promise<number> {
  const v = options(args, {
    dir: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'oidc-config': { type: 'string' },
    'ct-url': { type: 'string' },
    'ct-public-key': { type: 'string' },
    'ca-key': { type: 'string' },
    'ca-chain': { type: 'string' },
    'ca-key-password-file': { type: 'string' },
    'ca-key-type': { type: 'string' },
    'pkcs11-module': { type: 'string' },
    'pkcs11-token': { type: 'string' },
    'pkcs11-key-label': { type: 'string' },
    'log-requests': { type: 'boolean' },
    workers: { type: 'string' },
  });
  if (typeof v['oidc-config'] !== 'string') throw new CliError('USAGE', `--oidc-config FILE is required (Fulcio's issuer configuration)\n${CA_USAGE}`);
  if (typeof v['ct-url'] !== 'string') throw new CliError('USAGE', `--ct-url URL is required (the RFC 6962 CT log that logs precertificates)\n${CA_USAGE}`);
  const port = v.port === undefined ? 5555 : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('USAGE', '--port must be a port number');
  let ctPublicKey: string | undefined;
  if (typeof v['ct-public-key'] === 'string') {
    try {
      ctPublicKey = readFileSync(v['ct-public-key'], 'utf8');
    } catch (err) {
      throw new CliError('FILE_UNREADABLE', `cannot read --ct-public-key ${v['ct-public-key']}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const password = caKeyPassword(v['ca-key-password-file'] as string | undefined);
  const workers = v.workers === undefined ? 1 : Number(v.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new CliError('USAGE', '--workers must be a whole number from 1 to 64');
  if (workers > 1 && cluster.isPrimary) return primary(v, workers, password);
  const { startCaService, loadPkcs11Signer } = await serverModule('ca');
  const caSigner = v['pkcs11-module'] ? await loadPkcs11Signer(pkcs11Options(v)) : undefined;
  const service = await startCaService({
    ...(caSigner ? { caSigner } : {}),
    dir: (v.dir as string | undefined) ?? '.sigstack/ca',
    port,
    ...(v.host ? { host: v.host as string } : {}),
    oidcConfigPath: v['oidc-config'],
    ctUrl: v['ct-url'],
    ...(ctPublicKey !== undefined ? { ctPublicKey } : {}),
    ...(v['ca-key'] ? { caKeyPath: v['ca-key'] as string } : {}),
    ...(v['ca-chain'] ? { caChainPath: v['ca-chain'] as string } : {}),
    ...(password !== undefined ? { caKeyPassword: password } : {}),
    ...(v['ca-key-type'] ? { caKeyType: await caKeyType(v) } : {}),
    logger: { level: 'info' },
    logRequests: v['log-requests'] === true,
  });
  const issuers = service.oidcConfig.OIDCIssuers.size + service.oidcConfig.MetaIssuers.length;
  if (cluster.isWorker) {
    process.send?.({ url: service.url, issuers });
    await new Promise<void>((resolve) => process.once('disconnect', resolve));
    await service.close();
    return 0;
  }
  process.stderr.write(`sigstack ca: serving at ${service.url} (Fulcio v2 API /api/v2/signingCert, /api/v2/trustBundle, /api/v2/configuration; /metrics), ${issuers} OIDC issuer(s), CT log ${v['ct-url']}\n`);
  await stopSignal();
  await service.close();
  return 0;
}

/** The PKCS#11 key of `ca serve --pkcs11-module M --pkcs11-token T [--pkcs11-key-label L]`; PIN from SIGSTACK_PKCS11_PIN. */
function pkcs11Options(v: Record<string, string | boolean | undefined>) {
  const pin = process.env.SIGSTACK_PKCS11_PIN;
  if (pin === undefined) throw new CliError('USAGE', 'set SIGSTACK_PKCS11_PIN to the token\'s user PIN to use a PKCS#11 key');
  if (!v['ca-chain']) throw new CliError('USAGE', '--pkcs11-module needs --ca-chain: the PEM chain of the certificate the token key issues with, up to the root');
  return {
    modulePath: v['pkcs11-module'] as string,
    pin,
    ...(v['pkcs11-token'] ? { tokenLabel: v['pkcs11-token'] as string } : {}),
    ...(v['pkcs11-key-label'] ? { keyLabel: v['pkcs11-key-label'] as string } : {}),
  };
}

/** The cluster primary: makes the hierarchy once (so workers only load it), forks the workers, and stops them on a signal. */
async function primary(v: Record<string, string | boolean | undefined>, workers: number, password: string | undefined): Promise<number> {
  if (!v['ca-key']) {
    const { createCaHierarchy } = await serverModule('ca');
    await createCaHierarchy({
      dir: (v.dir as string | undefined) ?? '.sigstack/ca',
      ...(password !== undefined ? { passphrase: password } : {}),
      ...(await hierarchyKeyTypes(v)),
    });
  }
  const started: Promise<{ url: string; issuers: number }>[] = [];
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork();
    started.push(
      new Promise((resolve, reject) => {
        worker.once('message', (message: { url: string; issuers: number }) => resolve(message));
        worker.once('exit', (code) => reject(new CliError('CA_WORKER_FAILED', `a CA worker exited (${code}) before it served; run with --workers 1 to see why`)));
      }),
    );
  }
  let first: { url: string; issuers: number };
  try {
    [first] = (await Promise.all(started)) as [{ url: string; issuers: number }];
  } catch (err) {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    throw err;
  }
  process.stderr.write(`sigstack ca: serving at ${first.url} (Fulcio v2 API /api/v2/signingCert, /api/v2/trustBundle, /api/v2/configuration; /metrics per worker), ${first.issuers} OIDC issuer(s), CT log ${v['ct-url']}, ${workers} workers\n`);
  await stopSignal();
  const exits = Object.values(cluster.workers ?? {}).map((worker) => new Promise<void>((resolve) => (worker!.isDead() ? resolve() : worker!.once('exit', () => resolve()))));
  cluster.disconnect();
  await Promise.all(exits);
  return 0;
}

export async function caCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'init':
      return init(rest);
    case 'serve':
      return serve(rest);
    case 'rotate': {
      const { keyRotateCommand } = await import('./key-rotate.js');
      return keyRotateCommand('ca', rest);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${CA_USAGE}\n`);
      return sub === undefined ? 2 : 0;
    default:
      throw new CliError('USAGE', `unknown ca command "${sub}"\n${CA_USAGE}`);
  }
}
