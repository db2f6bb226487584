// `sigstack log serve|info|get|search|proof`: run a transparency log, and query one over its
// Rekor v1 API, checking what can be checked locally (inclusion proofs against checkpoints).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { leafHash, parseCheckpoint, parseSignedNote, verifyInclusion } from '@sigstack/core';
import { CliError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';
import { logRotateCommand } from './log-rotate.js';

export const LOG_USAGE = `usage: sigstack log serve [--dir D] [--port P] [--host H] [--key KEY.pem] [--key-type ed25519|ecdsa-p256] [--name N]
                        [--witness-policy POLICY] [--witness-fail-closed] [--admission-workers N]
       sigstack log serve --postgres URL --key KEY.pem --name ORIGIN [--schema S] [--port P] [--host H] [--lease-ms MS] [--no-sequencer]
                        [--witness-policy POLICY] [--witness-fail-closed] [--admission-workers N]
                        (any number of processes, each given the same key and origin, serve one log;
                         --schema: the PostgreSQL schema holding it, so several logs share one database)
       sigstack log info --url U
       sigstack log info --postgres URL [--schema S]
       sigstack log get --url U (--index N | --uuid ID)
       sigstack log search --url U (--sha256 HEX | --artifact FILE | --email E | --public-key FILE [--pki-format x509|pgp|minisign|ssh])
       sigstack log proof --url U --first N [--last M]
       sigstack log rotate --dir D [--postgres URL]`;

function options(args: string[], spec: Record<string, { type: 'string' | 'boolean' }>) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${LOG_USAGE}`);
  }
}

async function request(url: string, init?: RequestInit): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new CliError('LOG_UNREACHABLE', `cannot reach ${url}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON
    }
    throw new CliError('LOG_REQUEST_FAILED', `${init?.method ?? 'GET'} ${url} answered ${response.status}: ${message}`);
  }
  return JSON.parse(text);
}

function needUrl(values: Record<string, unknown>): string {
  if (typeof values.url !== 'string') throw new CliError('USAGE', `--url is required\n${LOG_USAGE}`);
  return values.url.replace(/\/+$/, '');
}

/** --admission-workers N: threads checking proposed entries (default one per core; 0: on the main thread). */
function admissionWorkers(value: unknown): { admissionWorkers?: number } {
  if (value === undefined) return {};
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new CliError('USAGE', `--admission-workers must be a whole number from 0 to 64, not ${String(value)}`);
  return { admissionWorkers: n };
}

/** `log serve --postgres URL`: one process (front end and sequencer candidate) of a PostgreSQL log. */
async function servePostgres(args: string[]): Promise<number> {
  const v = options(args, { postgres: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, key: { type: 'string' }, name: { type: 'string' }, schema: { type: 'string' }, 'lease-ms': { type: 'string' }, 'no-sequencer': { type: 'boolean' }, 'witness-policy': { type: 'string' }, 'witness-fail-closed': { type: 'boolean' }, 'admission-workers': { type: 'string' } });
  if (!v.key || !v.name) throw new CliError('USAGE', `--postgres needs --key KEY.pem and --name ORIGIN (the same for every process of the log)\n${LOG_USAGE}`);
  const { startClusterLogService } = await import('@sigstack/server');
  const service = await startClusterLogService({
    postgres: v.postgres as string,
    keyPath: v.key as string,
    name: v.name as string,
    port: v.port === undefined ? 3000 : Number(v.port),
    ...(v.host ? { host: v.host as string } : {}),
    ...(v['lease-ms'] ? { leaseMs: Number(v['lease-ms']) } : {}),
    ...(v['no-sequencer'] ? { sequence: false } : {}),
    ...(v.schema ? { schema: v.schema as string } : {}),
    ...(v['witness-policy'] ? { witnessPolicy: v['witness-policy'] as string } : {}),
    ...(v['witness-fail-closed'] ? { witnessFailClosed: true } : {}),
    ...admissionWorkers(v['admission-workers']),
    logger: { level: 'info' },
  });
  process.stderr.write(`sigstack log: serving ${v.name as string} from PostgreSQL at ${service.url} (Rekor v1 /api/v1, Rekor v2 /api/v2, tiles, /metrics, explorer /explorer/)\n`);
  await stopSignal();
  await service.close();
  return 0;
}

async function serve(args: string[]): Promise<number> {
  if (args.some((a) => a === '--postgres' || a.startsWith('--postgres='))) return servePostgres(args);
  const v = options(args, { dir: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, key: { type: 'string' }, 'key-type': { type: 'string' }, name: { type: 'string' }, 'witness-policy': { type: 'string' }, 'witness-fail-closed': { type: 'boolean' }, 'admission-workers': { type: 'string' } });
  const keyType = (v['key-type'] as string | undefined) ?? 'ed25519';
  if (keyType !== 'ed25519' && keyType !== 'ecdsa-p256') throw new CliError('USAGE', '--key-type must be ed25519 or ecdsa-p256');
  const { startLogService } = await import('@sigstack/server');
  const service = await startLogService({
    dir: (v.dir as string | undefined) ?? '.sigstack/log',
    port: v.port === undefined ? 3000 : Number(v.port),
    ...(v.host ? { host: v.host as string } : {}),
    ...(v.key ? { keyPath: v.key as string } : {}),
    ...(v.name ? { name: v.name as string } : {}),
    ...(v['witness-policy'] ? { witnessPolicy: v['witness-policy'] as string } : {}),
    ...(v['witness-fail-closed'] ? { witnessFailClosed: true } : {}),
    ...admissionWorkers(v['admission-workers']),
    keyType,
    logger: { level: 'info' },
  });
  process.stderr.write(`sigstack log: serving at ${service.url} (Rekor v1 /api/v1, Rekor v2 /api/v2, tiles /checkpoint /tile/…, /metrics, explorer /explorer/)\n`);
  await stopSignal();
  await service.close();
  return 0;
}

