// The signing certificate's chain: a path from the leaf to a trusted certificate authority
// that was valid at every verified signing time, with CA and code-signing constraints.

import { OID_CODE_SIGNING, type X509 } from '@sigstack/core';
import { fail } from './errors.js';
import { validAt, verifyByTrusted, type TrustMaterial, type TrustedAuthority } from './trust-material.js';

export interface CertificatePath {
  authority: TrustedAuthority;
  /** Leaf first, then the CA certificates up to the authority's top. */
  path: X509[];
}

/** Finds the trusted CA chain the leaf was issued under and checks it at every signing time. */
export async function verifyCertificatePath(leaf: X509, signingTimes: () => Promise<Date[]>, trust: TrustMaterial): Promise<CertificatePath> {
  if (leaf.isCA) fail('CERTIFICATE_INVALID', 'the signing certificate is a CA certificate, not a leaf');
  if (!leaf.extendedKeyUsage.includes(OID_CODE_SIGNING)) {
    fail('CERTIFICATE_INVALID', 'the signing certificate lacks the code-signing extended key usage');
  }
  const usage = leaf.keyUsage;
  if (usage && !usage.digitalSignature) fail('CERTIFICATE_INVALID', 'the signing certificate does not allow digital signatures');

  const candidates: CertificatePath[] = [];
  for (const authority of trust.certificateAuthorities) {
    const index = authority.chain.findIndex((ca) => leaf.namesIssuer(ca));
    if (index >= 0) candidates.push({ authority, path: [leaf, ...authority.chain.slice(index)] });
  }
  if (candidates.length === 0) {
    fail('CERTIFICATE_UNTRUSTED', `the signing certificate was issued by "${leafIssuer(leaf)}", which is not a certificate authority of the trusted root`);
  }

  // Signature checks start now, on the thread pool, while the signing times are still being verified.
  const checks = candidates.map((candidate) =>
    Promise.all([
      verifyByTrusted(candidate.path[1] as X509, leaf.signatureAlgorithm, leaf.tbs, leaf.signature),
      candidate.authority.chainIntact(),
    ]),
  );
  const times = await signingTimes();
  let lastProblem = '';
  for (const [i, candidate] of candidates.entries()) {
    const [signed, intact] = await (checks[i] as Promise<[boolean, boolean]>);
    if (!signed || !intact) {
      lastProblem = signed ? 'the trusted CA chain does not verify' : 'the signing certificate\'s signature does not verify under its issuing CA';
      continue;
    }
    const problem = checkPathAt(candidate, times);
    if (!problem) return candidate;
    lastProblem = problem;
  }
  return fail(lastProblem.includes('not valid at') ? 'CERTIFICATE_EXPIRED' : 'CERTIFICATE_UNTRUSTED', lastProblem);
}


/** The first problem with the path at any of the times, or '' when there is none. */
function checkPathAt({ authority, path }: CertificatePath, times: Date[]): string {
  for (let i = 1; i < path.length; i++) {
    const ca = path[i] as X509;
    if (!ca.isCA) return `certificate "${ca.subjectDer.toString('hex').slice(0, 16)}…" in the chain is not a CA`;
    const usage = ca.keyUsage;
    if (usage && !usage.keyCertSign) return 'a CA certificate in the chain may not sign certificates';
    const pathLength = ca.basicConstraints?.pathLength;
    if (pathLength !== undefined && i - 1 > pathLength) return 'the chain exceeds a CA path length constraint';
  }
  for (const time of times) {
    const iso = time.toISOString();
    if (!validAt(authority.validFor, time)) return `the certificate authority ${authority.uri} was not valid at ${iso} (trusted root validFor)`;
    for (const [i, cert] of path.entries()) {
      if (!cert.validAt(time)) {
        const what = i === 0 ? 'the signing certificate' : 'a CA certificate';
        return `${what} was not valid at ${iso} (valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`;
      }
    }
  }
  return '';
}

function leafIssuer(leaf: X509): string {
  return leaf.issuerDer.toString('latin1').replace(/[^\x20-\x7e]+/g, ' ').trim();
}
