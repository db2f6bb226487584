// `sigstack sign`, `sigstack attest` and `sigstack generate-key-pair`, and the conformance
// client's `sign-bundle`: keyless or managed-key signing into a v0.3 bundle, with status lines
// on stderr (token, certificate, timestamps, log index, where the bundle went).

import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { INTOTO_PAYLOAD_TYPE, parseBundle, parseSigningConfig, parseStatement, parseTrustedRootJson } from '@sigstack/core';
import {
  STAGING_SIGNING_CONFIG,
  Signer,
  buildStatement,
  bundleToText,
  generateKeyPairFiles,
  loadSignerFile,
  loadSigningConfig,
  resolveIdentityToken,
  resolveServices,
  subjectFor,
  type ExplicitServices,
  type SignResult,
} from '@sigstack/sign';
import { TrustMaterial, Verifier, type VerifyPolicy } from '@sigstack/verify';
import { CliError } from '../errors.js';
import { predicateTypeFor } from '../predicate-types.js';

export const SIGN_USAGE = `usage: sigstack sign FILE [--bundle OUT] [signing flags]
       sigstack attest FILE --predicate P --type T [--bundle OUT] [signing flags]
       sigstack generate-key-pair [--output-key-prefix P] [--force]

sign      signs FILE's bytes (a message signature, logged as hashedrekord)
attest    signs an in-toto v1 statement about FILE (subject: its name and sha256) with the
          predicate JSON file P of type T (a URI, or slsaprovenance, slsaprovenance1, spdxjson,
          cyclonedx, link, vuln, custom), in a DSSE envelope (logged as dsse)
The bundle goes to OUT (default FILE.sigstore.json).
FILE may be an image, REGISTRY/REPOSITORY:TAG or …@sha256:HEX (REGISTRY a host with a dot, a port
or localhost; not an existing file): the tag is resolved to its digest, which is signed, and the
signature is pushed to the registry (--registry-layout bundle|legacy|both, --registry-username,
--registry-password, --allow-insecure-registry; --bundle OUT also writes it to a file).

signing flags:
  --identity-token T     an OIDC identity token, or a file holding one; else SIGSTORE_ID_TOKEN,
                         the GitHub Actions ambient token, or an interactive login in a terminal
  --key KEY              sign with a managed private key (PEM; password in SIGSTACK_PASSWORD)
                         instead of a certificate: the bundle carries a public-key hint
  --signing-config F     services from a signing_config v0.2 file (default: public-good sigstore)
  --fulcio-url U         the certificate authority (overrides the signing config)
  --rekor-url U          the transparency log, with --rekor-version 1|2 (default 1)
  --tsa-url U            a timestamp authority (repeatable)
  --trusted-root F       verify the new bundle against this trusted root before writing it
  --oidc-issuer U        interactive login: the OIDC issuer (default from the signing config)
  --oidc-client-id ID    interactive login: the client ID (default sigstore)
  --oidc-device-flow     interactive login: use the device flow even when a browser could open

generate-key-pair writes P.key (ECDSA P-256, PKCS#8 PEM, mode 0600, encrypted with
SIGSTACK_PASSWORD when it is set) and P.pub; P defaults to "sigstack".`;

type Content = { kind: 'message' } | { kind: 'attest'; predicate: string; type: string } | { kind: 'in-toto' };

export interface SignRequest {
  file: string;
  bundle: string;
  content: Content;
  identityToken?: string;
  key?: string;
  signingConfig?: string;
  staging?: boolean;
  explicit: ExplicitServices;
  oidcClientId?: string;
  deviceFlow?: boolean;
  trustedRoot?: string;
  /** Whether an interactive login may be offered when no token is found. */
  interactive: boolean;
}

const SIGNING_OPTIONS = {
  bundle: { type: 'string' },
  'identity-token': { type: 'string' },
  key: { type: 'string' },
  'signing-config': { type: 'string' },
  'fulcio-url': { type: 'string' },
  'rekor-url': { type: 'string' },
  'rekor-version': { type: 'string' },
  'tsa-url': { type: 'string', multiple: true },
  'trusted-root': { type: 'string' },
  'oidc-issuer': { type: 'string' },
  'oidc-client-id': { type: 'string' },
  'oidc-device-flow': { type: 'boolean' },
} as const;

function usage(message: string): CliError {
  return new CliError('USAGE', `${message}\n${SIGN_USAGE}`);
}

type ArgOptions = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

function parse(args: string[], options: ArgOptions) {
  try {
    return parseArgs({ args, allowPositionals: true, options });
  } catch (err) {
    throw usage((err as Error).message);
  }
}

