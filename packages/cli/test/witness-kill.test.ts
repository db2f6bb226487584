// A witness (the `sigstack witness serve` process) SIGKILLed while submissions are in flight and
// restarted: every acknowledged cosignature survived, and it never cosigns a smaller or
// conflicting checkpoint afterwards.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { consistencyProof, formatAddCheckpointRequest, formatCheckpoint, formatVerifierKey, generateKeyPair, leafHash, noteKeyHint, originHash, rootFromLeafHashes, signNote } from '@sigstack/core';
import { startServerChild, type ServerChild } from '../src/bench/server-child.js';

// The bundled command, as users run it (it also starts faster, which this process-heavy test needs).
const main = fileURLToPath(new URL('../bundle/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sigstack-witness-kill-'));
const children: ServerChild[] = [];
after(async () => {
  for (const c of children) await c.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(args: string[], what: string): Promise<{ child: ServerChild; url: string }> {
  const child = await startServerChild([main, ...args], /serving at (http:\/\/\S+)/, what);
  children.push(child);
  return { child, url: child.match[1] as string };
}

test('a witness SIGKILLed mid-request and restarted never cosigns a smaller or conflicting checkpoint', async () => {
  const ORIGIN = 'kill.example/log';
  const key = generateKeyPair('ed25519');
  const vkey = formatVerifierKey(ORIGIN, key.publicKey);
  const leaves = Array.from({ length: 400 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
  const note = (size: number, of = leaves) => signNote(formatCheckpoint({ origin: ORIGIN, size, rootHash: rootFromLeafHashes(of.slice(0, size)) }), [{ name: ORIGIN, keyHint: noteKeyHint(ORIGIN, key.publicKey), sign: (m) => sign(null, m, key.privateKey) }]);
  const wdir = join(dir, 'kill-witness');
  const args = ['witness', 'serve', '--dir', wdir, '--name', 'kill.example/w', '--port', '0', '--log', `${ORIGIN}=${vkey}`];
  let w = await serve(args, 'witness');
  let acknowledged = 0;
  let size = 0;
  // Submissions one after another; SIGKILL lands while one is in flight.
  const stopAt = Date.now() + 400;
  const loop = (async () => {
    while (Date.now() < stopAt + 5000) {
      const next = size + 1 + Math.floor(Math.random() * 3);
      let res;
      try {
        res = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest(size, size === 0 ? [] : consistencyProof(size, leaves.slice(0, next)), note(next)) });
      } catch {
        return; // killed
      }
      if (res.status !== 200) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
      await res.text();
      size = next;
      acknowledged = next;
      if (size > 380) return;
    }
  })();
  await new Promise((r) => setTimeout(r, 400));
  w.child.child.kill('SIGKILL');
  await loop;
  // Wait for the exit (it may have happened already: a killed process has a signalCode, no exitCode).
  const killed = w.child.child;
  await new Promise((r) => (killed.exitCode !== null || killed.signalCode !== null ? r(undefined) : killed.once('exit', r)));
  w = await serve(args, 'witness again');
  const read = await (await fetch(`${w.url}/${originHash(ORIGIN)}/checkpoint`)).text();
  const stored = Number(read.split('\n')[1]);
  assert.ok(stored >= acknowledged, `every acknowledged cosignature survived (stored ${stored}, acknowledged ${acknowledged})`);
  // Smaller: refused (400 for old above new, 409 for a stale old size).
  const smaller = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest(stored, [], note(stored - 1)) });
  assert.equal(smaller.status, 400);
  const stale = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest(0, [], note(stored - 1)) });
  assert.deepEqual([stale.status, await stale.text()], [409, `${stored}\n`]);
  // Conflicting: another root at the stored size.
  const fork = leaves.map((l, i) => (i === 0 ? leafHash(Buffer.from('forged')) : l));
  const conflicting = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest(stored, [], note(stored, fork)) });
  assert.equal(conflicting.status, 422);
});
