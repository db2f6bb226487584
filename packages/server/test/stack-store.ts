// Where the stack tests keep the logs: SQLite files in the stack directory by default; a
// PostgreSQL database when a wrapper (stack-postgres.test.ts) sets one before importing them, so
// the same tests run on both stores.

export const stackStore: { postgres?: string } = {};

/** startStack options for the store under test. */
export function storeOptions(): { postgres?: string } {
  return stackStore.postgres ? { postgres: stackStore.postgres } : {};
}

/** CLI arguments (log rotate, up) for the store under test. */
export function storeArgs(): string[] {
  return stackStore.postgres ? ['--postgres', stackStore.postgres] : [];
}
