// The whole sigstack in one process on one port: transparency log (Rekor v1 + v2, tiles) at /,
// the CA (Fulcio v2) at /api/v2/*, CT under /ct/v1, the TSA at /api/v1/timestamp, the dev OIDC
// issuer under /oidc and TUF under /tuf; keys and logs kept in one directory; trust files written.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Name } from '@peculiar/asn1-x509';
import { SIGNING_CONFIG_V02_MEDIA_TYPE, TRUSTED_ROOT_V02_MEDIA_TYPE, X509 } from '@sigstack/core';
import { ServiceError } from './errors.js';
import { assertKeyPresent, loadOrCreateKey } from './keys.js';
import { SqliteLogStorage } from './storage/sqlite.js';
import { TransparencyLog, type LogOptions } from './log/engine/log.js';
import { LogSigner } from './log/engine/log-signer.js';
import { AdmissionPool } from './log/admission/pool.js';
import { buildLogApp } from './log/http/app.js';
import { loadWitnessing } from './log/witnessing/load.js';
import { CtLog } from './ctlog/ct-log.js';
import { buildCtApp } from './ctlog/http.js';
import { createCaHierarchy, type CaSigner } from './ca/keys/index.js';
import type { CaIssuer } from './ca/cert/leaf.js';
import { TokenVerifier } from './ca/oidc/verify-token.js';
import { SigningCertificateAuthority } from './ca/http/signing-cert.js';
import { buildCaApp } from './ca/http/app.js';
import { loadOrCreateTsaChain } from './tsa/chain.js';
import { TimestampAuthority } from './tsa/authority.js';
import { buildTsaApp } from './tsa/app.js';
import { buildDevOidcApp } from './oidc-dev/app.js';
import { loadOrCreateDevKey } from './oidc-dev/key.js';
import { TufRepository } from './tuf/repository.js';
import { registerTufRoutes } from './tuf/http.js';
import { isLoopback, parsePublicUrl, type PublicUrl } from './production/public-url.js';
import { createStackServer, type TlsFiles } from './production/tls.js';
import { frontDoor } from './production/front-door.js';
import { RateLimiter } from './production/rate-limit.js';
import { interactiveIssuers, stackOidcConfig } from './production/issuers.js';
import { claimStackPid, freezeLogApp, openLogShard, releaseStackPid, rotateLogShard, setFirstShardKeyLabel, shardsOf, type ShardRecord } from './log/shards.js';
import { shardedLogHandler } from './log/shards-http.js';
import { DEFAULT_LOG_KEY_LABEL, openShardKey, type Pkcs11LogKeys } from './log/shard-keys.js';
import { currentStart, retiredChains, retiredCtKeys, retiredRoots, type RetiredChain, type RetiredKey, type RetiredState } from './production/key-rotation.js';
import { PostgresLogStorage, redactUrl } from './storage/postgres/postgres.js';
import { openClusterEngine } from './log/cluster/engine.js';
import type { ClusterWitnessingOptions } from './log/witnessing/cluster.js';
import { openClusterCtLog } from './ctlog/cluster-service.js';
import { assertShardsCurrent, ctlogSchema, openShardStore } from './log/shards-postgres.js';

export interface StackOptions {
  /** Data directory (created): every key, both logs' databases, the trust files (default ./.sigstack). */
  dir?: string;
  /** Port for every service (default 3000; 0: any free port). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Fastify logger options for every service (default: off). */
  logger?: FastifyServerOptions['logger'];
  /** Worker threads checking proposed log entries (default one per core beyond the first; 0 = inline). */
  admissionWorkers?: number;
  /** The transparency log's batching. */
  logOptions?: LogOptions;
  /** Warnings (e.g. the log is named after another address); default: stderr. */
  warn?: (message: string) => void;
  /** A C2SP tlog-policy file naming the witnesses the transparency log asks for cosignatures. */
  witnessPolicy?: string;
  /** Publish log checkpoints only once the policy's quorum cosigned them. */
  witnessFailClosed?: boolean;
  /**
   * Production mode: the URL clients use (https://sigstore.example.com). Every URL in the trust
   * files and every log origin derive from it, never from the bind address; the dev issuer is
   * off unless `devIssuer`.
   */
  publicUrl?: string;
  /** Fulcio's issuer configuration (JSON or YAML) the CA trusts; required in production unless `devIssuer`. */
  oidcConfigPath?: string;
  /** Serve the development OIDC issuer under /oidc (default: on without publicUrl, off with it). */
  devIssuer?: boolean;
  /** Serve HTTPS with this certificate chain and key (reloadTls() rereads them). */
  tls?: TlsFiles;
  /** Behind a reverse proxy: the client address comes from X-Forwarded-For / X-Real-IP. */
  trustProxy?: boolean;
  /** Write requests per minute per client (429 + Retry-After beyond); 0: no limit (default: 0 in development, 600 in production). */
  rateLimitPerMinute?: number;
  /** Freeze the active log shard and start a new one before serving (as `sigstack log rotate`). */
  rotateLog?: boolean;
  /** Password of the key files (SIGSTACK_KEY_PASSWORD): new keys are written as encrypted PKCS#8, existing ones decrypted with it. */
  keyPassword?: string;
  /** A CA given from outside (e.g. its key on a PKCS#11 token, its chain from a file): the stack makes no CA hierarchy. */
  ca?: { issuer: CaIssuer; chain: Buffer[] };
  /** The TSA's signing key given from outside (e.g. PKCS#11), certified by `tsaChainPath` or else by the stack's own TSA root. */
  tsaSigner?: CaSigner;
  tsaChainPath?: string;
  /** The log signs with keys on a PKCS#11 token (ECDSA P-256): this token; a fresh log takes the key labelled `keyLabel` (default PKCS11LOG). */
  pkcs11Log?: Pkcs11LogKeys;
  /**
   * The transparency log (each shard) and the CT log in this PostgreSQL database, a schema each
   * (log/shards-postgres.ts), served as cluster front ends with a sequencer candidate: several
   * stacks given the same key material (the same --dir, or a copy) serve the same logs.
   */
  postgres?: string;
}

