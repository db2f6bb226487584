// Starts a transparency log service: data directory (SQLite file, generated key, tree ID and
// name kept across restarts), the engine, and the HTTP server on a port.

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { loadOrCreateKey, loadPrivateKeyPem, type KeyType } from '../keys.js';
import { SqliteLogStorage } from '../storage/sqlite.js';
import { TransparencyLog, type LogOptions } from './engine/log.js';
import { LogSigner } from './engine/log-signer.js';
import { AdmissionPool } from './admission/pool.js';
import { buildLogApp } from './http/app.js';
import { loadWitnessing } from './witnessing/load.js';

export interface LogServiceOptions extends LogOptions {
  /** Data directory (created): log.db, log-key.pem. */
  dir: string;
  port?: number;
  host?: string;
  /** A PEM private key to sign with instead of the generated one. */
  keyPath?: string;
  keyType?: KeyType;
  /** The log's name (checkpoint origin); default: host:port of the first start, then kept. */
  name?: string;
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  /** Worker threads that check proposed entries; default one per core beyond the first (at least 1), 0 = inline. */
  admissionWorkers?: number;
  /** A C2SP tlog-policy file: the witnesses (with URLs) to ask for cosignatures, and the quorum. */
  witnessPolicy?: string;
  /** Publish a checkpoint only once the policy's quorum cosigned it (default: fail-open). */
  witnessFailClosed?: boolean;
  /** Time each witness gets per checkpoint (default 1000 ms). */
  witnessTimeoutMs?: number;
}

export interface LogService {
  url: string;
  log: TransparencyLog;
  app: FastifyInstance;
  treeId: string;
  close(): Promise<void>;
}

export async function startLogService(options: LogServiceOptions): Promise<LogService> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const host = options.host ?? '127.0.0.1';
  const storage = new SqliteLogStorage(join(options.dir, 'log.db'));
  const key = options.keyPath ? loadPrivateKeyPem(options.keyPath) : loadOrCreateKey(join(options.dir, 'log-key.pem'), options.keyType);

  let treeId = await storage.getMeta('treeId');
  if (!treeId) {
    treeId = randomBytes(8).toString('hex');
    await storage.setMeta('treeId', treeId);
  }
  // The name is part of the log's identity (checkpoints, Ed25519 log ID): fixed at first start.
  let port = options.port ?? 0;
  let name = options.name ?? (await storage.getMeta('name'));
  if (!name) {
    if (port === 0) port = await freePort(host);
    name = `${host}:${port}`;
  }
  await storage.setMeta('name', name);

  const log = await TransparencyLog.open(storage, new LogSigner(name, key), options);
  const admission = new AdmissionPool(options.admissionWorkers ?? Math.max(1, availableParallelism()), log.signer);
  const server = buildLogApp({ log, treeId, admission, ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}), logger: options.logger ?? false });
  const witnessing = options.witnessPolicy ? loadWitnessing(options.witnessPolicy, log, server, options) : undefined;
  await server.listen({ port, host });
  const address = server.server.address() as { port: number };
  return {
    url: `http://${host}:${address.port}`,
    log,
    app: server,
    treeId,
    async close() {
      witnessing?.close();
      await server.close();
      await admission.close();
      await log.close();
    },
  };
}

/** A port free on `host` right now (to name a log after where it will listen). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