async function info(args: string[]): Promise<number> {
  if (args.some((a) => a === '--postgres' || a.startsWith('--postgres='))) {
    const v = options(args, { postgres: { type: 'string' }, schema: { type: 'string' } });
    const { clusterLogInfo } = await import('@sigstack/server');
    process.stdout.write(`${JSON.stringify(await clusterLogInfo(v.postgres as string, v.schema as string | undefined), null, 2)}\n`);
    return 0;
  }
  const url = needUrl(options(args, { url: { type: 'string' } }));
  const log = (await request(`${url}/api/v1/log`)) as { treeSize: number; rootHash: string; signedTreeHead: string };
  const note = parseSignedNote(log.signedTreeHead);
  const checkpoint = parseCheckpoint(note.body);
  process.stdout.write(`${JSON.stringify({ origin: checkpoint.origin, treeSize: log.treeSize, rootHash: log.rootHash, signers: note.signatures.map((s) => s.name) }, null, 2)}\n`);
  return 0;
}

type V1Entry = Record<string, { body: string; logIndex: number; integratedTime: number; verification: { inclusionProof: { logIndex: number; treeSize: number; rootHash: string; hashes: string[]; checkpoint: string } } }>;

async function get(args: string[]): Promise<number> {
  const v = options(args, { url: { type: 'string' }, index: { type: 'string' }, uuid: { type: 'string' } });
  const url = needUrl(v);
  if ((v.index === undefined) === (v.uuid === undefined)) throw new CliError('USAGE', `give one of --index or --uuid\n${LOG_USAGE}`);
  const path = v.index !== undefined ? `/api/v1/log/entries?logIndex=${encodeURIComponent(v.index as string)}` : `/api/v1/log/entries/${encodeURIComponent(v.uuid as string)}`;
  const response = (await request(`${url}${path}`)) as V1Entry;
  const [id, entry] = Object.entries(response)[0] ?? [];
  if (!id || !entry) throw new CliError('LOG_RESPONSE_INVALID', 'the log answered without an entry');
  const body = Buffer.from(entry.body, 'base64');
  const proof = entry.verification.inclusionProof;
  const root = Buffer.from(proof.rootHash, 'hex');
  verifyInclusion(proof.logIndex, proof.treeSize, leafHash(body), proof.hashes.map((h) => Buffer.from(h, 'hex')), root);
  const checkpoint = parseCheckpoint(parseSignedNote(proof.checkpoint).body);
  if (!checkpoint.rootHash.equals(root)) throw new CliError('LOG_RESPONSE_INVALID', 'the inclusion proof does not match the checkpoint it came with');
  process.stdout.write(`${JSON.stringify({ uuid: id, logIndex: entry.logIndex, integratedTime: entry.integratedTime, body: JSON.parse(body.toString('utf8')), inclusion: `verified in tree of size ${proof.treeSize}` }, null, 2)}\n`);
  return 0;
}

async function search(args: string[]): Promise<number> {
  const v = options(args, { url: { type: 'string' }, sha256: { type: 'string' }, artifact: { type: 'string' }, email: { type: 'string' }, 'public-key': { type: 'string' }, 'pki-format': { type: 'string' } });
  const url = needUrl(v);
  const query: Record<string, unknown> = {};
  if (v.sha256) query.hash = `sha256:${v.sha256 as string}`;
  if (v.artifact) query.hash = `sha256:${createHash('sha256').update(readFileSync(v.artifact as string)).digest('hex')}`;
  if (v.email) query.email = v.email;
  if (v['public-key']) query.publicKey = { format: (v['pki-format'] as string | undefined) ?? 'x509', content: readFileSync(v['public-key'] as string).toString('base64') };
  if (Object.keys(query).length === 0) throw new CliError('USAGE', `search by --sha256, --artifact, --email or --public-key\n${LOG_USAGE}`);
  const ids = (await request(`${url}/api/v1/index/retrieve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(query) })) as string[];
  process.stdout.write(ids.length > 0 ? `${ids.join('\n')}\n` : '');
  process.stderr.write(`${ids.length} entr${ids.length === 1 ? 'y' : 'ies'} found\n`);
  return 0;
}

async function proof(args: string[]): Promise<number> {
  const v = options(args, { url: { type: 'string' }, first: { type: 'string' }, last: { type: 'string' } });
  const url = needUrl(v);
  if (v.first === undefined) throw new CliError('USAGE', `--first is required\n${LOG_USAGE}`);
  let last = v.last as string | undefined;
  if (last === undefined) last = String(((await request(`${url}/api/v1/log`)) as { treeSize: number }).treeSize);
  const result = await request(`${url}/api/v1/log/proof?firstSize=${encodeURIComponent(v.first as string)}&lastSize=${encodeURIComponent(last)}`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

export async function logCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'serve':
      return serve(rest);
    case 'info':
      return info(rest);
    case 'get':
      return get(rest);
    case 'search':
      return search(rest);
    case 'proof':
      return proof(rest);
    case 'rotate':
      return logRotateCommand(rest);
    default:
      process.stdout.write(`${LOG_USAGE}\n`);
      return sub === undefined || sub === 'help' || sub === '--help' ? 0 : 2;
  }
}
