// Serves the explorer page at /explorer/ (deep links /explorer/?q=…&page=N, /explorer/entry/UUID,
// /explorer/index/N all get the same page, which routes itself). The static files are built from
// packages/server/explorer-web by `npm ci` / `npm run build` (scripts/bundle-explorer.mjs); at
// start-up the log's own key, name and key ID are written into the page, so the browser checks
// checkpoints against the key this log signs with and shows it for comparison with a trusted root.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorBody } from '../../http-errors.js';
import type { LogSigner } from '../engine/log-signer.js';

/** What the page knows about the log before it asks anything. */
export interface ExplorerConfig {
  name: string;
  /** DER SubjectPublicKeyInfo, base64. */
  publicKey: string;
  keyType: 'ed25519' | 'ecdsa-p256';
  /** The log ID (hex); its first 4 bytes are the checkpoint signature's key hint. */
  keyId: string;
  treeId: string;
}

const ASSETS_DIR = fileURLToPath(new URL('../../../explorer-web/', import.meta.url));
const ASSETS: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' };
const CONFIG_MARK = '<!--EXPLORER-CONFIG-->';

/** Nothing but this log, no inline script, no framing: the page shows untrusted text. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function explorerConfig(signer: LogSigner, treeId: string): ExplorerConfig {
  return {
    name: signer.name,
    publicKey: signer.spki.toString('base64'),
    keyType: signer.keyDetails === 'PKIX_ED25519' ? 'ed25519' : 'ecdsa-p256',
    keyId: signer.logId.toString('hex'),
    treeId,
  };
}

/** JSON safe inside a <script type="application/json"> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

function readAssets(): { html: string; files: Map<string, Buffer> } | undefined {
  try {
    const files = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(`${ASSETS_DIR}${name}`)]));
    return { html: readFileSync(`${ASSETS_DIR}index.html`, 'utf8'), files };
  } catch {
    return undefined;
  }
}

export function registerExplorerPage(app: FastifyInstance, config: ExplorerConfig): void {
  const assets = readAssets();
  const html = assets?.html.replace(CONFIG_MARK, `<script type="application/json" id="explorer-config">${scriptJson(config)}</script>`);
  const missing = (reply: FastifyReply) =>
    reply.code(503).send(errorBody(503, 'EXPLORER_NOT_BUILT', `the explorer page is not built (no ${ASSETS_DIR}index.html): run npm run build`));
  const page = async (_request: unknown, reply: FastifyReply) => {
    if (!html) return missing(reply);
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(html);
  };
  app.get('/explorer', async (_request, reply) => reply.redirect('/explorer/', 301));
  app.get('/explorer/', page);
  app.get('/explorer/entry/:id', page);
  app.get('/explorer/index/:index', page);
  app.get('/explorer/assets/:file', async (request, reply) => {
    const { file } = request.params as { file: string };
    const body = Object.hasOwn(ASSETS, file) ? assets?.files.get(file) : undefined;
    if (!assets) return missing(reply);
    if (!body) return reply.code(404).send(errorBody(404, 'NOT_FOUND', `no explorer asset ${file}`));
    return reply.header('content-type', ASSETS[file]).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(body);
  });
}
