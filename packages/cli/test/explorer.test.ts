// The log explorer in a real browser: `sigstack up` on 127.0.0.1 (port 0, a temporary directory),
// seeded by signing with the sigstack CLI (keyless to Rekor v2 and v1, an attestation, a managed
// key) plus one certificate with <script> in its SAN; Debian's Chromium driven headless by
// playwright-core. Searches by email, pattern, digest, index, UUID, key and time; opens entries
// and sees them verified in the page (tiles and v1 API); tampered proofs and checkpoints (through
// page.route) show "failed"; untrusted text stays text. EXPLORER_SCREENSHOTS=DIR saves the
// README's screenshots there.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page, type Route } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = join(repo, 'packages/cli/dist/bundle/main.js');
const dir = mkdtempSync(join(tmpdir(), 'sigstack-explorer-'));
const stackDir = join(dir, 'stack');
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const XSS_SAN = 'https://example.test/<script>window.__xss=1</script>';
const XSS_CN = '<img src=x onerror=window.__xss=2>';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

let up: ChildProcess;
let exited: Promise<number | null>;
let origin = '';
let context: BrowserContext;

interface Seeded {
  digest: string;
  index: number;
  uuid: string;
}
const seeded: Record<'v2' | 'v1' | 'dsse' | 'managed' | 'xss' | 'huge', Seeded> = {} as never;
let managedPub = '';

