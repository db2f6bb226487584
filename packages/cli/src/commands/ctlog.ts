// `sigstack ctlog serve`: the certificate transparency log (RFC 6962) the CA records its
// precertificates into, on the shared log engine, accepting chains to the given roots.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';
import { serverModule } from './ca.js';

export const CTLOG_USAGE = `usage: sigstack ctlog serve --roots ROOT.pem [--dir D] [--port P] [--host H] [--key KEY.pem]
       sigstack ctlog serve --postgres URL --key KEY.pem --name ORIGIN --roots ROOT.pem [--schema S] [--port P] [--host H] [--lease-ms MS] [--no-sequencer]

  Serves RFC 6962 under /ct/v1 (add-chain, add-pre-chain, get-sth, get-sth-consistency,
  get-proof-by-hash, get-entries, get-roots). --roots holds the CA roots it accepts (for a
  sigstack CA: the file 'sigstack ca init' prints). Key and data are kept in --dir.
  With --postgres, any number of processes (each given the same ECDSA P-256 key and origin) serve
  one CT log from the database (--schema: the PostgreSQL schema holding it, so it can share a
  database with the transparency log); an SCT is answered once a published checkpoint covers it.`;

export async function ctlogCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'rotate') {
    const { keyRotateCommand } = await import('./key-rotate.js');
    return keyRotateCommand('ctlog', rest);
  }
  if (sub !== 'serve') {
    process.stdout.write(`${CTLOG_USAGE}\n`);
    return sub === undefined || sub === 'help' || sub === '--help' ? 0 : 2;
  }
  let values;
  try {
    values = parseArgs({
      args: rest,
      options: {
        roots: { type: 'string' },
        dir: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        key: { type: 'string' },
        postgres: { type: 'string' },
        schema: { type: 'string' },
        name: { type: 'string' },
        'lease-ms': { type: 'string' },
        'no-sequencer': { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${CTLOG_USAGE}`);
  }
  if (!values.roots) throw new CliError('USAGE', `--roots is required\n${CTLOG_USAGE}`);
  let rootsPem: string;
  try {
    rootsPem = readFileSync(values.roots, 'utf8');
  } catch (err) {
    throw new CliError('ROOTS_UNREADABLE', `cannot read ${values.roots}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (values.postgres !== undefined) {
    if (!values.key || !values.name) throw new CliError('USAGE', `--postgres needs --key KEY.pem (ECDSA P-256) and --name ORIGIN, the same for every process of the log\n${CTLOG_USAGE}`);
    if (values.dir !== undefined) throw new CliError('USAGE', `--dir is for a CT log in a SQLite file; with --postgres the log lives in the database and the key is --key\n${CTLOG_USAGE}`);
    const { startClusterCtLogService } = await serverModule('ctlog');
    const cluster = await startClusterCtLogService({
      postgres: values.postgres,
      keyPath: values.key,
      name: values.name,
      rootsPem,
      port: values.port === undefined ? 3001 : Number(values.port),
      ...(values.host ? { host: values.host } : {}),
      ...(values.schema ? { schema: values.schema } : {}),
      ...(values['lease-ms'] ? { leaseMs: Number(values['lease-ms']) } : {}),
      ...(values['no-sequencer'] ? { sequence: false } : {}),
    });
    process.stderr.write(`sigstack ctlog: serving ${values.name} from PostgreSQL, RFC 6962 at ${cluster.apiUrl} (/metrics at ${cluster.url}/metrics)\n`);
    await stopSignal();
    await cluster.close();
    return 0;
  }
  const { startCtLogService } = await serverModule('ctlog');
  const service = await startCtLogService({
    dir: values.dir ?? '.sigstack/ctlog',
    port: values.port === undefined ? 3001 : Number(values.port),
    rootsPem,
    ...(values.host ? { host: values.host } : {}),
    ...(values.key ? { keyPath: values.key } : {}),
  });
  process.stderr.write(`sigstack ctlog: serving RFC 6962 at ${service.apiUrl}\n`);
  await stopSignal();
  await service.close();
  return 0;
}
