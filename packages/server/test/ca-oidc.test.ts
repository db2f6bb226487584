// The CA's OIDC layer against a real development issuer over loopback: Fulcio-format configs
// (JSON, YAML), token verification and each way it fails, meta issuers, key caching, and the
// certificate identity for email, GitHub Actions (checked against a real Fulcio certificate), GitLab, username.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { X509, generateKeyPair } from '@sigstack/core';
import { ServiceError } from '../src/errors.js';
import { startDevOidcIssuer, devSigningKey, type DevOidcIssuer, type DevSigningKey } from '../src/oidc-dev/index.js';
import {
  TokenVerifier,
  certificateIdentity,
  derUtf8String,
  findIssuer,
  metaIssuerRegExp,
  parseOidcConfig,
  verifyToken,
  type OidcConfig,
  type Principal,
  type ResolvedIssuer,
} from '../src/ca/oidc/index.js';

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json', import.meta.url));
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const F = (n: number) => `1.3.6.1.4.1.57264.1.${n}`;

/** The claims of the GitHub Actions token behind the conformance beacon's certificate. */
const BEACON_CLAIMS = {
  sub: 'repo:sigstore-conformance/extremely-dangerous-public-oidc-beacon:ref:refs/heads/main',
  ref: 'refs/heads/main',
  sha: 'c7b3dfb335f051e1c86bda4c716fac97df62ad81',
  repository: 'sigstore-conformance/extremely-dangerous-public-oidc-beacon',
  repository_owner: 'sigstore-conformance',
  repository_owner_id: '131804563',
  run_id: '8347481628',
  run_number: '7418',
  run_attempt: '1',
  repository_visibility: 'public',
  repository_id: '632596897',
  actor_id: '1',
  actor: 'github-actions[bot]',
  workflow: 'Extremely dangerous OIDC beacon',
  head_ref: '',
  base_ref: '',
  event_name: 'workflow_dispatch',
  ref_protected: 'false',
  ref_type: 'branch',
  workflow_ref: 'sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
  workflow_sha: 'c7b3dfb335f051e1c86bda4c716fac97df62ad81',
  job_workflow_ref: 'sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
  job_workflow_sha: 'c7b3dfb335f051e1c86bda4c716fac97df62ad81',
  runner_environment: 'github-hosted',
};

/** A GitLab CI token's claims (the values of Fulcio's gitlabcom principal test). */
const GITLAB_CLAIMS = {
  sub: 'project_path:cpanato/testing-cosign:ref_type:branch:ref:main',
  namespace_id: '1730270',
  namespace_path: 'cpanato',
  project_id: '42831435',
  project_path: 'cpanato/testing-cosign',
  pipeline_id: '757451528',
  pipeline_source: 'push',
  job_id: '3659681386',
  ref: 'main',
  ref_type: 'branch',
  ref_protected: 'true',
  ci_config_ref_uri: 'gitlab.com/cpanto/testing-cosign//.gitlab-ci.yml@refs/head/main',
  ci_config_sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
  sha: 'sha',
  runner_id: 1,
  runner_environment: 'gitlab-hosted',
  project_visibility: 'public',
};

let dir: string;
let dev: DevOidcIssuer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigstack-ca-oidc-'));
  dev = await startDevOidcIssuer({ dir, warn: () => {} });
});

after(async () => {
  await dev.close();
  rmSync(dir, { recursive: true, force: true });
});

async function devToken(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${dev.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { id_token: string }).id_token;
}

function configFor(type: string, extra: Record<string, unknown> = {}): OidcConfig {
  return parseOidcConfig(JSON.stringify({ OIDCIssuers: { [dev.url]: { IssuerURL: dev.url, ClientID: 'sigstore', Type: type, ...extra } } }));
}

/** Asserts that `promise` rejects with a ServiceError of this status and code, and no token text in it. */
async function rejects(promise: Promise<unknown>, status: number, code: string, token?: string, pattern?: RegExp): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ServiceError, `expected a ServiceError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, status, err.message);
    if (token) for (const part of token.split('.').filter((p) => p.length > 8)) assert.ok(!err.message.includes(part), 'the message echoes the token');
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected ${code}`);
}

function principalFor(type: Principal['type'], issuer: string, claims: Record<string, unknown>, config: Partial<ResolvedIssuer> = {}): Principal {
  return {
    issuer,
    subject: String(claims['email'] ?? claims['sub']),
    type,
    claims,
    issuerConfig: { IssuerURL: issuer, ClientID: 'sigstore', Type: type, SkipEmailVerification: false, ...config },
  };
}

