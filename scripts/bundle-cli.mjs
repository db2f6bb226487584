// Bundles the CLI's entry points (sigstack, the conformance client) with esbuild into
// packages/cli/dist/bundle, so a cold `sigstack verify` loads one file instead of dozens of
// modules. The server package and its dependencies stay external (they start worker threads
// by file and load native code).
import { chmodSync, lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('packages/cli/dist/bundle', { recursive: true, force: true });

await build({
  // The verifier pool's worker is an entry of its own: VerifierPool starts it by file, next to
  // the bundled code (new URL('./pool-worker.js', import.meta.url)).
  entryPoints: {
    main: 'packages/cli/dist/src/main.js',
    conformance: 'packages/cli/dist/src/conformance.js',
    'pool-worker': 'packages/verify/dist/src/pool-worker.js',
  },
  outdir: 'packages/cli/dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@sigstack/server', 'better-sqlite3', 'fastify', 'openpgp', 'prom-client', 'jose', 'yaml', '@peculiar/*'],
  logLevel: 'warning',
});

// npm links a workspace's bin while installing, before `prepare` has built the file it names, and
// skips a link to a missing file: after `npm ci` there would be no node_modules/.bin/sigstack.
// Make the link (as npm would have) now that its target exists; `npx sigstack` keeps working.
const binTarget = 'packages/cli/dist/bundle/main.js';
chmodSync(binTarget, 0o755);
const binLink = 'node_modules/.bin/sigstack';
if (!hasEntry(binLink)) {
  mkdirSync('node_modules/.bin', { recursive: true });
  symlinkSync(`../../${binTarget}`, binLink);
}

function hasEntry(path) {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
