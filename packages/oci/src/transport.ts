// HTTP(S) for the registry client on node:http / node:https: keep-alive agents, redirects
// (Authorization is dropped when one leaves the origin, as blob downloads go to storage), bounded
// response bodies, and, for --allow-insecure-registry, TLS without certificate checks.

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { OciError } from './errors.js';

export interface TransportRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface TransportResponse {
  status: number;
  /** The last URL (after redirects). */
  url: URL;
  header(name: string): string | undefined;
  /** The body, at most `max` bytes (RESPONSE_TOO_LARGE beyond). */
  read(max: number, what: string): Promise<Buffer>;
  /** Drops the body unread. */
  discard(): void;
}

const MAX_REDIRECTS = 5;

export class Transport {
  private readonly http = new HttpAgent({ keepAlive: true });
  private readonly https: HttpsAgent;

  constructor(
    insecureTls: boolean,
    private readonly timeoutMs: number,
  ) {
    this.https = new HttpsAgent({ keepAlive: true, rejectUnauthorized: !insecureTls });
  }

  private once(request: TransportRequest): Promise<IncomingMessage> {
    const secure = request.url.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { ...request.headers };
    if (request.body) headers['content-length'] = String(request.body.length);
    return new Promise((resolve, reject) => {
      const req = send(request.url, { method: request.method, headers, agent: secure ? this.https : this.http, timeout: this.timeoutMs }, resolve);
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.timeoutMs / 1000} s`)));
      req.on('error', reject);
      req.end(request.body);
    });
  }

  async send(request: TransportRequest): Promise<TransportResponse> {
    let current = request;
    for (let hop = 0; ; hop++) {
      const message = await this.once(current);
      const status = message.statusCode ?? 0;
      const location = message.headers.location;
      if ([301, 302, 303, 307, 308].includes(status) && location && hop < MAX_REDIRECTS) {
        message.resume();
        const next = new URL(location, current.url);
        const headers = { ...current.headers };
        if (next.origin !== current.url.origin) delete headers.authorization;
        const keepBody = status === 307 || status === 308;
        current = { url: next, method: keepBody ? current.method : current.method === 'HEAD' ? 'HEAD' : 'GET', headers, ...(keepBody && current.body ? { body: current.body } : {}) };
        continue;
      }
      return response(message, current.url);
    }
  }
}

function response(message: IncomingMessage, url: URL): TransportResponse {
  return {
    status: message.statusCode ?? 0,
    url,
    header: (name) => {
      const value = message.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    discard: () => {
      message.resume();
    },
    read: (max, what) =>
      new Promise((resolve, reject) => {
        const declared = Number(message.headers['content-length'] ?? '0');
        if (declared > max) {
          message.destroy();
          reject(new OciError('RESPONSE_TOO_LARGE', `${what} is ${declared} bytes, more than the ${max} allowed`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        message.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > max) {
            message.destroy();
            reject(new OciError('RESPONSE_TOO_LARGE', `${what} is more than the ${max} bytes allowed`));
            return;
          }
          chunks.push(chunk);
        });
        message.on('end', () => resolve(Buffer.concat(chunks)));
        message.on('error', reject);
      }),
  };
}
