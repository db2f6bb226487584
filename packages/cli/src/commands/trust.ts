// `sigstack trust init --url U`: fetches trusted_root.json and signing_config.v0.2.json from a
// TUF repository (such as `sigstack up` serves), verified through TUF by tuf-js, and caches them.

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSigningConfig, parseTrustedRootJson } from '@sigstack/core';
import { CliError } from '../errors.js';

export const TRUST_USAGE = `usage: sigstack trust init --url U [--root FILE] [--dir CACHE]

  Fetches the trusted root and the signing config from the TUF repository at U (what
  \`sigstack up\` prints, http://HOST:PORT/tuf), checking them through TUF (root, timestamp,
  snapshot and targets metadata), and keeps them in CACHE (default ~/.sigstack/trust/<host>):
  CACHE/trusted_root.json and CACHE/signing_config.json, for --trusted-root and --signing-config.
  --root is the TUF root to start from (\`sigstack up\` writes it to D/tuf/root.json) and restarts
  the cache from it; without it the cached root is used, or on first use U's 1.root.json is
  trusted as it is (its SHA-256 is printed: compare it with the repository's).`;

/** The TUF target names (as sigstore's repositories name them) and the files they are kept as. */
const TARGETS = [
  { target: 'trusted_root.json', file: 'trusted_root.json', required: true },
  { target: 'signing_config.v0.2.json', file: 'signing_config.json', required: false },
] as const;

type TufJs = typeof import('tuf-js');

/** tuf-js, the signing client's dependency, resolved from @sigstack/sign (it stays out of the CLI bundle). */
function loadTufJs(): TufJs {
  const here = createRequire(import.meta.url);
  let from = here;
  try {
    from = createRequire(here.resolve('@sigstack/sign'));
  } catch {
    // resolve from here
  }
  try {
    return from('tuf-js') as TufJs;
  } catch (err) {
    throw new CliError('TUF_CLIENT_MISSING', `the TUF client (tuf-js) is not installed: run npm ci (${(err as Error).message})`);
  }
}

function defaultCacheDir(url: URL): string {
  const name = `${url.host}${url.pathname}`.replace(/[^A-Za-z0-9.-]+/g, '_').replace(/_+$/, '');
  return join(homedir(), '.sigstack', 'trust', name);
}

async function fetchRoot(url: string): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new CliError('TUF_UNREACHABLE', `cannot reach ${url}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  if (response.status !== 200) {
    throw new CliError('TUF_ROOT_MISSING', `${url} answered ${response.status}: is --url the TUF repository (sigstack up prints it, ending in /tuf)?`);
  }
  return Buffer.from(await response.arrayBuffer());
}

function describeTufError(err: unknown, url: string): CliError {
  const message = (err as Error).message ?? String(err);
  const name = (err as Error).name ?? '';
  if (/fetch failed|ECONNREFUSED|ENOTFOUND|DownloadHTTPError|timeout/i.test(`${name} ${message}`)) {
    return new CliError('TUF_UNREACHABLE', `the TUF repository ${url} could not be read: ${message}`);
  }
  return new CliError('TUF_VERIFICATION_FAILED', `the TUF metadata from ${url} did not verify (${name || 'error'}: ${message}); if the repository was made anew, start again from its root with --root`);
}

/** The `expires` of a role's metadata as the repository serves it (for the message only). */
async function servedExpiry(base: string, role: string): Promise<string | undefined> {
  const json = async (name: string) => {
    try {
      const response = await fetch(`${base}/${name}`);
      return response.ok ? ((await response.json()) as { signed?: { expires?: string; version?: number; meta?: Record<string, { version?: number }>; snapshot_meta?: unknown } }) : undefined;
    } catch {
      return undefined;
    }
  };
  const timestamp = await json('timestamp.json');
  if (role === 'timestamp') return timestamp?.signed?.expires;
  const snapshotVersion = timestamp?.signed?.meta?.['snapshot.json']?.version;
  const snapshot = snapshotVersion === undefined ? undefined : await json(`${snapshotVersion}.snapshot.json`);
  if (role === 'snapshot') return snapshot?.signed?.expires;
  const targetsVersion = snapshot?.signed?.meta?.['targets.json']?.version;
  if (role === 'targets') return targetsVersion === undefined ? undefined : (await json(`${targetsVersion}.targets.json`))?.signed?.expires;
  return undefined;
}

/** tuf-js's ExpiredMetadataError as a code naming the role and when it expired (never a stale answer). */
async function expiredError(err: unknown, base: string, metadataDir: string): Promise<CliError | undefined> {
  const role = /\b(root|timestamp|snapshot|targets)\.json is expired/.exec((err as Error)?.message ?? '')?.[1];
  if (!role) return undefined;
  let expires: string | undefined;
  if (role === 'root') {
    try {
      expires = (JSON.parse(readFileSync(join(metadataDir, 'root.json'), 'utf8')) as { signed: { expires: string } }).signed.expires;
    } catch {
      // unknown
    }
  } else {
    expires = await servedExpiry(base, role);
  }
  const when = expires ? ` at ${expires}` : '';
  return new CliError(
    `TUF_${role.toUpperCase()}_EXPIRED`,
    `the TUF ${role} metadata of ${base} expired${when} (now ${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}); nothing was updated. The repository must re-sign it (a running \`sigstack up\` re-signs ${role === 'timestamp' || role === 'snapshot' ? 'it on its own: is the server running and its clock right?' : 'it when its offline keys sign: ask the operator'})`,
  );
}

