// The services' error class: a string `code`, the HTTP status to answer with, and a message
// that says what was wrong with the request and what to do. Never carries a secret.

export class ServiceError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(status: number, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServiceError';
    this.status = status;
    this.code = code;
  }
}

/** A 400: the request is malformed or its signature does not verify. */
export function badRequest(code: string, message: string): ServiceError {
  return new ServiceError(400, code, message);
}
