// Serving a sharded log on one port: each shard under its path (the first at the root), and the
// reads a client makes without knowing the shard answered across all of them: Rekor v1's index
// search (rekor#1825), retrieval by UUIDs or proposed entries, and an entry by UUID or entry ID
// (routed by its tree ID prefix).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpenShard } from './shards.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface ServedShard {
  /** '' for the first shard, '/log2', ... */
  path: string;
  treeId: string;
  app: OpenShard['app'];
}

const MAX_SEARCH_BODY = 64 * 1024;
/** Rekor v1's retrieve may carry proposed entries: the log's own body limit. */
const MAX_RETRIEVE_BODY = 4 * 1024 * 1024;

function send(res: ServerResponse, status: number, body: string, type = 'application/json; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The shard a path belongs to and the path inside it, or undefined for the root (the first shard). */
export function shardForPath(shards: readonly ServedShard[], path: string): { shard: ServedShard; rest: string } | undefined {
  for (const shard of shards) {
    if (!shard.path) continue;
    if (path === shard.path || path.startsWith(`${shard.path}/`)) return { shard, rest: path.slice(shard.path.length) || '/' };
  }
  return undefined;
}

/** POSTs the same query to every shard and answers the concatenation of their JSON arrays (the first error as it is). */
async function fanOut(shards: readonly ServedShard[], path: string, req: IncomingMessage, res: ServerResponse, limit: number): Promise<void> {
  const body = await readBody(req, limit);
  if (!body) return send(res, 413, JSON.stringify({ code: 413, error: 'REQUEST_TOO_LARGE', message: `this query is at most ${limit} bytes` }));
  // Rekor v1's logIndexes are positions in one shard: such a retrieval is the root shard's.
  let targets = shards;
  if (path === '/api/v1/log/entries/retrieve') {
    try {
      if ((JSON.parse(body.toString('utf8')) as { logIndexes?: unknown[] }).logIndexes?.length) targets = shards.slice(0, 1);
    } catch {
      targets = shards.slice(0, 1); // let the shard say what is wrong with it
    }
  }
  const items: unknown[] = [];
  for (const shard of targets) {
    const answer = await shard.app.inject({ method: 'POST', url: path, payload: body, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' } });
    if (answer.statusCode !== 200) return send(res, answer.statusCode, answer.body, String(answer.headers['content-type'] ?? 'application/json'));
    items.push(...(JSON.parse(answer.body) as unknown[]));
  }
  send(res, 200, JSON.stringify(items));
}

async function entryAnywhere(shards: readonly ServedShard[], id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const text = id.toLowerCase();
  const candidates = text.length === 80 ? shards.filter((s) => s.treeId === text.slice(0, 16)) : shards;
  let last: Awaited<ReturnType<ServedShard['app']['inject']>> | undefined;
  for (const shard of candidates.length > 0 ? candidates : shards.slice(0, 1)) {
    last = await shard.app.inject({ method: 'GET', url: req.url ?? '/', headers: { accept: req.headers.accept ?? 'application/json' } });
    if (last.statusCode !== 404) break;
  }
  send(res, last!.statusCode, last!.body, String(last!.headers['content-type'] ?? 'application/json'));
}

/**
 * Routes log requests to their shard. `shards` lists every shard, the first (path '') served at
 * the root. With one shard it is the first shard's routing, unchanged.
 */
export function shardedLogHandler(shards: readonly ServedShard[]): Handler {
  const [first] = shards;
  if (!first) throw new Error('a log has at least one shard');
  if (shards.length === 1) return (req, res) => first.app.routing(req, res);
  const fail = (res: ServerResponse) => (err: Error) => {
    if (!res.headersSent) send(res, 500, JSON.stringify({ code: 500, error: 'INTERNAL', message: `searching the log shards failed: ${err.message}` }));
  };
  return (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0] as string;
    const inShard = shardForPath(shards, path);
    if (inShard) {
      req.url = `${inShard.rest}${url.slice(path.length)}`;
      return inShard.shard.app.routing(req, res);
    }
    if (req.method === 'POST' && path === '/api/v1/index/retrieve') return void fanOut(shards, path, req, res, MAX_SEARCH_BODY).catch(fail(res));
    if (req.method === 'POST' && path === '/api/v1/log/entries/retrieve') return void fanOut(shards, path, req, res, MAX_RETRIEVE_BODY).catch(fail(res));
    const byId = /^\/api\/v1\/log\/entries\/([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$/.exec(path);
    if (req.method === 'GET' && byId) return void entryAnywhere(shards, byId[1]!, req, res).catch(fail(res));
    return first.app.routing(req, res);
  };
}
