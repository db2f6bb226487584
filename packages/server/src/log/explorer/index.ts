// The log explorer, served by the log itself: the search API (search-api.ts) and the page
// (page.ts, built from packages/server/explorer-web). One call puts both on a log's app.

import type { FastifyInstance } from 'fastify';
import type { TransparencyLog } from '../engine/log.js';
import { registerExplorerApi } from './search-api.js';
import { explorerConfig, registerExplorerPage } from './page.js';

export function registerExplorer(app: FastifyInstance, log: TransparencyLog, treeId: string): void {
  registerExplorerApi(app, log, treeId);
  registerExplorerPage(app, explorerConfig(log.signer, treeId));
}
