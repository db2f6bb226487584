// Starts a CT log service: its data directory (own SQLite file, ECDSA P-256 key generated 0600 on
// first start, name kept across restarts), the shared log engine under it, and the RFC 6962 API.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { X509, pemDecodeAll } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { loadOrCreateKey, loadPrivateKeyPem } from '../keys.js';
import { TransparencyLog, type LogOptions } from '../log/engine/log.js';
import { LogSigner } from '../log/engine/log-signer.js';
import { SqliteLogStorage } from '../storage/sqlite.js';
import { CtLog } from './ct-log.js';
import { DEFAULT_CT_PREFIX, buildCtApp } from './http.js';

export const CT_FILES = { db: 'ctlog.db', key: 'ctlog-key.pem' } as const;

export interface CtLogServiceOptions extends LogOptions {
  /** Data directory (created): ctlog.db, ctlog-key.pem. */
  dir: string;
  port?: number;
  host?: string;
  /** Accepted roots as PEM text (one or more CERTIFICATE blocks) … */
  rootsPem?: string;
  /** … or parsed. */
  roots?: X509[];
  /** A PEM ECDSA P-256 private key to sign with instead of the generated one. */
  keyPath?: string;
  /** Where the RFC 6962 paths live (default /ct/v1). */
  prefix?: string;
  /** The engine's checkpoint origin (kept after the first start; default "sigstack-ctlog"). */
  name?: string;
  bodyLimit?: number;
  /** Most entries per get-entries (default 256). */
  maxGetEntries?: number;
  logger?: FastifyServerOptions['logger'];
}

export interface CtLogService {
  /** The server's origin, http://host:port. */
  url: string;
  /** The RFC 6962 API root (url + prefix). */
  apiUrl: string;
  ctLog: CtLog;
  log: TransparencyLog;
  app: FastifyInstance;
  close(): Promise<void>;
}

export function rootsFrom(options: Pick<CtLogServiceOptions, 'roots' | 'rootsPem'>): X509[] {
  const roots = [...(options.roots ?? [])];
  if (options.rootsPem !== undefined) {
    try {
      for (const block of pemDecodeAll(options.rootsPem)) if (block.label === 'CERTIFICATE') roots.push(X509.fromDer(block.der));
    } catch (err) {
      throw new ServiceError(500, 'CT_ROOTS_INVALID', `the CT log's roots are not PEM certificates: ${(err as Error).message}`, { cause: err });
    }
  }
  if (roots.length === 0) throw new ServiceError(500, 'CT_ROOTS_MISSING', 'the CT log needs at least one accepted root: give rootsPem or roots (the CA\'s root certificate)');
  return roots;
}

export async function startCtLogService(options: CtLogServiceOptions): Promise<CtLogService> {
  const roots = rootsFrom(options);
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const host = options.host ?? '127.0.0.1';
  const key = options.keyPath ? loadPrivateKeyPem(options.keyPath) : loadOrCreateKey(join(options.dir, CT_FILES.key), 'ecdsa-p256');
  if (key.privateKey.asymmetricKeyType !== 'ec' || key.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ServiceError(500, 'CT_KEY_INVALID', `the CT log key${options.keyPath ? ` ${options.keyPath}` : ''} is not an ECDSA P-256 key, which RFC 6962 logs use`);
  }
  const storage = new SqliteLogStorage(join(options.dir, CT_FILES.db));
  let log: TransparencyLog | undefined;
  try {
    const name = options.name ?? (await storage.getMeta('name')) ?? 'sigstack-ctlog';
    await storage.setMeta('name', name);
    log = await TransparencyLog.open(storage, new LogSigner(name, key), options);
    const ctLog = new CtLog({ log, privateKey: key.privateKey, roots, ...(options.maxGetEntries ? { maxGetEntries: options.maxGetEntries } : {}) });
    const prefix = options.prefix ?? DEFAULT_CT_PREFIX;
    const app = buildCtApp({ ctLog, prefix, ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}), logger: options.logger ?? false });
    await app.listen({ port: options.port ?? 0, host });
    const address = app.server.address() as { port: number };
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    const opened = log;
    return {
      url,
      apiUrl: url + prefix.replace(/\/+$/, ''),
      ctLog,
      log: opened,
      app,
      async close() {
        await app.close();
        await opened.close();
      },
    };
  } catch (err) {
    if (log) await log.close().catch(() => {});
    else await storage.close().catch(() => {});
    throw err;
  }
}
