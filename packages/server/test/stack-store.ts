// Where the stack tests keep the logs: SQLite files in the stack directory by default; a
// PostgreSQL database when a wrapper (stack-postgres.test.ts) sets one before importing them, so
// the same tests run on both stores.

export const stackStore: { postgres?: string; createDatabase?: () => Promise<string> } = {};

/** startStack options for the store under test. */
export function storeOptions(): { postgres?: string } {
  return stackStore.postgres ? { postgres: stackStore.postgres } : {};
}

/** CLI arguments (log rotate, up) for the store under test. */
export function storeArgs(): string[] {
  return stackStore.postgres ? ['--postgres', stackStore.postgres] : [];
}

/** startStack options for a stack of its own: on PostgreSQL, in a new database (two stacks would share schemas). */
export async function freshStoreOptions(): Promise<{ postgres?: string }> {
  return stackStore.createDatabase ? { postgres: await stackStore.createDatabase() } : storeOptions();
}
