// The log engine's shared suite (log-engine-suite.ts) on PostgreSQL: one server of the test's
// own for the file, a fresh database per test.

import { after, before } from 'node:test';
import { startLocalPostgres, type LocalPostgres } from '../src/storage/postgres/local-server.js';
import { PostgresLogStorage } from '../src/storage/postgres/postgres.js';
import { engineSuite } from './log-engine-suite.js';

let server: LocalPostgres;
before(async () => {
  server = await startLocalPostgres();
});
after(async () => {
  await server.close();
});

engineSuite({
  name: 'PostgreSQL',
  async create() {
    const url = await server.createDatabase();
    return {
      open: () => PostgresLogStorage.open(url),
      async cleanup() {},
    };
  },
});
