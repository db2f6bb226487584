// Starts the timestamp authority on a port: its key and certificate chain made on first start in
// `dir` (or the key from `keyPath`) and reused on restart, then the HTTP API of app.ts.

import type { CaSigner } from '../ca/keys/signer.js';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildTsaApp } from './app.js';
import { TimestampAuthority, type TimestampAuthorityOptions } from './authority.js';
import { loadOrCreateTsaChain, type TsaChain, type TsaChainOptions } from './chain.js';

export interface TsaServiceOptions {
  /** Data directory: the generated keys and certificates live here (tsa-*.pem). */
  dir: string;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** The TSA signing key as a PEM file (optionally encrypted) instead of the generated one. */
  keyPath?: string;
  /** Password of `keyPath` (or, without it, of the keys generated in `dir`). */
  password?: string;
  /** A PEM chain for the key at `keyPath` (TSA certificate first); else one is issued by the generated root. */
  certChainPath?: string;
  /** A key held elsewhere instead of a file (loadPkcs11TsaSigner: an HSM or SoftHSM2 token). */
  signer?: CaSigner;
  keyType?: TsaChainOptions['keyType'];
  defaultPolicy?: string;
  acceptedPolicies?: string[];
  includeChain?: boolean;
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  /** Options passed on to TimestampAuthority (accuracy, TSA name, clock). */
  authority?: Omit<TimestampAuthorityOptions, 'chain'>;
}

export interface TsaService {
  app: FastifyInstance;
  /** Base URL of the TSA (POST {url}/api/v1/timestamp). */
  url: string;
  chain: TsaChain;
  authority: TimestampAuthority;
  close(): Promise<void>;
}

export async function startTsaService(options: TsaServiceOptions): Promise<TsaService> {
  const host = options.host ?? '127.0.0.1';
  const chain = await loadOrCreateTsaChain({
    dir: options.dir,
    ...(options.keyPath !== undefined ? { keyPath: options.keyPath } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.certChainPath !== undefined ? { certChainPath: options.certChainPath } : {}),
    ...(options.keyType !== undefined ? { keyType: options.keyType } : {}),
    ...(options.signer !== undefined ? { signer: options.signer } : {}),
  });
  const authority = new TimestampAuthority({
    ...options.authority,
    chain,
    ...(options.defaultPolicy !== undefined ? { defaultPolicy: options.defaultPolicy } : {}),
    ...(options.acceptedPolicies !== undefined ? { acceptedPolicies: options.acceptedPolicies } : {}),
    ...(options.includeChain !== undefined ? { includeChain: options.includeChain } : {}),
  });
  const app = buildTsaApp({
    authority,
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { app, url, chain, authority, close: () => app.close() };
}
