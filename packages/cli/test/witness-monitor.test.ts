// Witnesses, a witnessed log and the monitor as real processes on 127.0.0.1 (the `sigstack`
// command): normal operation is quiet and reports watched entries once; a split view (a second
// log process with the same key and origin, served through a switch) is caught by the monitor,
// refused by the witness, and its bundle fails `verify --witness`; a rolled-back log alerts.
// (witness-kill.test.ts: a witness SIGKILLed mid-request.)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatAddCheckpointRequest, formatVerifierKey, generateKeyPair, pemEncode } from '@sigstack/core';
import { startServerChild, type ServerChild } from '../src/bench/server-child.js';
import { createServer, request as httpRequest } from 'node:http';

// The bundled command, as users run it (it also starts faster, which this process-heavy test needs).
const main = fileURLToPath(new URL('../bundle/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sigstack-witness-monitor-'));
const children: ServerChild[] = [];
after(async () => {
  for (const c of children) await c.stop();
  rmSync(dir, { recursive: true, force: true });
});

function sigstack(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

async function serve(args: string[], what: string): Promise<{ child: ServerChild; url: string }> {
  const child = await startServerChild([main, ...args], /serving at (http:\/\/\S+)/, what);
  children.push(child);
  return { child, url: child.match[1] as string };
}

/** A proxy on 127.0.0.1 forwarding to the current upstream: how a log serves a monitor a split view. */
async function startSwitch(first: string) {
  let target = new URL(first);
  const server = createServer((req, res) => {
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end('upstream unreachable\n'));
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    to: (upstream: string) => void (target = new URL(upstream)),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const NAME = 'witnessed.example/log';
const logKey = generateKeyPair('ed25519');
const logKeyPath = join(dir, 'log-key.pem');
writeFileSync(logKeyPath, pemEncode('PRIVATE KEY', logKey.pkcs8));
writeFileSync(join(dir, 'log-pub.pem'), pemEncode('PUBLIC KEY', logKey.spki));
const logVkey = formatVerifierKey(NAME, logKey.publicKey);
const logId = createHash('sha256').update(Buffer.concat([Buffer.from(`${NAME}\n`), Buffer.from([1]), logKey.spki.subarray(-32)])).digest();

test('a witnessed log, a split view, a rollback: monitor, witness and verify --witness each catch their part', async () => {
  // Two witnesses (keys made by generate-key, then served).
  const wKeys: string[] = [];
  const witnesses: string[] = [];
  for (const w of ['w1', 'w2']) {
    const made = await sigstack(['witness', 'generate-key', '--dir', join(dir, w), '--name', `${w}.example`]);
    assert.equal(made.code, 0, made.stderr);
    wKeys.push(made.stdout.trim());
    witnesses.push((await serve(['witness', 'serve', '--dir', join(dir, w), '--name', `${w}.example`, '--port', '0', '--log', `${NAME}=${logVkey}`], w)).url);
  }
  assert.match(wKeys[0]!, /^w1\.example\+[0-9a-f]{8}\+/);
  const policy = join(dir, 'policy.txt');
  writeFileSync(policy, `log ${logVkey}\nwitness w1 ${wKeys[0]} ${witnesses[0]}\nwitness w2 ${wKeys[1]} ${witnesses[1]}\ngroup any-of any w1 w2\nquorum any-of\n`);

  const a = await serve(['log', 'serve', '--dir', join(dir, 'a'), '--key', logKeyPath, '--name', NAME, '--port', '0', '--witness-policy', policy], 'log A');
  const sw = await startSwitch(a.url);
  try {
    const trustedRoot = join(dir, 'trusted_root.json');
    writeFileSync(trustedRoot, JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [{ baseUrl: `http://${NAME}`, hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: logKey.spki.toString('base64'), keyDetails: 'PKIX_ED25519', validFor: { start: '2020-01-01T00:00:00Z' } }, logId: { keyId: logId.toString('base64') } }],
      certificateAuthorities: [], ctlogs: [], timestampAuthorities: [],
    }));
    const made = await sigstack(['generate-key-pair', '--output-key-prefix', join(dir, 'signer')]);
    assert.equal(made.code, 0, made.stderr);
    const fingerprint = createHash('sha256').update(Buffer.from((await import('node:fs')).readFileSync(join(dir, 'signer.pub'), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64')).digest('hex');
    writeFileSync(join(dir, 'monitor.yaml'), `monitoredValues:\n  fingerprints:\n    - ${fingerprint}\n`);

    const signTo = async (url: string, name: string) => {
      writeFileSync(join(dir, name), `artifact ${name}\n`);
      const r = await sigstack(['sign', join(dir, name), '--bundle', join(dir, `${name}.json`), '--key', join(dir, 'signer.key'), '--rekor-url', url, '--rekor-version', '1']);
      assert.equal(r.code, 0, r.stderr);
    };
    const verifyWitnessed = (name: string) => sigstack(['verify', join(dir, name), '--bundle', join(dir, `${name}.json`), '--key', join(dir, 'signer.pub'), '--trusted-root', trustedRoot, '--witness', wKeys[0]!, '--witness', wKeys[1]!, '--witness-threshold', '1']);
    for (const n of ['a1', 'a2', 'a3']) await signTo(a.url, n);
    const good = await verifyWitnessed('a3');
    assert.equal(good.code, 0, good.stderr);

    const monitor = (extra: string[] = []) => sigstack(['monitor', '--log', sw.url, '--public-key', join(dir, 'log-pub.pem'), '--state', join(dir, 'monitor-state.json'), '--config', join(dir, 'monitor.yaml'), '--once', '--witness', `${witnesses[0]}=${wKeys[0]}`, ...extra]);
    const quiet = await monitor();
    assert.equal(quiet.code, 0, quiet.stdout + quiet.stderr);
    const lines = quiet.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; logIndex: number });
    assert.deepEqual(lines.map((l) => [l.type, l.logIndex]), [['match', 0], ['match', 1], ['match', 2]], 'each watched entry once');
    const again = await monitor();
    assert.deepEqual([again.code, again.stdout], [0, ''], 'then quiet');
    // The log's key from a trusted root whose baseUrl is the monitored URL.
    const rootForSwitch = join(dir, 'trusted_root_switch.json');
    writeFileSync(rootForSwitch, (await import('node:fs')).readFileSync(trustedRoot, 'utf8').replace(`http://${NAME}`, sw.url));
    const viaRoot = await sigstack(['monitor', '--log', sw.url, '--trusted-root', rootForSwitch, '--state', join(dir, 'root-state.json'), '--once']);
    assert.equal(viaRoot.code, 0, viaRoot.stdout + viaRoot.stderr);
    const notListed = await sigstack(['monitor', '--log', a.url, '--trusted-root', rootForSwitch, '--state', join(dir, 'root-state.json'), '--once']);
    assert.match(notListed.stderr, /LOG_NOT_TRUSTED/);

    // The split view: B has the same key and origin but other entries.
    const b = await serve(['log', 'serve', '--dir', join(dir, 'b'), '--key', logKeyPath, '--name', NAME, '--port', '0', '--witness-policy', policy], 'log B');
    for (const n of ['b1', 'b2', 'b3', 'b4']) await signTo(b.url, n);
    const witnessStatus = (await (await fetch(`${b.url}/api/v1/log/witnesses`)).json()) as { quorum: boolean; witnesses: { lastError?: string }[] };
    assert.equal(witnessStatus.quorum, false, 'no witness cosigns the fork');
    assert.match(witnessStatus.witnesses[0]?.lastError ?? '', /answered 422/);
    const forked = await verifyWitnessed('b4');
    assert.equal(forked.code, 1);
    assert.match(forked.stderr, /TLOG_WITNESS_QUORUM_NOT_MET/);
    sw.to(b.url);
    const split = await monitor();
    assert.equal(split.code, 2, split.stdout + split.stderr);
    const alert = JSON.parse(split.stdout.trim().split('\n')[0] as string) as { type: string; check: string; evidence: { saved: string; latest: string } };
    assert.deepEqual([alert.type, alert.check], ['alert', 'not consistent']);
    assert.ok(alert.evidence.saved.includes(`${NAME}\n3\n`) && alert.evidence.latest.includes(`${NAME}\n4\n`));
    // A fresh monitor shown only B still learns of A through the witness.
    const fresh = await sigstack(['monitor', '--log', sw.url, '--public-key', join(dir, 'log-pub.pem'), '--state', join(dir, 'fresh-state.json'), '--once', '--witness', `${witnesses[0]}=${wKeys[0]}`]);
    assert.equal(fresh.code, 2, fresh.stdout + fresh.stderr);
    assert.match(fresh.stdout, /witness w1\.example/);
    // Gossip: a monitor shown only B saved its view; compared with ours, the fork shows.
    const bView = await sigstack(['monitor', '--log', b.url, '--public-key', join(dir, 'log-pub.pem'), '--state', join(dir, 'b-state.json'), '--once']);
    assert.equal(bView.code, 0, bView.stdout + bView.stderr);
    const same = await sigstack(['monitor', 'compare', '--state', join(dir, 'monitor-state.json'), '--state', join(dir, 'monitor-state.json')]);
    assert.equal(same.code, 0, same.stdout);
    const gossip = await sigstack(['monitor', 'compare', '--state', join(dir, 'monitor-state.json'), '--state', join(dir, 'b-state.json'), '--log', b.url, '--public-key', join(dir, 'log-pub.pem')]);
    assert.equal(gossip.code, 2, gossip.stdout + gossip.stderr);
    assert.equal((JSON.parse(gossip.stdout) as { check: string }).check, 'not consistent');
    await b.child.stop();

    // A rolled-back log: A restored from an older copy.
    sw.to(a.url);
    assert.equal((await monitor()).code, 0);
    await a.child.stop();
    cpSync(join(dir, 'a'), join(dir, 'a-old'), { recursive: true });
    const a2 = await serve(['log', 'serve', '--dir', join(dir, 'a'), '--key', logKeyPath, '--name', NAME, '--port', String(new URL(a.url).port), '--witness-policy', policy], 'log A again');
    await signTo(a2.url, 'a4');
    assert.equal((await monitor()).code, 0);
    await a2.child.stop();
    rmSync(join(dir, 'a'), { recursive: true, force: true });
    cpSync(join(dir, 'a-old'), join(dir, 'a'), { recursive: true });
    await serve(['log', 'serve', '--dir', join(dir, 'a'), '--key', logKeyPath, '--name', NAME, '--port', String(new URL(a.url).port)], 'log A rolled back');
    const rolled = await monitor();
    assert.equal(rolled.code, 2, rolled.stdout);
    assert.equal((JSON.parse(rolled.stdout.split('\n')[0] as string) as { check: string }).check, 'smaller than seen');
    const stale = await fetch(`${witnesses[0]}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest(3, [], await (await fetch(`${a.url}/checkpoint`)).text()) });
    assert.deepEqual([stale.status, await stale.text()], [409, '4\n'], 'the witness names the size it cosigned');

    // An unreachable log is an error (1), not an alert.
    const down = await sigstack(['monitor', '--log', 'http://127.0.0.1:9', '--public-key', join(dir, 'log-pub.pem'), '--state', join(dir, 'down.json'), '--once', '--api', 'v1']);
    assert.equal(down.code, 1, down.stdout);
  } finally {
    await sw.close();
  }
});