function extensionMap(exts: { oid: string; value: Buffer }[]): Map<string, Buffer> {
  return new Map(exts.map((e) => [e.oid, e.value]));
}

// ---------------------------------------------------------------------------------------------

describe('configuration', () => {
  const yaml = (url: string) => `
define:
  - &github-type "github-workflow"
oidc-issuers:
  ${url}:
    issuer-url: ${url}
    client-id: sigstore
    type: email
    description: "dev issuer"
  https://token.actions.githubusercontent.com:
    issuer-url: https://token.actions.githubusercontent.com
    client-id: sigstore
    type: ci-provider
    ci-provider: *github-type
meta-issuers:
  https://oidc.eks.*.amazonaws.com/id/*:
    client-id: sigstore
    type: kubernetes
ci-issuer-metadata:
  *github-type:
    default-template-values:
      url: "https://github.com"
      environment: ""
    extension-templates:
      build-signer-uri: "{{ .url }}/{{ .job_workflow_ref }}"
      source-repository-ref: refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}
    subject-alternative-name-template: "{{ .url }}/{{ .job_workflow_ref }}"
`;

  test('JSON and YAML (with yaml.v3-style alias keys) give the same issuers', () => {
    const url = 'https://issuer.example.com';
    const fromYaml = parseOidcConfig(yaml(url), 'config.yaml');
    const fromJson = parseOidcConfig(
      JSON.stringify({
        OIDCIssuers: {
          [url]: { IssuerURL: url, ClientID: 'sigstore', Type: 'email', Description: 'dev issuer' },
          [GITHUB_ISSUER]: { IssuerURL: GITHUB_ISSUER, ClientID: 'sigstore', Type: 'ci-provider', CIProvider: 'github-workflow' },
        },
        MetaIssuers: { 'https://oidc.eks.*.amazonaws.com/id/*': { ClientID: 'sigstore', Type: 'kubernetes' } },
      }),
    );
    for (const config of [fromYaml, fromJson]) {
      assert.deepEqual(config.OIDCIssuers.get(url), { IssuerURL: url, ClientID: 'sigstore', Type: 'email', Description: 'dev issuer', SkipEmailVerification: false });
      assert.equal(config.OIDCIssuers.get(GITHUB_ISSUER)?.CIProvider, 'github-workflow');
      assert.equal(config.MetaIssuers[0]?.pattern, 'https://oidc.eks.*.amazonaws.com/id/*');
      assert.deepEqual(config.warnings, []);
    }
    // The YAML's own github-workflow metadata replaced the built-in one: only two templates.
    assert.deepEqual(Object.keys(fromYaml.CIIssuerMetadata.get('github-workflow')!.ExtensionTemplates).sort(), ['BuildSignerURI', 'SourceRepositoryRef']);
    assert.ok(Object.keys(fromJson.CIIssuerMetadata.get('github-workflow')!.ExtensionTemplates).length > 15);
  });

  test('ClientID defaults to "sigstore"; JSON keys are case-insensitive; unknown keys are warned about', () => {
    const config = parseOidcConfig('{"oidcissuers": {"https://a.example.com": {"type": "email", "Colour": "blue"}}, "Extra": 1}');
    assert.equal(config.OIDCIssuers.get('https://a.example.com')?.ClientID, 'sigstore');
    assert.equal(config.warnings.length, 2);
    assert.match(config.warnings.join('\n'), /Colour/);
    assert.match(config.warnings.join('\n'), /Extra/);
  });

  test('bad configurations fail at load time with CONFIG_INVALID saying what is wrong', () => {
    const bad = (text: string, pattern: RegExp) => {
      assert.throws(
        () => parseOidcConfig(text, 'fulcio.json'),
        (err: unknown) => err instanceof ServiceError && err.status === 500 && err.code === 'CONFIG_INVALID' && pattern.test(err.message) && err.message.includes('fulcio.json'),
        pattern.source,
      );
    };
    const one = (settings: Record<string, unknown>, url = 'https://accounts.example.com') => JSON.stringify({ OIDCIssuers: { [url]: settings } });
    const meta = (pattern: string, settings: Record<string, unknown> = { Type: 'kubernetes' }) => JSON.stringify({ MetaIssuers: { [pattern]: settings } });
    bad(one({ Type: 'github' }), /unknown Type "github".*email, github-workflow/);
    bad(one({ ClientID: 'sigstore' }), /has no Type/);
    bad(one({ Type: 'email', IssuerURL: 'https://other.example.com' }), /differs from the key/);
    bad(one({ Type: 'uri' }), /must have SubjectDomain/);
    bad(one({ Type: 'uri', SubjectDomain: 'example.com' }), /must contain a scheme/);
    bad(one({ Type: 'uri', SubjectDomain: 'https://evil.org' }), /second-level domains/);
    bad(one({ Type: 'username', SubjectDomain: 'https://example.com' }), /must not contain a scheme/);
    bad(one({ Type: 'spiffe' }), /SPIFFETrustDomain/);
    bad(one({ Type: 'spiffe', SPIFFETrustDomain: 'Bad Domain' }), /not a valid trust domain/);
    bad(one({ Type: 'kubernetes', IssuerClaim: '$.x' }), /only email issuers can use IssuerClaim/);
    bad(one({ Type: 'ci-provider' }), /no CIProvider/);
    bad(one({ Type: 'ci-provider', CIProvider: 'jenkins' }), /"jenkins", which has no ci-issuer-metadata/);
    bad(one({ Type: 'email', SkipEmailVerification: 'yes' }), /must be a boolean/);
    bad(one({ Type: 'email', CACert: 'not a pem' }), /CACert holds no PEM/);
    bad(meta('https://oidc.example.com/id/x'), /no "\*" wildcard/);
    bad(meta('https://oidc.example.com/id/**'), /"\*\*"/);
    bad(meta('oidc.*.example.com/id'), /must be an https/);
    bad(meta('https://oidc.*.example.com/id?x=*'), /no query/);
    bad(meta('https://*.example.com/*', { Type: 'spiffe', SPIFFETrustDomain: 'example.com' }), /SPIFFE meta issuers are not supported/);
    bad(JSON.stringify({ CIIssuerMetadata: { mine: { SubjectAlternativeNameTemplate: '{{ .url ' } }, OIDCIssuers: {} }), /ci-issuer-metadata "mine".*unclosed action/);
    bad(JSON.stringify({ CIIssuerMetadata: { mine: { SubjectAlternativeNameTemplate: '{{ .a | upper }}' } } }), /pipelines/);
    bad('{}', /names no issuers/);
    bad('{"OIDCIssuers": {', /not valid JSON/);
    bad('oidc-issuers: [unclosed', /not valid YAML/);
  });

  test('meta issuer patterns are anchored and each "*" matches exactly one host label or path segment', () => {
    const config = parseOidcConfig(
      JSON.stringify({
        OIDCIssuers: { 'https://token.actions.githubusercontent.com': { Type: 'github-workflow' } },
        MetaIssuers: {
          'https://oidc.eks.*.amazonaws.com/id/*': { Type: 'kubernetes' },
          'https://container.googleapis.com/v1/projects/*/locations/*/clusters/*': { Type: 'kubernetes', ClientID: 'gke' },
        },
      }),
    );
    const eks = 'https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB';
    const resolved = findIssuer(config, eks);
    assert.equal(resolved?.IssuerURL, eks);
    assert.equal(resolved?.metaPattern, 'https://oidc.eks.*.amazonaws.com/id/*');
    assert.equal(findIssuer(config, 'https://container.googleapis.com/v1/projects/p-1/locations/us-west1-b/clusters/c_2')?.ClientID, 'gke');
    assert.equal(findIssuer(config, GITHUB_ISSUER)?.Type, 'github-workflow');
    assert.equal(findIssuer(config, GITHUB_ISSUER)?.metaPattern, undefined);
    for (const miss of [
      'https://oidc.eks.us.west.amazonaws.com/id/X', // "*" spans two host labels
      'https://oidc.eks..amazonaws.com/id/X', // empty
      'https://oidc.eks.us-west-2.amazonaws.com/id/X/extra', // trailing path
      'https://oidc.eks.us-west-2.amazonaws.com/id/a/b',
      'https://oidc.eks.us-west-2.amazonaws.com/id/X?x=1',
      'http://localhost:3000?https://oidc.eks.us-west-2.amazonaws.com/id/X', // not anchored at the start
      'https://oidc.eks.us-west-2.amazonaws.com.evil.com/id/X',
      'https://oidcxeks.us-west-2.amazonaws.com/id/X', // "." is literal
    ]) {
      assert.equal(findIssuer(config, miss), undefined, miss);
    }
    const re = metaIssuerRegExp('https://a.*.b/*');
    assert.ok(re.test('https://a.x-1.b/Y_2'));
    assert.ok(!re.test('https://a.x.b/') && !re.test('https://a.x.b/y/') && !re.test('https://a.x~.b/y'));
  });
});