function run(file: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: repo, timeout: 30_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function sigstack(...args: string[]): Promise<string> {
  const result = await run(process.execPath, [cli, ...args]);
  assert.equal(result.code, 0, `sigstack ${args.join(' ')}: ${result.stderr}`);
  return `${result.stdout}\n${result.stderr}`;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function searchApi(q: string): Promise<{ count: number; entries: { index: number; uuid: string }[] }> {
  const response = await fetch(`${origin}/api/v1/explorer/search?q=${encodeURIComponent(q)}`);
  assert.equal(response.status, 200);
  return (await response.json()) as never;
}

/** Signs FILE's text with sigstack and records the log entry it made. */
async function signFile(name: string, text: string, args: string[]): Promise<Seeded> {
  const file = join(dir, name);
  writeFileSync(file, text);
  await sigstack(args[0]!, file, '--bundle', `${file}.sigstore.json`, ...args.slice(1));
  const bundle = JSON.parse(readFileSync(`${file}.sigstore.json`, 'utf8'));
  const tlog = bundle.verificationMaterial.tlogEntries[0];
  const body = Buffer.from(tlog.canonicalizedBody, 'base64');
  return { digest: sha256(text), index: Number(tlog.logIndex), uuid: createHash('sha256').update(Buffer.from([0])).update(body).digest('hex') };
}

/** A hashedrekord signed with a self-made certificate whose subject and SAN hold HTML (and, with `padding`, a big extension). */
async function logXssEntry(padding = 0): Promise<Seeded> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = join(dir, 'xss.key');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const certFile = join(dir, 'xss.pem');
  const made = await run('openssl', [
    'req', '-new', '-x509', '-key', keyFile, '-days', '1', '-subj', `/CN=${XSS_CN}`, '-out', certFile,
    '-addext', `subjectAltName=URI:${XSS_SAN}`,
    '-addext', '1.3.6.1.4.1.57264.1.12=ASN1:UTF8String:https://github.com/example/repo',
    '-addext', `1.3.6.1.4.1.57264.1.13=ASN1:UTF8String:${COMMIT}`,
    '-addext', '1.3.6.1.4.1.57264.1.9=ASN1:UTF8String:https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main',
    ...(padding ? ['-addext', `1.3.6.1.4.1.99999.1=ASN1:UTF8String:${'x'.repeat(padding)}`] : []),
  ]);
  assert.equal(made.code, 0, made.stderr);
  const artifact = Buffer.from(`an artifact signed by a certificate full of HTML ${padding}\n`);
  const response = await fetch(`${origin}/api/v1/log/entries`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: sha256(artifact) } },
        signature: { content: sign('sha256', artifact, privateKey).toString('base64'), publicKey: { content: readFileSync(certFile).toString('base64') } },
      },
    }),
  });
  assert.equal(response.status, 201);
  const [uuid, entry] = Object.entries((await response.json()) as Record<string, { logIndex: number }>)[0]!;
  return { digest: sha256(artifact), index: entry.logIndex, uuid };
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  up = spawn(process.execPath, [cli, 'up', '--dir', stackDir, '--port', '0'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  exited = new Promise((resolve) => up.once('exit', (code) => resolve(code)));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sigstack up did not come up:\n${output}`)), 20_000);
    up.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ctrl-C stops it.')) {
        clearTimeout(timer);
        resolve();
      }
    });
    up.once('exit', (code) => reject(new Error(`sigstack up exited (${code}):\n${output}`)));
  });
  origin = /^sigstack is up: (http:\/\/127\.0\.0\.1:\d+) /m.exec(output)![1]!;
  const config = join(stackDir, 'signing_config.json');
  const token = async (email: string) => (await sigstack('dev-token', '--url', `${origin}/oidc`, '--email', email)).trim();
  const aliceToken = await token(ALICE);
  seeded.v2 = await signFile('v2.txt', 'signed keyless to Rekor v2\n', ['sign', '--signing-config', config, '--identity-token', aliceToken]);
  seeded.v1 = await signFile('v1.txt', 'signed keyless to Rekor v1\n', ['sign', '--fulcio-url', origin, '--rekor-url', origin, '--rekor-version', '1', '--identity-token', aliceToken]);
  const predicate = join(dir, 'predicate.json');
  writeFileSync(predicate, JSON.stringify({ buildDefinition: { buildType: 'https://example.test/build' }, runDetails: {} }));
  seeded.dsse = await signFile('attested.txt', 'attested by bob\n', ['attest', '--predicate', predicate, '--type', 'slsaprovenance1', '--signing-config', config, '--identity-token', await token(BOB)]);
  await sigstack('generate-key-pair', '--output-key-prefix', join(dir, 'managed'));
  managedPub = readFileSync(join(dir, 'managed.pub'), 'utf8');
  seeded.managed = await signFile('managed.txt', 'signed with a managed key\n', ['sign', '--key', join(dir, 'managed.key'), '--signing-config', config]);
  seeded.xss = await logXssEntry();
  // Entry bundles hold bodies of up to 64 KiB (2-byte lengths): big enough to be cut in the page.
  seeded.huge = await logXssEntry(25_000);

  context = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
    viewport: { width: 1100, height: 800 },
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
});

after(async () => {
  await context?.close();
  if (up && up.exitCode === null) {
    up.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A new tab that fails the test on any page error; requests to the search API are counted. */
async function open(path: string): Promise<{ page: Page; searches: string[] }> {
  const page = await context.newPage();
  const searches: string[] = [];
  page.on('pageerror', (err) => assert.fail(`page error: ${err.message}`));
  page.on('request', (request) => {
    if (request.url().includes('/api/v1/explorer/search')) searches.push(request.url());
  });
  await page.goto(`${origin}${path}`);
  return { page, searches };
}

async function statusText(page: Page, pattern: RegExp): Promise<string> {
  const status = page.getByRole('status').filter({ hasText: pattern });
  await status.first().waitFor({ timeout: 15_000 });
  return (await status.first().textContent()) ?? '';
}

async function resultIndexes(page: Page): Promise<number[]> {
  return (await page.locator('.result .index').allTextContents()).map((t) => Number(t.slice(1)));
}

async function searchFor(page: Page, query: string): Promise<string> {
  await page.getByRole('searchbox').fill(query);
  await page.getByRole('searchbox').press('Enter');
  await page.waitForURL((url) => url.searchParams.get('q') === query);
  return statusText(page, /entr(y|ies)/);
}

async function verificationAlert(page: Page): Promise<string> {
  const alert = page.getByRole('alert').filter({ hasText: 'failed' });
  await alert.waitFor({ timeout: 15_000 });
  return (await alert.textContent()) ?? '';
}

test('search by email, SAN pattern, digest, index, UUID, key and time; invalid input is marked and sends nothing', async () => {
  const { page, searches } = await open(`/explorer/?q=${encodeURIComponent(ALICE)}`);
  assert.equal(await statusText(page, /entries/), '2 entries');
  assert.deepEqual(await resultIndexes(page), [seeded.v1.index, seeded.v2.index]);

  assert.equal(await searchFor(page, '*@example.test'), '3 entries');
  assert.deepEqual(await resultIndexes(page), [seeded.dsse.index, seeded.v1.index, seeded.v2.index]);
  assert.equal(await searchFor(page, 'https://example.test/*'), '2 entries');
  assert.equal(await searchFor(page, `sha256:${seeded.v1.digest}`), '1 entry');
  assert.deepEqual(await resultIndexes(page), [seeded.v1.index]);
  assert.equal(await searchFor(page, seeded.v2.digest), '1 entry');
  assert.deepEqual(await resultIndexes(page), [seeded.v2.index]);
  assert.equal(await searchFor(page, seeded.dsse.digest), '1 entry', 'the in-toto subject is indexed');
  assert.deepEqual(await resultIndexes(page), [seeded.dsse.index]);
  assert.equal(await searchFor(page, String(seeded.managed.index)), '1 entry');
  assert.deepEqual(await resultIndexes(page), [seeded.managed.index]);
  assert.equal(await searchFor(page, seeded.v1.uuid), '1 entry');
  assert.deepEqual(await resultIndexes(page), [seeded.v1.index]);
  assert.equal(await searchFor(page, `${ALICE} after:2000-01-01`), '2 entries');
  assert.equal(await searchFor(page, `${ALICE} before:2000-01-01`), '0 entries');

  // A pasted key is searched by its fingerprint, and the URL says which.
  await page.getByText('Search by public key').click();
  await page.locator('#key-text').fill(managedPub);
  await page.getByRole('button', { name: 'Search by this key' }).click();
  await page.waitForURL((url) => (url.searchParams.get('q') ?? '').startsWith('key:'));
  assert.equal(await statusText(page, /entr(y|ies)/), '1 entry');
  assert.deepEqual(await resultIndexes(page), [seeded.managed.index]);

  const before = searches.length;
  const box = page.getByRole('searchbox');
  for (const bad of ['sha256:zz', '*a*', `${'ab'.repeat(20)}`, 'after:someday']) {
    await box.fill(bad);
    assert.equal(await box.getAttribute('aria-invalid'), 'true', bad);
    await box.press('Enter');
    assert.ok(await page.locator('#search-error').isVisible(), bad);
  }
  await page.waitForTimeout(200);
  assert.equal(searches.length, before, 'invalid searches sent no request');
  await box.fill(ALICE);
  assert.equal(await box.getAttribute('aria-invalid'), null);
  await page.close();
});

test('an entry opens from the results, verified in the browser: Rekor v2 from tiles, v1 from its proof; back, forward and reload keep the state', async () => {
  const { page } = await open(`/explorer/?q=${encodeURIComponent(ALICE)}`);
  await statusText(page, /entries/);
  await page.locator('.result .index', { hasText: `#${seeded.v2.index}` }).click();
  await page.waitForURL(`${origin}/explorer/entry/${seeded.v2.uuid}`);
  const verified = await statusText(page, /verified/);
  assert.match(verified, /tree size \d+, root hash [0-9a-f]{64}, checkpoint signed by key ID [0-9a-f]{8}/);
  assert.match(await page.locator('main').innerText(), /Rekor v2, read from tiles/);
  const text = await page.locator('main').innerText();
  assert.match(text, new RegExp(`email: ${ALICE.replace('.', '\\.')}`));
  assert.match(text, /Issuer\s+1\.3\.6\.1\.4\.1\.57264\.1\.8\s+http:\/\/127\.0\.0\.1:\d+\/oidc/);
  assert.ok(await page.locator('time[datetime]').first().getAttribute('title'));
  assert.equal(await page.locator('a.digest-link').textContent(), `sha256:${seeded.v2.digest}`);

  await page.goBack();
  assert.equal(await statusText(page, /entries/), '2 entries');
  await page.goForward();
  await statusText(page, /verified/);
  await page.reload();
  await statusText(page, /verified/);

  await page.goto(`${origin}/explorer/index/${seeded.v1.index}`);
  assert.match(await statusText(page, /verified/), /tree size .*; signed entry timestamp verified;/);
  assert.match(await page.locator('main').innerText(), /hashedrekord 0\.0\.1 \(Rekor v1\)/);
  await page.goto(`${origin}/explorer/entry/${seeded.dsse.uuid}`);
  await statusText(page, /verified/);
  assert.match(await page.locator('main').innerText(), /DSSE envelope[\s\S]*Payload digest[\s\S]*In-toto subjects \(indexed\)/);
  await page.goto(`${origin}/explorer/entry/${seeded.managed.uuid}`);
  await statusText(page, /verified/);
  assert.match(await page.locator('main').innerText(), /BEGIN PUBLIC KEY/);
  await page.close();
});

