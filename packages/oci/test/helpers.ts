// Test helpers: Debian's docker-registry (distribution 2.8) started on 127.0.0.1 with a temporary
// storage directory, optionally behind Docker token auth with a token server this process runs
// (ES256 JWTs whose x5c certificate the registry's rootcertbundle trusts), and small images
// (one layer) pushed to it.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, randomUUID } from 'node:crypto';
import { createServer, get as httpGet, type Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { RegistryClient, OCI_MANIFEST, OCI_IMAGE_CONFIG, documentBytes, descriptorFor } from '../src/index.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface RegistryProcess {
  /** host:port, what image references name. */
  host: string;
  /** With `tls`: the registry's self-signed certificate (PEM file). */
  certificate?: string;
  storage: string;
  token?: TokenServer;
  close(): Promise<void>;
}

export interface TokenServer {
  url: string;
  username: string;
  password: string;
  /** Scopes asked for, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** A token server for `service`: basic credentials in, an ES256 JWT granting the asked scope out. */
async function startTokenServer(dir: string, service: string, issuer: string): Promise<{ server: TokenServer; certPath: string }> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', certPath, '-subj', '/CN=sigstack test token signer', '-days', '1'], { stdio: 'ignore' });
  const key = createPrivateKey(readFileSync(keyPath));
  const certDer = Buffer.from(readFileSync(certPath, 'utf8').replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const username = 'tester';
  const password = randomBytes(12).toString('hex');
  const requests: string[] = [];
  const http: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    if (url.pathname !== '/token' || req.headers.authorization !== expected) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const scope = url.searchParams.get('scope') ?? '';
    requests.push(scope);
    const access = scope
      ? [{ type: 'repository', name: scope.split(':')[1], actions: (scope.split(':')[2] ?? '').split(',') }]
      : [];
    const now = Math.floor(Date.now() / 1000);
    new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', x5c: [certDer.toString('base64')] })
      .setIssuer(issuer)
      .setSubject(username)
      .setAudience(url.searchParams.get('service') ?? service)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + 300)
      .setJti(randomUUID())
      .sign(key)
      .then((token) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 })));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as { port: number }).port;
  return {
    certPath,
    server: { url: `http://127.0.0.1:${port}`, username, password, requests, close: () => new Promise<void>((r) => http.close(() => r())) },
  };
}

/** Starts docker-registry on a free loopback port; `tokenAuth`: behind a token server. */
export async function startRegistry(dir: string, options: { tokenAuth?: boolean; tls?: boolean } = {}): Promise<RegistryProcess> {
  mkdirSync(dir, { recursive: true });
  const storage = join(dir, 'storage');
  const port = await freePort();
  let token: TokenServer | undefined;
  let auth = '';
  if (options.tokenAuth) {
    const started = await startTokenServer(dir, 'sigstack-test-registry', 'sigstack-test-issuer');
    token = started.server;
    auth = `auth:\n  token:\n    realm: ${token.url}/token\n    service: sigstack-test-registry\n    issuer: sigstack-test-issuer\n    rootcertbundle: ${started.certPath}\n`;
  }
  let tls = '';
  if (options.tls) {
    const keyPath = join(dir, 'tls.key');
    const certPath = join(dir, 'tls.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', certPath, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'], { stdio: 'ignore' });
    tls = `  tls:\n    certificate: ${certPath}\n    key: ${keyPath}\n`;
  }
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${tls}${auth}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      const req = (options.tls ? httpsGet : httpGet)(`${options.tls ? 'https' : 'http'}://${host}/v2/`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
    });
    if (status === 200 || status === 401) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    storage,
    ...(options.tls ? { certificate: join(dir, 'tls.crt') } : {}),
    ...(token ? { token } : {}),
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await token?.close();
    },
  };
}

export interface PushedImage {
  digest: string;
  manifest: Buffer;
  layer: Buffer;
}

/** Builds an image (one layer of `content`, an OCI config) and pushes it as REPOSITORY:TAG. */
export async function pushImage(client: RegistryClient, repository: string, tag: string, content = `hello ${randomUUID()}\n`): Promise<PushedImage> {
  const layer = Buffer.from(content, 'utf8');
  const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  const config = documentBytes({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] }, config: {} });
  await client.putBlob(repository, layer);
  await client.putBlob(repository, config);
  const manifest = documentBytes({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorFor(OCI_IMAGE_CONFIG, config),
    layers: [descriptorFor('application/vnd.oci.image.layer.v1.tar', layer)],
  });
  const pushed = await client.putManifest(repository, tag, manifest, OCI_MANIFEST);
  return { digest: pushed.digest, manifest, layer };
}

/** Writes an OCI image layout on disk (one layer of `content`) and answers its manifest digest. */
export function writeOciLayout(dir: string, tag: string, content = `hello ${randomUUID()}\n`): string {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer) => {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    writeFileSync(join(blobs, digest.slice(7)), data);
    return digest;
  };
  const layer = Buffer.from(content, 'utf8');
  const config = documentBytes({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [put(layer)] }, config: {} });
  put(config);
  const manifest = documentBytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptorFor(OCI_IMAGE_CONFIG, config), layers: [descriptorFor('application/vnd.oci.image.layer.v1.tar', layer)] });
  const digest = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), documentBytes({ schemaVersion: 2, manifests: [{ mediaType: OCI_MANIFEST, digest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }] }));
  return digest;
}

/** Pushes an OCI layout's tag to a plain-HTTP loopback registry with skopeo (an independent client). */
export function skopeoPush(layout: string, tag: string, destination: string): void {
  execFileSync('skopeo', ['copy', '--insecure-policy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${destination}`], { stdio: 'pipe' });
}
