// `sigstack verify`: checks a bundle offline against a trusted root (public-good by default)
// and prints one line saying who signed, which issuer, which log entry and when (or a JSON
// object); with --bundle-list, many bundles on every core (verify-list.ts).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseBundleJson } from '@sigstack/core';
import { FULCIO_EXTENSIONS, TrustMaterial, Verifier, checkBundleWitnesses, type ExtensionRequirement, type VerificationResult, type VerifyPolicy } from '@sigstack/verify';
import { readArtifact } from '../artifact.js';
import { CliError } from '../errors.js';
import { predicateTypeFor } from '../predicate-types.js';
import { verifyBundleList, type BundleListRequest } from './verify-list.js';
import { formatResult, type OutputFormat } from './verify-output.js';
import { witnessOptions, witnessPolicyOf } from './verify-witness.js';

export const VERIFY_USAGE = `usage: sigstack verify FILE_OR_DIGEST --bundle B
         (--certificate-identity I | --certificate-identity-regexp R)
         (--certificate-oidc-issuer U | --certificate-oidc-issuer-regexp R)
         [--trusted-root F] [--type T] [--output json] [CI identity flags]
       sigstack verify FILE --bundle B --key KEY.pem [--trusted-root F] [--type T] [--output json]
       sigstack verify --bundle-list LIST (identity flags or --key) [--trusted-root F] [--output json]
       ... [--witness VKEY ... [--witness-threshold N] | --witness-policy FILE]   require witness cosignatures

FILE_OR_DIGEST is the signed file, or sha256:<hex> for its digest.
Verification is offline; the default trust is the public-good sigstore instance.

  --type T               DSSE bundles: the in-toto predicateType must be T (a URI, or
                         slsaprovenance, slsaprovenance1, spdx, spdxjson, cyclonedx, vuln, openvex,
                         custom, link)
  --certificate-github-workflow-repository V, -ref V, -sha V, -trigger V, -name V
                         the certificate's GitHub workflow extension must be V (Fulcio OIDs .1.5,
                         .1.6, .1.3, .1.2, .1.4)
  --certificate-extension OID=VALUE
                         the certificate extension OID must hold VALUE (repeatable)
  --output json          print one JSON object (identity, issuer, extensions, log entries, times,
                         the statement of DSSE bundles) instead of a line
  --bundle-list LIST     verify every "ARTIFACT BUNDLE" line of LIST on every core, one line each;
                         exit 1 if any failed`;

export interface VerifyRequest {
  artifact: string;
  bundle: string;
  trustedRoot?: string;
  policy: VerifyPolicy;
  witnesses?: ReturnType<typeof witnessPolicyOf>;
}

/** The flags of `sigstack verify` (one table, so other options join it easily). */
const VERIFY_OPTIONS = {
  bundle: { type: 'string' },
  'bundle-list': { type: 'string' },
  'certificate-identity': { type: 'string' },
  'certificate-identity-regexp': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  'certificate-oidc-issuer-regexp': { type: 'string' },
  'certificate-github-workflow-repository': { type: 'string' },
  'certificate-github-workflow-ref': { type: 'string' },
  'certificate-github-workflow-sha': { type: 'string' },
  'certificate-github-workflow-trigger': { type: 'string' },
  'certificate-github-workflow-name': { type: 'string' },
  'certificate-extension': { type: 'string', multiple: true },
  key: { type: 'string' },
  type: { type: 'string' },
  output: { type: 'string' },
  'trusted-root': { type: 'string' },
  staging: { type: 'boolean' },
  ...witnessOptions,
} as const;

type VerifyValues = ReturnType<typeof parseVerifyFlags>['values'];

function parseVerifyFlags(args: string[]) {
  try {
    return parseArgs({ args, allowPositionals: true, options: VERIFY_OPTIONS });
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${VERIFY_USAGE}`);
  }
}

/** cosign's CI identity flags: which Fulcio extension each one checks. */
const WORKFLOW_FLAGS = [
  ['certificate-github-workflow-trigger', 'githubWorkflowTrigger'],
  ['certificate-github-workflow-sha', 'githubWorkflowSha'],
  ['certificate-github-workflow-name', 'githubWorkflowName'],
  ['certificate-github-workflow-repository', 'githubWorkflowRepository'],
  ['certificate-github-workflow-ref', 'githubWorkflowRef'],
] as const;

const OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

function extensionRequirements(v: VerifyValues): ExtensionRequirement[] {
  const requirements: ExtensionRequirement[] = [];
  for (const [flag, name] of WORKFLOW_FLAGS) {
    const value = v[flag];
    if (value !== undefined) requirements.push({ oid: (FULCIO_EXTENSIONS[name] as { oid: string }).oid, value, flag: `--${flag}` });
  }
  for (const pair of v['certificate-extension'] ?? []) {
    const at = pair.indexOf('=');
    const oid = at < 0 ? '' : pair.slice(0, at);
    if (!OID.test(oid)) throw new CliError('USAGE', `--certificate-extension ${pair}: write OID=VALUE, e.g. 1.3.6.1.4.1.57264.1.12=https://github.com/OWNER/REPO`);
    requirements.push({ oid, value: pair.slice(at + 1), flag: `--certificate-extension ${oid}` });
  }
  return requirements;
}

function outputFormat(v: VerifyValues): OutputFormat {
  const output = v.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new CliError('USAGE', `--output ${output}: use json (or text, the default)`);
  return output;
}

