// The CLI's error class: bad flags or unreadable inputs, with a code and what to do.

export class CliError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}

/** One line for the user: the code and the message, never a stack trace. */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && typeof e.message === 'string' && /^[A-Z0-9_]+$/.test(e.code)) return `[${e.code}] ${e.message}`;
  return `[INTERNAL_ERROR] ${(e?.message as string) ?? String(err)}`;
}
