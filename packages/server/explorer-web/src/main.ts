// The explorer page: reads the log's key (written into the page by the log at start-up), shows
// it, and routes /explorer/?q=…&page=N, /explorer/entry/UUID and /explorer/index/N with the
// History API (reload and back/forward keep the state). "/" focuses the search box.

import { hex, toBase64 } from './bytes.js';
import { logKeyFrom, type LogKey } from './checkpoint.js';
import { h, replace } from './dom.js';
import { renderEntry } from './entry-view.js';
import { renderSearch, searchForm } from './search-view.js';
import { announcerElement } from './widgets.js';

interface Config {
  name: string;
  publicKey: string;
  keyType: 'ed25519' | 'ecdsa-p256';
  keyId: string;
  treeId: string;
}

const config = JSON.parse(document.getElementById('explorer-config')?.textContent ?? 'null') as Config;
const key: LogKey = logKeyFrom(config);

function pem(der: Uint8Array): string {
  return `-----BEGIN PUBLIC KEY-----\n${toBase64(der).match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----`;
}

function header(): HTMLElement {
  return h(
    'header',
    {},
    h('h1', {}, h('a', { href: '/explorer/', 'data-route': '' }, 'sigstack log explorer')),
    h(
      'details',
      { class: 'log-key' },
      h('summary', {}, `Log ${config.name} · key ID ${hex(key.keyId.slice(0, 4))}`),
      h(
        'dl',
        {},
        h('dt', {}, 'Log name (checkpoint origin)'),
        h('dd', {}, config.name),
        h('dt', {}, 'Key type'),
        h('dd', {}, config.keyType === 'ed25519' ? 'Ed25519' : 'ECDSA P-256'),
        h('dt', {}, 'Log ID (trusted root tlogs[].logId.keyId)'),
        h('dd', { class: 'mono', id: 'log-id' }, toBase64(key.keyId)),
        h('dt', {}, 'Log ID (hex)'),
        h('dd', { class: 'mono' }, config.keyId),
      ),
      h('pre', { class: 'key', 'aria-label': "The log's public key" }, pem(key.spki)),
      h('p', { class: 'help' }, 'Every checkpoint is checked against this key, compiled into the page by the log from its own key file. Compare it with your trusted root.'),
    ),
  );
}

const main = h('main', { id: 'main', tabindex: -1 });
const searchSlot = h('div', { class: 'search-slot' });

function navigate(path: string): void {
  history.pushState(null, '', path);
  void render();
}

async function render(): Promise<void> {
  const url = new URL(location.href);
  const entry = /^\/explorer\/entry\/([^/]+)$/.exec(url.pathname);
  const index = /^\/explorer\/index\/([^/]+)$/.exec(url.pathname);
  const query = url.searchParams.get('q') ?? '';
  const hadFocus = document.activeElement?.id === 'q';
  replace(searchSlot, searchForm(entry || index ? '' : query, navigate));
  if (hadFocus) (document.getElementById('q') as HTMLInputElement | null)?.focus();
  if (entry || index) {
    await renderEntry(main, decodeURIComponent((entry ?? index)![1]!), key);
    return;
  }
  document.title = query ? `${query} · sigstack log explorer` : 'sigstack log explorer';
  const page = Math.max(1, Number.parseInt(url.searchParams.get('page') ?? '1', 10) || 1);
  const size = url.searchParams.get('size');
  await renderSearch(main, query, page, size && /^\d+$/.test(size) ? Number(size) : undefined);
}

document.body.append(h('a', { href: '#main', class: 'skip' }, 'Skip to content'), header(), searchSlot, main, announcerElement());

document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest?.('a[data-route]') as HTMLAnchorElement | null;
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute('href')!);
});

document.addEventListener('keydown', (event) => {
  const target = event.target as HTMLElement;
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
  if (target.closest('input, textarea, select, [contenteditable]')) return;
  event.preventDefault();
  (document.getElementById('q') as HTMLInputElement | null)?.focus();
});

window.addEventListener('popstate', () => void render());
void render();
