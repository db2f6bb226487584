// `sigstack log serve|info|get|search|proof` end to end: a real log process on loopback, an
// entry added over HTTP, and the query commands reading it back (inclusion checked locally).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, pemEncode } from '@sigstack/core';
import { startServerChild } from '../src/bench/server-child.js';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));

function sigstack(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

test('log serve, then info, get, search and proof against it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-log-cli-'));
  const server = await startServerChild([main, 'log', 'serve', '--dir', join(dir, 'log'), '--port', '0'], /serving at (http:\/\/\S+)/, 'log server');
  try {
    const url = server.match[1] as string;
    const key = generateKeyPair('ec', { namedCurve: 'P-256' });
    const artifact = Buffer.from('cli artifact');
    writeFileSync(join(dir, 'artifact'), artifact);
    writeFileSync(join(dir, 'key.pem'), pemEncode('PUBLIC KEY', key.spki));
    const digest = createHash('sha256').update(artifact).digest('hex');
    const response = await fetch(`${url}/api/v1/log/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: { data: { hash: { algorithm: 'sha256', value: digest } }, signature: { content: sign('sha256', artifact, key.privateKey).toString('base64'), publicKey: { content: Buffer.from(pemEncode('PUBLIC KEY', key.spki)).toString('base64') } } },
      }),
    });
    assert.equal(response.status, 201);
    const id = Object.keys((await response.json()) as object)[0] as string;

    const info = await sigstack(['log', 'info', '--url', url]);
    assert.equal(info.code, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).treeSize, 1);
    const got = await sigstack(['log', 'get', '--url', url, '--index', '0']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /verified in tree of size 1/);
    assert.equal(JSON.parse(got.stdout).uuid, id);
    const byArtifact = await sigstack(['log', 'search', '--url', url, '--artifact', join(dir, 'artifact')]);
    assert.equal(byArtifact.stdout.trim(), id);
    const byKey = await sigstack(['log', 'search', '--url', url, '--public-key', join(dir, 'key.pem')]);
    assert.equal(byKey.stdout.trim(), id);
    const proof = await sigstack(['log', 'proof', '--url', url, '--first', '1']);
    assert.equal(proof.code, 0, proof.stderr);
    const missing = await sigstack(['log', 'get', '--url', url, '--index', '5']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^sigstack: \[LOG_REQUEST_FAILED\] .*404/);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('log serve --admission-workers takes a whole number of threads; anything else is a usage error', async () => {
  const [word, negative] = await Promise.all([sigstack(['log', 'serve', '--admission-workers', 'many']), sigstack(['log', 'serve', '--postgres', 'postgres://x@127.0.0.1:1/x', '--key', 'k.pem', '--name', 'n', '--admission-workers=-1'])]);
  for (const result of [word, negative]) {
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /\[USAGE\] --admission-workers must be a whole number from 0 to 64/);
  }
});