/** Flips one byte of the signature in a checkpoint note's first signature line. */
function flipSignature(note: string): string {
  return note.replace(/\n\u2014 (\S+) ([A-Za-z0-9+/=]+)\n/, (_m, name: string, b64: string) => {
    const bytes = Buffer.from(b64, 'base64');
    bytes[bytes.length - 1]! ^= 0x01;
    return `\n\u2014 ${name} ${bytes.toString('base64')}\n`;
  });
}

type V1Verification = { signedEntryTimestamp: string; inclusionProof: { hashes: string[]; checkpoint: string; rootHash: string } };

async function tamperV1(route: Route, change: (proof: V1Verification['inclusionProof'], verification: V1Verification) => void): Promise<void> {
  const response = await route.fetch();
  const json = (await response.json()) as Record<string, { verification: V1Verification }>;
  const verification = Object.values(json)[0]!.verification;
  change(verification.inclusionProof, verification);
  await route.fulfill({ response, json });
}

test('a flipped proof byte, root, checkpoint signature or signer shows which check "failed"', async () => {
  const cases: { name: string; path: string; url: string; handler: (route: Route) => Promise<void>; expect: RegExp }[] = [
    {
      name: 'v1 proof hash',
      path: `/explorer/entry/${seeded.v1.uuid}`,
      url: '**/api/v1/log/entries/*',
      handler: (route) => tamperV1(route, (p) => (p.hashes[0] = (p.hashes[0]![0] === '0' ? '1' : '0') + p.hashes[0]!.slice(1))),
      expect: /inclusion proof does not lead to the checkpoint's root hash/,
    },
    {
      name: 'v1 root',
      path: `/explorer/entry/${seeded.v1.uuid}`,
      url: '**/api/v1/log/entries/*',
      handler: (route) => tamperV1(route, (p) => (p.rootHash = '00'.repeat(32))),
      expect: /root hash .* is not the signed checkpoint's/,
    },
    {
      name: 'v1 checkpoint signature',
      path: `/explorer/entry/${seeded.v1.uuid}`,
      url: '**/api/v1/log/entries/*',
      handler: (route) => tamperV1(route, (p) => (p.checkpoint = flipSignature(p.checkpoint))),
      expect: /checkpoint signature does not verify with the log's key/,
    },
    {
      name: 'v1 signed entry timestamp',
      path: `/explorer/entry/${seeded.v1.uuid}`,
      url: '**/api/v1/log/entries/*',
      handler: (route) =>
        tamperV1(route, (_p, v) => {
          const set = Buffer.from(v.signedEntryTimestamp, 'base64');
          set[set.length - 1]! ^= 0x01;
          v.signedEntryTimestamp = set.toString('base64');
        }),
      expect: /signed entry timestamp .* does not verify with the log's key/,
    },
    {
      name: 'tile hash',
      path: `/explorer/entry/${seeded.v2.uuid}`,
      url: '**/tile/0/**',
      handler: async (route) => {
        const response = await route.fetch();
        const body = Buffer.from(await response.body());
        for (let at = 0; at < body.length; at += 32) if (at / 32 !== seeded.v2.index) body[at]! ^= 0xff;
        await route.fulfill({ response, body });
      },
      expect: /inclusion proof built from the log's tiles does not lead to the checkpoint's root hash/,
    },
    {
      name: 'tiles checkpoint signature',
      path: `/explorer/entry/${seeded.v2.uuid}`,
      url: '**/checkpoint',
      handler: async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, body: flipSignature(await response.text()) });
      },
      expect: /checkpoint signature does not verify with the log's key/,
    },
    {
      name: 'checkpoint from another key',
      path: `/explorer/entry/${seeded.v2.uuid}`,
      url: '**/checkpoint',
      handler: async (route) => {
        const response = await route.fetch();
        const note = (await response.text()).replace(/\n\u2014 \S+ [A-Za-z0-9+/=]+\n$/, `\n\u2014 ${new URL(origin).host} ${Buffer.alloc(68, 7).toString('base64')}\n`);
        await route.fulfill({ response, body: note });
      },
      expect: /not signed by the log's key/,
    },
  ];
  for (const c of cases) {
    const page = await context.newPage();
    await page.route(c.url, c.handler);
    await page.goto(`${origin}${c.path}`);
    const alert = await verificationAlert(page);
    assert.match(alert, /^Verification failed: /, c.name);
    assert.match(alert, c.expect, c.name);
    assert.equal(await page.getByRole('status').filter({ hasText: 'verified' }).count(), 0, c.name);
    await page.close();
  }
});

