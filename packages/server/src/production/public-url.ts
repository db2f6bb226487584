// The stack's public URL (`sigstack up --public-url`): where clients reach it, whatever address it
// binds. Every URL in trusted_root.json and signing_config.json and every log origin derive from it.

import { ServiceError } from '../errors.js';

export interface PublicUrl {
  /** scheme://host[:port][/path], no trailing slash: the base of every service URL. */
  base: string;
  scheme: 'http' | 'https';
  /** host[:port][/path] (the base without its scheme): the log's checkpoint origin. */
  name: string;
  /** The path prefix ('' or '/path'): a reverse proxy may strip it or pass it through. */
  pathPrefix: string;
}

export function parsePublicUrl(text: string): PublicUrl {
  const bad = (why: string) => new ServiceError(500, 'PUBLIC_URL_INVALID', `--public-url ${JSON.stringify(text)} ${why}; give the URL clients use, e.g. https://sigstore.example.com`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('must be an https (or http) URL');
  if (url.username || url.password) throw bad('must not carry a user name or password');
  if (url.search || url.hash || text.includes('?') || text.includes('#')) throw bad('must not have a query or fragment');
  const pathPrefix = url.pathname.replace(/\/+$/, '');
  if (/[^A-Za-z0-9._~\/-]/.test(pathPrefix) || pathPrefix.split('/').some((s) => s === '.' || s === '..')) throw bad('has a path with characters a log origin cannot carry (letters, digits, ".", "_", "~", "-" and "/" only)');
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const name = `${url.host}${pathPrefix}`;
  return { base: `${scheme}://${name}`, scheme, name, pathPrefix };
}

/** Whether a URL's host is a loopback address (plain http is fine there). */
export function isLoopback(url: PublicUrl): boolean {
  const host = new URL(url.base).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}
