// The log's explorer API as the page calls it (same origin: the log serves the page).

import type { SearchResponse } from '../../src/log/explorer/search-response.js';

export type { SearchEntry, SearchResponse } from '../../src/log/explorer/search-response.js';

export class ApiError extends Error {}

async function answer<T>(response: Response): Promise<T> {
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new ApiError(typeof body?.message === 'string' ? body.message : `the log answered HTTP ${response.status}`);
  return body as T;
}

export async function search(query: string, page: number, size?: number): Promise<SearchResponse> {
  const params = new URLSearchParams({ q: query, page: String(page) });
  if (size !== undefined) params.set('size', String(size));
  return answer(await fetch(`/api/v1/explorer/search?${params.toString()}`));
}

export async function fingerprint(key: string): Promise<{ format: string; fingerprint: string }> {
  return answer(await fetch('/api/v1/explorer/fingerprint', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) }));
}
