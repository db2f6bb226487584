// bench:image: the whole stack (in this process) and Debian's docker-registry (distribution 2.8,
// temporary storage, loopback) ; pushes small images, then signs them keyless through the
// stack's signing config (CA, Rekor v2, TSA; bundle layout, so the referrers fallback tag is
// written) and verifies them, each call as `sigstack sign IMAGE` / `sigstack verify IMAGE` runs
// it (a new registry client each time, tag resolved, attachments found and verified), one at a
// time; prints `image: sign p50 <X> ms, verify p50 <Y> ms` as its last line.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OCI_IMAGE_CONFIG, OCI_MANIFEST, RegistryClient, descriptorFor, documentBytes } from '@sigstack/oci';
import { runImageSign } from '../commands/image-sign.js';
import { runImageVerify } from '../commands/image-verify.js';
import { takeRegistryFlags } from '../commands/image-options.js';
import type { SignRequest } from '../commands/sign.js';
import { describeError } from '../errors.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const EMAIL = 'bench@example.com';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startRegistry(dir: string): Promise<{ host: string; close(): Promise<void> }> {
  const port = await freePort();
  const config = join(dir, 'registry.yml');
  writeFileSync(config, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('error', () => undefined);
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const response = await fetch(`http://${host}/v2/`);
      await response.body?.cancel();
      if (response.ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('docker-registry did not start (is the docker-registry package installed?)');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host, close: async () => { child.kill('SIGTERM'); await exited; } };
}

async function pushImage(client: RegistryClient, repository: string, tag: string): Promise<void> {
  const layer = Buffer.from(`bench layer ${tag} ${Math.random()}\n`);
  const config = documentBytes({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(layer).digest('hex')}`] }, config: {} });
  await client.putBlob(repository, layer);
  await client.putBlob(repository, config);
  const manifest = documentBytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptorFor(OCI_IMAGE_CONFIG, config), layers: [descriptorFor('application/vnd.oci.image.layer.v1.tar', layer)] });
  await client.putManifest(repository, tag, manifest, OCI_MANIFEST);
}

function p50(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(1);
}

async function run(): Promise<void> {
  const { startStack } = await import('@sigstack/server').then((m) => m.stack);
  const dir = mkdtempSync(join(tmpdir(), 'sigstack-bench-image-'));
  const [stack, registry] = await Promise.all([startStack({ dir: join(dir, 'stack'), port: 0, warn: () => {} }), startRegistry(dir)]);
  try {
    const response = await fetch(`${stack.urls.oidc}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL }) });
    const { id_token: token } = (await response.json()) as { id_token: string };
    const flags = takeRegistryFlags([]).flags;
    const request = (image: string): SignRequest => ({ file: image, bundle: '', content: { kind: 'message' }, identityToken: token, signingConfig: stack.files.signingConfig, explicit: {}, interactive: false });
    const pusher = new RegistryClient(registry.host, { dockerConfig: false });
    const verifyRequest = (image: string) => ({ image, attestation: false, trustedRoot: stack.files.trustedRoot, policy: { identity: EMAIL, issuer: stack.urls.oidc } });
    const quiet = { log: () => {} };

    const signed: string[] = [];
    const signOnce = async (): Promise<number> => {
      const tag = `t${signed.length}`;
      await pushImage(pusher, 'bench/app', tag);
      const image = `${registry.host}/bench/app:${tag}`;
      const started = performance.now();
      await runImageSign(image, request(image), flags, quiet);
      signed.push(image);
      return performance.now() - started;
    };
    const verifyOnce = async (i: number): Promise<number> => {
      const started = performance.now();
      const outcome = await runImageVerify(verifyRequest(signed[i % signed.length] as string), flags);
      if (outcome.verified.length !== 1) throw new Error(`expected one verified signature, got ${outcome.verified.length}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 3; i++) await signOnce();
    for (let i = 0; i < 3; i++) await verifyOnce(i);

    const signTimes: number[] = [];
    const half = performance.now() + (seconds * 1000) / 2;
    while (performance.now() < half) signTimes.push(await signOnce());
    const verifyTimes: number[] = [];
    const end = performance.now() + (seconds * 1000) / 2;
    for (let i = 0; performance.now() < end; i++) verifyTimes.push(await verifyOnce(i));
    process.stderr.write(`${signTimes.length} images signed, ${verifyTimes.length} verified\n`);
    process.stdout.write(`image: sign p50 ${p50(signTimes)} ms, verify p50 ${p50(verifyTimes)} ms\n`);
  } finally {
    await Promise.all([stack.close(), registry.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

run().catch((err: unknown) => {
  process.stderr.write(`bench:image: ${describeError(err)}\n`);
  process.exitCode = 1;
});
