// POSTs one JSON body to a CT log over node:http(s) with kept-alive connections (idle ones do
// not hold the process open) and reads the answer (bounded in size). The CA calls its CT log once per certificate, so the client's own
// cost counts: fetch() spends several times node:http's CPU per request.

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PostResult {
  status: number;
  text: string;
}

/** Most bytes of a CT log answer read (an SCT is a few hundred). */
const MAX_RESPONSE_BYTES = 1 << 20;

export interface JsonPoster {
  post(url: string, body: string): Promise<PostResult>;
}

export function jsonPoster(timeoutMs: number): JsonPoster {
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  return {
    post(url: string, body: string): Promise<PostResult> {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const send = secure ? httpsRequest : httpRequest;
      return new Promise((resolve, reject) => {
        const req = send(target, {
          method: 'POST',
          agent: secure ? agents.https : agents.http,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: timeoutMs,
        });
        req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on('error', reject);
        req.on('response', (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) req.destroy(new Error(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`));
            else chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        });
        req.end(body);
      });
    },
  };
}