/** The policy the flags give: a managed key, or an identity and issuer; extensions; predicate type. */
function policyFrom(v: VerifyValues): VerifyPolicy {
  const policy: VerifyPolicy = {};
  const extensions = extensionRequirements(v);
  if (v.key !== undefined) {
    if (v['certificate-identity'] || v['certificate-identity-regexp'] || v['certificate-oidc-issuer'] || v['certificate-oidc-issuer-regexp'] || extensions.length > 0) {
      throw new CliError('USAGE', '--key verifies a managed key and takes no --certificate-* flags');
    }
    try {
      policy.key = readFileSync(v.key, 'utf8');
    } catch (err) {
      throw new CliError('KEY_UNREADABLE', `cannot read key ${v.key}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else {
    const identity = v['certificate-identity'];
    const identityRegexp = v['certificate-identity-regexp'];
    const issuer = v['certificate-oidc-issuer'];
    const issuerRegexp = v['certificate-oidc-issuer-regexp'];
    if ((identity === undefined) === (identityRegexp === undefined)) {
      throw new CliError('USAGE', `give exactly one of --certificate-identity or --certificate-identity-regexp (or --key)\n${VERIFY_USAGE}`);
    }
    if ((issuer === undefined) === (issuerRegexp === undefined)) {
      throw new CliError('USAGE', `give exactly one of --certificate-oidc-issuer or --certificate-oidc-issuer-regexp\n${VERIFY_USAGE}`);
    }
    if (identity !== undefined) policy.identity = identity;
    if (identityRegexp !== undefined) policy.identityRegexp = identityRegexp;
    if (issuer !== undefined) policy.issuer = issuer;
    if (issuerRegexp !== undefined) policy.issuerRegexp = issuerRegexp;
    if (extensions.length > 0) policy.extensions = extensions;
  }
  if (v.type !== undefined) policy.predicateType = predicateTypeFor(v.type);
  return policy;
}

export type VerifyCommandRequest = { kind: 'one'; request: VerifyRequest; output: OutputFormat } | { kind: 'list'; request: BundleListRequest };

/** Reads `sigstack verify`'s arguments: one bundle, or a --bundle-list. */
export function parseVerifyCommand(args: string[]): VerifyCommandRequest {
  const parsed = parseVerifyFlags(args);
  const v = parsed.values;
  if (v.staging && !v['trusted-root']) {
    throw new CliError('USAGE', '--staging needs --trusted-root: the staging trusted root is not shipped with sigstack');
  }
  const output = outputFormat(v);
  if (v['bundle-list'] !== undefined) {
    if (parsed.positionals.length > 0 || v.bundle !== undefined) {
      throw new CliError('USAGE', `--bundle-list names every artifact and bundle: give no FILE_OR_DIGEST and no --bundle\n${VERIFY_USAGE}`);
    }
    if (witnessPolicyOf(v)) throw new CliError('USAGE', `--witness and --witness-policy take one bundle, not a --bundle-list\n${VERIFY_USAGE}`);
    const request: BundleListRequest = { list: v['bundle-list'], policy: policyFrom(v), output };
    if (v['trusted-root'] !== undefined) request.trustedRoot = v['trusted-root'];
    return { kind: 'list', request };
  }
  if (parsed.positionals.length !== 1) throw new CliError('USAGE', `expected one FILE_OR_DIGEST argument\n${VERIFY_USAGE}`);
  if (!v.bundle) throw new CliError('USAGE', `--bundle is required\n${VERIFY_USAGE}`);
  const request: VerifyRequest = { artifact: parsed.positionals[0] as string, bundle: v.bundle, policy: policyFrom(v) };
  if (v['trusted-root'] !== undefined) request.trustedRoot = v['trusted-root'];
  const witnesses = witnessPolicyOf(v);
  if (witnesses) request.witnesses = witnesses;
  return { kind: 'one', request, output };
}

/** One bundle's request (the benchmark and the conformance client take these arguments). */
export function parseVerifyArgs(args: string[]): VerifyRequest {
  const command = parseVerifyCommand(args);
  if (command.kind !== 'one') throw new CliError('USAGE', `--bundle-list is not supported here\n${VERIFY_USAGE}`);
  return command.request;
}

/** Loads everything a request names and prepares the verifier (reused by the benchmark). */
export function prepareVerification(request: VerifyRequest) {
  let bundleText: string;
  try {
    bundleText = readFileSync(request.bundle, 'utf8');
  } catch (err) {
    throw new CliError('BUNDLE_UNREADABLE', `cannot read bundle ${request.bundle}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const trust = request.trustedRoot ? TrustMaterial.fromFile(request.trustedRoot) : TrustMaterial.publicGood();
  return { bundleText, artifact: readArtifact(request.artifact), verifier: new Verifier(trust), policy: request.policy };
}

export async function runVerify(request: VerifyRequest): Promise<VerificationResult> {
  const { bundleText, artifact, verifier, policy } = prepareVerification(request);
  const bundle = parseBundleJson(bundleText);
  const result = await verifier.verify(bundle, artifact, policy);
  if (request.witnesses) checkBundleWitnesses(bundle, request.witnesses);
  return result;
}

export { describeResult } from './verify-output.js';

export async function verifyCommand(args: string[]): Promise<number> {
  const command = parseVerifyCommand(args);
  if (command.kind === 'list') return verifyBundleList(command.request);
  const result = await runVerify(command.request);
  process.stdout.write(`${formatResult(result, command.output)}\n`);
  return 0;
}
