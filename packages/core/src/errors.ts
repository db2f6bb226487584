// The one error class of @sigstack/core: every malformed input becomes a CoreError with a
// stable string `code` and a message that says what was wrong and what to do.

export class CoreError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CoreError';
    this.code = code;
  }
}

/** Throws a CoreError with `code` unless `condition` holds. */
export function ensure(condition: unknown, code: string, message: string): asserts condition {
  if (!condition) throw new CoreError(code, message);
}