test('HTML in a certificate renders as text; Fulcio extensions by name, the commit linked', async () => {
  const { page } = await open(`/explorer/entry/${seeded.xss.uuid}`);
  await statusText(page, /verified/);
  const text = await page.locator('main').innerText();
  assert.ok(text.includes(`URI: ${XSS_SAN}`), text);
  assert.ok(text.includes(`CN=${XSS_CN}`), text);
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  assert.equal(await page.locator('main script, main img').count(), 0);
  assert.match(text, /Source Repository URI\s+1\.3\.6\.1\.4\.1\.57264\.1\.12\s+https:\/\/github\.com\/example\/repo/);
  assert.match(text, /Build Signer URI\s+1\.3\.6\.1\.4\.1\.57264\.1\.9/);
  assert.equal(await page.getByRole('link', { name: COMMIT }).getAttribute('href'), `https://github.com/example/repo/commit/${COMMIT}`);
  // Searching for the SAN finds the entry and shows it as text too.
  assert.equal(await searchFor(page, XSS_SAN), '2 entries');
  assert.ok((await page.locator('.identities').allInnerTexts()).every((t) => t.includes(XSS_SAN)));
  assert.equal(await page.locator('main script').count(), 0);
  await page.close();
});

test('a huge body is shown truncated, with "show all" and "download"', async () => {
  const { page } = await open(`/explorer/entry/${seeded.huge.uuid}`);
  await statusText(page, /verified/);
  const raw = page.locator('pre.raw');
  const shown = ((await raw.textContent()) ?? '').length;
  assert.ok(shown < 34_000, `shown ${shown} characters`);
  assert.match((await raw.textContent()) ?? '', /…$/);
  const download = page.getByRole('link', { name: 'Download' });
  assert.equal(await download.getAttribute('download'), 'entry-body.json');
  assert.match((await download.getAttribute('href')) ?? '', /^blob:/);
  await page.getByRole('button', { name: /^Show all \([\d,]+ bytes\)$/ }).click();
  assert.ok(((await raw.textContent()) ?? '').length > 40_000);
  await page.close();
});

