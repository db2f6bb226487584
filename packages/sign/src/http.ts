// HTTP for the service clients: one request with a timeout, retried with exponential backoff
// (and jitter) on network errors, timeouts, 5xx and 429 answers only; every failure becomes a
// SignError naming the service, the URL and the cause.

import { setTimeout as sleep } from 'node:timers/promises';
import { SignError, messageOf } from './errors.js';

export interface RetryOptions {
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** First backoff in ms, doubled each retry, with up to 50% jitter (default 250). */
  backoffMs?: number;
  /** Longest single backoff in ms (default 5000). */
  maxBackoffMs?: number;
  /** Per-attempt timeout in ms (default 30000). */
  timeoutMs?: number;
}

export interface HttpRequest extends RetryOptions {
  service: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Called before each retry: attempt number (1-based) and why. */
  onRetry?: (attempt: number, reason: string) => void;
  userAgent?: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** Attempts made (1 when the first one answered). */
  attempts: number;
  url: string;
}

export const USER_AGENT = 'sigstack-sign/0.1.0';

function retryable(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** A short description of an error answer: its JSON `message` / `error`, or its text. */
export function describeAnswer(response: { status: number; body: Buffer }): string {
  const text = response.body.toString('utf8').trim();
  let detail = text;
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const message = json.message ?? json.error_description ?? json.error ?? json.detail;
    if (typeof message === 'string') detail = message;
  } catch {
    // not JSON: keep the text
  }
  if (detail.length > 300) detail = `${detail.slice(0, 300)}…`;
  return `HTTP ${response.status}${detail ? `: ${detail}` : ''}`;
}

/**
 * Sends the request; answers with any status below 500 (the caller decides what a 4xx means).
 * Throws SignError SERVICE_UNREACHABLE (network / timeout) or SERVICE_ERROR (5xx, 429) once
 * the retries are used up.
 */
export async function httpRequest(request: HttpRequest): Promise<HttpResponse> {
  const retries = request.retries ?? 3;
  const backoff = request.backoffMs ?? 250;
  const maxBackoff = request.maxBackoffMs ?? 5000;
  const timeout = request.timeoutMs ?? 30_000;
  const headers: Record<string, string> = { 'user-agent': request.userAgent ?? USER_AGENT, ...request.headers };
  let lastError: SignError | undefined;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    let wait: number | undefined;
    try {
      const init: RequestInit = { method: request.method ?? 'GET', headers, signal: AbortSignal.timeout(timeout), redirect: 'follow' };
      if (request.body !== undefined) init.body = request.body as BodyInit;
      const response = await fetch(request.url, init);
      const body = Buffer.from(await response.arrayBuffer());
      const answer: HttpResponse = { status: response.status, headers: response.headers, body, attempts: attempt, url: request.url };
      if (!retryable(response.status)) return answer;
      lastError = new SignError('SERVICE_ERROR', `${request.service} at ${request.url} failed: ${describeAnswer(answer)}`, {
        service: request.service,
        url: request.url,
        status: response.status,
      });
      wait = retryAfterMs(response.headers);
    } catch (err) {
      const timedOut = (err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError';
      const why = timedOut ? `no answer within ${timeout} ms` : messageOf(err);
      lastError = new SignError('SERVICE_UNREACHABLE', `${request.service} at ${request.url} could not be reached: ${why}`, {
        service: request.service,
        url: request.url,
        cause: err,
      });
    }
    if (attempt > retries) break;
    request.onRetry?.(attempt, lastError.message);
    const exponential = Math.min(maxBackoff, backoff * 2 ** (attempt - 1));
    const delay = wait !== undefined ? Math.min(maxBackoff, wait) : exponential * (0.5 + Math.random() / 2);
    await sleep(delay);
  }
  const error = lastError as SignError;
  if (retries > 0) error.message += ` (gave up after ${retries + 1} attempts)`;
  throw error;
}

/** Parses a JSON answer body; throws SERVICE_RESPONSE_INVALID naming the service. */
export function jsonBody(service: string, response: HttpResponse): unknown {
  try {
    return JSON.parse(response.body.toString('utf8'));
  } catch (err) {
    throw new SignError('SERVICE_RESPONSE_INVALID', `${service} at ${response.url} answered HTTP ${response.status} with a body that is not JSON`, {
      service,
      url: response.url,
      status: response.status,
      cause: err,
    });
  }
}

/** The error for an answer the caller does not accept (4xx). */
export function answerError(service: string, response: HttpResponse, code = 'SERVICE_REJECTED', what = 'refused the request'): SignError {
  return new SignError(code, `${service} at ${response.url} ${what}: ${describeAnswer(response)}`, { service, url: response.url, status: response.status });
}

/** POSTs `body` as JSON, accepting JSON: the request every service client's create call makes. */
export function postJson(request: Omit<HttpRequest, 'method' | 'headers' | 'body'>, body: unknown): Promise<HttpResponse> {
  return httpRequest({ ...request, method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
}

/** Joins a service base URL and a path ("/api/v1/…"), keeping any path prefix of the base. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
}