/** A log shard as the stack serves it (the last is active; the others are frozen). */
export interface StackLogShard {
  name: string;
  url: string;
  start: string;
  end?: string;
  log: TransparencyLog;
}

/** Files the stack keeps in its directory. */
export const STACK_FILES = {
  state: 'stack.json',
  trustedRoot: 'trusted_root.json',
  signingConfig: 'signing_config.json',
  log: 'log',
  ctlog: 'ctlog',
  ca: 'ca',
  tsa: 'tsa',
  oidc: 'oidc',
  tuf: 'tuf',
} as const;

/** The TUF target names, as sigstore's own TUF repositories name them. */
export const TUF_TARGETS = { trustedRoot: 'trusted_root.json', signingConfig: 'signing_config.v0.2.json' } as const;

export interface StackUrls {
  /** http://host:port: everything is under it. */
  origin: string;
  /** Rekor v1 and v2 APIs and tiles (the log's base URL; checkpoint origin is this without the scheme). */
  rekor: string;
  /** Fulcio v2 API (POST {ca}/api/v2/signingCert). */
  ca: string;
  /** RFC 6962 API root (…/ct/v1). */
  ct: string;
  /** POST here for an RFC 3161 timestamp. */
  tsa: string;
  /** The development OIDC issuer (its `iss`; POST {oidc}/token); served only when the dev issuer is on. */
  oidc: string;
  /** TUF metadata base URL; targets under {tuf}/targets. */
  tuf: string;
}

export interface StackFiles {
  dir: string;
  trustedRoot: string;
  signingConfig: string;
  /** The TUF root a client starts from. */
  tufRoot: string;
  /** The dev issuer's directory (for `sigstack dev-token --dir`). */
  oidcDir: string;
}

export interface Stack {
  urls: StackUrls;
  files: StackFiles;
  /** The log's name (checkpoint origin), fixed at its first start. */
  logName: string;
  /** The log's base URL in trusted_root.json (scheme://logName). */
  logUrl: string;
  /** Whether the dev OIDC issuer is served (and trusted by the CA). */
  devIssuer: boolean;
  /** Production mode (started with a public URL). */
  production: boolean;
  /** Every log shard, oldest first; the last is active (`log`, `logName`, `logUrl` are its). */
  logShards: StackLogShard[];
  /** Rereads the TLS certificate and key (SIGHUP in `sigstack up`); throws, keeping the old ones, when they are bad. */
  reloadTls(): void;
  /** Whether this start created the directory's keys. */
  created: boolean;
  /** Where the logs live when not in the directory: the PostgreSQL URL (password hidden). */
  postgres?: string;
  trustedRoot: Record<string, unknown>;
  signingConfig: Record<string, unknown>;
  log: TransparencyLog;
  ctLog: CtLog;
  tuf: TufRepository;
  server: Server;
  close(): Promise<void>;
}

interface StackState {
  /** When the stack was first started: the start of every validFor in the trust files. */
  createdAt: string;
  /** The log shards once the log was rotated (see log/shards.ts). */
  logShards?: ShardRecord[];
  /** CA, TSA and CT log keys retired by rotation (see production/key-rotation.ts). */
  retired?: RetiredState;
  /** 'postgres': the logs live in the database given by --postgres (set at its first start with it). */
  logStore?: 'postgres';
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function readState(path: string): StackState | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as Partial<StackState>;
    if (typeof state.createdAt === 'string' && !Number.isNaN(Date.parse(state.createdAt))) {
      return { createdAt: state.createdAt, ...(Array.isArray(state.logShards) ? { logShards: state.logShards } : {}), ...(state.retired && typeof state.retired === 'object' ? { retired: state.retired } : {}), ...(state.logStore === 'postgres' ? { logStore: 'postgres' as const } : {}) };
    }
  } catch {
    // fall through
  }
  throw new ServiceError(500, 'STACK_STATE_INVALID', `${path} is not a sigstack state file ({"createdAt": "<ISO time>"}); fix or remove it`);
}

