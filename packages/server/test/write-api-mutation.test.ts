// A seeded, bounded mutation run of every write API of the whole stack (Rekor v1 and v2 entries,
// the search index, Fulcio's signingCert, the TSA's DER and JSON forms): valid requests with
// bytes flipped, cut or doubled, and JSON values swapped for other types. Every answer must be
// a 2xx or 4xx (never a 5xx), no connection may drop, and every service must still answer.
// SIGSTACK_MUTATION_SEED / SIGSTACK_MUTATION_COUNT replay or widen a run.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, pemEncode } from '@sigstack/core';
import { startStack, type Stack } from '../src/stack.js';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { MessageImprint, TimeStampReq } from '@peculiar/asn1-tsp';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { hashedrekordV001, hashedrekordV002Request, newSigner } from './helpers.js';

const SEED = Number(process.env.SIGSTACK_MUTATION_SEED ?? 20261207);
const COUNT = Number(process.env.SIGSTACK_MUTATION_COUNT ?? 3000);
const IN_FLIGHT = 16;
const EMAIL = 'mutation@example.test';

const dir = mkdtempSync(join(tmpdir(), 'sigstack-mutation-'));
let stack: Stack;

before(async () => {
  stack = await startStack({ dir: join(dir, 'stack'), port: 0, admissionWorkers: 0, warn: () => {} });
});
after(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Seed {
  name: string;
  url: string;
  contentType: string;
  body: Buffer;
  /** The JSON document, for value swaps (absent for DER). */
  json?: unknown;
}

/** A DER TimeStampReq for a SHA-256 digest, with a nonce and certReq. */
function timestampRequest(digest: Buffer): Buffer {
  const req = new TimeStampReq({
    messageImprint: new MessageImprint({ hashAlgorithm: new AlgorithmIdentifier({ algorithm: '2.16.840.1.101.3.4.2.1' }), hashedMessage: new OctetString(digest) }),
    certReq: true,
    nonce: new Uint8Array([0x01, 0x23, 0x45, 0x67]).buffer,
  });
  return Buffer.from(AsnConvert.serialize(req));
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

// Values of other types (and awkward ones of the same type) to swap in.
const OTHER_VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, 1e308, 2 ** 53 + 2, '', 'x', '\ud800', '\u0000', 'a'.repeat(5000), [], [1, 'a'], {}, { a: 1 },
  'sha256:', 'zz', '=', '-----BEGIN PUBLIC KEY-----', Buffer.from('not a key').toString('base64'),
];

/** Every path to a value inside a JSON document. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function mutateJson(random: Random, doc: unknown): string {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  const all = paths(copy).filter((p) => p.length > 0);
  const path = pick(random, all);
  let parent: any = copy;
  for (const key of path.slice(0, -1)) parent = parent[key];
  const last = path[path.length - 1]!;
  const choice = random();
  if (choice < 0.6) parent[last] = structuredClone(pick(random, OTHER_VALUES));
  else if (choice < 0.8) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (typeof parent[last] === 'string') {
    const s = parent[last] as string;
    parent[last] = random() < 0.5 ? s.slice(0, Math.floor(random() * s.length)) : s + s;
  } else parent[last] = [parent[last]];
  return JSON.stringify(random() < 0.1 ? [copy] : copy);
}

function mutateBytes(random: Random, body: Buffer): Buffer {
  const bytes = Buffer.from(body);
  const at = Math.floor(random() * bytes.length);
  switch (Math.floor(random() * 5)) {
    case 0: // flip bits
      for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
        const j = Math.floor(random() * bytes.length);
        bytes[j] = (bytes[j] ?? 0) ^ (1 << Math.floor(random() * 8));
      }
      return bytes;
    case 1: // cut
      return bytes.subarray(0, at);
    case 2: // double a slice
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at - Math.floor(random() * at)), bytes.subarray(at)]);
    case 3: // random byte in place
      bytes[at] = Math.floor(random() * 256);
      return bytes;
    default: // drop the head
      return bytes.subarray(at);
  }
}

async function seeds(): Promise<Seed[]> {
  const signer = newSigner();
  const artifact = Buffer.from('mutated requests');
  const digest = createHash('sha256').update(artifact).digest();
  const tokenResponse = await fetch(`${stack.urls.oidc}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL }) });
  const token = ((await tokenResponse.json()) as { id_token: string }).id_token;
  const key = generateKeyPair('ec', { namedCurve: 'P-256' });
  const signingCert = {
    credentials: { oidcIdentityToken: token },
    publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: pemEncode('PUBLIC KEY', key.spki) }, proofOfPossession: sign('sha256', Buffer.from(EMAIL), key.privateKey).toString('base64') },
  };
  const json = (name: string, url: string, doc: unknown): Seed => ({ name, url, contentType: 'application/json', body: Buffer.from(JSON.stringify(doc)), json: doc });
  return [
    json('rekor v1 entry', `${stack.urls.rekor}/api/v1/log/entries`, hashedrekordV001(signer, artifact)),
    json('rekor v2 entry', `${stack.urls.rekor}/api/v2/log/entries`, hashedrekordV002Request(signer, artifact)),
    json('search', `${stack.urls.rekor}/api/v1/index/retrieve`, { hash: `sha256:${digest.toString('hex')}`, email: EMAIL, publicKey: { format: 'x509', content: Buffer.from(signer.pem).toString('base64') }, operator: 'or' }),
    json('fulcio signingCert', `${stack.urls.ca}/api/v2/signingCert`, signingCert),
    json('tsa json', stack.urls.tsa, { artifactHash: digest.toString('base64'), hashAlgorithm: 'sha256', nonce: 1234567, certificates: true }),
    { name: 'tsa der', url: stack.urls.tsa, contentType: 'application/timestamp-query', body: timestampRequest(digest) },
  ];
}

test(`seeded mutation run of every write API (seed ${SEED}, ${COUNT} requests): no 5xx, no dropped connection`, async () => {
  const random = prng(SEED);
  const bases = await seeds();
  // Each seed as sent must be accepted (else the run mutates something already refused).
  for (const seed of bases) {
    const response = await fetch(seed.url, { method: 'POST', headers: { 'content-type': seed.contentType }, body: new Uint8Array(seed.body) });
    assert.ok(response.status < 300, `${seed.name} seed answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer().catch(() => undefined);
  }
  const requests = Array.from({ length: COUNT }, (_, i) => {
    const seed = bases[i % bases.length]!;
    const body = seed.json !== undefined && random() < 0.6 ? Buffer.from(mutateJson(random, seed.json)) : mutateBytes(random, seed.body);
    return { seed, body };
  });
  const problems: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < requests.length) {
      const i = next++;
      const { seed, body } = requests[i]!;
      try {
        const response = await fetch(seed.url, { method: 'POST', headers: { 'content-type': seed.contentType }, body: new Uint8Array(body) });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status >= 500) problems.push(`#${i} ${seed.name}: HTTP ${response.status} ${text.slice(0, 200)} for ${body.toString('base64').slice(0, 300)}`);
      } catch (err) {
        problems.push(`#${i} ${seed.name}: connection failed (${(err as Error).message}; ${String((err as { cause?: unknown }).cause)})`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const seconds = (performance.now() - started) / 1000;
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} of ${COUNT} requests failed (seed ${SEED})`);
  assert.ok(seconds < 60, `the run took ${seconds.toFixed(1)} s`);
  assert.ok((statuses.get(400) ?? 0) > COUNT / 4, `most mutations are refused: ${JSON.stringify([...statuses])}`);

  // Every service still answers a valid request.
  for (const seed of bases.filter((s) => s.name !== 'fulcio signingCert')) {
    const body = seed.name === 'rekor v1 entry' || seed.name === 'rekor v2 entry'
      ? Buffer.from(JSON.stringify(seed.name === 'rekor v1 entry' ? hashedrekordV001(newSigner(), Buffer.from('after')) : hashedrekordV002Request(newSigner(), Buffer.from('after'))))
      : seed.body;
    const response = await fetch(seed.url, { method: 'POST', headers: { 'content-type': seed.contentType }, body: new Uint8Array(body) });
    assert.ok(response.status < 300, `${seed.name} after the run: HTTP ${response.status} ${await response.text()}`);
  }
  const fulcio = await fetch(`${stack.urls.ca}/api/v2/signingCert`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array(bases.find((s) => s.name === 'fulcio signingCert')!.body) });
  assert.equal(fulcio.status, 200, await fulcio.text());
  assert.equal((await fetch(`${stack.urls.rekor}/api/v1/log`)).status, 200);
});