function readFile(path: string, what: string, code: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(code, `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function parseSignArgs(args: string[], attest: boolean): SignRequest {
  const options = attest ? { ...SIGNING_OPTIONS, predicate: { type: 'string' }, type: { type: 'string' } } as const : SIGNING_OPTIONS;
  const parsed = parse(args, options);
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (parsed.positionals.length !== 1) throw usage(`expected one FILE to ${attest ? 'attest' : 'sign'}`);
  const file = parsed.positionals[0] as string;
  let content: Content = { kind: 'message' };
  if (attest) {
    if (typeof v.predicate !== 'string') throw usage('attest needs --predicate P (a JSON file)');
    if (typeof v.type !== 'string') throw usage('attest needs --type T (the predicate type URI)');
    content = { kind: 'attest', predicate: v.predicate, type: v.type };
  }
  const rekorVersion = v['rekor-version'];
  if (rekorVersion !== undefined && rekorVersion !== '1' && rekorVersion !== '2') throw usage('--rekor-version must be 1 or 2');
  if (v.key !== undefined && v['identity-token'] !== undefined) throw usage('--key signs with a managed key and takes no --identity-token');
  const explicit: ExplicitServices = {};
  if (typeof v['fulcio-url'] === 'string') explicit.fulcioUrl = v['fulcio-url'];
  if (typeof v['rekor-url'] === 'string') explicit.rekorUrl = v['rekor-url'];
  if (rekorVersion !== undefined) explicit.rekorVersion = Number(rekorVersion) as 1 | 2;
  if (Array.isArray(v['tsa-url'])) explicit.tsaUrls = v['tsa-url'];
  if (typeof v['oidc-issuer'] === 'string') explicit.oidcIssuer = v['oidc-issuer'];
  const request: SignRequest = {
    file,
    bundle: typeof v.bundle === 'string' ? v.bundle : `${file}.sigstore.json`,
    content,
    explicit,
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
  };
  if (typeof v['identity-token'] === 'string') request.identityToken = v['identity-token'];
  if (typeof v.key === 'string') request.key = v.key;
  if (typeof v['signing-config'] === 'string') request.signingConfig = v['signing-config'];
  if (typeof v['trusted-root'] === 'string') request.trustedRoot = v['trusted-root'];
  if (typeof v['oidc-client-id'] === 'string') request.oidcClientId = v['oidc-client-id'];
  if (v['oidc-device-flow'] === true) request.deviceFlow = true;
  return request;
}

export function predicateType(type: string): string {
  try {
    return predicateTypeFor(type);
  } catch (err) {
    throw usage((err as Error).message);
  }
}

export function readPredicate(path: string): unknown {
  const text = readFile(path, 'predicate', 'PREDICATE_UNREADABLE').toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError('PREDICATE_INVALID', `predicate ${path} is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CliError('PREDICATE_INVALID', `predicate ${path} must be a JSON object`);
  return value;
}

const status = (line: string) => process.stderr.write(`${line}\n`);

/** The signer a request describes: its services, the managed key if any, the token source (also for images). */
export function createSigner(request: SignRequest, log: (line: string) => void = status) {
  const signingConfig = request.signingConfig
    ? loadSigningConfig(request.signingConfig)
    : request.staging
      ? parseSigningConfig(STAGING_SIGNING_CONFIG)
      : undefined;
  // Without a config: only the URLs given, or the public-good instance when none is.
  const services = resolveServices({ ...(signingConfig ? { signingConfig } : {}), explicit: request.explicit });

  const key = request.key ? loadSignerFile(request.key) : undefined;
  if (key) log(`Signing with the managed key ${request.key} (${key.keyDetails})`);
  const signer = new Signer({
    services,
    ...(key ? { key } : {}),
    identityToken: () =>
      resolveIdentityToken({
        ...(request.identityToken !== undefined ? { identityToken: request.identityToken } : {}),
        interactive: request.interactive
          ? {
              ...(services.oidc ? { issuer: services.oidc.url } : {}),
              ...(request.oidcClientId ? { clientId: request.oidcClientId } : {}),
              ...(request.deviceFlow ? { flow: 'device' as const } : {}),
              log,
            }
          : false,
      }),
    log,
  });
  return { signer, key, services };
}

/** Signs as the request says, verifies against --trusted-root when given, writes the bundle. */
export async function runSign(request: SignRequest, log: (line: string) => void = status): Promise<SignResult> {
  const data = readFile(request.file, 'file', 'ARTIFACT_UNREADABLE');
  const { signer, key } = createSigner(request, log);

  let result: SignResult;
  let artifactForVerify: Buffer | undefined = data;
  switch (request.content.kind) {
    case 'message':
      result = await signer.signMessage(data);
      break;
    case 'attest': {
      const statement = buildStatement([subjectFor(basename(request.file), data)], predicateType(request.content.type), readPredicate(request.content.predicate));
      result = await signer.signDsse(statement, INTOTO_PAYLOAD_TYPE);
      break;
    }
    case 'in-toto': {
      try {
        parseStatement(data);
      } catch (err) {
        throw new CliError('STATEMENT_INVALID', `${request.file} is not an in-toto statement: ${(err as Error).message}`);
      }
      result = await signer.signDsse(data, INTOTO_PAYLOAD_TYPE);
      artifactForVerify = undefined;
      break;
    }
  }

  if (request.trustedRoot) {
    const root = parseTrustedRootJson(readFile(request.trustedRoot, 'trusted root', 'TRUSTED_ROOT_UNREADABLE').toString('utf8'));
    const policy: VerifyPolicy = key
      ? { key: key.publicKeyPem }
      : { identity: result.certificate?.subjectAltNames[0]?.value ?? '', issuer: result.certificate?.oidcIssuer ?? '' };
    try {
      await new Verifier(new TrustMaterial(root)).verify(parseBundle(result.bundle), artifactForVerify ? { kind: 'bytes', data: artifactForVerify } : undefined, policy);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      throw new CliError(e.code ?? 'VERIFY_FAILED', `the new bundle does not verify against ${request.trustedRoot}, so it was not written: ${e.message ?? String(err)}`);
    }
    log(`Verified against ${request.trustedRoot}`);
  }

  try {
    writeFileSync(request.bundle, bundleToText(result.bundle));
  } catch (err) {
    throw new CliError('BUNDLE_UNWRITABLE', `cannot write the bundle to ${request.bundle}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  log(`Wrote bundle to ${request.bundle}`);
  return result;
}

export async function signCommand(args: string[]): Promise<number> {
  await runSign(parseSignArgs(args, false));
  return 0;
}

export async function attestCommand(args: string[]): Promise<number> {
  await runSign(parseSignArgs(args, true));
  return 0;
}

export async function generateKeyPairCommand(args: string[]): Promise<number> {
  const parsed = parse(args, { 'output-key-prefix': { type: 'string' }, force: { type: 'boolean' } } as const);
  if (parsed.positionals.length > 0) throw usage('generate-key-pair takes no arguments');
  const prefix = (parsed.values['output-key-prefix'] as string | undefined) ?? 'sigstack';
  const password = process.env.SIGSTACK_PASSWORD ?? '';
  const files = generateKeyPairFiles(prefix, { password, force: parsed.values.force === true });
  status(`Wrote private key ${files.privateKeyPath} (${files.encrypted ? 'encrypted with SIGSTACK_PASSWORD' : 'NOT encrypted: set SIGSTACK_PASSWORD to encrypt it'}) and public key ${files.publicKeyPath}`);
  return 0;
}

/**
 * The conformance client's `sign-bundle [--staging] [--in-toto] --identity-token T --bundle F
 * [--trusted-root F] [--signing-config F] FILE` (sigstore-conformance docs/cli_protocol.md).
 */
export async function conformanceSignBundle(args: string[]): Promise<number> {
  const parsed = parse(args, {
    staging: { type: 'boolean' },
    'in-toto': { type: 'boolean' },
    'identity-token': { type: 'string' },
    bundle: { type: 'string' },
    'trusted-root': { type: 'string' },
    'signing-config': { type: 'string' },
  } as const);
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const str = (name: string) => (typeof v[name] === 'string' ? (v[name] as string) : undefined);
  if (parsed.positionals.length !== 1) throw new CliError('USAGE', 'sign-bundle expects one FILE');
  const identityToken = str('identity-token');
  const bundle = str('bundle');
  if (!identityToken) throw new CliError('USAGE', 'sign-bundle needs --identity-token');
  if (!bundle) throw new CliError('USAGE', 'sign-bundle needs --bundle');
  const request: SignRequest = {
    file: parsed.positionals[0] as string,
    bundle,
    content: v['in-toto'] ? { kind: 'in-toto' } : { kind: 'message' },
    identityToken,
    explicit: {},
    interactive: false,
  };
  if (v.staging) request.staging = true;
  const signingConfig = str('signing-config');
  const trustedRoot = str('trusted-root');
  if (signingConfig) request.signingConfig = signingConfig;
  if (trustedRoot) request.trustedRoot = trustedRoot;
  await runSign(request);
  return 0;
}