// ---------------------------------------------------------------------------------------------

describe('verifying tokens from the development issuer', () => {
  test('an email token verifies with a JSON config and with a YAML config', async () => {
    const token = await devToken({ email: 'alice@example.com' });
    const json = configFor('email');
    const yaml = parseOidcConfig(`oidc-issuers:\n  ${dev.url}:\n    issuer-url: ${dev.url}\n    client-id: sigstore\n    type: email\n`);
    for (const config of [json, yaml]) {
      const principal = await new TokenVerifier(config).verify(token);
      assert.equal(principal.issuer, dev.url);
      assert.equal(principal.subject, 'alice@example.com');
      assert.equal(principal.type, 'email');
      assert.equal(principal.claims['email_verified'], true);
      assert.equal(principal.issuerConfig.IssuerURL, dev.url);
    }
    // The convenience function shares one verifier per configuration.
    assert.equal((await verifyToken(token, json)).subject, 'alice@example.com');
    assert.equal((await verifyToken(`  ${token}\n`, json)).subject, 'alice@example.com');
  });

  test('a token whose issuer matches a meta issuer verifies against that issuer', async () => {
    const config = parseOidcConfig(JSON.stringify({ MetaIssuers: { 'http://127.0.0.1:*': { ClientID: 'sigstore', Type: 'username', SubjectDomain: 'example.com' } } }));
    const principal = await new TokenVerifier(config).verify(await devToken({ subject: 'bob' }));
    assert.equal(principal.subject, 'bob');
    assert.equal(principal.issuerConfig.metaPattern, 'http://127.0.0.1:*');
    assert.equal(principal.issuerConfig.IssuerURL, dev.url);
    const other = parseOidcConfig(JSON.stringify({ MetaIssuers: { 'http://127.0.0.2:*': { Type: 'email' } } }));
    await rejects(new TokenVerifier(other).verify(await devToken({ subject: 'bob' })), 400, 'TOKEN_UNKNOWN_ISSUER');
  });

  test('each failed check has its own code and a message that says what to do', async () => {
    const verifier = new TokenVerifier(configFor('email'));
    const now = Math.floor(Date.now() / 1000);
    let token = await devToken({ email: 'a@example.com', claims: { iat: now - 7200, nbf: now - 7200, exp: now - 3600 } });
    await rejects(verifier.verify(token), 400, 'TOKEN_EXPIRED', token, /expired at .*fresh token/);
    token = await devToken({ email: 'a@example.com', claims: { exp: now - 20 } }); // within the skew
    assert.equal((await verifier.verify(token)).subject, 'a@example.com');
    token = await devToken({ email: 'a@example.com', claims: { nbf: now + 3600 } });
    await rejects(verifier.verify(token), 400, 'TOKEN_NOT_YET_VALID', token, /not valid until .*clocks/);
    token = await devToken({ email: 'a@example.com', claims: { iat: now + 3600 } });
    await rejects(verifier.verify(token), 400, 'TOKEN_NOT_YET_VALID', token, /issued in the future/);
    token = await devToken({ email: 'a@example.com', audience: 'someone-else' });
    await rejects(verifier.verify(token), 400, 'TOKEN_WRONG_AUDIENCE', token, /"someone-else".*audience "sigstore"/);
    token = await devToken({ email: 'a@example.com', claims: { email_verified: false } });
    await rejects(verifier.verify(token), 400, 'TOKEN_EMAIL_UNVERIFIED', token, /not verified/);
    token = await devToken({ subject: 'no-email' });
    await rejects(verifier.verify(token), 400, 'TOKEN_CLAIM_INVALID', token, /no "email" claim/);
  });

  test('an issuer configured with SkipEmailVerification accepts unverified email, and an audience other than sigstore', async () => {
    const verifier = new TokenVerifier(configFor('email', { SkipEmailVerification: true, ClientID: 'my-ca' }));
    const token = await devToken({ email: 'a@example.com', audience: ['x', 'my-ca'], claims: { email_verified: 'False' } });
    assert.equal((await verifier.verify(token)).subject, 'a@example.com');
    await rejects(verifier.verify(await devToken({ email: 'a@example.com' })), 400, 'TOKEN_WRONG_AUDIENCE', undefined, /"my-ca"/);
  });

  test('tokens not signed by the issuer are rejected: another key, altered claims, unknown key id, alg none, HMAC', async () => {
    const verifier = new TokenVerifier(configFor('email'), { refreshCooldownMs: 0 });
    const good = await devToken({ email: 'a@example.com' });
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: dev.url, sub: 'a@example.com', aud: 'sigstore', iat: now, exp: now + 600, email: 'a@example.com', email_verified: true };
    const other = generateKeyPair('ec', { namedCurve: 'P-256' });
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: dev.key.kid }).sign(other.privateKey);
    await rejects(verifier.verify(forged), 400, 'TOKEN_SIGNATURE_INVALID', forged, /does not verify/);
    const [h, p, s] = good.split('.') as [string, string, string];
    const altered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), email: 'mallory@example.com' })).toString('base64url')}.${s}`;
    await rejects(verifier.verify(altered), 400, 'TOKEN_SIGNATURE_INVALID', altered);
    const unknownKid = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'no-such-key' }).sign(other.privateKey);
    await rejects(verifier.verify(unknownKid), 400, 'TOKEN_SIGNATURE_INVALID', unknownKid, /"no-such-key"/);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    await rejects(verifier.verify(none), 400, 'TOKEN_SIGNATURE_INVALID', none, /"none"/);
    const hmac = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(Buffer.alloc(32, 1));
    await rejects(verifier.verify(hmac), 400, 'TOKEN_SIGNATURE_INVALID', hmac, /"HS256"/);
    assert.equal((await verifier.verify(good)).subject, 'a@example.com');
  });

  test('malformed tokens and unknown issuers are told apart', async () => {
    const verifier = new TokenVerifier(configFor('email'));
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    await rejects(verifier.verify(''), 400, 'TOKEN_MALFORMED', undefined, /empty/);
    await rejects(verifier.verify('not-a-jwt'), 400, 'TOKEN_MALFORMED', undefined, /1 dot-separated part/);
    await rejects(verifier.verify('a.b.c.d.e'), 400, 'TOKEN_MALFORMED', undefined, /5 dot-separated/);
    await rejects(verifier.verify('{"iss":"x"}.e30.'), 400, 'TOKEN_MALFORMED', undefined, /not base64url/);
    await rejects(verifier.verify(`${b64({ alg: 'ES256' })}.${Buffer.from('nope').toString('base64url')}.AAAA`), 400, 'TOKEN_MALFORMED', undefined, /payload/);
    await rejects(verifier.verify(`${b64({ alg: 'ES256' })}.${b64({ sub: 'x' })}.AAAA`), 400, 'TOKEN_MALFORMED', undefined, /no "iss"/);
    await rejects(verifier.verify('x'.repeat(70_000)), 400, 'TOKEN_MALFORMED', undefined, /more than/);
    await rejects(verifier.verify(42 as unknown as string), 400, 'TOKEN_MALFORMED');
    const foreign = `${b64({ alg: 'ES256' })}.${b64({ iss: 'https://accounts.example.org', sub: 'x' })}.AAAA`;
    await rejects(verifier.verify(foreign), 400, 'TOKEN_UNKNOWN_ISSUER', undefined, /"https:\/\/accounts\.example\.org" is not one this CA accepts/);
  });
});

// ---------------------------------------------------------------------------------------------

/** A hand-rolled issuer whose discovery and key endpoints misbehave on demand, counting requests. */
class FakeIssuer {
  app!: FastifyInstance;
  url = '';
  key: DevSigningKey = devSigningKey(generateKeyPair('ec', { namedCurve: 'P-256' }).privateKey);
  mode: 'ok' | 'slow' | 'huge' | 'wrong-issuer' | 'broken' = 'ok';
  requests = 0;

  async start(): Promise<void> {
    this.app = Fastify();
    this.app.addHook('onRequest', async () => {
      this.requests++;
    });
    this.app.get('/.well-known/openid-configuration', async (_req, reply) => {
      if (this.mode === 'slow') await new Promise((r) => setTimeout(r, 1500));
      if (this.mode === 'broken') return reply.code(500).send('oops');
      if (this.mode === 'huge') return { issuer: this.url, jwks_uri: `${this.url}/jwks`, padding: 'x'.repeat(600_000) };
      return { issuer: this.mode === 'wrong-issuer' ? 'https://elsewhere.example.com' : this.url, jwks_uri: `${this.url}/jwks` };
    });
    this.app.get('/jwks', async () => ({ keys: [this.key.jwk] }));
    await this.app.listen({ port: 0, host: '127.0.0.1' });
    const address = this.app.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  token(extra: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: this.url, sub: 'a@example.com', aud: 'sigstore', iat: now, exp: now + 600, email: 'a@example.com', email_verified: true, ...extra })
      .setProtectedHeader({ alg: 'ES256', kid: this.key.kid })
      .sign(this.key.privateKey);
  }

  config(): OidcConfig {
    return parseOidcConfig(JSON.stringify({ OIDCIssuers: { [this.url]: { Type: 'email' } } }));
  }
}

describe('fetching issuer keys', () => {
  const fake = new FakeIssuer();
  before(() => fake.start());
  after(() => fake.app.close());

  test('discovery and keys are fetched once for concurrent requests, cached, and refetched when a new key appears', async () => {
    fake.mode = 'ok';
    fake.requests = 0;
    const verifier = new TokenVerifier(fake.config(), { refreshCooldownMs: 0 });
    const token = await fake.token();
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => verifier.verify(token)));
    assert.ok(results.every((p) => p.subject === 'a@example.com'));
    await verifier.verify(token);
    assert.equal(fake.requests, 2, 'one discovery document and one JWKS');
    fake.key = devSigningKey(generateKeyPair('ec', { namedCurve: 'P-256' }).privateKey); // rotation
    assert.equal((await verifier.verify(await fake.token())).subject, 'a@example.com');
    assert.equal(fake.requests, 4);
  });

  test('an unreachable, slow, oversized, failing or inconsistent issuer is ISSUER_UNREACHABLE', async () => {
    // A port that was just freed: nothing listens there.
    const closed = Fastify();
    await closed.listen({ port: 0, host: '127.0.0.1' });
    const port = (closed.server.address() as { port: number }).port;
    await closed.close();
    const gone = `http://127.0.0.1:${port}`;
    const goneToken = await new SignJWT({ iss: gone, sub: 's', aud: 'sigstore', exp: Math.floor(Date.now() / 1000) + 60 }).setProtectedHeader({ alg: 'ES256' }).sign(fake.key.privateKey);
    const goneConfig = parseOidcConfig(JSON.stringify({ OIDCIssuers: { [gone]: { Type: 'email' } } }));
    await rejects(new TokenVerifier(goneConfig).verify(goneToken), 502, 'ISSUER_UNREACHABLE', goneToken, /ECONNREFUSED.*retry later/);

    const cases: [FakeIssuer['mode'], RegExp][] = [
      ['slow', /did not complete within 300 ms/],
      ['huge', /600089 bytes, more than the 524288 allowed/],
      ['broken', /answered HTTP 500/],
      ['wrong-issuer', /names issuer "https:\/\/elsewhere\.example\.com"/],
    ];
    for (const [mode, pattern] of cases) {
      fake.mode = mode;
      const token = await fake.token();
      await rejects(new TokenVerifier(fake.config(), { fetchTimeoutMs: 300 }).verify(token), 502, 'ISSUER_UNREACHABLE', token, pattern);
    }
    fake.mode = 'ok';
  });

  test('keys already fetched keep working while the issuer is briefly down', async () => {
    fake.mode = 'ok';
    let clock = Date.now();
    const verifier = new TokenVerifier(fake.config(), { cacheTtlMs: 1000, now: () => new Date(clock) });
    const token = await fake.token();
    await verifier.verify(token);
    fake.mode = 'broken';
    clock += 5000; // past the TTL, within maxStaleMs
    assert.equal((await verifier.verify(token)).subject, 'a@example.com');
    fake.mode = 'ok';
  });
});

