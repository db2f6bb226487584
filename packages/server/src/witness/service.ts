// Starts a witness: its Ed25519 cosigner key (witness-key.pem) and state (witness.db) in the
// data directory, the trusted logs (origin → log verifier keys), and the HTTP server.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreError, mldsaKeyPair, parseVerifierKey, type VerifierKey } from '@sigstack/core';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { ServiceError } from '../errors.js';
import { loadOrCreateKey } from '../keys.js';
import { buildWitnessApp } from './http.js';
import { WitnessState } from './state.js';
import { Witness } from './witness.js';

export interface WitnessServiceOptions {
  dir: string;
  /** The witness's name (its cosignature key name), e.g. "witness.example/w1". */
  name: string;
  /** Trusted logs: `ORIGIN=VKEY` strings (a log may be named more than once for several keys). */
  logs: string[];
  port?: number;
  host?: string;
  logger?: FastifyServerOptions['logger'];
  /** Also cosign with ML-DSA-44 (type 0x06); its seed is kept in D/witness-mldsa44.seed. */
  mldsa?: boolean;
}

export interface WitnessService {
  url: string;
  vkey: string;
  /** The ML-DSA-44 vkey, with the mldsa option. */
  mldsaVkey?: string;
  witness: Witness;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Parses `ORIGIN=VKEY` pairs into trusted keys per origin; throws WITNESS_LOG_INVALID. */
export function parseWitnessLogs(specs: readonly string[]): Map<string, VerifierKey[]> {
  const logs = new Map<string, VerifierKey[]>();
  for (const spec of specs) {
    // The origin is everything before the first '=' (a vkey's base64 may end in '=').
    const split = spec.indexOf('=');
    if (split <= 0) throw new ServiceError(400, 'WITNESS_LOG_INVALID', `--log ${JSON.stringify(spec)} must be ORIGIN=VKEY`);
    const origin = spec.slice(0, split);
    let key: VerifierKey;
    try {
      key = parseVerifierKey(spec.slice(split + 1));
    } catch (err) {
      if (err instanceof CoreError) throw new ServiceError(400, 'WITNESS_LOG_INVALID', `--log ${origin}: ${err.message}`);
      throw err;
    }
    logs.set(origin, [...(logs.get(origin) ?? []), key]);
  }
  return logs;
}

/** The ML-DSA-44 key pair from the 32-byte seed at `path`, made there (mode 0600) when absent. */
export function loadOrCreateMldsaKeys(path: string): { publicKey: Buffer; secretKey: Buffer } {
  if (!existsSync(path)) writeFileSync(path, randomBytes(32), { mode: 0o600, flag: 'wx' });
  const seed = readFileSync(path);
  if (seed.length !== 32) throw new ServiceError(500, 'KEY_INVALID', `${path} must hold a 32-byte ML-DSA-44 seed`);
  return mldsaKeyPair(seed);
}

export async function startWitnessService(options: WitnessServiceOptions): Promise<WitnessService> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const logs = parseWitnessLogs(options.logs);
  const key = loadOrCreateKey(join(options.dir, 'witness-key.pem'), 'ed25519');
  const state = new WitnessState(join(options.dir, 'witness.db'));
  let witness: Witness;
  try {
    witness = new Witness(options.name, key.privateKey, logs, state, undefined, options.mldsa ? loadOrCreateMldsaKeys(join(options.dir, 'witness-mldsa44.seed')) : undefined);
  } catch (err) {
    state.close();
    if (err instanceof CoreError) throw new ServiceError(400, 'WITNESS_NAME_INVALID', `--name: ${err.message}`);
    throw err;
  }
  const app = buildWitnessApp({
    witness,
    logger: options.logger ?? false,
    // A validly signed checkpoint that is not consistent may be proof of log misbehaviour: log it.
    onAnswer: (status, reason) => {
      if (status === 422) app.log.warn({ status, reason }, 'refused a checkpoint (422: bad proof, or not consistent with the one cosigned)');
    },
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await app.listen({ port: options.port ?? 0, host });
  } catch (err) {
    state.close();
    throw err;
  }
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://${host}:${port}`,
    vkey: witness.vkey,
    ...(witness.mldsaVkey ? { mldsaVkey: witness.mldsaVkey } : {}),
    witness,
    app,
    async close() {
      await app.close();
      state.close();
    },
  };
}
