// The verifier's one error class: a stable `code` naming the check that failed and a message
// saying what was wrong. Core parsing errors are carried over with their own codes.

import { CoreError } from '@sigstack/core';

export class VerificationError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerificationError';
    this.code = code;
  }
}

/** Turns any error thrown while verifying into a VerificationError, keeping core's codes. */
export function asVerificationError(err: unknown): VerificationError {
  if (err instanceof VerificationError) return err;
  if (err instanceof CoreError) return new VerificationError(err.code, err.message, { cause: err });
  return new VerificationError('INTERNAL_ERROR', `unexpected failure: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

export function fail(code: string, message: string): never {
  throw new VerificationError(code, message);
}
