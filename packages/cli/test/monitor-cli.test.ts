// `sigstack monitor` as a long-running process: --interval runs again and reports only new
// matches, --metrics-port serves its counters, SIGTERM stops it with status 0; and a monitor
// SIGKILLed mid-run leaves its previous state file whole.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, pemEncode } from '@sigstack/core';
import { startLogService } from '@sigstack/server';
import { sign } from 'node:crypto';

const main = fileURLToPath(new URL('../bundle/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sigstack-monitor-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const watched = generateKeyPair('ec', { namedCurve: 'P-256' });
const other = generateKeyPair('ec', { namedCurve: 'P-256' });
let n = 0;

function entry(key: typeof watched) {
  const artifact = Buffer.from(`monitor cli ${n++}`);
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(artifact).digest('hex') } },
      signature: { content: sign('sha256', artifact, key.privateKey).toString('base64'), publicKey: { content: Buffer.from(pemEncode('PUBLIC KEY', key.spki)).toString('base64') } },
    },
  };
}

async function append(url: string, key: typeof watched) {
  const res = await fetch(`${url}/api/v1/log/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(entry(key)) });
  assert.equal(res.status, 201);
}

test('--interval: each run reports only new matches; metrics served; SIGTERM exits 0', async () => {
  const log = await startLogService({ dir: join(dir, 'log'), admissionWorkers: 0 });
  try {
    writeFileSync(join(dir, 'log.pub'), log.log.signer.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'watch.yaml'), `monitoredValues:\n  fingerprints:\n    - ${createHash('sha256').update(watched.spki).digest('hex')}\n`);
    await append(log.url, watched);
    await append(log.url, other);
    const child = spawn(process.execPath, [main, 'monitor', '--log', log.url, '--public-key', join(dir, 'log.pub'), '--state', join(dir, 'state.json'), '--config', join(dir, 'watch.yaml'), '--interval', '1s', '--metrics-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    const until = async (cond: () => boolean, what: string) => {
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(cond(), `${what}: ${out} ${err}`);
    };
    await until(() => out.split('\n').filter(Boolean).length >= 1, 'first match');
    await append(log.url, watched);
    await until(() => out.split('\n').filter(Boolean).length >= 2, 'second match');
    await new Promise((r) => setTimeout(r, 1500)); // another run: nothing new
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; logIndex: number });
    assert.deepEqual(lines.map((l) => [l.type, l.logIndex]), [['match', 0], ['match', 2]]);
    const port = /metrics at http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(err)?.[1];
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /sigstack_monitor_matches_total 2/);
    assert.match(metrics, /sigstack_monitor_entries_scanned_total 3/);
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  } finally {
    await log.close();
  }
});

test('a monitor SIGKILLed while catching up leaves the previous state whole', async () => {
  const log = await startLogService({ dir: join(dir, 'big'), admissionWorkers: 0 });
  try {
    writeFileSync(join(dir, 'big.pub'), log.log.signer.publicKey.export({ type: 'spki', format: 'pem' }));
    const state = join(dir, 'big-state.json');
    const once = (args: string[] = []) => new Promise<number>((resolve) => execFile(process.execPath, [main, 'monitor', '--log', log.url, '--public-key', join(dir, 'big.pub'), '--state', state, '--config', join(dir, 'watch.yaml'), '--once', ...args], (e) => resolve(e ? ((e as { code?: number }).code ?? 1) : 0)));
    await Promise.all(Array.from({ length: 50 }, () => append(log.url, other)));
    assert.equal(await once(), 0);
    const before = readFileSync(state, 'utf8');
    await Promise.all(Array.from({ length: 1500 }, () => append(log.url, other)));
    for (const delay of [150, 300, 450]) {
      const child = spawn(process.execPath, [main, 'monitor', '--log', log.url, '--public-key', join(dir, 'big.pub'), '--state', state, '--config', join(dir, 'watch.yaml'), '--once'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const now = readFileSync(state, 'utf8');
      const parsed = JSON.parse(now) as { size: number };
      assert.ok(now === before || parsed.size === log.log.checkpoint.size, 'the old state, or the complete new one');
    }
    assert.equal(await once(), 0, 'and the next run goes on from it');
    assert.equal((JSON.parse(readFileSync(state, 'utf8')) as { size: number }).size, log.log.checkpoint.size);
  } finally {
    await log.close();
  }
});
