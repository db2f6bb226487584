// Test helpers: the real sigstack services on loopback (transparency log, and the CA with its CT
// log and the dev OIDC issuer), trusted roots naming them, and verification of the bundles we
// produce with @sigstack/verify and with sigstore-js.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseBundle, parseTrustedRoot } from '@sigstack/core';
import { TrustMaterial, Verifier, type VerifyPolicy } from '@sigstack/verify';
import { startLogService, tsa as tsaModule, type LogService } from '@sigstack/server';
import type * as CaModule from '../../server/src/ca/service.js';
import type * as CaKeysModule from '../../server/src/ca/keys/index.js';
import type * as CtModule from '../../server/src/ctlog/service.js';
import type * as OidcModule from '../../server/src/oidc-dev/service.js';

const require = createRequire(import.meta.url);
const sigstoreVerify = require('@sigstore/verify');
const sigstoreBundle = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

// The server's modules that its package entry does not export, loaded from its build output.
const serverDist = new URL('../../../server/dist/src/', import.meta.url);
async function serverModule<T>(path: string): Promise<T> {
  return (await import(new URL(path, serverDist).href)) as T;
}

export const EMAIL = 'signer@example.test';

/** The dev OIDC issuer alone. */
export async function startDevIssuer(dir: string): Promise<OidcModule.DevOidcIssuer> {
  const { startDevOidcIssuer } = await serverModule<typeof OidcModule>('oidc-dev/service.js');
  return startDevOidcIssuer({ dir, warn: () => {} });
}

/** A token from a dev issuer for a /token request body. */
export async function issueToken(issuer: { url: string }, body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${issuer.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(response.status, 200);
  return ((await response.json()) as { id_token: string }).id_token;
}

export interface Stack {
  rekor: LogService;
  tsa: tsaModule.TsaService;
  ca?: CaModule.CaService;
  ct?: CtModule.CtLogService;
  oidc?: OidcModule.DevOidcIssuer;
  close(): Promise<void>;
}

/** The transparency log and the TSA; with `keyless`, also the dev OIDC issuer, the CT log and the CA. */
export async function startStack(dir: string, options: { keyless?: boolean } = {}): Promise<Stack> {
  const rekor = await startLogService({ dir: join(dir, 'rekor'), port: 0, admissionWorkers: 0 });
  const tsa = await tsaModule.startTsaService({ dir: join(dir, 'tsa') });
  const stack: Stack = { rekor, tsa, close: async () => undefined };
  if (options.keyless) {
    const { startDevOidcIssuer } = await serverModule<typeof OidcModule>('oidc-dev/service.js');
    const { createCaHierarchy } = await serverModule<typeof CaKeysModule>('ca/keys/index.js');
    const { startCtLogService } = await serverModule<typeof CtModule>('ctlog/service.js');
    const { startCaService } = await serverModule<typeof CaModule>('ca/service.js');
    stack.oidc = await startDevOidcIssuer({ dir: join(dir, 'oidc'), warn: () => {} });
    const hierarchy = await createCaHierarchy({ dir: join(dir, 'ca') });
    stack.ct = await startCtLogService({ dir: join(dir, 'ct'), rootsPem: hierarchy.root.pem });
    const oidcConfig = JSON.stringify({ OIDCIssuers: { [stack.oidc.url]: { IssuerURL: stack.oidc.url, ClientID: 'sigstore', Type: 'email' } } });
    stack.ca = await startCaService({ dir: join(dir, 'ca'), oidcConfig, ctUrl: stack.ct.url, ctPublicKey: stack.ct.ctLog.publicKey });
  }
  stack.close = async () => {
    await Promise.all([stack.ca?.close(), stack.ct?.close(), stack.oidc?.close(), tsa.close()]);
    await rekor.close();
  };
  return stack;
}

/** A dev OIDC token for `email`. */
export function devToken(stack: Stack, email = EMAIL): Promise<string> {
  return issueToken(stack.oidc!, { email });
}

/** A trusted root (v0.1 media type, what sigstore-js reads) naming the stack's services. */
export function trustedRootFor(stack: Stack) {
  const start = new Date(Date.now() - 3600_000).toISOString();
  const { rekor, ca, ct, tsa } = stack;
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: rekor.url,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: rekor.log.signer.spki.toString('base64'), keyDetails: rekor.log.signer.keyDetails, validFor: { start } },
        logId: { keyId: rekor.log.logId.toString('base64') },
      },
    ],
    certificateAuthorities: ca
      ? [{ subject: { organization: 'sigstack', commonName: 'sigstack-intermediate' }, uri: ca.url, certChain: { certificates: ca.chain.map((der) => ({ rawBytes: der.toString('base64') })) }, validFor: { start } }]
      : [],
    ctlogs: ct
      ? [{ baseUrl: ct.url, hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: ct.ctLog.spki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } }, logId: { keyId: ct.ctLog.logId.toString('base64') } }]
      : [],
    timestampAuthorities: [
      { subject: { organization: 'sigstack', commonName: 'sigstack-tsa' }, uri: tsa.url, certChain: { certificates: tsa.chain.certificates.map((c) => ({ rawBytes: c.der.toString('base64') })) }, validFor: { start } },
    ],
  };
}

