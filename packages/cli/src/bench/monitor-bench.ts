// bench:monitor: builds a log of 200,000 hashedrekord entries (each with its own certificate; a
// quarter of them for the watched identity) on SQLite in a temporary directory, serves it, and
// times a cold `sigstack monitor --once` (its own process: tile reads over loopback HTTP,
// consistency from the tiles, every entry decoded and matched, its leaves rebuilt into the
// root) from start to exit. Last line: `monitor: <N> entries/s`. BENCH_ENTRIES adjusts the size.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, pemEncode } from '@sigstack/core';
import { ca, startLogService, type TransparencyLog } from '@sigstack/server';
import { describeError } from '../errors.js';

const total = Number(process.env.BENCH_ENTRIES ?? 200_000);
const main = fileURLToPath(new URL('../main.js', import.meta.url));

/** A Fulcio-profile certificate whose email is `template@example.test` padded to a fixed width, to be stamped per entry. */
async function templateCertificate(): Promise<{ der: Buffer; at: number }> {
  const hierarchy = await ca.createCaHierarchy();
  const key = generateKeyPair('ec', { namedCurve: 'P-256' });
  const issuer = 'https://oidc.bench.test';
  const utf8 = (v: string) => Buffer.concat([Buffer.from([0x0c, v.length]), Buffer.from(v)]);
  const der = await ca.buildCertificate({
    subjectPublicKeySpki: key.spki,
    san: { type: 'email', value: 'nobody-0000000000@example.test' },
    extensions: [{ oid: '1.3.6.1.4.1.57264.1.1', value: Buffer.from(issuer) }, { oid: '1.3.6.1.4.1.57264.1.8', value: utf8(issuer) }],
    issuer: hierarchy.issuer,
  });
  return { der, at: der.indexOf(Buffer.from('nobody-0000000000')) };
}

function entryBody(template: { der: Buffer; at: number }, i: number): Buffer {
  // Every entry gets a distinct certificate (another SAN, so another fingerprint): the monitor
  // cannot lean on a cache. The CA signature no longer matches; monitors match, they do not verify.
  const der = Buffer.from(template.der);
  der.write(`${i % 4 === 0 ? 'watch' : 'other'}@-${String(i).padStart(10, '0')}`.slice(0, 17), template.at, 'latin1');
  const artifact = createHash('sha256').update(`bench entry ${i}`).digest('hex');
  return Buffer.from(JSON.stringify({
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: artifact } },
      signature: { content: 'MEUCIQC7bench/signature/bytes/are/not/checked/by/monitors/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', publicKey: { content: Buffer.from(pemEncode('CERTIFICATE', der)).toString('base64') } },
    },
  }));
}

async function fill(log: TransparencyLog, template: { der: Buffer; at: number }): Promise<void> {
  const chunk = 8192;
  for (let start = 0; start < total; start += chunk) {
    const appends: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(total, start + chunk); i++) {
      const body = entryBody(template, i);
      appends.push(log.append({ body, kind: 'hashedrekord', apiVersion: '0.0.1', indexKeys: [] } as Parameters<TransparencyLog['append']>[0]));
    }
    await Promise.all(appends);
    process.stderr.write(`\rbench:monitor: ${Math.min(total, start + chunk)} / ${total} entries logged`);
  }
  process.stderr.write('\n');
}

/** Runs the monitor; with /usr/bin/time (Linux) also its CPU seconds, as the machine may be shared. */
function monitorOnce(args: string[]): Promise<{ code: number; matches: number; stderr: string; cpu?: number }> {
  const command = [...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), main, 'monitor', ...args];
  const timed = existsSync('/usr/bin/time');
  const [file, argv] = timed ? ['/usr/bin/time', ['-f', 'monitor-cpu %U %S', process.execPath, ...command]] : [process.execPath, command];
  return new Promise((resolve) => {
    execFile(file as string, argv as string[], { maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      const matches = stdout.split('\n').filter((l) => l.startsWith('{"type":"match"')).length;
      const cpu = /monitor-cpu ([\d.]+) ([\d.]+)/.exec(stderr);
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, matches, stderr, ...(cpu ? { cpu: Number(cpu[1]) + Number(cpu[2]) } : {}) });
    });
  });
}

async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-bench-monitor-'));
  const service = await startLogService({ dir: join(dir, 'log'), maxBatchSize: 4096, admissionWorkers: 0 });
  try {
    await fill(service.log, await templateCertificate());
    writeFileSync(join(dir, 'log.pub'), service.log.signer.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'monitor.yaml'), 'monitoredValues:\n  certIdentities:\n    - certSubject: ^watch@\n      issuers:\n        - ^https://oidc\\.bench\\.test$\n');
    process.stderr.write(`bench:monitor: cold monitor catching up ${total} entries...\n`);
    const started = performance.now();
    const result = await monitorOnce(['--log', service.url, '--public-key', join(dir, 'log.pub'), '--state', join(dir, 'state.json'), '--config', join(dir, 'monitor.yaml'), '--once']);
    const seconds = (performance.now() - started) / 1000;
    const expected = Math.ceil(total / 4);
    if (result.code !== 0 || result.matches !== expected) throw new Error(`the monitor exited ${result.code} with ${result.matches} matches (expected ${expected}): ${result.stderr.slice(-500)}`);
    const cpu = result.cpu === undefined ? '' : `; the monitor used ${result.cpu.toFixed(2)} s of CPU (${Math.round(total / result.cpu)} entries per CPU-second)`;
    process.stdout.write(`${total} entries, ${result.matches} matches in ${seconds.toFixed(2)} s${cpu}\n`);
    process.stdout.write(`monitor: ${Math.round(total / seconds)} entries/s\n`);
  } finally {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

run().catch((err: unknown) => {
  process.stderr.write(`bench:monitor: ${describeError(err)}\n`);
  process.exitCode = 1;
});
