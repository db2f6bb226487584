// Crash safety: the log process is killed (SIGKILL) while appends are in flight and started
// again on the same data. Every acknowledged entry must be there with a valid inclusion proof,
// and the new checkpoint must be consistent with every checkpoint published before the kill.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { leafHash, parseCheckpoint, parseSignedNote, verifyConsistency, verifyInclusion } from '@sigstack/core';
import { get, hashedrekordV001, newSigner, post } from './helpers.js';

const script = fileURLToPath(new URL('./log-process.js', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function startLog(dir: string, port: number): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dir, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\S+)\n/.exec(out);
      if (match) resolve({ child, url: match[1] as string });
    });
    child.once('exit', (code) => reject(new Error(`log process exited with ${code} before listening`)));
  });
}

test('SIGKILL during appends loses nothing acknowledged and keeps the log consistent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-crash-'));
  const port = await freePort();
  const first = await startLog(dir, port);
  const signer = newSigner();
  const acked: { id: string; index: number; body: string }[] = [];
  const checkpoints = new Map<number, Buffer>();
  let stop = false;
  let n = 0;
  const lane = async () => {
    while (!stop) {
      const artifact = Buffer.from(`crash test ${n++}`);
      try {
        const response = await post(`${first.url}/api/v1/log/entries`, hashedrekordV001(signer, artifact));
        if (response.status !== 201) continue;
        const [id, entry] = Object.entries(response.json as Record<string, { logIndex: number; body: string; verification: { inclusionProof: { checkpoint: string } } }>)[0]!;
        acked.push({ id, index: entry.logIndex, body: entry.body });
        const cp = parseCheckpoint(parseSignedNote(entry.verification.inclusionProof.checkpoint).body);
        checkpoints.set(cp.size, cp.rootHash);
      } catch {
        // The server is gone: this request was never acknowledged.
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  const lanes = Array.from({ length: 16 }, lane);
  while (acked.length < 300) await new Promise((r) => setTimeout(r, 10));
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  await new Promise((r) => setTimeout(r, 100));
  stop = true;
  await Promise.all(lanes);

  const second = await startLog(dir, port);
  try {
    const info = await get(`${second.url}/api/v1/log`);
    const size = info.json.treeSize as number;
    const root = Buffer.from(info.json.rootHash as string, 'hex');
    assert.ok(size >= Math.max(...acked.map((a) => a.index)) + 1, 'every acknowledged index is in the new tree');
    for (const entry of acked) {
      const fetched = await get(`${second.url}/api/v1/log/entries/${entry.id}`);
      assert.equal(fetched.status, 200, `acknowledged entry ${entry.index} is there`);
      const value = Object.values(fetched.json as Record<string, { body: string; logIndex: number; verification: { inclusionProof: { hashes: string[]; treeSize: number; rootHash: string; checkpoint: string } } }>)[0]!;
      assert.equal(value.body, entry.body);
      assert.equal(value.logIndex, entry.index);
      const proof = value.verification.inclusionProof;
      const proofRoot = Buffer.from(proof.rootHash, 'hex');
      verifyInclusion(entry.index, proof.treeSize, leafHash(Buffer.from(entry.body, 'base64')), proof.hashes.map((h) => Buffer.from(h, 'hex')), proofRoot);
      assert.deepEqual(parseCheckpoint(parseSignedNote(proof.checkpoint).body).rootHash, proofRoot);
    }
    for (const [oldSize, oldRoot] of checkpoints) {
      const proof = await get(`${second.url}/api/v1/log/proof?firstSize=${oldSize}&lastSize=${size}`);
      assert.equal(proof.status, 200);
      verifyConsistency(oldSize, size, (proof.json.hashes as string[]).map((h) => Buffer.from(h, 'hex')), oldRoot, root);
    }
    // It keeps working after the restart.
    const after = await post(`${second.url}/api/v1/log/entries`, hashedrekordV001(signer, Buffer.from('after the crash')));
    assert.equal(after.status, 201);
  } finally {
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
