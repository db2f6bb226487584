// A bounded HTTP(S) GET of a JSON document for OIDC discovery and JWKS: a deadline for the whole
// exchange, a cap on the body size, no redirects, an optional extra CA; failures say what happened.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface FetchJsonOptions {
  timeoutMs: number;
  maxBytes: number;
  /** PEM CA certificate(s) trusted instead of the system roots (Node's `ca`; Fulcio's CACert). */
  ca?: string;
}

export class FetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FetchError';
  }
}

export function fetchJson(url: string, options: FetchJsonOptions): Promise<unknown> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.reject(new FetchError(`${url} is not a URL`));
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return Promise.reject(new FetchError(`${url} is not an http(s) URL`));
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, value?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(value);
    };
    const onResponse = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        const where = status >= 300 && status < 400 && res.headers.location ? ` (redirect to ${res.headers.location}, which is not followed)` : '';
        finish(new FetchError(`GET ${url} answered HTTP ${status}${where}`));
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        finish(new FetchError(`GET ${url} returned ${declared} bytes, more than the ${options.maxBytes} allowed`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) finish(new FetchError(`GET ${url} returned more than the ${options.maxBytes} bytes allowed`));
        else chunks.push(chunk);
      });
      res.on('error', (err) => finish(new FetchError(`GET ${url} failed while reading: ${err.message}`)));
      res.on('end', () => {
        try {
          finish(undefined, JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          finish(new FetchError(`GET ${url} did not return JSON`));
        }
      });
    };
    const requestOptions = { method: 'GET', headers: { accept: 'application/json', 'user-agent': 'sigstack-ca' }, ...(options.ca ? { ca: options.ca } : {}) };
    const req = parsed.protocol === 'https:' ? httpsRequest(parsed, requestOptions, onResponse) : httpRequest(parsed, requestOptions, onResponse);
    const timer = setTimeout(() => finish(new FetchError(`GET ${url} did not complete within ${options.timeoutMs} ms`)), options.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish(new FetchError(`GET ${url} failed: ${err.code ?? err.message}`)));
    req.end();
  });
}
