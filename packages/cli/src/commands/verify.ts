// `sigstack verify`: checks a bundle offline against a trusted root (public-good by default)
// and prints one line saying who signed, which issuer, which log entry and when.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseBundleJson } from '@sigstack/core';
import { TrustMaterial, Verifier, checkBundleWitnesses, type VerificationResult, type VerifyPolicy } from '@sigstack/verify';
import { witnessOptions, witnessPolicyOf } from './verify-witness.js';
import { readArtifact } from '../artifact.js';
import { CliError } from '../errors.js';

export const VERIFY_USAGE = `usage: sigstack verify FILE_OR_DIGEST --bundle B
         (--certificate-identity I | --certificate-identity-regexp R)
         (--certificate-oidc-issuer U | --certificate-oidc-issuer-regexp R)
         [--trusted-root F]
       sigstack verify FILE --bundle B --key KEY.pem [--trusted-root F]
       ... [--witness VKEY ... [--witness-threshold N] | --witness-policy FILE]   require witness cosignatures

FILE_OR_DIGEST is the signed file, or sha256:<hex> for its digest.
Verification is offline; the default trust is the public-good sigstore instance.`;

export interface VerifyRequest {
  artifact: string;
  bundle: string;
  trustedRoot?: string;
  policy: VerifyPolicy;
  witnesses?: ReturnType<typeof witnessPolicyOf>;
}

export function parseVerifyArgs(args: string[]): VerifyRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        bundle: { type: 'string' },
        'certificate-identity': { type: 'string' },
        'certificate-identity-regexp': { type: 'string' },
        'certificate-oidc-issuer': { type: 'string' },
        'certificate-oidc-issuer-regexp': { type: 'string' },
        key: { type: 'string' },
        'trusted-root': { type: 'string' },
        staging: { type: 'boolean' },
        ...witnessOptions,
      },
    });
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${VERIFY_USAGE}`);
  }
  const v = parsed.values;
  if (parsed.positionals.length !== 1) throw new CliError('USAGE', `expected one FILE_OR_DIGEST argument\n${VERIFY_USAGE}`);
  if (!v.bundle) throw new CliError('USAGE', `--bundle is required\n${VERIFY_USAGE}`);
  if (v.staging && !v['trusted-root']) {
    throw new CliError('USAGE', '--staging needs --trusted-root: the staging trusted root is not shipped with sigstack');
  }
  const policy: VerifyPolicy = {};
  if (v.key !== undefined) {
    if (v['certificate-identity'] || v['certificate-identity-regexp'] || v['certificate-oidc-issuer'] || v['certificate-oidc-issuer-regexp']) {
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
  }
  const request: VerifyRequest = { artifact: parsed.positionals[0] as string, bundle: v.bundle, policy };
  if (v['trusted-root'] !== undefined) request.trustedRoot = v['trusted-root'];
  const witnesses = witnessPolicyOf(v);
  if (witnesses) request.witnesses = witnesses;
  return request;
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

export function describeResult(result: VerificationResult): string {
  const who = result.identity === undefined ? 'the managed key' : `${result.identity} (issuer ${result.issuer ?? 'unknown'})`;
  const logs = result.tlogEntries.map((e) => `${e.logUrl} index ${e.logIndex}`).join(', ');
  const when = result.signedAt[0]?.toISOString() ?? 'unknown time';
  return `Verified OK: signed by ${who}, logged at ${logs}, at ${when}`;
}

export async function verifyCommand(args: string[]): Promise<number> {
  const result = await runVerify(parseVerifyArgs(args));
  process.stdout.write(`${describeResult(result)}\n`);
  return 0;
}