test('results come 20 a page, newest first; older pages keep their entries while the log grows', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const logOne = async (i: number) => {
    const artifact = Buffer.from(`paged artifact ${i}`);
    const body = { apiVersion: '0.0.1', kind: 'hashedrekord', spec: { data: { hash: { algorithm: 'sha256', value: sha256(artifact) } }, signature: { content: sign('sha256', artifact, privateKey).toString('base64'), publicKey: { content: Buffer.from(pem).toString('base64') } } } };
    const response = await fetch(`${origin}/api/v1/log/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(response.status, 201);
    return (Object.values((await response.json()) as Record<string, { logIndex: number }>)[0]!).logIndex;
  };
  const indexes: number[] = [];
  for (let i = 0; i < 23; i++) indexes.push(await logOne(i));
  const fingerprint = (await (await fetch(`${origin}/api/v1/explorer/fingerprint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: pem }) })).json()) as { fingerprint: string };
  const { page } = await open(`/explorer/?q=key:${fingerprint.fingerprint}`);
  assert.equal(await statusText(page, /entries/), '23 entries');
  const newestFirst = [...indexes].reverse();
  assert.deepEqual(await resultIndexes(page), newestFirst.slice(0, 20));
  await page.getByRole('link', { name: 'Older' }).click();
  await page.waitForURL((url) => url.searchParams.get('page') === '2' && url.searchParams.has('size'));
  await page.locator('.result').first().waitFor();
  assert.deepEqual(await resultIndexes(page), newestFirst.slice(20));
  await logOne(99);
  await page.reload();
  await statusText(page, /entries/);
  assert.deepEqual(await resultIndexes(page), newestFirst.slice(20), 'page 2 is pinned to its tree size');
  await page.goBack();
  assert.equal(await statusText(page, /entries/), '24 entries', 'page 1 (no size) shows the grown log');
  await page.close();
});

