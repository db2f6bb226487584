// The stack's witnessing tests (stack-witness.test.ts) with the logs in PostgreSQL (`up
// --postgres --witness-policy`): the sequencing process asks the witness, and the cosigned
// checkpoint comes from the database. Each test's stack gets a database of its own.

import { after } from 'node:test';
import { startLocalPostgres } from '../src/storage/postgres/local-server.js';
import { stackStore } from './stack-store.js';

const server = await startLocalPostgres();
stackStore.createDatabase = () => server.createDatabase();
await import('./stack-witness.test.js');
after(async () => {
  await server.close();
});
