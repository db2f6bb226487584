// The log's HTTP server: one Fastify app with the Rekor v1 and v2 APIs, the tile reads,
// metrics and the OpenAPI document over one TransparencyLog; bounded bodies, JSON logs.

import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { AdmissionPool } from '../admission/pool.js';
import type { TransparencyLog } from '../engine/log.js';
import { installErrorHandler } from '../../http-errors.js';
import { LogMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { registerRekorV1Routes } from './rekor-v1.js';
import { registerRekorV2Routes } from './rekor-v2.js';
import { registerTileRoutes } from './tiles.js';
import { registerExplorer } from '../explorer/index.js';

export interface LogAppOptions {
  log: TransparencyLog;
  /** 16 hex digits identifying the tree in Rekor v1 entry IDs. */
  treeId: string;
  /** Largest accepted request body in bytes (default 4 MiB). */
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  /** Log every request (JSON, at info); off by default, errors are always logged. */
  logRequests?: boolean;
  /** Where proposed entries are checked (worker threads, or inline). */
  admission: AdmissionPool;
  /** Adds metrics of the caller's own to /metrics (a PostgreSQL log's lease and pending depth). */
  addMetrics?: (registry: LogMetrics['registry']) => void;
}

export function buildLogApp(options: LogAppOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? 4 * 1024 * 1024;
  const app = Fastify({
    bodyLimit,
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: !options.logRequests }),
    return503OnClosing: true,
  });
  installErrorHandler(app, { bodyLimit, tooLarge: 'send a digest-only entry (hashedrekord) or a smaller one' });
  const metrics = new LogMetrics(options.log);
  options.addMetrics?.(metrics.registry);
  metrics.register(app);
  registerTileRoutes(app, options.log);
  registerRekorV1Routes(app, options.log, options.treeId, metrics, options.admission);
  registerRekorV2Routes(app, options.log, metrics, options.admission);
  registerExplorer(app, options.log, options.treeId);
  app.get('/api/v1/openapi.json', async () => openApiDocument);
  app.get('/healthz', async () => ({ status: 'ok', treeSize: options.log.checkpoint.size }));
  return app;
}
