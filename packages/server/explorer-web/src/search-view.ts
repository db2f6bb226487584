// The search form (one box; keys pasted or uploaded) and the results: one page, newest first,
// the count announced in a role="status" region, links to older and newer pages.

import { parseQuery } from '../../src/log/explorer/query.js';
import { ApiError, fingerprint, search, type SearchResponse } from './api.js';
import { h, replace } from './dom.js';
import { pageLink, searchPath, timeElement } from './widgets.js';

/** Text that is a public key rather than a search term. */
export function looksLikeKey(text: string): boolean {
  return /^\s*(-----BEGIN |ssh-|ecdsa-sha2-|sk-|untrusted comment:)/.test(text);
}

export function searchForm(current: string, navigate: (path: string) => void): HTMLElement {
  const error = h('p', { id: 'search-error', class: 'error', hidden: true });
  const input = h('input', {
    type: 'search',
    name: 'q',
    id: 'q',
    value: current,
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'search-help',
    placeholder: 'email, SAN (with *), sha256:…, UUID, log index, key:…',
  });
  const markInvalid = (message?: string) => {
    if (message) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', 'search-error search-help');
      error.textContent = message;
      error.hidden = false;
    } else {
      input.removeAttribute('aria-invalid');
      input.setAttribute('aria-describedby', 'search-help');
      error.hidden = true;
      error.textContent = '';
    }
  };
  const searchKey = async (text: string) => {
    try {
      const { fingerprint: fp } = await fingerprint(text);
      navigate(searchPath(`key:${fp}`));
    } catch (err) {
      markInvalid(err instanceof ApiError ? err.message : 'the log could not read this key');
    }
  };
  const form = h('form', { role: 'search', class: 'search', action: '/explorer/', method: 'get' });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    if (looksLikeKey(text)) return void searchKey(text);
    const parsed = parseQuery(text);
    if (!parsed.ok) return markInvalid(parsed.message);
    markInvalid();
    navigate(searchPath(text.trim()));
  });
  input.addEventListener('input', () => {
    const text = input.value;
    const parsed = looksLikeKey(text) ? { ok: true as const } : parseQuery(text);
    markInvalid(parsed.ok ? undefined : parsed.message);
  });

  const keyArea = h('textarea', { id: 'key-text', rows: 6, spellcheck: 'false', 'aria-label': 'Public key (PEM, OpenSSH, PGP or minisign)' });
  const keyFile = h('input', { type: 'file', id: 'key-file', 'aria-label': 'Upload a public key file' });
  keyFile.addEventListener('change', () => {
    const file = keyFile.files?.[0];
    if (file) void file.text().then((text) => searchKey(text));
  });
  const keyForm = h(
    'details',
    { class: 'key-search' },
    h('summary', {}, 'Search by public key'),
    h('label', { for: 'key-text' }, 'Paste a PEM key or certificate, an OpenSSH key, an armored PGP key or a minisign key:'),
    keyArea,
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => void searchKey(keyArea.value) }, 'Search by this key'), h('label', { for: 'key-file' }, 'or upload one: '), keyFile),
  );

  form.append(
    h('label', { for: 'q' }, 'Search the log'),
    h('div', { class: 'row' }, input, h('button', { type: 'submit' }, 'Search')),
    error,
    h('p', { id: 'search-help', class: 'help' }, 'Press / to search. Add after:2026-01-01 or before:2026-02-01T12:00:00Z to filter by time; * matches any text in a SAN.'),
  );
  return h('div', {}, form, keyForm);
}

function countText(result: SearchResponse): string {
  const n = result.count.toLocaleString('en');
  if (result.countIsLowerBound) return `More than ${n} entries`;
  return result.count === 1 ? '1 entry' : `${n} entries`;
}

function resultItem(entry: SearchResponse['entries'][number]): HTMLElement {
  return h(
    'li',
    { class: 'result' },
    h('div', { class: 'result-head' }, pageLink(`/explorer/entry/${entry.uuid}`, `#${entry.index}`, { class: 'index' }), h('span', { class: 'kind' }, `${entry.kind} ${entry.apiVersion}`), timeElement(entry.integratedTime)),
    entry.identities.length > 0 ? h('div', { class: 'identities' }, entry.identities.join(', ')) : null,
    entry.digests.length > 0 ? h('div', { class: 'digest mono' }, 'digest ', entry.digests[0]!) : null,
    h('div', { class: 'uuid mono' }, 'UUID ', entry.uuid),
  );
}

export async function renderSearch(main: HTMLElement, query: string, page: number, size: number | undefined): Promise<void> {
  const status = h('p', { role: 'status', class: 'count' }, 'Searching…');
  const results = h('div', { class: 'results' });
  replace(main, h('h2', { class: 'visually-hidden' }, 'Results'), status, results);
  const parsed = parseQuery(query);
  if (!parsed.ok) {
    status.textContent = 'No search made';
    replace(results, h('p', { role: 'alert', class: 'error' }, parsed.message));
    return;
  }
  let result: SearchResponse;
  try {
    result = await search(query, page, size);
  } catch (err) {
    status.textContent = 'Search failed';
    replace(results, h('p', { role: 'alert', class: 'error' }, `The search failed: ${(err as Error).message}`));
    return;
  }
  status.textContent = `${countText(result)}${query ? '' : ' in the log'}`;
  const pages = Math.max(1, Math.ceil(result.count / result.pageSize));
  const nav = h('nav', { 'aria-label': 'Pages', class: 'pages' });
  if (page > 1) nav.append(pageLink(searchPath(query, page - 1, result.treeSize), 'Newer', { rel: 'prev' }));
  nav.append(h('span', {}, `Page ${page} of ${pages}${result.countIsLowerBound ? '+' : ''}`));
  if (result.entries.length === result.pageSize && (page < pages || result.countIsLowerBound)) nav.append(pageLink(searchPath(query, page + 1, result.treeSize), 'Older', { rel: 'next' }));
  replace(results, h('ol', { class: 'result-list' }, ...result.entries.map(resultItem)), nav);
}
