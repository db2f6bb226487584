// The tile read API (C2SP tlog-tiles, Rekor v2's read path): /checkpoint, hash tiles and entry
// bundles by path, full and partial, within the published tree. Tiles never change once
// published, so they are served as immutable; the checkpoint is not cacheable.

import type { FastifyInstance } from 'fastify';
import { CoreError, HASH_SIZE, TILE_WIDTH, parseTilePath } from '@sigstack/core';
import type { TransparencyLog } from '../engine/log.js';
import { errorBody } from '../../http-errors.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

export function registerTileRoutes(app: FastifyInstance, log: TransparencyLog): void {
  app.get('/checkpoint', async (_request, reply) => {
    reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-cache');
    return log.checkpoint.note;
  });

  app.get('/tile/*', async (request, reply) => {
    const path = `tile/${(request.params as { '*': string })['*']}`;
    let address;
    try {
      address = parseTilePath(path);
    } catch (err) {
      if (err instanceof CoreError) return reply.code(400).send(errorBody(400, err.code, err.message));
      throw err;
    }
    const size = log.checkpoint.size;
    const start = address.index * TILE_WIDTH;
    const notYet = () => reply.code(404).send(errorBody(404, 'TILE_NOT_FOUND', `${path} is beyond the published tree (size ${size})`));

    if (address.level === 'entries') {
      if (start + address.width > size) return notYet();
      const entries = await log.entries(start, address.width);
      const parts: Buffer[] = [];
      for (const entry of entries) {
        const length = Buffer.alloc(2);
        length.writeUInt16BE(entry.body.length);
        parts.push(length, entry.body);
      }
      return reply.header('content-type', 'application/octet-stream').header('cache-control', IMMUTABLE).send(Buffer.concat(parts));
    }

    const available = Math.floor(size / TILE_WIDTH ** address.level) - start;
    if (available < address.width) return notYet();
    const stored = await log.storage.readTile(address.level, address.index);
    if (!stored || stored.length < address.width * HASH_SIZE) return notYet();
    return reply
      .header('content-type', 'application/octet-stream')
      .header('cache-control', IMMUTABLE)
      .send(stored.subarray(0, address.width * HASH_SIZE));
  });
}