/**
 * Whether a start with --postgres may go on: refuses a stack whose logs are already in SQLite
 * files. True when the state must still be
 * marked (markPostgresStore, once the database was reached).
 */
function checkPostgresStore(dir: string, state: StackState, options: StackOptions): boolean {
  if (state.logStore === 'postgres') return false;
  const sqlite = [join(dir, STACK_FILES.log, 'log.db'), join(dir, STACK_FILES.ctlog, 'ctlog.db')].filter((path) => existsSync(path));
  if (sqlite.length > 0) {
    throw new ServiceError(500, 'LOG_STORE_CONFLICT', `the stack in ${dir} keeps its logs in SQLite files (${sqlite.join(', ')}); moving them into PostgreSQL is not supported: start it without --postgres, or use a new --dir with --postgres`);
  }
  return true;
}

/** Records in the state file that the logs live in PostgreSQL, so a start without --postgres is refused rather than opening empty SQLite logs. */
function markPostgresStore(statePath: string): void {
  const raw = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>;
  writeFileSync(statePath, json({ ...raw, logStore: 'postgres' }), { mode: 0o644 });
}

/** Writes `text` to `path` unless it already holds exactly that (keeps the file and its time). */
function writeIfChanged(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  writeFileSync(path, text, { mode: 0o644 });
}

function subjectOf(der: Buffer): { organization?: string; commonName?: string } {
  const fields: { organization?: string; commonName?: string } = {};
  for (const rdn of AsnConvert.parse(X509.fromDer(der).subjectDer, Name)) {
    for (const attribute of rdn) {
      if (attribute.type === '2.5.4.10') fields.organization ??= attribute.value.toString();
      if (attribute.type === '2.5.4.3') fields.commonName ??= attribute.value.toString();
    }
  }
  return fields;
}

interface TrustInputs {
  createdAt: string;
  urls: StackUrls;
  logName: string;
  /** The log's base URL (default http://logName). */
  logUrl?: string;
  /** Every log shard with its validity (default: the one log, valid since createdAt). */
  tlogs?: { url: string; signer: LogSigner; start: string; end?: string }[];
  log: LogSigner;
  ctLog: CtLog;
  caChain: Buffer[];
  tsaChain: Buffer[];
  /** Keys retired by rotation (production/key-rotation.ts), each valid until it was rotated, and when the current ones started. */
  retired?: { cas: RetiredChain[]; tsas: RetiredChain[]; ctlogs: RetiredKey[]; caStart: string; tsaStart: string; ctStart: string };
}

/** trusted_root.json (v0.2): the log, the CA, the CT log and the TSA, each trusted since the stack's first start. */
export function stackTrustedRoot(inputs: TrustInputs): Record<string, unknown> {
  // Without rotations nothing is retired and the current keys are trusted since the first start.
  const since = inputs.createdAt;
  const retired = inputs.retired ?? { cas: [], tsas: [], ctlogs: [], caStart: since, tsaStart: since, ctStart: since };
  const chainEntry = (chain: Buffer[], uri: string, range: { start: string; end?: string }) => ({
    subject: chain[0] ? subjectOf(chain[0]) : {},
    uri,
    certChain: { certificates: chain.map((der) => ({ rawBytes: der.toString('base64') })) },
    validFor: range,
    operator: 'sigstack',
  });
  const ctEntry = (spki: Buffer, logId: Buffer, range: { start: string; end?: string }) => ({
    baseUrl: inputs.urls.origin,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: spki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: range },
    logId: { keyId: logId.toString('base64') },
    operator: 'sigstack',
  });
  return {
    mediaType: TRUSTED_ROOT_V02_MEDIA_TYPE,
    // sigstore-js matches a checkpoint's signer name against the base URL: keep them the same.
    tlogs: (inputs.tlogs ?? [{ url: inputs.logUrl ?? `http://${inputs.logName}`, signer: inputs.log, start: since }]).map((tlog) => ({
      baseUrl: tlog.url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: tlog.signer.spki.toString('base64'), keyDetails: tlog.signer.keyDetails, validFor: { start: tlog.start, ...(tlog.end ? { end: tlog.end } : {}) } },
      logId: { keyId: tlog.signer.logId.toString('base64') },
      operator: 'sigstack',
    })),
    certificateAuthorities: [...retired.cas.map((c) => chainEntry(c.chain, inputs.urls.ca, { start: c.start, end: c.end })), chainEntry(inputs.caChain, inputs.urls.ca, { start: retired.caStart })],
    ctlogs: [...retired.ctlogs.map((k) => ctEntry(k.spki, k.logId, { start: k.start, end: k.end })), ctEntry(inputs.ctLog.spki, inputs.ctLog.logId, { start: retired.ctStart })],
    timestampAuthorities: [...retired.tsas.map((c) => chainEntry(c.chain, inputs.urls.tsa, { start: c.start, end: c.end })), chainEntry(inputs.tsaChain, inputs.urls.tsa, { start: retired.tsaStart })],
  };
}

