// What `npm ci` leaves a new user: the `sigstack` command linked in node_modules/.bin (the build
// makes the link npm skipped because the bundle did not exist yet when it linked bins).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstatSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const bin = `${root}node_modules/.bin/sigstack`;

test('node_modules/.bin/sigstack exists after the build and runs the bundled CLI', async () => {
  assert.ok(lstatSync(bin).isSymbolicLink(), `${bin} is not a link`);
  assert.equal(realpathSync(bin), realpathSync(`${root}packages/cli/dist/bundle/main.js`));
  const printed = await new Promise<string>((resolve, reject) =>
    execFile(bin, ['--help'], (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  assert.match(printed, /^sigstack: sigstore, whole, in TypeScript/);
});
