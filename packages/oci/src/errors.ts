// The OCI package's one error class: a string `code`, and for a registry call the registry, the
// repository and the HTTP status, so a user reads where it failed and why in one line.

export interface OciErrorDetails {
  registry?: string;
  repository?: string;
  status?: number;
  cause?: unknown;
}

export class OciError extends Error {
  readonly code: string;
  readonly registry: string | undefined;
  readonly repository: string | undefined;
  readonly status: number | undefined;

  constructor(code: string, message: string, details: OciErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'OciError';
    this.code = code;
    this.registry = details.registry;
    this.repository = details.repository;
    this.status = details.status;
  }
}
