// Safe retries against the real log: a repeated entry returns the one already logged (409 →
// Location → GET); an upload whose answer a loopback relay drops is retried and succeeds
// (sigstore-js#1708); failures name the service, the URL and the cause.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { RekorV1Client, RekorV2Client, SignError, loadSignerFile, generateKeyPairFiles, rekorV1ProposedEntry, rekorV2Request, checkTlogEntry, tlogEntryFromV1, type EntryContent, type EntryVerifier, type KeySigner } from '../src/index.js';
import { startStack, type Stack } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-sign-retry-'));
let stack: Stack;
let key: KeySigner;

before(async () => {
  stack = await startStack(dir);
  key = loadSignerFile(generateKeyPairFiles(join(dir, 'k')).privateKeyPath);
});
after(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

function entryFor(text: string): { content: EntryContent; verifier: EntryVerifier } {
  const data = Buffer.from(text);
  const signature = key.sign(data);
  return {
    content: { kind: 'hashedrekord', algorithm: 'sha256', digest: createHash('sha256').update(data).digest(), signature },
    verifier: { kind: 'publicKey', spki: key.spki, pem: key.publicKeyPem, keyDetails: key.keyDetails },
  };
}

/** A relay to `target` that, for the first `drops` POSTs, forwards them and then cuts the answer off. */
async function lossyRelay(target: string, drops: number): Promise<{ url: string; posts: number; server: Server }> {
  const state = { url: '', posts: 0, server: createServer() };
  let dropped = 0;
  state.server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST') state.posts++;
      const upstream = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (up) => {
        const body: Buffer[] = [];
        up.on('data', (c: Buffer) => body.push(c));
        up.on('end', () => {
          if (req.method === 'POST' && dropped < drops) {
            dropped++;
            req.socket.destroy(); // the log stored the entry; its answer is lost on the way
            return;
          }
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(Buffer.concat(body));
        });
      });
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(state.server.address() as { port: number }).port}`;
  return state;
}

test('Rekor v1: submitting the same entry twice returns the entry already logged', async () => {
  const client = new RekorV1Client(stack.rekor.url);
  const { content, verifier } = entryFor('submitted twice');
  const proposed = rekorV1ProposedEntry(content, verifier);
  const first = await client.createEntry(proposed);
  assert.equal(first.existed, false);
  const second = await client.createEntry(proposed);
  assert.equal(second.existed, true);
  assert.equal(second.uuid, first.uuid);
  assert.equal(second.entry.logIndex, first.entry.logIndex);
  assert.equal(second.entry.body, first.entry.body);
  // The fetched entry makes a bundle entry that checks out like the first one.
  checkTlogEntry(tlogEntryFromV1(second.entry, stack.rekor.url), content.signature, stack.rekor.url);
  // And through logEntry (what the signer calls), the third submission succeeds too.
  const again = await client.logEntry(content, verifier);
  assert.equal(again.logIndex, String(first.entry.logIndex));
});

test('Rekor v1: an upload whose answer was lost is retried; the 409 fetches the stored entry and succeeds', async () => {
  const relay = await lossyRelay(stack.rekor.url, 1);
  try {
    const retries: string[] = [];
    const client = new RekorV1Client(relay.url, { backoffMs: 10, onRetry: (_attempt, reason) => retries.push(reason) });
    const { content, verifier } = entryFor('an answer lost in transit');
    const sizeBefore = stack.rekor.log.checkpoint.size;
    const created = await client.createEntry(rekorV1ProposedEntry(content, verifier));
    assert.equal(relay.posts, 2, 'the upload was sent twice');
    assert.equal(retries.length, 1);
    assert.match(retries[0]!, /transparency log at http:\/\/127\.0\.0\.1:\d+\/api\/v1\/log\/entries could not be reached/);
    assert.equal(created.existed, true, 'the retry met a 409 and fetched the entry');
    const direct = await new RekorV1Client(stack.rekor.url).getEntry(created.uuid);
    assert.equal(direct.entry.logIndex, created.entry.logIndex);
    assert.ok(stack.rekor.log.checkpoint.size <= sizeBefore + 1, 'logged once');
  } finally {
    relay.server.close();
  }
});

test('Rekor v2: a retried upload whose answer was lost gets the same entry', async () => {
  const relay = await lossyRelay(stack.rekor.url, 1);
  try {
    const client = new RekorV2Client(relay.url, { backoffMs: 10 });
    const { content, verifier } = entryFor('a v2 answer lost in transit');
    const entry = await client.logEntry(content, verifier);
    assert.equal(relay.posts, 2);
    const again = await new RekorV2Client(stack.rekor.url).createEntry(rekorV2Request(content, verifier));
    assert.equal(again.logIndex, entry.logIndex);
  } finally {
    relay.server.close();
  }
});

test('errors name the service, the URL and the cause', async () => {
  const { content, verifier } = entryFor('refused');
  const forged = { ...content, signature: Buffer.from(content.signature).fill(1, 8, 16) };
  await assert.rejects(new RekorV1Client(stack.rekor.url).logEntry(forged, verifier), (err: SignError) => {
    assert.equal(err.code, 'LOG_ENTRY_REFUSED');
    assert.equal(err.service, 'transparency log');
    assert.equal(err.status, 400);
    assert.match(err.message, /^transparency log at http:\/\/127\.0\.0\.1:\d+\/api\/v1\/log\/entries refused the entry: HTTP 400: .+/);
    return true;
  });

  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise((resolve) => closed.close(resolve));
  await assert.rejects(new RekorV2Client(`http://127.0.0.1:${port}`, { retries: 1, backoffMs: 5 }).logEntry(content, verifier), (err: SignError) => {
    assert.equal(err.code, 'SERVICE_UNREACHABLE');
    assert.match(err.message, new RegExp(`transparency log at http://127\\.0\\.0\\.1:${port}/api/v2/log/entries could not be reached: .*ECONNREFUSED.* \\(gave up after 2 attempts\\)`));
    return true;
  });
});
