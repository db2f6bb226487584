// Helpers for the monitor and witness tests: hashedrekord entries signed with certificates for
// a given identity (from a real test CA), and a switch: an HTTP proxy that forwards to one of
// several upstream logs, to serve a monitor a split view.

import { createHash, sign } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { generateKeyPair, pemEncode } from '@sigstack/core';
import { buildCertificate } from '../src/ca/cert/index.js';
import { createCaHierarchy, type CaHierarchy } from '../src/ca/keys/index.js';

export const OIDC_ISSUER = 'https://oidc.example.test';

function utf8String(value: string): Buffer {
  const bytes = Buffer.from(value);
  return Buffer.concat([Buffer.from([0x0c, bytes.length]), bytes]);
}

let ca: Promise<CaHierarchy> | undefined;

/** A Fulcio-style leaf certificate (email SAN, OIDC issuer extensions) and its key. */
export async function identityCertificate(email: string, extra: { oid: string; value: string }[] = []) {
  ca ??= createCaHierarchy();
  const key = generateKeyPair('ec', { namedCurve: 'P-256' });
  const der = await buildCertificate({
    subjectPublicKeySpki: key.spki,
    san: { type: 'email', value: email },
    extensions: [
      { oid: '1.3.6.1.4.1.57264.1.1', value: Buffer.from(OIDC_ISSUER) },
      { oid: '1.3.6.1.4.1.57264.1.8', value: utf8String(OIDC_ISSUER) },
      ...extra.map((e) => ({ oid: e.oid, value: utf8String(e.value) })),
    ],
    issuer: (await ca).issuer,
  });
  return { der, privateKey: key.privateKey, pem: pemEncode('CERTIFICATE', der) };
}

/** A hashedrekord v0.0.1 proposed entry over `artifact`, signed by a certificate holder. */
export function certEntry(holder: { pem: string; privateKey: Parameters<typeof sign>[2] }, artifact: Buffer) {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(artifact).digest('hex') } },
      signature: { content: sign('sha256', artifact, holder.privateKey).toString('base64'), publicKey: { content: Buffer.from(holder.pem).toString('base64') } },
    },
  };
}

export async function addEntry(logUrl: string, entry: unknown): Promise<{ logIndex: number }> {
  const res = await fetch(`${logUrl}/api/v1/log/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(entry) });
  if (res.status !== 201) throw new Error(`append answered ${res.status}: ${await res.text()}`);
  return Object.values((await res.json()) as Record<string, { logIndex: number }>)[0] as { logIndex: number };
}

export interface Switch {
  url: string;
  /** Which upstream the next requests go to. */
  to(upstream: string): void;
  close(): Promise<void>;
}

/** A proxy on 127.0.0.1 forwarding every request to the current upstream. */
export async function startSwitch(first: string): Promise<Switch> {
  let target = new URL(first);
  const server: Server = createServer((req, res) => {
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end('upstream unreachable\n'));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    to(upstream) {
      target = new URL(upstream);
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