/** signing_config.json (v0.2): the CA, the dev issuer, the log as Rekor v2 and v1 (v2 preferred), the TSA. */
export function stackSigningConfig(createdAt: string, urls: StackUrls, oidcUrls: string[] = [urls.oidc], rekorStart = createdAt): Record<string, unknown> {
  const service = (url: string, majorApiVersion: number, start = createdAt) => ({ url, majorApiVersion, validFor: { start }, operator: 'sigstack' });
  return {
    mediaType: SIGNING_CONFIG_V02_MEDIA_TYPE,
    caUrls: [service(urls.ca, 1)],
    oidcUrls: oidcUrls.map((url) => service(url, 1)),
    // Both APIs of the one log; clients picking one (ANY) take the newest API they speak.
    rekorTlogUrls: [service(urls.rekor, 2, rekorStart), service(urls.rekor, 1, rekorStart)],
    tsaUrls: [service(urls.tsa, 1)],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new ServiceError(500, 'PORT_IN_USE', `port ${port} on ${host} is in use: stop what runs there or choose another --port`)
          : err.code === 'EACCES'
            ? new ServiceError(500, 'PORT_NOT_ALLOWED', `this user may not listen on port ${port} on ${host}: use a port above 1023 behind a reverse proxy, or give node the capability (setcap cap_net_bind_service=+ep $(command -v node))`)
            : err.code === 'EADDRNOTAVAIL'
              ? new ServiceError(500, 'BIND_ADDRESS_INVALID', `${host} is not an address of this machine: give --bind one of its addresses (or 0.0.0.0)`)
              : err,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as { port: number }).port);
    });
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Starts the stack. The first start makes every key under `dir` and records its time; a restart
 * reuses the keys and both logs (same trusted root, as long as the address is the same).
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = options.dir ?? './.sigstack';
  const host = options.host ?? '127.0.0.1';
  const warn = options.warn ?? ((message: string) => process.stderr.write(`sigstack: warning: ${message}\n`));
  const logger = options.logger ?? false;
  const publicUrl: PublicUrl | undefined = options.publicUrl !== undefined ? parsePublicUrl(options.publicUrl) : undefined;
  const production = publicUrl !== undefined;
  const devIssuer = options.devIssuer ?? !production;
  const rateLimitPerMinute = options.rateLimitPerMinute ?? (production ? 600 : 0);
  if (!devIssuer && options.oidcConfigPath === undefined) stackOidcConfig({}); // NO_OIDC_ISSUERS, before anything is made
  if (publicUrl?.scheme === 'https' && !options.tls && !options.trustProxy) {
    warn(`--public-url is https but this stack serves plain HTTP: put a TLS reverse proxy in front (with --trust-proxy) or give --tls-cert and --tls-key`);
  }
  if (publicUrl?.scheme === 'http' && !isLoopback(publicUrl)) {
    warn(`--public-url ${publicUrl.base} is plain http: clients' tokens and signatures travel unencrypted; use https`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  const statePath = join(dir, STACK_FILES.state);
  let state = readState(statePath);
  const created = state === undefined;
  if (!state) {
    state = { createdAt: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z') };
    writeFileSync(statePath, json(state), { mode: 0o644 });
  }
  const markPostgres = options.postgres !== undefined && checkPostgresStore(dir, state, options);
  if (options.postgres === undefined && state.logStore === 'postgres') {
    throw new ServiceError(500, 'STACK_NEEDS_POSTGRES', `the logs of the stack in ${dir} live in PostgreSQL: start it with --postgres URL (the database it was first started with)`);
  }
  if (options.rotateLog) {
    await rotateLogShard(dir, new Date(), options.keyPassword, undefined, options.postgres);
    state = readState(statePath)!;
  }
  const createdAt = state.createdAt;
  const shardRecords = shardsOf(state);

  // Listen first (port 0 becomes a real port the log can be named after); requests before the
  // services are ready get a 503.
  let dispatch: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let closing = false;
  const { server, reloadTls } = createStackServer(
    frontDoor(
      { pathPrefix: publicUrl?.pathPrefix ?? '', trustProxy: options.trustProxy ?? false, ...(rateLimitPerMinute > 0 ? { rateLimiter: new RateLimiter({ perMinute: rateLimitPerMinute }) } : {}) },
      (req, res) => {
        if (closing) return sendJson(res, 503, { code: 503, error: 'SHUTTING_DOWN', message: 'sigstack is shutting down' });
        if (!dispatch) return sendJson(res, 503, { code: 503, error: 'STARTING', message: 'sigstack is starting; try again in a moment' });
        dispatch(req, res);
      },
    ),
    options.tls,
  );
  server.keepAliveTimeout = 72_000;
  const port = await listen(server, options.port ?? 3000, host);
  const origin = publicUrl?.base ?? `${options.tls ? 'https' : 'http'}://${hostForUrl(host)}:${port}`;
  const urls: StackUrls = {
    origin,
    rekor: origin,
    ca: origin,
    ct: `${origin}/ct/v1`,
    tsa: `${origin}/api/v1/timestamp`,
    oidc: `${origin}/oidc`,
    tuf: `${origin}/tuf`,
  };

  const closers: (() => Promise<void>)[] = [];
  let closed: Promise<void> | undefined;
  const closeAll = () => (closed ??= shutdown());
  const shutdown = async () => {
    closing = true;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      // Requests still in flight get a moment to finish; then their connections are cut.
      setTimeout(() => server.closeAllConnections(), 2000).unref();
    });
    for (const close of closers.reverse()) await close().catch(() => {});
  };

  try {
    // The transparency log: Rekor v1 + v2 and tiles over one engine; named after host:port at first start.
    const logDir = join(dir, STACK_FILES.log);
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    const logStorage = options.postgres !== undefined ? await openShardStore(options.postgres, shardRecords[0]!) : new SqliteLogStorage(join(logDir, 'log.db'));
    if (markPostgres) markPostgresStore(statePath);
    let logStorageOwned = true;
    closers.push(async () => {
      if (logStorageOwned) await logStorage.close();
    });
    let firstKeyLabel = shardRecords[0]!.keyLabel;
    if (options.pkcs11Log && firstKeyLabel === undefined && shardRecords.length === 1) {
      // A log that signs on the token from its start; a log that already signs with a file key moves by rotation.
      if (existsSync(join(logDir, 'log-key.pem')) || (await logStorage.latestCheckpoint())) {
        throw new ServiceError(500, 'LOG_KEY_CONFLICT', `the transparency log in ${logDir} already signs with a key file: to move it to the token, rotate it onto a token key (sigstack log rotate --dir ${dir} --pkcs11-key-label LABEL) and start again`);
      }
      firstKeyLabel = options.pkcs11Log.keyLabel ?? DEFAULT_LOG_KEY_LABEL;
      setFirstShardKeyLabel(dir, firstKeyLabel);
    }
    const activeKeyLabel = shardRecords.length === 1 ? firstKeyLabel : shardRecords[shardRecords.length - 1]!.keyLabel;
    if (options.pkcs11Log && activeKeyLabel === undefined) {
      throw new ServiceError(500, 'LOG_KEY_CONFLICT', `the active log shard signs with a key file, not on the token: rotate it onto a token key (sigstack log rotate --dir ${dir} --pkcs11-key-label LABEL)`);
    }
    if (!firstKeyLabel) await assertKeyPresent(join(logDir, 'log-key.pem'), logStorage, 'the transparency log');
    if (logStorage instanceof PostgresLogStorage) await assertShardsCurrent(logStorage, shardRecords, dir);
    const firstKey = await openShardKey(logDir, firstKeyLabel, options.pkcs11Log, options.keyPassword);
    closers.push(async () => firstKey.close());
    const logKey = firstKey.key;
    let treeId = await logStorage.getMeta('treeId');
    if (!treeId) {
      treeId = randomBytes(8).toString('hex');
      // Processes of a PostgreSQL stack starting together agree on one (the first claim).
      if (logStorage instanceof PostgresLogStorage) treeId = await logStorage.claimMeta('treeId', treeId);
      else await logStorage.setMeta('treeId', treeId);
    }
    const storedName = await logStorage.getMeta('name');
    let logName = storedName ?? publicUrl?.name ?? `${hostForUrl(host)}:${port}`;
    if (logStorage instanceof PostgresLogStorage) logName = await logStorage.claimMeta('name', logName);
    if (production && storedName !== undefined && storedName !== publicUrl!.name) {
      throw new ServiceError(
        500,
        'LOG_NAME_MISMATCH',
        `the transparency log in ${logDir} is named ${storedName} (its checkpoint origin, fixed at its first start), not ${publicUrl!.name} as --public-url ${publicUrl!.base} says: start with --public-url matching it, or use a new --dir`,
      );
    }
    if (!(logStorage instanceof PostgresLogStorage)) await logStorage.setMeta('name', logName);
    const logUrl = `${publicUrl?.scheme ?? (options.tls ? 'https' : 'http')}://${logName}`;
    if (!production && logUrl !== origin) {
      warn(`the transparency log is named ${logName} (where it first ran) but now serves at ${origin}: trusted_root.json keeps naming http://${logName}, so that checkpoints verify; run on that address to keep one URL for both`);
    }
    // On PostgreSQL: a cluster front end of the shard, with a sequencer candidate while it is active.
    // Witnesses cosign the shard that takes entries; on PostgreSQL the sequencing process asks them (log/witnessing/cluster.ts).
    const clusterWitnessing: ClusterWitnessingOptions | undefined =
      options.witnessPolicy !== undefined && options.postgres !== undefined
        ? { policyPath: options.witnessPolicy, failClosed: options.witnessFailClosed === true, warn: (message) => warn(`witnessing: ${message}`) }
        : undefined;
    const logEngine =
      logStorage instanceof PostgresLogStorage
        ? await openClusterEngine(logStorage, new LogSigner(logName, logKey), { ...(options.logOptions ?? {}), sequence: !shardRecords[0]!.end, ...(clusterWitnessing && shardRecords.length === 1 ? { witnessing: clusterWitnessing } : {}) })
        : undefined;
    const log = logEngine?.log ?? (await TransparencyLog.open(logStorage, new LogSigner(logName, logKey), options.logOptions ?? {}));
    logStorageOwned = false;
    closers.push(() => (logEngine ? logEngine.close() : log.close()));
    const admission = new AdmissionPool(options.admissionWorkers ?? Math.max(1, availableParallelism() - 1), log.signer);
    closers.push(() => admission.close());
    const logApp = buildLogApp({ log, treeId, admission, logger, ...(logEngine ? { addMetrics: (registry) => logEngine.metrics.forEach((m) => registry.registerMetric(m)) } : {}) });
    const firstWitnessView = logEngine?.witnessing?.view;
    if (firstWitnessView) logApp.get('/api/v1/log/witnesses', async () => firstWitnessView.status());
    closers.push(() => logApp.close());

    // Shards made by rotation (log/shards.ts): all but the last are frozen; the last takes entries.
    const scheme = publicUrl?.scheme ?? (options.tls ? 'https' : 'http');
    const extraShards = [];
    for (const record of shardRecords.slice(1)) {
      const shard = await openLogShard(dir, record, { ...(options.logOptions ? { logOptions: options.logOptions } : {}), admissionWorkers: options.admissionWorkers ?? Math.max(1, availableParallelism() - 1), logger, ...(options.keyPassword ? { keyPassword: options.keyPassword } : {}), ...(options.pkcs11Log ? { hsm: options.pkcs11Log } : {}), ...(options.postgres !== undefined ? { postgres: options.postgres } : {}), ...(clusterWitnessing ? { witnessing: clusterWitnessing } : {}) });
      closers.push(() => shard.close());
      extraShards.push(shard);
    }
    const logShards: StackLogShard[] = [
      { name: logName, url: logUrl, start: shardRecords[0]!.start, ...(shardRecords[0]!.end ? { end: shardRecords[0]!.end } : {}), log },
      ...extraShards.map((shard) => ({ name: shard.name, url: `${scheme}://${shard.name}`, start: shard.record.start, ...(shard.record.end ? { end: shard.record.end } : {}), log: shard.log })),
    ];
    const activeShard = logShards[logShards.length - 1]!;
    const servedShards = [{ path: '', treeId, app: logApp }, ...extraShards.map((shard) => ({ path: shard.record.path, treeId: shard.treeId, app: shard.app }))];
    servedShards.forEach((served, i) => {
      if (logShards[i]!.end) freezeLogApp(served.app, logShards[i]!.end!, activeShard.url);
    });
    // Witnesses cosign the checkpoints of the shard that takes entries (frozen shards' trees no longer grow).
    if (options.witnessPolicy && options.postgres === undefined) {
      const witnessing = loadWitnessing(options.witnessPolicy, activeShard.log, servedShards[servedShards.length - 1]!.app, options);
      closers.push(async () => witnessing.close());
    }
    const logHandler = shardedLogHandler(servedShards);
    // Where clients write: this server's address (the shard's path under it); the trust files name the log by its origin.
    urls.rekor = `${origin}${shardRecords[shardRecords.length - 1]!.path}`;

    // The dev OIDC issuer under /oidc (its URL recorded for `sigstack dev-token --dir`), when on.
    const oidcDir = join(dir, STACK_FILES.oidc);
    let oidcApp: FastifyInstance | undefined;
    if (devIssuer) {
      mkdirSync(oidcDir, { recursive: true, mode: 0o700 });
      const oidcKey = loadOrCreateDevKey(join(oidcDir, 'oidc-dev-key.pem'));
      oidcApp = buildDevOidcApp({ issuerUrl: urls.oidc, key: oidcKey, logger, interactiveFlows: true, defaultEmail: 'you@example.com' });
      closers.push(() => oidcApp!.close());
      writeIfChanged(join(oidcDir, 'oidc-dev-issuer.json'), json({ issuer: urls.oidc }));
    }

    // The CA hierarchy first: the CT log accepts chains to its root.
    const caDir = join(dir, STACK_FILES.ca);
    const hierarchy = options.ca ?? (await createCaHierarchy({ dir: caDir, ...(options.keyPassword ? { passphrase: options.keyPassword } : {}) }));
    const caRoot = X509.fromDer(hierarchy.chain[hierarchy.chain.length - 1]!);

    // The CT log (RFC 6962 under /ct/v1), on its own engine and database.
    const ctDir = join(dir, STACK_FILES.ctlog);
    mkdirSync(ctDir, { recursive: true, mode: 0o700 });
    const ctStorage = options.postgres !== undefined
      ? await PostgresLogStorage.open(options.postgres, { schema: ctlogSchema(state.retired?.ctlog?.length ?? 0), applicationName: `sigstack-up:${process.pid}` })
      : new SqliteLogStorage(join(ctDir, 'ctlog.db'));
    await assertKeyPresent(join(ctDir, 'ctlog-key.pem'), ctStorage, 'the CT log').catch(async (err) => {
      await ctStorage.close();
      throw err;
    });
    const ctKey = loadOrCreateKey(join(ctDir, 'ctlog-key.pem'), 'ecdsa-p256', options.keyPassword);
    let ctStorageOwned = true;
    closers.push(async () => {
      if (ctStorageOwned) await ctStorage.close();
    });
    let ctName = (await ctStorage.getMeta('name')) ?? (publicUrl ? `${publicUrl.name}/ct` : 'sigstack-ctlog');
    if (ctStorage instanceof PostgresLogStorage) ctName = await ctStorage.claimMeta('name', ctName);
    else await ctStorage.setMeta('name', ctName);
    const retiredCas = retiredChains(dir, state, 'ca');
    const oldRoots = retiredRoots(retiredCas).filter((root) => !root.der.equals(caRoot.der));
    let ctLog: CtLog;
    if (ctStorage instanceof PostgresLogStorage) {
      // On PostgreSQL: a cluster front end of the CT log, with a sequencer candidate.
      ctStorageOwned = false;
      const cluster = await openClusterCtLog(ctStorage, { key: ctKey, name: ctName, roots: [caRoot, ...oldRoots] });
      closers.push(() => cluster.engine.close());
      ctLog = cluster.ctLog;
    } else {
      const ctEngine = await TransparencyLog.open(ctStorage, new LogSigner(ctName, ctKey));
      ctStorageOwned = false;
      closers.push(() => ctEngine.close());
      ctLog = new CtLog({ log: ctEngine, privateKey: ctKey.privateKey, roots: [caRoot, ...oldRoots] });
    }
    const ctApp = buildCtApp({ ctLog, logger });
    closers.push(() => ctApp.close());

    // The CA (Fulcio v2), trusting the configured issuers (and the dev issuer when on), with SCTs from the CT log in process.
    const oidcConfig = stackOidcConfig({ ...(options.oidcConfigPath !== undefined ? { configPath: options.oidcConfigPath } : {}), ...(devIssuer ? { devIssuerUrl: urls.oidc } : {}) });
    for (const message of oidcConfig.warnings) warn(`--oidc-config: ${message}`);
    const ca = new SigningCertificateAuthority({ issuer: hierarchy.issuer, chain: hierarchy.chain, verifier: new TokenVerifier(oidcConfig), ctSubmitter: ctLog, ctPublicKey: ctLog.publicKey });
    const caApp = buildCaApp({ ca, oidcConfig, logger });
    closers.push(() => caApp.close());

    // The TSA.
    const tsaChain = await loadOrCreateTsaChain({
      dir: join(dir, STACK_FILES.tsa),
      ...(options.keyPassword ? { password: options.keyPassword } : {}),
      ...(options.tsaSigner ? { signer: options.tsaSigner } : {}),
      ...(options.tsaChainPath ? { certChainPath: options.tsaChainPath } : {}),
    });
    const tsaApp = buildTsaApp({ authority: new TimestampAuthority({ chain: tsaChain }), logger });
    closers.push(() => tsaApp.close());

    // The trust files, then TUF publishing them.
    const trustedRoot = stackTrustedRoot({
      createdAt,
      urls,
      logName,
      logUrl,
      log: log.signer,
      tlogs: logShards.map((shard) => ({ url: shard.url, signer: shard.log.signer, start: shard.start, ...(shard.end ? { end: shard.end } : {}) })),
      ctLog,
      caChain: hierarchy.chain,
      tsaChain: tsaChain.certificates.map((c) => c.der),
      ...(state.retired
        ? {
            retired: {
              cas: retiredCas,
              tsas: retiredChains(dir, state, 'tsa'),
              ctlogs: retiredCtKeys(dir, state),
              caStart: currentStart(state, 'ca'),
              tsaStart: currentStart(state, 'tsa'),
              ctStart: currentStart(state, 'ctlog'),
            },
          }
        : {}),
    });
    const signingConfig = stackSigningConfig(createdAt, urls, devIssuer ? [urls.oidc, ...interactiveIssuers(oidcConfig).filter((u) => u !== urls.oidc)] : interactiveIssuers(oidcConfig), activeShard.start);
    const trustedRootText = json(trustedRoot);
    const signingConfigText = json(signingConfig);
    const files: StackFiles = {
      dir,
      trustedRoot: join(dir, STACK_FILES.trustedRoot),
      signingConfig: join(dir, STACK_FILES.signingConfig),
      tufRoot: join(dir, STACK_FILES.tuf, 'root.json'),
      oidcDir,
    };
    writeIfChanged(files.trustedRoot, trustedRootText);
    writeIfChanged(files.signingConfig, signingConfigText);
    const tuf = TufRepository.open({ dir: join(dir, STACK_FILES.tuf), ...(options.keyPassword ? { keyPassword: options.keyPassword } : {}) });
    tuf.publish(
      [
        { name: TUF_TARGETS.trustedRoot, data: Buffer.from(trustedRootText, 'utf8') },
        { name: TUF_TARGETS.signingConfig, data: Buffer.from(signingConfigText, 'utf8') },
      ],
      { forceTimestamp: true },
    );
    for (const message of tuf.pending) warn(message);
    // A long-running stack keeps its TUF metadata fresh (the timestamp lives a day).
    const refresher = setInterval(() => {
      try {
        tuf.refresh();
      } catch (err) {
        warn(`TUF metadata refresh failed: ${(err as Error).message}`);
      }
    }, 3600_000);
    refresher.unref();
    closers.push(async () => clearInterval(refresher));

    const index = {
      name: 'sigstack',
      description: production ? 'sigstore, whole, in TypeScript' : 'sigstore, whole, in TypeScript (development stack)',
      services: {
        rekor: { url: urls.rekor, apis: ['/api/v1/log', '/api/v2/log/entries', '/checkpoint', '/tile/…'] },
        ...(logShards.length > 1 ? { logShards: logShards.map((shard) => ({ url: shard.url, start: shard.start, ...(shard.end ? { end: shard.end, frozen: true } : {}) })) } : {}),
        ca: { url: urls.ca, apis: ['/api/v2/signingCert', '/api/v2/trustBundle', '/api/v2/configuration'] },
        ct: { url: urls.ct },
        tsa: { url: urls.tsa, certchain: `${urls.tsa}/certchain` },
        ...(devIssuer ? { oidc: { url: urls.oidc, warning: 'development only: issues tokens to anyone' } } : {}),
        issuers: [...oidcConfig.OIDCIssuers.keys(), ...oidcConfig.MetaIssuers.map((m) => m.pattern)],
        tuf: { url: urls.tuf, targets: Object.values(TUF_TARGETS) },
        explorer: { url: `${urls.rekor}/explorer/` },
      },
    };
    const stackApp: FastifyInstance = Fastify({ logger, return503OnClosing: true });
    stackApp.get('/', async () => index);
    registerTufRoutes(stackApp, tuf);
    stackApp.setNotFoundHandler((request, reply) => reply.code(404).send({ code: 404, error: 'NOT_FOUND', message: `no such resource: ${request.method} ${request.url}` }));
    closers.push(() => stackApp.close());

    await Promise.all([logApp, ...extraShards.map((shard) => shard.app), ctApp, caApp, tsaApp, stackApp, ...(oidcApp ? [oidcApp] : [])].map((app) => app.ready()));

    // One port, routes by prefix: each service keeps its own app (error handlers, body parsers).
    dispatch = (req, res) => {
      const url = req.url ?? '/';
      const path = url.split('?', 1)[0] as string;
      if (oidcApp && (path === '/oidc' || path.startsWith('/oidc/'))) {
        const rest = url.slice('/oidc'.length);
        req.url = rest.startsWith('/') ? rest : `/${rest}`;
        return oidcApp.routing(req, res);
      }
      if (path.startsWith('/ct/')) return ctApp.routing(req, res);
      if (path === '/api/v1/timestamp' || path.startsWith('/api/v1/timestamp/')) return tsaApp.routing(req, res);
      if (path.startsWith('/api/v2/') && !path.startsWith('/api/v2/log/')) return caApp.routing(req, res);
      if (path.startsWith('/ca/')) {
        req.url = url.slice('/ca'.length);
        return caApp.routing(req, res);
      }
      if (path === '/' || path.startsWith('/tuf/')) return stackApp.routing(req, res);
      return logHandler(req, res);
    };
    claimStackPid(dir);
    closers.unshift(async () => releaseStackPid(dir));

    return {
      urls,
      files,
      log: activeShard.log,
      logName: activeShard.name,
      logUrl: activeShard.url,
      logShards,
      devIssuer,
      production,
      reloadTls,
      created,
      ...(options.postgres !== undefined ? { postgres: redactUrl(options.postgres) } : {}),
      trustedRoot,
      signingConfig,
      ctLog,
      tuf,
      server,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
