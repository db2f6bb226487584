// The explorer page's checking code (packages/server/explorer-web/src: WebCrypto only), bundled
// with esbuild and run on Node's WebCrypto against real logs over HTTP: inclusion proofs built
// from tiles across several tiles and levels, consistency proofs for every pair of small sizes,
// and checkpoint signatures by Ed25519 and ECDSA P-256 logs (and what makes them fail).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { startLogService, type LogService } from '../src/log/service.js';
import { explorerConfig } from '../src/log/explorer/page.js';

const source = fileURLToPath(new URL('../../explorer-web/src/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sigstack-explorer-web-'));
const SIZE = 600;
let page: any;
let ed25519: LogService;
let ecdsa: LogService;

function entry(i: number) {
  return { kind: 'hashedrekord', apiVersion: '0.0.1', body: Buffer.from(JSON.stringify({ apiVersion: '0.0.1', kind: 'hashedrekord', spec: { n: i } })), indexKeys: [] };
}

before(async () => {
  const bundled = await build({
    stdin: { contents: "export * from './merkle.ts'; export * from './tiles.ts'; export * from './checkpoint.ts'; export * from './bytes.ts';", resolveDir: source, loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'warning',
  });
  const file = join(dir, 'page-checks.mjs');
  writeFileSync(file, bundled.outputFiles[0]!.text);
  page = await import(pathToFileURL(file).href);
  ed25519 = await startLogService({ dir: join(dir, 'ed25519'), port: 0, admissionWorkers: 0 });
  ecdsa = await startLogService({ dir: join(dir, 'ecdsa'), port: 0, admissionWorkers: 0, keyType: 'ecdsa-p256' });
  await Promise.all(Array.from({ length: SIZE }, (_, i) => ed25519.log.append(entry(i))));
  await Promise.all(Array.from({ length: 5 }, (_, i) => ecdsa.log.append(entry(i))));
});

after(async () => {
  await ed25519?.close();
  await ecdsa?.close();
  rmSync(dir, { recursive: true, force: true });
});

const keyOf = (service: LogService) => page.logKeyFrom(explorerConfig(service.log.signer, service.treeId));
const note = async (service: LogService) => (await fetch(`${service.url}/checkpoint`)).text();

test('tile index paths are C2SP tlog-tiles paths', () => {
  assert.equal(page.tileIndexPath(0), '000');
  assert.equal(page.tileIndexPath(5), '005');
  assert.equal(page.tileIndexPath(1234), 'x001/234');
  assert.equal(page.tileIndexPath(1234067), 'x001/x234/067');
});

test('inclusion proofs built from tiles lead to the checkpoint root, across tiles and levels', async () => {
  const checkpoint = await page.verifyCheckpoint(await note(ed25519), keyOf(ed25519));
  assert.equal(checkpoint.size, SIZE);
  const tiles = new page.TileReader(ed25519.url, checkpoint.size);
  for (const index of [0, 1, 255, 256, 257, 511, 512, 598, 599]) {
    const body = await tiles.entry(index);
    assert.deepEqual(JSON.parse(Buffer.from(body).toString()).spec, { n: index });
    const leaf = await page.leafHash(body);
    const proof = await tiles.inclusionProof(index);
    assert.deepEqual(proof.map((h: Uint8Array) => Buffer.from(h).toString('hex')), (await ed25519.log.inclusionProof(index, SIZE)).map((h) => h.toString('hex')), `proof of ${index}`);
    const root = await page.rootFromInclusionProof(index, SIZE, leaf, proof);
    assert.ok(page.equal(root, checkpoint.rootHash), `root from ${index}`);
    // A wrong leaf, index or proof hash leads elsewhere.
    assert.ok(!page.equal(await page.rootFromInclusionProof(index, SIZE, await page.leafHash(Buffer.from('other')), proof), checkpoint.rootHash));
    if (proof.length > 0) {
      const bad = proof.map((h: Uint8Array) => new Uint8Array(h));
      bad[0][5] ^= 1;
      assert.ok(!page.equal(await page.rootFromInclusionProof(index, SIZE, leaf, bad), checkpoint.rootHash));
    }
  }
  assert.equal(await page.rootFromInclusionProof(SIZE, SIZE, new Uint8Array(32), []), undefined);
});

test('consistency proofs verify for every pair of sizes up to 40, and fail when altered', async () => {
  const roots = new Map<number, Uint8Array>();
  for (let n = 1; n <= 40; n++) roots.set(n, new Uint8Array(await ed25519.log.rootAt(n)));
  for (let m = 1; m <= 40; m++) {
    for (let n = m; n <= 40; n++) {
      const proof = (await ed25519.log.consistencyProof(m, n)).map((h) => new Uint8Array(h));
      assert.ok(await page.verifyConsistency(m, n, roots.get(m), roots.get(n), proof), `${m} → ${n}`);
      if (proof.length > 0) {
        proof[proof.length - 1]![0] ^= 1;
        assert.ok(!(await page.verifyConsistency(m, n, roots.get(m), roots.get(n), proof)), `${m} → ${n} altered`);
      }
      if (m < n) assert.ok(!(await page.verifyConsistency(m, n, roots.get(n), roots.get(n), proof)), `${m} → ${n} wrong first root`);
    }
  }
});

test('checkpoints by Ed25519 and ECDSA P-256 logs verify; a changed byte, another key or another log fails', async () => {
  for (const service of [ed25519, ecdsa]) {
    const text = await note(service);
    const key = keyOf(service);
    const checkpoint = await page.verifyCheckpoint(text, key);
    assert.equal(checkpoint.size, service.log.checkpoint.size);
    assert.ok(page.equal(checkpoint.rootHash, service.log.checkpoint.rootHash));
    const altered = text.replace(/\n(\d+)\n/, (_m, size: string) => `\n${Number(size) + 1}\n`);
    await assert.rejects(page.verifyCheckpoint(altered, key), (err: any) => err.check === 'signature');
  }
  await assert.rejects(page.verifyCheckpoint(await note(ecdsa), keyOf(ed25519)), (err: any) => err.check === 'origin');
  const otherKey = { ...keyOf(ecdsa), name: ed25519.log.signer.name };
  await assert.rejects(page.verifyCheckpoint(await note(ed25519), otherKey), (err: any) => err.check === 'key' && /not signed by the log's key/.test(err.message));
});