// ---------------------------------------------------------------------------------------------

describe('certificate identity', () => {
  test('email: the email SAN, the issuer (.1.1 raw, .1.8 UTF8String) and the token subject (.1.24)', async () => {
    const config = configFor('email');
    const principal = await new TokenVerifier(config).verify(await devToken({ email: 'alice@example.com', subject: '1234567890' }));
    const identity = certificateIdentity(principal, config);
    assert.deepEqual(identity.san, { type: 'email', value: 'alice@example.com' });
    assert.deepEqual(
      identity.extensions.map((e) => e.oid),
      [F(1), F(8), F(24)],
    );
    const exts = extensionMap(identity.extensions);
    assert.deepEqual(exts.get(F(1)), Buffer.from(dev.url));
    assert.deepEqual(exts.get(F(8)), Buffer.concat([Buffer.from([0x0c, dev.url.length]), Buffer.from(dev.url)]));
    assert.deepEqual(exts.get(F(24)), derUtf8String('1234567890'));
    assert.ok(identity.extensions.every((e) => e.critical === false));
  });

  test("email with IssuerClaim: the certificate's issuer is the claim's value (as Fulcio's dex setup)", () => {
    const principal = principalFor('email', 'https://oauth2.sigstore.dev/auth', { sub: 'x', email: 'a@example.com', email_verified: true, federated_claims: { connector_id: 'https://github.com/login/oauth', user_id: '1' } }, { IssuerClaim: '$.federated_claims.connector_id' });
    assert.equal(certificateIdentity(principal).values.Issuer, 'https://github.com/login/oauth');
    const missing = principalFor('email', 'https://oauth2.sigstore.dev/auth', { sub: 'x', email: 'a@example.com' }, { IssuerClaim: '$.federated_claims.connector_id' });
    assert.throws(() => certificateIdentity(missing), (err: unknown) => err instanceof ServiceError && err.code === 'TOKEN_CLAIM_INVALID');
  });

  test('GitHub Actions: every extension matches the public Fulcio certificate of the conformance beacon', async () => {
    const bundle = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { verificationMaterial: { certificate: { rawBytes: string } } };
    const cert = X509.fromDer(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'));
    const fulcio = cert.extensions.filter((e) => e.oid.startsWith('1.3.6.1.4.1.57264.1.'));
    assert.equal(fulcio.length, 21);
    const san = cert.subjectAltNames[0]!;

    // Both the ci-provider templates (what the public instance runs) and the older github-workflow type.
    const ciConfig = parseOidcConfig(JSON.stringify({ OIDCIssuers: { [GITHUB_ISSUER]: { Type: 'ci-provider', CIProvider: 'github-workflow' } } }));
    for (const [type, config] of [['ci-provider', ciConfig], ['github-workflow', undefined]] as const) {
      const principal = principalFor(type, GITHUB_ISSUER, BEACON_CLAIMS, { CIProvider: 'github-workflow' });
      const identity = certificateIdentity(principal, config);
      assert.deepEqual(identity.san, { type: 'uri', value: san.value }, type);
      const ours = extensionMap(identity.extensions);
      for (const ext of fulcio) assert.deepEqual(ours.get(ext.oid), ext.value, `${type}: ${ext.oid}`);
      // Fulcio added the token subject (.1.24) after that certificate was issued; nothing else differs.
      assert.deepEqual([...ours.keys()].filter((oid) => !fulcio.some((e) => e.oid === oid)), [F(24)]);
      assert.deepEqual(ours.get(F(24)), derUtf8String(BEACON_CLAIMS.sub));
    }
    // A deployment environment claim fills .1.23 through the templates.
    const withEnv = certificateIdentity(principalFor('ci-provider', GITHUB_ISSUER, { ...BEACON_CLAIMS, environment: 'prod' }, { CIProvider: 'github-workflow' }));
    assert.deepEqual(extensionMap(withEnv.extensions).get(F(23)), derUtf8String('prod'));
  });

  test('GitHub Actions end to end: a token with those claims from the dev issuer, verified and mapped', async () => {
    const config = configFor('ci-provider', { CIProvider: 'github-workflow' });
    const principal = await new TokenVerifier(config).verify(await devToken({ subject: BEACON_CLAIMS.sub, claims: BEACON_CLAIMS }));
    assert.equal(principal.subject, BEACON_CLAIMS.sub);
    const identity = certificateIdentity(principal, config);
    assert.equal(identity.san.value, `https://github.com/${BEACON_CLAIMS.job_workflow_ref}`);
    assert.equal(identity.values.Issuer, dev.url);
    assert.equal(identity.values.RunInvocationURI, 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/actions/runs/8347481628/attempts/1');
    // A missing claim the templates need is the token's fault: 400 naming the claim.
    const { run_attempt: _dropped, ...partial } = BEACON_CLAIMS;
    const lacking = await new TokenVerifier(config).verify(await devToken({ subject: 'x', claims: partial }));
    assert.throws(() => certificateIdentity(lacking, config), (err: unknown) => err instanceof ServiceError && err.status === 400 && err.code === 'TOKEN_CLAIM_INVALID' && /run_attempt/.test(err.message));
    assert.throws(() => certificateIdentity({ ...lacking, type: 'github-workflow' }), (err: unknown) => err instanceof ServiceError && /missing run_attempt claim/.test(err.message));
  });

  test('GitLab CI: the values Fulcio sets, through the ci-provider templates and the gitlab-pipeline type', () => {
    const expected: Record<number, string> = {
      8: 'https://gitlab.com',
      9: 'https://gitlab.com/cpanto/testing-cosign//.gitlab-ci.yml@refs/head/main',
      10: '714a629c0b401fdce83e847fc9589983fc6f46bc',
      11: 'gitlab-hosted',
      12: 'https://gitlab.com/cpanato/testing-cosign',
      13: 'sha',
      14: 'refs/heads/main',
      15: '42831435',
      16: 'https://gitlab.com/cpanato',
      17: '1730270',
      18: 'https://gitlab.com/cpanto/testing-cosign//.gitlab-ci.yml@refs/head/main',
      19: '714a629c0b401fdce83e847fc9589983fc6f46bc',
      20: 'push',
      21: 'https://gitlab.com/cpanato/testing-cosign/-/jobs/3659681386',
      22: 'public',
      24: GITLAB_CLAIMS.sub,
    };
    for (const type of ['ci-provider', 'gitlab-pipeline'] as const) {
      const identity = certificateIdentity(principalFor(type, 'https://gitlab.com', GITLAB_CLAIMS, { CIProvider: 'gitlab-pipeline' }));
      assert.deepEqual(identity.san, { type: 'uri', value: expected[9] }, type);
      const exts = extensionMap(identity.extensions);
      assert.deepEqual(exts.get(F(1)), Buffer.from('https://gitlab.com'));
      for (const [n, value] of Object.entries(expected)) assert.deepEqual(exts.get(F(Number(n))), derUtf8String(value), `${type}: .1.${n}`);
      assert.equal(exts.size, Object.keys(expected).length + 1, type);
      const tag = certificateIdentity(principalFor(type, 'https://gitlab.com', { ...GITLAB_CLAIMS, ref: 'v1.0', ref_type: 'tag' }, { CIProvider: 'gitlab-pipeline' }));
      assert.equal(tag.values.SourceRepositoryRef, 'refs/tags/v1.0');
    }
  });

  test('username: an OtherName SAN {sub}!{SubjectDomain}; subjects with "!" or that look like email are refused', async () => {
    const config = configFor('username', { SubjectDomain: '127.0.0.1' });
    const principal = await new TokenVerifier(config).verify(await devToken({ subject: 'carol' }));
    const identity = certificateIdentity(principal, config);
    assert.deepEqual(identity.san, { type: 'otherName', value: 'carol!127.0.0.1', typeId: F(7) });
    assert.deepEqual(extensionMap(identity.extensions).get(F(24)), derUtf8String('carol'));
    for (const sub of ['car!ol', 'carol@example.com']) {
      assert.throws(() => certificateIdentity({ ...principal, claims: { ...principal.claims, sub } }), (err: unknown) => err instanceof ServiceError && err.code === 'TOKEN_CLAIM_INVALID');
    }
  });

  test('uri, spiffe and kubernetes issuers: the URI SAN and its checks', () => {
    const uri = principalFor('uri', 'https://accounts.example.com', { sub: 'https://example.com/users/1' }, { SubjectDomain: 'https://example.com' });
    assert.deepEqual(certificateIdentity(uri).san, { type: 'uri', value: 'https://example.com/users/1' });
    assert.throws(() => certificateIdentity({ ...uri, claims: { sub: 'https://evil.com/users/1' } }), /must match expected domain/);
    assert.throws(() => certificateIdentity({ ...uri, claims: { sub: 'http://example.com/users/1' } }), /scheme/);
    const spiffe = principalFor('spiffe', 'https://spire.example.com', { sub: 'spiffe://example.com/ns/prod/sa/app' }, { SPIFFETrustDomain: 'example.com' });
    assert.equal(certificateIdentity(spiffe).san.value, 'spiffe://example.com/ns/prod/sa/app');
    assert.throws(() => certificateIdentity({ ...spiffe, claims: { sub: 'spiffe://other.com/x' } }), /doesn't match configured trust domain/);
    const k8s = principalFor('kubernetes', 'https://oidc.eks.us-west-2.amazonaws.com/id/X', { sub: 'system:serviceaccount:default:builder', 'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'builder' } } });
    const identity = certificateIdentity(k8s);
    assert.equal(identity.san.value, 'https://kubernetes.io/namespaces/default/serviceaccounts/builder');
    assert.equal(identity.values.Subject, 'system:serviceaccount:default:builder');
  });
});