/** A signing_config v0.2 naming the stack's services (the TSA only with `withTsa`). */
export function signingConfigFor(stack: Stack, rekorVersion: 1 | 2 = 1, withTsa = false) {
  const validFor = { start: new Date(Date.now() - 3600_000).toISOString() };
  return {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: stack.ca ? [{ url: stack.ca.url, majorApiVersion: 1, validFor, operator: 'sigstack' }] : [],
    oidcUrls: stack.oidc ? [{ url: stack.oidc.url, majorApiVersion: 1, validFor, operator: 'sigstack' }] : [],
    rekorTlogUrls: [{ url: stack.rekor.url, majorApiVersion: rekorVersion, validFor, operator: 'sigstack' }],
    tsaUrls: withTsa ? [{ url: `${stack.tsa.url}/api/v1/timestamp`, majorApiVersion: 1, validFor, operator: 'sigstack' }] : [],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
}

export type Artifact = { kind: 'bytes'; data: Buffer };

/**
 * Verifies with @sigstack/verify and with sigstore-js. `key`: a managed key (PEM and SPKI, with
 * the bundle's hint); otherwise the keyless identity EMAIL from the stack's dev issuer.
 * `sigstoreJs: false` skips sigstore-js (it needs a signed time to check a certificate).
 */
export async function verifyBoth(
  stack: Stack,
  bundle: unknown,
  artifact: Buffer,
  options: { key?: { pem: string; spki: Buffer; hint: string; keyDetails: string }; timestampThreshold?: number; root?: ReturnType<typeof trustedRootFor>; sigstoreJs?: boolean } = {},
) {
  const root = options.root ?? trustedRootFor(stack);
  const timestampThreshold = options.timestampThreshold ?? 1;
  const policy: VerifyPolicy = options.key ? { key: options.key.pem } : { identity: EMAIL, issuer: stack.oidc!.url };
  const ours = await new Verifier(new TrustMaterial(parseTrustedRoot(root)), { timestampThreshold }).verify(parseBundle(bundle), { kind: 'bytes', data: artifact }, policy);
  assert.equal(ours.tlogEntries[0]?.logUrl, stack.rekor.url);
  if (options.sigstoreJs === false) return { ours, theirs: undefined };
  const keys = options.key ? { [options.key.hint]: { rawBytes: options.key.spki, keyDetails: options.key.keyDetails } } : undefined;
  const trust = sigstoreVerify.toTrustMaterial(TrustedRoot.fromJSON(root), keys);
  const entity = sigstoreVerify.toSignedEntity(sigstoreBundle.bundleFromJSON(bundle), artifact);
  const signer = new sigstoreVerify.Verifier(trust, { timestampThreshold }).verify(entity, options.key ? undefined : { subjectAlternativeName: EMAIL, extensions: { issuer: stack.oidc!.url } });
  return { ours, theirs: signer };
}