test('copy buttons announce "Copied", / focuses the search, controls take the keyboard, colours follow prefers-color-scheme', async () => {
  const { page } = await open(`/explorer/entry/${seeded.v1.uuid}`);
  await statusText(page, /verified/);
  await page.getByRole('button', { name: 'Copy UUID' }).click();
  await statusText(page, /Copied UUID/);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), seeded.v1.uuid);

  await page.locator('h2').click();
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'q');
  // Tab reaches the copy button; Enter on it copies.
  let reached = false;
  for (let i = 0; i < 30 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = (await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))) === 'Copy digest';
  }
  assert.ok(reached, 'Tab reaches the digest copy button');
  await page.keyboard.press('Enter');
  await statusText(page, /Copied digest/);

  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(13, 17, 23)');
  await page.emulateMedia({ colorScheme: 'light' });
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(255, 255, 255)');
  await page.close();
});

test('the page remembers the checkpoint it verified and checks the next one is consistent with it', async () => {
  const { page } = await open(`/explorer/entry/${seeded.v1.uuid}`);
  const first = await statusText(page, /verified/);
  const size = Number(/tree size (\d+)/.exec(first)![1]);
  await signFile('later.txt', 'signed after the first visit\n', ['sign', '--key', join(dir, 'managed.key'), '--signing-config', join(stackDir, 'signing_config.json')]);
  await page.goto(`${origin}/explorer/entry/${seeded.v2.uuid}`);
  const next = await statusText(page, /verified/);
  assert.match(next, new RegExp(`tree size ${size + 1},`));
  assert.match(next, new RegExp(`consistent with the checkpoint this browser verified before \\(size ${size}\\)`));

  // A consistency proof that does not check out is a failure.
  await page.route('**/api/v1/log/proof*', async (route) => {
    const response = await route.fetch();
    const json = (await response.json()) as { hashes: string[] };
    json.hashes = json.hashes.map(() => '11'.repeat(32));
    await route.fulfill({ response, json });
  });
  await page.evaluate((key) => localStorage.setItem(key, JSON.stringify({ size: 1, root: '22'.repeat(32) })), `sigstack-explorer:checkpoint:${await logIdHex()}`);
  await page.goto(`${origin}/explorer/entry/${seeded.v2.uuid}`);
  assert.match(await verificationAlert(page), /not consistent with the one this browser verified before \(size 1\)/);
  await page.evaluate(() => localStorage.clear());
  await page.close();
});

async function logIdHex(): Promise<string> {
  const html = await (await fetch(`${origin}/explorer/`)).text();
  return JSON.parse(/id="explorer-config">([^<]*)</.exec(html)![1]!).keyId;
}

test('screenshots of the search and entry views (EXPLORER_SCREENSHOTS=DIR to keep them)', async () => {
  const out = process.env.EXPLORER_SCREENSHOTS ?? join(dir, 'screenshots');
  const { page } = await open(`/explorer/?q=${encodeURIComponent('*@example.test')}`);
  await statusText(page, /entries/);
  await page.screenshot({ path: join(out, 'explorer-search.png') });
  await page.goto(`${origin}/explorer/entry/${seeded.v2.uuid}`);
  await statusText(page, /verified/);
  await page.screenshot({ path: join(out, 'explorer-entry.png') });
  assert.ok(readFileSync(join(out, 'explorer-entry.png')).length > 1000);
  await page.close();
});
