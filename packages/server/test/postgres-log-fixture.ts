// What the tests of a PostgreSQL log share: a PostgreSQL server of the test file's own (started
// before its tests; after them, every `log serve` process still running is killed and the server
// removed) and a temporary directory holding an Ed25519 log key.

import { after, before } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@sigstack/core';
import { startLocalPostgres, type LocalPostgres } from '../src/storage/postgres/local-server.js';
import { killLogProcesses } from './log-serve-process.js';

export interface PostgresLogFixture {
  /** The server (once the file's before() ran). */
  readonly server: LocalPostgres;
  dir: string;
  /** dir/log-key.pem */
  keyPath: string;
  keyPem: string;
}

export function postgresLogFixture(prefix: string): PostgresLogFixture {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const keyPath = join(dir, 'log-key.pem');
  const keyPem = generateKeyPair('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  writeFileSync(keyPath, keyPem);
  let server: LocalPostgres | undefined;
  before(async () => {
    server = await startLocalPostgres();
  });
  after(async () => {
    killLogProcesses();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get server() {
      if (!server) throw new Error('the PostgreSQL server is started in before(): use it from a test');
      return server;
    },
    dir,
    keyPath,
    keyPem,
  };
}
