// The timestamp authority client against the real TSA on loopback: a DER query with a nonce,
// the answer's nonce and imprint checked, and the token verifying under a trusted root naming
// the TSA; errors name the TSA, its URL and the cause.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseTimestampToken, verifyTimestampTokenSignature } from '@sigstack/core';
import { SignError, TimestampClient, timestampRequest } from '../src/index.js';
import { startStack, type Stack } from './helpers.js';
import { tsa as tsaModule } from '@sigstack/server';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-sign-tsa-'));
let stack: Stack;

before(async () => {
  stack = await startStack(dir);
});
after(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a timestamp over the signature, with our nonce, signed by the TSA certificate', async () => {
  const signature = Buffer.from('a signature to timestamp');
  for (const url of [stack.tsa.url, `${stack.tsa.url}/api/v1/timestamp`]) {
    const started = Date.now();
    const ts = await new TimestampClient(url).timestamp(signature);
    assert.ok(ts.token.nonce && ts.token.nonce.length > 0);
    assert.equal(ts.token.policy, '1.3.6.1.4.1.57264.2');
    assert.deepEqual(ts.token.messageImprint.hashedMessage, createHash('sha256').update(signature).digest());
    assert.ok(Math.abs(ts.token.genTime.getTime() - started) < 5000);
    // What bundles carry is the TimeStampResp as received; it parses to the same token.
    assert.deepEqual(parseTimestampToken(ts.der).tstInfoDer, ts.token.tstInfoDer);
    verifyTimestampTokenSignature(ts.token, stack.tsa.chain.certificates[0]!.publicKey);
  }
});

test('the request is the RFC 3161 DER the TSA expects (v1, SHA-256 imprint, positive nonce, certReq)', () => {
  const digest = Buffer.alloc(32, 7);
  const der = timestampRequest(digest, Buffer.from([0x80, 1]));
  const expected = [
    '303e', // TimeStampReq, 62 bytes
    '020101', // version 1
    '3031', '300d', '0609608648016503040201', '0500', `0420${digest.toString('hex')}`, // messageImprint (sha256)
    '0203008001', // nonce 0x8001, with a 0x00 sign byte
    '0101ff', // certReq TRUE
  ].join('');
  assert.equal(der.toString('hex'), expected);
});

test('errors name the timestamp authority, its URL and the cause', async () => {
  await assert.rejects(new TimestampClient(`${stack.tsa.url}/nowhere`, { retries: 0 }).timestamp(Buffer.from('x')), (err: SignError) => {
    assert.equal(err.code, 'TIMESTAMP_REFUSED');
    assert.equal(err.service, 'timestamp authority');
    assert.match(err.message, new RegExp(`^timestamp authority at ${stack.tsa.url}/nowhere/api/v1/timestamp refused to timestamp: HTTP 404`));
    return true;
  });
});

test('a TSA that refuses (HTTP 400 with an RFC 3161 rejection) is reported with its status and reason', async () => {
  const { createServer } = await import('node:http');
  const body = tsaModule.rejectionResponse('badAlg', 'unsupported hash algorithm for this test');
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(400, { 'content-type': 'application/timestamp-reply' }).end(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    await assert.rejects(new TimestampClient(url, { retries: 0 }).timestamp(Buffer.from('x')), (err: SignError) => {
      assert.equal(err.code, 'TIMESTAMP_REFUSED');
      assert.match(err.message, /refused to timestamp: HTTP 400: the TSA did not grant the timestamp: status 2 rejection \(unsupported hash algorithm for this test\)/);
      return true;
    });
  } finally {
    server.close();
  }
});
