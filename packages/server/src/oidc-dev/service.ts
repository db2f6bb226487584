// Starts the development OIDC issuer on a port: key generated on first start in `dir`, the issuer
// URL derived from the bound address unless given, and a loud warning that it is for development.

import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildDevOidcApp, DEV_OIDC_WARNING } from './app.js';
import type { DevOidcFlowOptions } from './flows.js';
import { loadOrCreateDevKey, type DevOidcAlgorithm, type DevSigningKey } from './key.js';

export interface DevOidcIssuerOptions extends DevOidcFlowOptions {
  /** Data directory; the key is `oidc-dev-key.pem` in it. */
  dir: string;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** The issuer URL, when clients reach it by another name (default http://host:port). */
  issuerUrl?: string;
  /** Algorithm of a generated key (default ES256); an existing key keeps its own. */
  alg?: DevOidcAlgorithm;
  logger?: FastifyServerOptions['logger'];
  /** Where the startup warning goes (default: a JSON log line on stderr). */
  warn?: (message: string) => void;
}

export interface DevOidcIssuer {
  app: FastifyInstance;
  /** The issuer URL (`iss`). */
  url: string;
  key: DevSigningKey;
  keyPath: string;
  close(): Promise<void>;
}

function defaultWarn(message: string): void {
  process.stderr.write(`${JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg: message })}\n`);
}

export async function startDevOidcIssuer(options: DevOidcIssuerOptions): Promise<DevOidcIssuer> {
  const host = options.host ?? '127.0.0.1';
  const keyPath = join(options.dir, 'oidc-dev-key.pem');
  const key = loadOrCreateDevKey(keyPath, options.alg);
  let url = options.issuerUrl ?? '';
  const flows: DevOidcFlowOptions = {};
  for (const name of ['interactiveFlows', 'defaultEmail', 'codeLifetimeSeconds', 'deviceCodeLifetimeSeconds', 'deviceIntervalSeconds'] as const) {
    if (options[name] !== undefined) (flows as Record<string, unknown>)[name] = options[name];
  }
  const app = buildDevOidcApp({ ...flows, issuerUrl: () => url, key, ...(options.logger !== undefined ? { logger: options.logger } : {}) });
  await app.listen({ port: options.port ?? 0, host });
  if (!options.issuerUrl) {
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
  (options.warn ?? defaultWarn)(`sigstack dev OIDC issuer at ${url}: ${DEV_OIDC_WARNING}`);
  return { app, url, key, keyPath, close: () => app.close() };
}
