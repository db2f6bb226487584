// The whole sigstack in one process on one port: transparency log (Rekor v1 + v2, tiles) at /,
// the CA (Fulcio v2) at /api/v2/*, CT under /ct/v1, the TSA at /api/v1/timestamp, the dev OIDC
// issuer under /oidc and TUF under /tuf; keys and logs kept in one directory; trust files written.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Name } from '@peculiar/asn1-x509';
import { SIGNING_CONFIG_V02_MEDIA_TYPE, TRUSTED_ROOT_V02_MEDIA_TYPE, X509 } from '@sigstack/core';
import { ServiceError } from './errors.js';
import { loadOrCreateKey } from './keys.js';
import { SqliteLogStorage } from './storage/sqlite.js';
import { TransparencyLog, type LogOptions } from './log/engine/log.js';
import { LogSigner } from './log/engine/log-signer.js';
import { AdmissionPool } from './log/admission/pool.js';
import { buildLogApp } from './log/http/app.js';
import { CtLog } from './ctlog/ct-log.js';
import { buildCtApp } from './ctlog/http.js';
import { createCaHierarchy } from './ca/keys/index.js';
import { parseOidcConfig } from './ca/oidc/config.js';
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
  /** The development OIDC issuer (its `iss`; POST {oidc}/token). */
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
  /** Whether this start created the directory's keys. */
  created: boolean;
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
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function readState(path: string): StackState | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as Partial<StackState>;
    if (typeof state.createdAt === 'string' && !Number.isNaN(Date.parse(state.createdAt))) return { createdAt: state.createdAt };
  } catch {
    // fall through
  }
  throw new ServiceError(500, 'STACK_STATE_INVALID', `${path} is not a sigstack state file ({"createdAt": "<ISO time>"}); fix or remove it`);
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
  log: LogSigner;
  ctLog: CtLog;
  caChain: Buffer[];
  tsaChain: Buffer[];
}

/** trusted_root.json (v0.2): the log, the CA, the CT log and the TSA, each trusted since the stack's first start. */
export function stackTrustedRoot(inputs: TrustInputs): Record<string, unknown> {
  const validFor = { start: inputs.createdAt };
  const [caLeafMost] = inputs.caChain;
  const [tsaLeaf] = inputs.tsaChain;
  return {
    mediaType: TRUSTED_ROOT_V02_MEDIA_TYPE,
    tlogs: [
      {
        // sigstore-js matches a checkpoint's signer name against the base URL: keep them the same.
        baseUrl: `http://${inputs.logName}`,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: inputs.log.spki.toString('base64'), keyDetails: inputs.log.keyDetails, validFor },
        logId: { keyId: inputs.log.logId.toString('base64') },
        operator: 'sigstack',
      },
    ],
    certificateAuthorities: [
      {
        subject: caLeafMost ? subjectOf(caLeafMost) : {},
        uri: inputs.urls.ca,
        certChain: { certificates: inputs.caChain.map((der) => ({ rawBytes: der.toString('base64') })) },
        validFor,
        operator: 'sigstack',
      },
    ],
    ctlogs: [
      {
        baseUrl: inputs.urls.origin,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: inputs.ctLog.spki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
        logId: { keyId: inputs.ctLog.logId.toString('base64') },
        operator: 'sigstack',
      },
    ],
    timestampAuthorities: [
      {
        subject: tsaLeaf ? subjectOf(tsaLeaf) : {},
        uri: inputs.urls.tsa,
        certChain: { certificates: inputs.tsaChain.map((der) => ({ rawBytes: der.toString('base64') })) },
        validFor,
        operator: 'sigstack',
      },
    ],
  };
}

