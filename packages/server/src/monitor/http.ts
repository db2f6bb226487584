// The monitor's HTTP reads: text or JSON, with errors that tell an unreachable service (an
// error, exit 1) from one that answered with a failure status (the caller decides).

import { ServiceError } from '../errors.js';

export class HttpStatusError extends ServiceError {
  constructor(
    readonly url: string,
    readonly httpStatus: number,
    body: string,
  ) {
    super(502, 'MONITOR_REQUEST_FAILED', `GET ${url} answered ${httpStatus}: ${body.slice(0, 200).trim()}`);
  }
}

export async function fetchBytes(url: string, init?: RequestInit): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new ServiceError(503, 'MONITOR_UNREACHABLE', `cannot reach ${url}: ${String((err as Error).cause ?? (err as Error).message)}`);
  }
  const body = Buffer.from(await response.arrayBuffer());
  if (!response.ok) throw new HttpStatusError(url, response.status, body.toString('utf8'));
  return body;
}

export async function fetchText(url: string, init?: RequestInit): Promise<string> {
  return (await fetchBytes(url, init)).toString('utf8');
}

export async function fetchJson<T>(url: string, init?: RequestInit): Promise<T> {
  const text = await fetchText(url, init);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ServiceError(502, 'MONITOR_RESPONSE_INVALID', `${url} did not answer JSON`);
  }
}

/** Runs `tasks` with at most `limit` in flight, keeping their order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return results;
}
