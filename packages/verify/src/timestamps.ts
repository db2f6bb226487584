// RFC 3161 timestamps from trusted timestamp authorities: the token names a TSA of the trusted
// root, was signed by its certificate (chain and validity at the stamped time), and stamps
// the bundle's signature bytes. Resolves to the time it vouches for. A bundle's several
// timestamps are checked together (verifyRfc3161Timestamps): unverifiable ones are skipped.

import {
  CoreError,
  parseTimestampToken,
  signerIdMatches,
  verifyMessageImprint,
  verifyTimestampTokenSignature,
} from '@sigstack/core';
import { VerificationError, fail } from './errors.js';
import { fixedKeyOf, validAt, type TrustMaterial } from './trust-material.js';

export async function verifyRfc3161Timestamp(tokenDer: Buffer, signature: Buffer, trust: TrustMaterial): Promise<Date> {
  let token;
  try {
    token = parseTimestampToken(tokenDer);
    verifyMessageImprint(token, signature);
  } catch (err) {
    if (err instanceof CoreError) fail('TIMESTAMP_INVALID', `RFC 3161 timestamp rejected: ${err.message}`);
    throw err;
  }
  const time = token.genTime;
  const authorities = trust.timestampAuthorities.filter((tsa) => tsa.chain[0] && signerIdMatches(token, tsa.chain[0]));
  if (authorities.length === 0) {
    fail('TIMESTAMP_UNTRUSTED', 'the RFC 3161 timestamp was signed by a timestamp authority that is not in the trusted root');
  }
  let problem = '';
  for (const tsa of authorities) {
    const chain = tsa.chain;
    const signer = chain[0]!;
    if (!validAt(tsa.validFor, time)) {
      problem = `the timestamp authority ${tsa.uri} was not trusted at the stamped time ${time.toISOString()}`;
      continue;
    }
    if (!chain.every((cert) => cert.validAt(time))) {
      problem = `the timestamp authority's certificates were not valid at the stamped time ${time.toISOString()}`;
      continue;
    }
    if (!(await tsa.chainIntact())) {
      problem = `the timestamp authority ${tsa.uri}'s certificate chain does not verify`;
      continue;
    }
    try {
      verifyTimestampTokenSignature(token, signer.publicKey, fixedKeyOf(signer));
      return time;
    } catch (err) {
      if (!(err instanceof CoreError)) throw err;
      problem = `the RFC 3161 timestamp's signature does not verify: ${err.message}`;
    }
  }
  return fail('TIMESTAMP_UNTRUSTED', problem);
}

/** Both sigstore-go and sigstore-python refuse bundles with more timestamps than this (a DoS bound). */
export const MAX_RFC3161_TIMESTAMPS = 32;

export interface TimestampOutcome {
  /** The times of the timestamps that verified. */
  times: Date[];
  /** Why each of the others was skipped (a VerificationError), in bundle order. */
  skipped: unknown[];
}

/**
 * Every RFC 3161 timestamp of a bundle, as sigstore-go (pkg/verify/tsa.go) and sigstore-python
 * do: more than MAX_RFC3161_TIMESTAMPS, or the same token twice (which would count twice toward
 * the threshold), refuses the bundle; a token that cannot be verified (another message imprint,
 * an unknown TSA) is skipped and does not count.
 */
export async function verifyRfc3161Timestamps(tokens: Buffer[], signature: Buffer, trust: TrustMaterial): Promise<TimestampOutcome> {
  if (tokens.length > MAX_RFC3161_TIMESTAMPS) {
    fail('TIMESTAMP_INVALID', `the bundle has ${tokens.length} RFC 3161 timestamps; at most ${MAX_RFC3161_TIMESTAMPS} are accepted`);
  }
  for (let i = 0; i < tokens.length; i++) {
    for (let j = i + 1; j < tokens.length; j++) {
      if (tokens[i]!.equals(tokens[j]!)) fail('TIMESTAMP_INVALID', `RFC 3161 timestamps ${i + 1} and ${j + 1} of the bundle are the same timestamp twice`);
    }
  }
  const settled = await Promise.allSettled(tokens.map((token) => verifyRfc3161Timestamp(token, signature, trust)));
  const outcome: TimestampOutcome = { times: [], skipped: [] };
  for (const result of settled) {
    if (result.status === 'fulfilled') outcome.times.push(result.value);
    else if (result.reason instanceof VerificationError) outcome.skipped.push(result.reason);
    else throw result.reason;
  }
  return outcome;
}