/** signing_config.json (v0.2): the CA, the dev issuer, the log as Rekor v2 and v1 (v2 preferred), the TSA. */
export function stackSigningConfig(createdAt: string, urls: StackUrls): Record<string, unknown> {
  const service = (url: string, majorApiVersion: number) => ({ url, majorApiVersion, validFor: { start: createdAt }, operator: 'sigstack' });
  return {
    mediaType: SIGNING_CONFIG_V02_MEDIA_TYPE,
    caUrls: [service(urls.ca, 1)],
    oidcUrls: [service(urls.oidc, 1)],
    // Both APIs of the one log; clients picking one (ANY) take the newest API they speak.
    rekorTlogUrls: [service(urls.rekor, 2), service(urls.rekor, 1)],
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
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  const statePath = join(dir, STACK_FILES.state);
  let state = readState(statePath);
  const created = state === undefined;
  if (!state) {
    state = { createdAt: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z') };
    writeFileSync(statePath, json(state), { mode: 0o644 });
  }
  const createdAt = state.createdAt;

  // Listen first (port 0 becomes a real port the log can be named after); requests before the
  // services are ready get a 503.
  let dispatch: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let closing = false;
  const server = createServer((req, res) => {
    if (closing) return sendJson(res, 503, { code: 503, error: 'SHUTTING_DOWN', message: 'sigstack is shutting down' });
    if (!dispatch) return sendJson(res, 503, { code: 503, error: 'STARTING', message: 'sigstack is starting; try again in a moment' });
    dispatch(req, res);
  });
  server.keepAliveTimeout = 72_000;
  const port = await listen(server, options.port ?? 3000, host);
  const origin = `http://${hostForUrl(host)}:${port}`;
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
    const logStorage = new SqliteLogStorage(join(logDir, 'log.db'));
    let logStorageOwned = true;
    closers.push(async () => {
      if (logStorageOwned) await logStorage.close();
    });
    const logKey = loadOrCreateKey(join(logDir, 'log-key.pem'), 'ed25519');
    let treeId = await logStorage.getMeta('treeId');
    if (!treeId) {
      treeId = randomBytes(8).toString('hex');
      await logStorage.setMeta('treeId', treeId);
    }
    const logName = (await logStorage.getMeta('name')) ?? `${hostForUrl(host)}:${port}`;
    await logStorage.setMeta('name', logName);
    if (`http://${logName}` !== origin) {
      warn(`the transparency log is named ${logName} (where it first ran) but now serves at ${origin}: trusted_root.json keeps naming http://${logName}, so that checkpoints verify; run on that address to keep one URL for both`);
    }
    const log = await TransparencyLog.open(logStorage, new LogSigner(logName, logKey), options.logOptions ?? {});
    logStorageOwned = false;
    closers.push(() => log.close());
    const admission = new AdmissionPool(options.admissionWorkers ?? Math.max(1, availableParallelism() - 1), log.signer);
    closers.push(() => admission.close());
    const logApp = buildLogApp({ log, treeId, admission, logger });
    closers.push(() => logApp.close());

    // The dev OIDC issuer under /oidc (its URL recorded for `sigstack dev-token --dir`).
    const oidcDir = join(dir, STACK_FILES.oidc);
    mkdirSync(oidcDir, { recursive: true, mode: 0o700 });
    const oidcKey = loadOrCreateDevKey(join(oidcDir, 'oidc-dev-key.pem'));
    const oidcApp = buildDevOidcApp({ issuerUrl: urls.oidc, key: oidcKey, logger, interactiveFlows: true, defaultEmail: 'you@example.com' });
    closers.push(() => oidcApp.close());
    writeIfChanged(join(oidcDir, 'oidc-dev-issuer.json'), json({ issuer: urls.oidc }));

    // The CA hierarchy first: the CT log accepts chains to its root.
    const caDir = join(dir, STACK_FILES.ca);
    const hierarchy = await createCaHierarchy({ dir: caDir });

    // The CT log (RFC 6962 under /ct/v1), on its own engine and database.
    const ctDir = join(dir, STACK_FILES.ctlog);
    mkdirSync(ctDir, { recursive: true, mode: 0o700 });
    const ctKey = loadOrCreateKey(join(ctDir, 'ctlog-key.pem'), 'ecdsa-p256');
    const ctStorage = new SqliteLogStorage(join(ctDir, 'ctlog.db'));
    let ctStorageOwned = true;
    closers.push(async () => {
      if (ctStorageOwned) await ctStorage.close();
    });
    const ctName = (await ctStorage.getMeta('name')) ?? 'sigstack-ctlog';
    await ctStorage.setMeta('name', ctName);
    const ctEngine = await TransparencyLog.open(ctStorage, new LogSigner(ctName, ctKey));
    ctStorageOwned = false;
    closers.push(() => ctEngine.close());
    const ctLog = new CtLog({ log: ctEngine, privateKey: ctKey.privateKey, roots: [hierarchy.root.x509] });
    const ctApp = buildCtApp({ ctLog, logger });
    closers.push(() => ctApp.close());

    // The CA (Fulcio v2), trusting the dev issuer, with SCTs from the CT log in process.
    const oidcConfig = parseOidcConfig(json({ OIDCIssuers: { [urls.oidc]: { IssuerURL: urls.oidc, ClientID: 'sigstore', Type: 'email' } } }), 'sigstack up');
    const ca = new SigningCertificateAuthority({ issuer: hierarchy.issuer, chain: hierarchy.chain, verifier: new TokenVerifier(oidcConfig), ctSubmitter: ctLog, ctPublicKey: ctLog.publicKey });
    const caApp = buildCaApp({ ca, oidcConfig, logger });
    closers.push(() => caApp.close());

    // The TSA.
    const tsaChain = await loadOrCreateTsaChain({ dir: join(dir, STACK_FILES.tsa) });
    const tsaApp = buildTsaApp({ authority: new TimestampAuthority({ chain: tsaChain }), logger });
    closers.push(() => tsaApp.close());

    // The trust files, then TUF publishing them.
    const trustedRoot = stackTrustedRoot({
      createdAt,
      urls,
      logName,
      log: log.signer,
      ctLog,
      caChain: hierarchy.chain,
      tsaChain: tsaChain.certificates.map((c) => c.der),
    });
    const signingConfig = stackSigningConfig(createdAt, urls);
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
    const tuf = TufRepository.open({ dir: join(dir, STACK_FILES.tuf) });
    tuf.publish(
      [
        { name: TUF_TARGETS.trustedRoot, data: Buffer.from(trustedRootText, 'utf8') },
        { name: TUF_TARGETS.signingConfig, data: Buffer.from(signingConfigText, 'utf8') },
      ],
      { forceTimestamp: true },
    );
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
      description: 'sigstore, whole, in TypeScript (development stack)',
      services: {
        rekor: { url: urls.rekor, apis: ['/api/v1/log', '/api/v2/log/entries', '/checkpoint', '/tile/…'] },
        ca: { url: urls.ca, apis: ['/api/v2/signingCert', '/api/v2/trustBundle', '/api/v2/configuration'] },
        ct: { url: urls.ct },
        tsa: { url: urls.tsa, certchain: `${urls.tsa}/certchain` },
        oidc: { url: urls.oidc, warning: 'development only: issues tokens to anyone' },
        tuf: { url: urls.tuf, targets: Object.values(TUF_TARGETS) },
      },
    };
    const stackApp: FastifyInstance = Fastify({ logger, return503OnClosing: true });
    stackApp.get('/', async () => index);
    registerTufRoutes(stackApp, tuf);
    stackApp.setNotFoundHandler((request, reply) => reply.code(404).send({ code: 404, error: 'NOT_FOUND', message: `no such resource: ${request.method} ${request.url}` }));
    closers.push(() => stackApp.close());

    await Promise.all([logApp, oidcApp, ctApp, caApp, tsaApp, stackApp].map((app) => app.ready()));

    // One port, routes by prefix: each service keeps its own app (error handlers, body parsers).
    dispatch = (req, res) => {
      const url = req.url ?? '/';
      const path = url.split('?', 1)[0] as string;
      if (path === '/oidc' || path.startsWith('/oidc/')) {
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
      return logApp.routing(req, res);
    };

    return {
      urls,
      files,
      logName,
      created,
      trustedRoot,
      signingConfig,
      log,
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
