// Builds the log explorer page (packages/server/explorer-web: TypeScript, plain DOM) into
// packages/server/dist/explorer-web: app.js (one ES module bundled by esbuild, for browsers),
// app.css and index.html, which the log serves at /explorer/. (The root build type checks it
// first: tsc -p packages/server/explorer-web, with the DOM library.)
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const source = 'packages/server/explorer-web';
const out = 'packages/server/dist/explorer-web';
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${source}/src/main.ts`],
  outfile: `${out}/app.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome120', 'firefox128', 'safari17'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(`${source}/app.css`, `${out}/app.css`);
copyFileSync(`${source}/index.html`, `${out}/index.html`);
