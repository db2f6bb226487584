// The signing client's one error class: a string `code`, and for a failed call the service, the
// URL and the cause, so a user reads which service failed, where, and why, in one line.

export interface SignErrorDetails {
  /** The service that failed, e.g. "certificate authority", "transparency log", "timestamp authority". */
  service?: string;
  url?: string;
  /** The HTTP status of the failed answer, when there was one. */
  status?: number;
  cause?: unknown;
}

export class SignError extends Error {
  readonly code: string;
  readonly service: string | undefined;
  readonly url: string | undefined;
  readonly status: number | undefined;

  constructor(code: string, message: string, details: SignErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SignError';
    this.code = code;
    this.service = details.service;
    this.url = details.url;
    this.status = details.status;
  }
}

/** The message of any thrown value, for one-line error texts. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    // fetch() reports "fetch failed" with the real reason (ECONNREFUSED…) in its cause.
    if (err.message === 'fetch failed' && cause instanceof Error) return `${cause.message}`;
    return err.message;
  }
  return String(err);
}
