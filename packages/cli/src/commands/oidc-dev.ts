// `sigstack oidc-dev serve` runs the development OIDC issuer (never for production) and records its
// URL in its directory; `sigstack dev-token` prints an ID token from it, made locally from that
// directory's key and URL, or fetched from a running issuer's POST /token.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';
import { serverModule } from './ca.js';

export const OIDC_DEV_USAGE = `usage: sigstack oidc-dev serve [--dir D] [--port P] [--host H] [--issuer-url U]

  DEVELOPMENT ONLY: an OIDC issuer that signs an ID token (audience "sigstore") for any email or
  subject to anyone who asks. Its key (oidc-dev-key.pem) and URL (${'oidc-dev-issuer.json'}) are kept in --dir.`;

export const DEV_TOKEN_USAGE = `usage: sigstack dev-token (--dir D | --url U) (--email E | --subject S) [--subject S] [--audience A] [--expires-in SECONDS] [--issuer-url U]

  Prints an ID token from the development OIDC issuer: with --dir, made locally from the issuer's
  key and URL in D (as \`sigstack oidc-dev serve --dir D\` left them, or a stack directory
  \`sigstack up\` made, whose issuer is in D/oidc; --issuer-url overrides the URL);
  with --url, requested from the running issuer's POST /token.`;

/** The file in the issuer's directory that records the URL it serves at (its `iss`). */
export const DEV_ISSUER_FILE = 'oidc-dev-issuer.json';
const DEV_KEY_FILE = 'oidc-dev-key.pem';

function options(args: string[], spec: Record<string, { type: 'string' | 'boolean' }>, usage: string) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${usage}`);
  }
}

async function serve(args: string[]): Promise<number> {
  const v = options(args, { dir: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'issuer-url': { type: 'string' } }, OIDC_DEV_USAGE);
  const dir = (v.dir as string | undefined) ?? '.sigstack/oidc-dev';
  const port = v.port === undefined ? 5556 : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('USAGE', '--port must be a port number');
  const { startDevOidcIssuer } = await serverModule('oidc-dev');
  const issuer = await startDevOidcIssuer({
    dir,
    port,
    ...(v.host ? { host: v.host as string } : {}),
    ...(v['issuer-url'] ? { issuerUrl: v['issuer-url'] as string } : {}),
    logger: { level: 'error' },
    warn: (message) => process.stderr.write(`WARNING: ${message}\n`),
  });
  writeFileSync(join(dir, DEV_ISSUER_FILE), `${JSON.stringify({ issuer: issuer.url }, null, 2)}\n`, { mode: 0o644 });
  process.stderr.write(`sigstack oidc-dev: serving at ${issuer.url} (discovery /.well-known/openid-configuration, POST /token)\n`);
  await stopSignal();
  await issuer.close();
  return 0;
}

export async function oidcDevCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'serve') return serve(rest);
  if (sub === 'help' || sub === '--help' || sub === '-h' || sub === undefined) {
    process.stdout.write(`${OIDC_DEV_USAGE}\n`);
    return sub === undefined ? 2 : 0;
  }
  throw new CliError('USAGE', `unknown oidc-dev command "${sub}"\n${OIDC_DEV_USAGE}`);
}

/** The issuer's own directory: D itself, or D/oidc when D is a stack directory `sigstack up` made. */
function issuerDir(dir: string): string {
  if (!existsSync(join(dir, DEV_KEY_FILE)) && existsSync(join(dir, 'oidc', DEV_KEY_FILE))) return join(dir, 'oidc');
  return dir;
}

function readIssuerUrl(dir: string): string {
  const path = join(dir, DEV_ISSUER_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CliError('DEV_ISSUER_UNKNOWN', `${path} does not exist, so the issuer URL is unknown: start the issuer with \`sigstack oidc-dev serve --dir ${dir}\`, or give --issuer-url`);
  }
  try {
    const issuer = (JSON.parse(text) as { issuer?: unknown }).issuer;
    if (typeof issuer === 'string' && /^https?:\/\//.test(issuer)) return issuer;
  } catch {
    // fall through
  }
  throw new CliError('DEV_ISSUER_UNKNOWN', `${path} does not name the issuer URL ({"issuer": "http://…"}); give --issuer-url`);
}

export async function devTokenCommand(args: string[]): Promise<number> {
  const v = options(
    args,
    { dir: { type: 'string' }, url: { type: 'string' }, email: { type: 'string' }, subject: { type: 'string' }, audience: { type: 'string' }, 'expires-in': { type: 'string' }, 'issuer-url': { type: 'string' }, help: { type: 'boolean' } },
    DEV_TOKEN_USAGE,
  );
  if (v.help) {
    process.stdout.write(`${DEV_TOKEN_USAGE}\n`);
    return 0;
  }
  if ((v.dir === undefined) === (v.url === undefined)) throw new CliError('USAGE', `give --dir D (the issuer's directory) or --url U (a running issuer), one of them\n${DEV_TOKEN_USAGE}`);
  if (v.email === undefined && v.subject === undefined) throw new CliError('USAGE', `name the identity: --email E (an email identity) or --subject S\n${DEV_TOKEN_USAGE}`);
  const body: Record<string, string> = {};
  if (typeof v.email === 'string') body.email = v.email;
  if (typeof v.subject === 'string') body.subject = v.subject;
  if (typeof v.audience === 'string') body.audience = v.audience;
  if (typeof v['expires-in'] === 'string') body.expires_in = v['expires-in'];

  let status: number;
  let answer: { id_token?: unknown; message?: unknown };
  if (typeof v.url === 'string') {
    const url = `${v.url.replace(/\/+$/, '')}/token`;
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    } catch (err) {
      throw new CliError('DEV_ISSUER_UNREACHABLE', `cannot reach ${url}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    status = response.status;
    answer = (await response.json().catch(() => ({}))) as typeof answer;
  } else {
    const dir = issuerDir(v.dir as string);
    const keyPath = join(dir, DEV_KEY_FILE);
    let key: string;
    try {
      key = readFileSync(keyPath, 'utf8');
    } catch {
      throw new CliError('DEV_ISSUER_KEY_MISSING', `${keyPath} does not exist: start the issuer once with \`sigstack oidc-dev serve --dir ${dir}\` (it makes the key), or use --url`);
    }
    const issuerUrl = typeof v['issuer-url'] === 'string' ? v['issuer-url'] : readIssuerUrl(dir);
    const { buildDevOidcApp } = await serverModule('oidc-dev');
    const app = buildDevOidcApp({ issuerUrl, key });
    try {
      const response = await app.inject({ method: 'POST', url: '/token', payload: body });
      status = response.statusCode;
      answer = response.json() as typeof answer;
    } finally {
      await app.close();
    }
  }
  if (status !== 200 || typeof answer.id_token !== 'string') {
    throw new CliError('DEV_TOKEN_REFUSED', `the development issuer refused: ${status} ${typeof answer.message === 'string' ? answer.message : JSON.stringify(answer)}`);
  }
  process.stdout.write(`${answer.id_token}\n`);
  return 0;
}
