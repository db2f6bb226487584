// Tests for the pgp, minisign and ssh PKI formats (src/log/pki): keys and signatures made by the
// real tools (gpg, minisign, ssh-keygen) in a temporary directory, checked for verification,
// canonical values, subjects and the errors malformed input gets.

import { generateKeyPair } from '@sigstack/core';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { ServiceError } from '../src/errors.js';
import { minisignFormat } from '../src/log/pki/minisign.js';
import { pgpFormat } from '../src/log/pki/pgp.js';
import { sshFormat } from '../src/log/pki/ssh.js';

const DATA = Buffer.from('hello, sigstack\n');
const OTHER = Buffer.from('hello, somebody else\n');

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigstack-pki-'));
  writeFileSync(join(dir, 'data'), DATA);
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[], input?: Buffer): Buffer {
  return execFileSync(cmd, args, { cwd: dir, input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function hasTool(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Outside CI a missing tool skips its suite (with the reason); in CI it fails. */
function needs(cmd: string, pkg: string): { skip?: string } {
  if (hasTool(cmd) || process.env.CI) return {};
  return { skip: `${cmd} is not installed (apt-get install ${pkg})` };
}

function rejects400(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ServiceError, `expected a ServiceError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('pgp', needs('gpg', 'gnupg'), () => {
  let home = '';
  const gpg = (...args: string[]) => run('gpg', ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
  const file = (name: string) => readFileSync(join(dir, name));

  before(() => {
    home = join(dir, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    gpg('--quick-gen-key', 'Test <test@example.com>', 'ed25519', 'sign', 'never');
    gpg('--quick-gen-key', 'RSA Test (work) <rsa@example.com>', 'rsa2048', 'sign', 'never');
    gpg('-u', 'test@example.com', '--detach-sign', '-o', 'ed.sig', 'data');
    gpg('-u', 'test@example.com', '--armor', '--detach-sign', '-o', 'ed.asc', 'data');
    gpg('-u', 'rsa@example.com', '--detach-sign', '-o', 'rsa.sig', 'data');
    writeFileSync(join(dir, 'ed.pub'), gpg('--export', 'test@example.com'));
    writeFileSync(join(dir, 'ed.pub.asc'), gpg('--export', '--armor', 'test@example.com'));
    writeFileSync(join(dir, 'rsa.pub'), gpg('--export', 'rsa@example.com'));
    writeFileSync(join(dir, 'both.pub.asc'), gpg('--export', '--armor', 'test@example.com', 'rsa@example.com'));
    // A key that expired a day after it signed, long ago.
    const past = ['--faked-system-time', '20200101T000000'];
    gpg(...past, '--quick-gen-key', 'Expired <expired@example.com>', 'ed25519', 'sign', '1d');
    gpg(...past, '-u', 'expired@example.com', '--detach-sign', '-o', 'expired.sig', 'data');
    writeFileSync(join(dir, 'expired.pub'), gpg('--export', 'expired@example.com'));
    writeFileSync(join(dir, 'ed.key.asc'), gpg('--export-secret-keys', '--armor', 'test@example.com'));
  });
  after(() => {
    try {
      execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    } catch {
      // the agent may not be running
    }
  });

  test('binary and armored keys and signatures verify; other data and other keys do not', async () => {
    const keyBin = pgpFormat.parsePublicKey(file('ed.pub'));
    const keyAsc = pgpFormat.parsePublicKey(file('ed.pub.asc'));
    const rsa = pgpFormat.parsePublicKey(file('rsa.pub'));
    const sigBin = pgpFormat.parseSignature(file('ed.sig'));
    const sigAsc = pgpFormat.parseSignature(file('ed.asc'));
    for (const key of [keyBin, keyAsc]) {
      for (const sig of [sigBin, sigAsc]) {
        assert.equal(await sig.verify(DATA, key), true);
        assert.equal(await sig.verify(OTHER, key), false);
      }
    }
    assert.equal(await sigBin.verify(DATA, rsa), false);
    const rsaSig = pgpFormat.parseSignature(file('rsa.sig'));
    assert.equal(await rsaSig.verify(DATA, rsa), true);
    assert.equal(await rsaSig.verify(DATA, keyBin), false);
    assert.equal(await rsaSig.verify(OTHER, rsa), false);
    // A key of another format never verifies a pgp signature.
    assert.equal(await sigBin.verify(DATA, sshKeyForCrossCheck()), false);
  });

  test('a key ring with several keys verifies each one\'s signatures and lists every email', async () => {
    const both = pgpFormat.parsePublicKey(file('both.pub.asc'));
    assert.deepEqual(both.subjects().sort(), ['rsa@example.com', 'test@example.com']);
    assert.equal(await pgpFormat.parseSignature(file('ed.sig')).verify(DATA, both), true);
    assert.equal(await pgpFormat.parseSignature(file('rsa.sig')).verify(DATA, both), true);
  });

  test('a key that has expired since still verifies what it signed while valid (checked at signing time, as Rekor does)', async () => {
    const key = pgpFormat.parsePublicKey(file('expired.pub'));
    const sig = pgpFormat.parseSignature(file('expired.sig'));
    assert.equal(await sig.verify(DATA, key), true);
    assert.equal(await sig.verify(OTHER, key), false);
  });

  test('subjects are the user IDs\' emails', () => {
    assert.deepEqual(pgpFormat.parsePublicKey(file('ed.pub')).subjects(), ['test@example.com']);
    assert.deepEqual(pgpFormat.parsePublicKey(file('rsa.pub')).subjects(), ['rsa@example.com']);
  });

  test('canonical key: one armored PUBLIC KEY BLOCK, the same from binary or armored input, readable by openpgp and gpg', async () => {
    const fromBin = pgpFormat.parsePublicKey(file('ed.pub')).canonicalValue();
    const fromAsc = pgpFormat.parsePublicKey(file('ed.pub.asc')).canonicalValue();
    assert.ok(fromBin.equals(fromAsc));
    const text = fromBin.toString('latin1');
    assert.match(text, /^-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n[A-Za-z0-9+/=\n]+\n=[A-Za-z0-9+/]{4}\n-----END PGP PUBLIC KEY BLOCK-----$/);
    // Idempotent, and the same key as gpg's export.
    assert.ok(pgpFormat.parsePublicKey(fromBin).canonicalValue().equals(fromBin));
    const ours = await openpgp.readKey({ armoredKey: text });
    const theirs = await openpgp.readKey({ binaryKey: file('ed.pub') });
    assert.equal(ours.getFingerprint(), theirs.getFingerprint());
    // gpg accepts the canonical key and checks the canonical signature with it.
    const home2 = join(dir, 'gnupg-verify');
    mkdirSync(home2, { mode: 0o700 });
    writeFileSync(join(dir, 'canonical.asc'), fromBin);
    writeFileSync(join(dir, 'canonical.sig'), pgpFormat.parseSignature(file('ed.sig')).canonicalValue());
    run('gpg', ['--batch', '--homedir', home2, '--import', 'canonical.asc']);
    run('gpg', ['--batch', '--homedir', home2, '--verify', 'canonical.sig', 'data']);
    try {
      execFileSync('gpgconf', ['--homedir', home2, '--kill', 'all'], { stdio: 'ignore' });
    } catch {
      // nothing was started
    }
  });

  test('canonical signature: armored input kept as sent, binary input armored; both still verify', async () => {
    const asc = file('ed.asc');
    assert.ok(pgpFormat.parseSignature(asc).canonicalValue().equals(asc));
    const canon = pgpFormat.parseSignature(file('ed.sig')).canonicalValue();
    assert.match(canon.toString('latin1'), /^-----BEGIN PGP SIGNATURE-----\n\n[\s\S]+\n-----END PGP SIGNATURE-----$/);
    const key = pgpFormat.parsePublicKey(file('ed.pub'));
    assert.equal(await pgpFormat.parseSignature(canon).verify(DATA, key), true);
    const canonKey = pgpFormat.parsePublicKey(key.canonicalValue());
    assert.equal(await pgpFormat.parseSignature(canon).verify(DATA, canonKey), true);
  });

  test('a user ID whose self-signature does not match is refused when verifying', async () => {
    const bin = file('ed.pub');
    const at = bin.indexOf('test@example.com');
    assert.ok(at > 0);
    const forged = Buffer.from(bin);
    forged.write('evil@example.com', at, 'latin1');
    const key = pgpFormat.parsePublicKey(forged);
    assert.deepEqual(key.subjects(), ['evil@example.com']);
    await assert.rejects(
      async () => pgpFormat.parseSignature(file('ed.sig')).verify(DATA, key),
      (err: unknown) => err instanceof ServiceError && err.code === 'PUBLIC_KEY_INVALID' && /self-signature/.test(err.message),
    );
  });

  test('malformed keys give PUBLIC_KEY_INVALID', () => {
    rejects400(() => pgpFormat.parsePublicKey(Buffer.alloc(0)), 'PUBLIC_KEY_INVALID', /empty/);
    rejects400(() => pgpFormat.parsePublicKey(Buffer.from('not a key\n')), 'PUBLIC_KEY_INVALID', /gpg --export/);
    rejects400(() => pgpFormat.parsePublicKey(file('ed.key.asc')), 'PUBLIC_KEY_INVALID', /private key/);
    rejects400(() => pgpFormat.parsePublicKey(file('ed.asc')), 'PUBLIC_KEY_INVALID', /PGP SIGNATURE/);
    rejects400(() => pgpFormat.parsePublicKey(file('ed.sig')), 'PUBLIC_KEY_INVALID');
    const bin = file('ed.pub');
    rejects400(() => pgpFormat.parsePublicKey(bin.subarray(0, bin.length - 7)), 'PUBLIC_KEY_INVALID', /truncated/);
    const asc = file('ed.pub.asc').toString('latin1');
    rejects400(() => pgpFormat.parsePublicKey(Buffer.from(asc.slice(0, asc.length / 2))), 'PUBLIC_KEY_INVALID', /END/);
    rejects400(() => pgpFormat.parsePublicKey(Buffer.from(asc.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!'))), 'PUBLIC_KEY_INVALID', /base64/);
    // Only the primary key packet, no user ID: go-crypto refuses a v4 key without identities.
    const firstLen = bin[1]! + 2;
    rejects400(() => pgpFormat.parsePublicKey(bin.subarray(0, firstLen)), 'PUBLIC_KEY_INVALID', /user ID/);
  });

  test('malformed signatures give SIGNATURE_INVALID_FORMAT', () => {
    rejects400(() => pgpFormat.parseSignature(Buffer.alloc(0)), 'SIGNATURE_INVALID_FORMAT', /empty/);
    rejects400(() => pgpFormat.parseSignature(Buffer.from('garbage')), 'SIGNATURE_INVALID_FORMAT', /gpg --detach-sign/);
    rejects400(() => pgpFormat.parseSignature(file('ed.pub.asc')), 'SIGNATURE_INVALID_FORMAT', /PUBLIC KEY BLOCK/);
    rejects400(() => pgpFormat.parseSignature(file('ed.pub')), 'SIGNATURE_INVALID_FORMAT', /not a signature/);
    const sig = file('ed.sig');
    rejects400(() => pgpFormat.parseSignature(sig.subarray(0, sig.length - 3)), 'SIGNATURE_INVALID_FORMAT', /truncated/);
  });
});

describe('minisign', needs('minisign', 'minisign'), () => {
  const file = (name: string) => readFileSync(join(dir, name));

  before(() => {
    run('minisign', ['-G', '-W', '-p', 'ms.pub', '-s', 'ms.key']);
    run('minisign', ['-G', '-W', '-p', 'ms2.pub', '-s', 'ms2.key']);
    run('minisign', ['-S', '-s', 'ms.key', '-m', 'data', '-x', 'hashed.minisig']);
    run('minisign', ['-S', '-l', '-s', 'ms.key', '-m', 'data', '-x', 'legacy.minisig']);
    run('minisign', ['-S', '-s', 'ms2.key', '-m', 'data', '-x', 'other.minisig']);
  });

  test('"ED" (prehashed) and legacy "Ed" signatures verify; other data and other keys do not', () => {
    const key = minisignFormat.parsePublicKey(file('ms.pub'));
    const key2 = minisignFormat.parsePublicKey(file('ms2.pub'));
    const hashed = minisignFormat.parseSignature(file('hashed.minisig'));
    const legacy = minisignFormat.parseSignature(file('legacy.minisig'));
    assert.match(file('hashed.minisig').toString().split('\n')[1]!, /^RU/); // "ED"
    assert.match(file('legacy.minisig').toString().split('\n')[1]!, /^RW/); // "Ed"
    for (const sig of [hashed, legacy]) {
      assert.equal(sig.verify(DATA, key), true);
      assert.equal(sig.verify(OTHER, key), false);
      assert.equal(sig.verify(DATA, key2), false);
    }
    assert.equal(minisignFormat.parseSignature(file('other.minisig')).verify(DATA, key2), true);
    assert.equal(minisignFormat.parseSignature(file('other.minisig')).verify(DATA, key), false);
  });

  test('the bare base64 key line works too; canonical key is that line; no subjects', () => {
    const pub = file('ms.pub').toString();
    const line = pub.split('\n')[1]!.trim();
    const key = minisignFormat.parsePublicKey(Buffer.from(line));
    assert.equal(key.canonicalValue().toString(), line);
    assert.equal(minisignFormat.parsePublicKey(file('ms.pub')).canonicalValue().toString(), line);
    assert.deepEqual(key.subjects(), []);
    assert.equal(minisignFormat.parseSignature(file('hashed.minisig')).verify(DATA, key), true);
    // minisign itself accepts the canonical key.
    run('minisign', ['-V', '-q', '-P', key.canonicalValue().toString(), '-m', 'data', '-x', 'hashed.minisig']);
  });

  test('canonical signature: a bare untrusted comment and the signature line; it re-parses and verifies', () => {
    const text = file('hashed.minisig').toString();
    const canon = minisignFormat.parseSignature(file('hashed.minisig')).canonicalValue();
    assert.equal(canon.toString(), `untrusted comment:\n${text.split('\n')[1]}`);
    const key = minisignFormat.parsePublicKey(file('ms.pub'));
    assert.equal(minisignFormat.parseSignature(canon).verify(DATA, key), true);
    assert.equal(minisignFormat.parseSignature(canon).verify(OTHER, key), false);
  });

  test('the trusted comment is checked by its global signature; the key ID must match', () => {
    const key = minisignFormat.parsePublicKey(file('ms.pub'));
    const lines = file('hashed.minisig').toString().split('\n');
    lines[2] = `${lines[2]} (edited)`;
    assert.equal(minisignFormat.parseSignature(Buffer.from(lines.join('\n'))).verify(DATA, key), false);
    // Same key material, different key ID.
    const bin = Buffer.from(key.canonicalValue().toString(), 'base64');
    bin[2] = bin[2]! ^ 0xff;
    const renamed = minisignFormat.parsePublicKey(Buffer.from(bin.toString('base64')));
    assert.equal(minisignFormat.parseSignature(file('hashed.minisig')).verify(DATA, renamed), false);
    // Rekor's legacy form (32 raw key bytes, no key ID) still verifies.
    const legacyKey = minisignFormat.parsePublicKey(bin.subarray(10));
    assert.equal(minisignFormat.parseSignature(file('hashed.minisig')).verify(DATA, legacyKey), true);
  });

  test('malformed keys and signatures give 400s', () => {
    rejects400(() => minisignFormat.parsePublicKey(Buffer.alloc(0)), 'PUBLIC_KEY_INVALID', /empty/);
    rejects400(() => minisignFormat.parsePublicKey(Buffer.from('untrusted comment: x\nnot base64!\n')), 'PUBLIC_KEY_INVALID', /base64/);
    rejects400(() => minisignFormat.parsePublicKey(Buffer.from('RWQ/VK4mEZOSnVFf2NhE\n')), 'PUBLIC_KEY_INVALID', /42/);
    rejects400(() => minisignFormat.parsePublicKey(Buffer.from('a\nb\nc\n')), 'PUBLIC_KEY_INVALID', /lines/);
    rejects400(() => minisignFormat.parsePublicKey(file('hashed.minisig')), 'PUBLIC_KEY_INVALID');
    rejects400(() => minisignFormat.parsePublicKey(file('ms.key')), 'PUBLIC_KEY_INVALID');
    const lines = file('hashed.minisig').toString().split('\n');
    rejects400(() => minisignFormat.parseSignature(Buffer.alloc(0)), 'SIGNATURE_INVALID_FORMAT', /empty/);
    rejects400(() => minisignFormat.parseSignature(Buffer.from(lines.slice(0, 3).join('\n'))), 'SIGNATURE_INVALID_FORMAT', /3 lines/);
    rejects400(() => minisignFormat.parseSignature(Buffer.from([lines[0], 'AAAA', lines[2], lines[3]].join('\n'))), 'SIGNATURE_INVALID_FORMAT', /74/);
    rejects400(() => minisignFormat.parseSignature(Buffer.from([lines[0], lines[1], 'comment: x', lines[3]].join('\n'))), 'SIGNATURE_INVALID_FORMAT', /trusted comment/);
    rejects400(() => minisignFormat.parseSignature(Buffer.from([lines[0], lines[1], lines[2], 'AAAA'].join('\n'))), 'SIGNATURE_INVALID_FORMAT', /global/);
    const bad = Buffer.from(lines[1]!, 'base64');
    bad.write('XX', 0, 'latin1');
    rejects400(() => minisignFormat.parseSignature(Buffer.from(`${lines[0]}\n${bad.toString('base64')}\n`)), 'SIGNATURE_INVALID_FORMAT', /"XX"/);
    rejects400(() => minisignFormat.parseSignature(file('ms.pub')), 'SIGNATURE_INVALID_FORMAT', /42 bytes, expected 74/);
  });
});

/** An ssh public key, made without ssh-keygen, for checking that formats do not mix. */
function sshKeyForCrossCheck() {
  const x = Buffer.from(generateKeyPair('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(x)]);
  return sshFormat.parsePublicKey(Buffer.from(`ssh-ed25519 ${blob.toString('base64')} cross@example.com\n`));
}

describe('ssh', needs('ssh-keygen', 'openssh-client'), () => {
  const file = (name: string) => readFileSync(join(dir, name));
  const KEYS: Array<[string, string[]]> = [
    ['ed25519', ['-t', 'ed25519']],
    ['ecdsa256', ['-t', 'ecdsa', '-b', '256']],
    ['ecdsa384', ['-t', 'ecdsa', '-b', '384']],
    ['ecdsa521', ['-t', 'ecdsa', '-b', '521']],
    ['rsa', ['-t', 'rsa', '-b', '2048']],
  ];
  const sign = (key: string, extra: string[] = [], data = DATA) => run('ssh-keygen', ['-Y', 'sign', '-n', 'file', ...extra, '-f', key], data);

  before(() => {
    for (const [name, args] of KEYS) {
      run('ssh-keygen', ['-q', ...args, '-N', '', '-C', `${name}@example.com`, '-f', name]);
      writeFileSync(join(dir, `${name}.sig`), sign(name));
    }
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'builder@ci-host', '-f', 'other']);
    writeFileSync(join(dir, 'ed25519-sha256.sig'), sign('ed25519', ['-O', 'hashalg=sha256']));
    writeFileSync(join(dir, 'rsa-sha256.sig'), sign('rsa', ['-O', 'hashalg=sha256']));
    writeFileSync(join(dir, 'git.sig'), run('ssh-keygen', ['-Y', 'sign', '-n', 'git', '-f', 'ed25519'], DATA));
  });

  test('each key type verifies its own signature; not other data, not another key', () => {
    const other = sshFormat.parsePublicKey(file('other.pub'));
    for (const [name] of KEYS) {
      const key = sshFormat.parsePublicKey(file(`${name}.pub`));
      const sig = sshFormat.parseSignature(file(`${name}.sig`));
      assert.equal(sig.verify(DATA, key), true, name);
      assert.equal(sig.verify(OTHER, key), false, name);
      assert.equal(sig.verify(DATA, other), false, name);
      for (const [otherName] of KEYS) {
        if (otherName !== name) assert.equal(sig.verify(DATA, sshFormat.parsePublicKey(file(`${otherName}.pub`))), false, `${name} vs ${otherName}`);
      }
    }
    for (const name of ['ed25519-sha256', 'rsa-sha256']) {
      const key = sshFormat.parsePublicKey(file(`${name.split('-')[0]}.pub`));
      const sig = sshFormat.parseSignature(file(`${name}.sig`));
      assert.equal(sig.verify(DATA, key), true, name);
      assert.equal(sig.verify(OTHER, key), false, name);
    }
  });

  test('canonical key is "type base64\\n"; subjects are the comment when it is an email', () => {
    const text = file('ed25519.pub').toString();
    const key = sshFormat.parsePublicKey(file('ed25519.pub'));
    const [type, b64] = text.split(' ');
    assert.equal(key.canonicalValue().toString(), `${type} ${b64}\n`);
    assert.deepEqual(key.subjects(), ['ed25519@example.com']);
    assert.deepEqual(sshFormat.parsePublicKey(key.canonicalValue()).subjects(), []);
    assert.deepEqual(sshFormat.parsePublicKey(file('other.pub')).subjects(), []);
    // authorized_keys lines: comments, blank lines and an options field are fine.
    const line = `# deploy key\n\nrestrict,command="echo hi there" ${text}`;
    const withOptions = sshFormat.parsePublicKey(Buffer.from(line));
    assert.ok(withOptions.canonicalValue().equals(key.canonicalValue()));
    assert.deepEqual(withOptions.subjects(), ['ed25519@example.com']);
  });

  test('canonical signature re-parses and verifies, and ssh-keygen accepts it', () => {
    for (const name of ['ed25519', 'ecdsa384', 'rsa', 'ed25519-sha256']) {
      const keyName = name.split('-')[0]!;
      const canon = sshFormat.parseSignature(file(`${name}.sig`)).canonicalValue();
      assert.match(canon.toString(), /^-----BEGIN SSH SIGNATURE-----\n[\s\S]+\n-----END SSH SIGNATURE-----\n$/);
      const key = sshFormat.parsePublicKey(sshFormat.parsePublicKey(file(`${keyName}.pub`)).canonicalValue());
      assert.equal(sshFormat.parseSignature(canon).verify(DATA, key), true, name);
      writeFileSync(join(dir, 'canonical.sig'), canon);
      run('ssh-keygen', ['-Y', 'check-novalidate', '-n', 'file', '-s', 'canonical.sig'], DATA);
    }
  });

  test('malformed keys give PUBLIC_KEY_INVALID', () => {
    const [type, b64] = file('ed25519.pub').toString().split(' ');
    rejects400(() => sshFormat.parsePublicKey(Buffer.alloc(0)), 'PUBLIC_KEY_INVALID', /empty/);
    rejects400(() => sshFormat.parsePublicKey(Buffer.from('not a key')), 'PUBLIC_KEY_INVALID', /id_ed25519\.pub/);
    rejects400(() => sshFormat.parsePublicKey(Buffer.from(`${type} !!notbase64!!`)), 'PUBLIC_KEY_INVALID');
    rejects400(() => sshFormat.parsePublicKey(Buffer.from(`ssh-rsa ${b64}`)), 'PUBLIC_KEY_INVALID', /"ssh-rsa" but the key inside is "ssh-ed25519"/);
    const blob = Buffer.from(b64!, 'base64');
    rejects400(() => sshFormat.parsePublicKey(Buffer.from(`${type} ${blob.subarray(0, blob.length - 4).toString('base64')}`)), 'PUBLIC_KEY_INVALID', /truncated/);
    rejects400(() => sshFormat.parsePublicKey(file('ed25519')), 'PUBLIC_KEY_INVALID');
    rejects400(() => sshFormat.parsePublicKey(file('ed25519.sig')), 'PUBLIC_KEY_INVALID');
    const dss = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-dss'), Buffer.alloc(16)]);
    rejects400(() => sshFormat.parsePublicKey(Buffer.from(`ssh-dss ${dss.toString('base64')}`)), 'PUBLIC_KEY_INVALID', /DSA/);
  });

  test('malformed signatures give SIGNATURE_INVALID_FORMAT', () => {
    const sig = file('ed25519.sig').toString();
    rejects400(() => sshFormat.parseSignature(Buffer.alloc(0)), 'SIGNATURE_INVALID_FORMAT', /empty/);
    rejects400(() => sshFormat.parseSignature(Buffer.from('garbage')), 'SIGNATURE_INVALID_FORMAT', /BEGIN SSH SIGNATURE/);
    rejects400(() => sshFormat.parseSignature(file('ed25519.pub')), 'SIGNATURE_INVALID_FORMAT');
    rejects400(() => sshFormat.parseSignature(file('ed25519')), 'SIGNATURE_INVALID_FORMAT', /OPENSSH PRIVATE KEY/);
    rejects400(() => sshFormat.parseSignature(file('git.sig')), 'SIGNATURE_INVALID_FORMAT', /namespace is "git"/);
    rejects400(() => sshFormat.parseSignature(Buffer.from(sig.split('\n').slice(0, 3).join('\n'))), 'SIGNATURE_INVALID_FORMAT', /END SSH SIGNATURE/);
    // A well-armored body that is cut short.
    const body = Buffer.from(sig.split('\n').slice(1, -2).join(''), 'base64');
    const armor = (b: Buffer) => Buffer.from(`-----BEGIN SSH SIGNATURE-----\n${b.toString('base64')}\n-----END SSH SIGNATURE-----\n`);
    rejects400(() => sshFormat.parseSignature(armor(body.subarray(0, 40))), 'SIGNATURE_INVALID_FORMAT', /truncated/);
    const wrongMagic = Buffer.from(body);
    wrongMagic.write('XXXXXX', 0, 'latin1');
    rejects400(() => sshFormat.parseSignature(armor(wrongMagic)), 'SIGNATURE_INVALID_FORMAT', /SSHSIG/);
    const v2 = Buffer.from(body);
    v2.writeUInt32BE(2, 6);
    rejects400(() => sshFormat.parseSignature(armor(v2)), 'SIGNATURE_INVALID_FORMAT', /version 2/);
    rejects400(() => sshFormat.parseSignature(armor(Buffer.concat([body, Buffer.from([0])]))), 'SIGNATURE_INVALID_FORMAT', /trailing/);
  });
});
