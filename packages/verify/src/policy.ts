// Who must have signed: the certificate's SAN and OIDC issuer, each exact or a regular
// expression (unanchored, as cosign's --certificate-identity-regexp; write ^…$ to anchor).

import type { X509 } from '@sigstack/core';
import { fail } from './errors.js';

export interface IdentityPolicy {
  identity?: string;
  identityRegexp?: string;
  issuer?: string;
  issuerRegexp?: string;
}

export interface SignerIdentity {
  /** The SAN that matched (or the first SAN). */
  identity: string | undefined;
  issuer: string | undefined;
}

function compile(pattern: string, flag: string): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch (err) {
    return fail('POLICY_INVALID', `${flag} is not a valid regular expression: ${(err as Error).message}`);
  }
}

/** Checks the policy against the leaf and says who signed; throws IDENTITY_MISMATCH / ISSUER_MISMATCH. */
export function verifyIdentity(leaf: X509, policy: IdentityPolicy): SignerIdentity {
  const sans = leaf.subjectAltNames.map((san) => san.value);
  const issuer = leaf.oidcIssuer;
  let identity = sans[0];
  if (policy.identity !== undefined || policy.identityRegexp !== undefined) {
    const pattern = policy.identityRegexp === undefined ? undefined : compile(policy.identityRegexp, '--certificate-identity-regexp');
    const matched = sans.find((san) => (pattern ? pattern.test(san) : san === policy.identity));
    if (matched === undefined) {
      const wanted = pattern ? `matching /${policy.identityRegexp}/` : `"${policy.identity}"`;
      fail('IDENTITY_MISMATCH', `the certificate was issued to ${sans.map((s) => `"${s}"`).join(', ') || 'no identity'}, not ${wanted}`);
    }
    identity = matched;
  }
  if (policy.issuer !== undefined || policy.issuerRegexp !== undefined) {
    const pattern = policy.issuerRegexp === undefined ? undefined : compile(policy.issuerRegexp, '--certificate-oidc-issuer-regexp');
    const ok = issuer !== undefined && (pattern ? pattern.test(issuer) : issuer === policy.issuer);
    if (!ok) {
      const wanted = pattern ? `matching /${policy.issuerRegexp}/` : `"${policy.issuer}"`;
      fail('ISSUER_MISMATCH', `the certificate's OIDC issuer is ${issuer === undefined ? 'absent' : `"${issuer}"`}, not ${wanted}`);
    }
  }
  return { identity, issuer };
}