function rootVersion(metadataDir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(metadataDir, 'root.json'), 'utf8')) as { signed: { version: number } }).signed.version;
  } catch {
    return undefined;
  }
}

async function init(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({ args, options: { url: { type: 'string' }, root: { type: 'string' }, dir: { type: 'string' } }, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${TRUST_USAGE}`);
  }
  if (!values.url) throw new CliError('USAGE', `--url U is required (the TUF repository, e.g. http://127.0.0.1:3000/tuf)\n${TRUST_USAGE}`);
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    throw new CliError('USAGE', `--url ${values.url} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('USAGE', `--url must be an http(s) URL, not ${url.protocol}`);
  const base = url.href.replace(/\/+$/, '');
  const cacheDir = values.dir ?? defaultCacheDir(url);
  const metadataDir = join(cacheDir, 'tuf');
  const targetDir = join(metadataDir, 'targets');

  // The root to start from.
  const cachedRoot = join(metadataDir, 'root.json');
  if (values.root) {
    let root: Buffer;
    try {
      root = readFileSync(values.root);
    } catch (err) {
      throw new CliError('FILE_UNREADABLE', `cannot read --root ${values.root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    rmSync(metadataDir, { recursive: true, force: true });
    mkdirSync(targetDir, { recursive: true });
    writeFileSync(cachedRoot, root);
    process.stderr.write(`sigstack trust: starting from the TUF root ${values.root}\n`);
  } else if (!existsSync(cachedRoot)) {
    const root = await fetchRoot(`${base}/1.root.json`);
    mkdirSync(targetDir, { recursive: true });
    writeFileSync(cachedRoot, root);
    process.stderr.write(
      `sigstack trust: WARNING: no --root given, so ${base}/1.root.json was trusted on first use (sha256 ${createHash('sha256').update(root).digest('hex')}); compare it with the repository's D/tuf/root.json\n`,
    );
  } else {
    mkdirSync(targetDir, { recursive: true });
  }

  const { Updater } = loadTufJs();
  let updater: InstanceType<TufJs['Updater']>;
  try {
    updater = new Updater({ metadataDir, metadataBaseUrl: base, targetDir, targetBaseUrl: `${base}/targets` });
    await updater.refresh();
  } catch (err) {
    throw (await expiredError(err, base, metadataDir)) ?? describeTufError(err, base);
  }

  const written: { label: string; path: string }[] = [];
  for (const { target, file, required } of TARGETS) {
    let path: string;
    try {
      const info = await updater.getTargetInfo(target);
      if (!info) {
        if (required) throw new CliError('TUF_TARGET_MISSING', `the TUF repository ${base} has no target ${target}`);
        process.stderr.write(`sigstack trust: the repository has no ${target}; skipped\n`);
        continue;
      }
      path = (await updater.findCachedTarget(info, join(targetDir, target))) ?? (await updater.downloadTarget(info, join(targetDir, target)));
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw describeTufError(err, base);
    }
    const text = readFileSync(path, 'utf8');
    try {
      if (file === 'trusted_root.json') parseTrustedRootJson(text);
      else parseSigningConfig(JSON.parse(text));
    } catch (err) {
      throw new CliError('TUF_TARGET_INVALID', `${target} from ${base} passed TUF but is not usable: ${(err as Error).message}`);
    }
    const out = join(cacheDir, file);
    copyFileSync(path, out);
    written.push({ label: file === 'trusted_root.json' ? 'trusted root' : 'signing config', path: out });
  }
  const version = rootVersion(metadataDir);
  process.stderr.write(`sigstack trust: verified through TUF from ${base}${version !== undefined ? ` (TUF root version ${version})` : ''}\n`);
  for (const { label, path } of written) process.stdout.write(`${label.padEnd(16)}${path}\n`);
  return 0;
}

export async function trustCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'init':
      return init(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${TRUST_USAGE}\n`);
      return sub === undefined ? 2 : 0;
    default:
      throw new CliError('USAGE', `unknown trust command "${sub}"\n${TRUST_USAGE}`);
  }
}
