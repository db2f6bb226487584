// What every request meets before the services: the public URL's path prefix removed (when a
// reverse proxy passes it through), and the per-client rate limit on write endpoints.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress } from './client-address.js';
import { isWriteRequest, RateLimiter } from './rate-limit.js';

export interface FrontDoorOptions {
  /** The public URL's path ('' or '/path'). */
  pathPrefix: string;
  /** Per-client write limit; absent: no limit. */
  rateLimiter?: RateLimiter;
  /** Take the client address from X-Forwarded-For / X-Real-IP (behind a reverse proxy). */
  trustProxy: boolean;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function tooMany(res: ServerResponse, retryAfter: number, limiter: RateLimiter): void {
  const text = JSON.stringify({
    code: 429,
    error: 'RATE_LIMITED',
    message: `too many write requests from this client (the limit is ${limiter.perMinute} a minute, ${limiter.burst} at once); retry after ${retryAfter} s`,
  });
  res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'retry-after': String(retryAfter) });
  res.end(text);
}

export function frontDoor(options: FrontDoorOptions, next: Handler): Handler {
  const { pathPrefix, rateLimiter, trustProxy } = options;
  return (req, res) => {
    let url = req.url ?? '/';
    if (pathPrefix && (url === pathPrefix || url.startsWith(`${pathPrefix}/`) || url.startsWith(`${pathPrefix}?`))) {
      url = url.slice(pathPrefix.length);
      if (!url.startsWith('/')) url = `/${url}`;
      req.url = url;
    }
    if (rateLimiter && isWriteRequest(req.method, url.split('?', 1)[0] as string)) {
      const wait = rateLimiter.take(clientAddress(req, trustProxy));
      if (wait > 0) {
        req.resume();
        return tooMany(res, wait, rateLimiter);
      }
    }
    next(req, res);
  };
}
