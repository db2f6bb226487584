// Small pieces every view uses: copy buttons that announce "Copied", times shown relative with
// the absolute time on hover, an announcer (a polite live region), and links inside the page.

import { h } from './dom.js';

let announcer: HTMLElement | undefined;

export function announcerElement(): HTMLElement {
  announcer ??= h('p', { role: 'status', class: 'visually-hidden', id: 'announcer' });
  return announcer;
}

export function announce(message: string): void {
  const element = announcerElement();
  element.textContent = '';
  // A fresh text node each time, so screen readers announce a repeat too.
  setTimeout(() => (element.textContent = message), 10);
}

async function writeClipboard(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // fall back to a selection copy (clipboard API refused)
  }
  const area = h('textarea', { class: 'visually-hidden', 'aria-hidden': 'true' });
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

export function copyButton(value: string, what: string): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'copy', 'aria-label': `Copy ${what}` }, 'Copy');
  button.addEventListener('click', () => {
    void writeClipboard(value).then(() => {
      announce(`Copied ${what}`);
      button.textContent = 'Copied';
      setTimeout(() => (button.textContent = 'Copy'), 1500);
    });
  });
  return button;
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 31536000],
  ['month', 2592000],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

export function timeElement(seconds: number): HTMLTimeElement {
  const date = new Date(seconds * 1000);
  const delta = seconds - Date.now() / 1000;
  const [unit, size] = UNITS.find(([, s]) => Math.abs(delta) >= s) ?? ['second', 1];
  const absolute = date.toISOString().replace('.000Z', 'Z');
  return h('time', { datetime: absolute, title: `${date.toUTCString()} (${absolute})` }, relative.format(Math.round(delta / size), unit));
}

/** A link to a place in the explorer; main.ts routes clicks on it without reloading. */
export function pageLink(path: string, text: string, attributes: Record<string, string> = {}): HTMLAnchorElement {
  return h('a', { href: path, 'data-route': '', ...attributes }, text);
}

export function searchPath(query: string, page = 1, size?: number): string {
  const params = new URLSearchParams({ q: query });
  if (page > 1) params.set('page', String(page));
  if (size !== undefined && page > 1) params.set('size', String(size));
  return `/explorer/?${params.toString()}`;
}
