// Who a request comes from, for per-client limits: the socket's peer, or with --trust-proxy the
// address the reverse proxy in front recorded (the last X-Forwarded-For hop, as nginx's
// $proxy_add_x_forwarded_for appends it; a client cannot forge that one), else X-Real-IP.

import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (!trustProxy) return peer;
  const forwarded = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const last = hops[hops.length - 1];
  if (last && isIP(last)) return last;
  const real = header(req, 'x-real-ip')?.trim();
  if (real && isIP(real)) return real;
  return peer;
}
