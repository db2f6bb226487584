// RFC 3161 timestamps from trusted timestamp authorities: the token names a TSA of the trusted
// root, was signed by its certificate (chain and validity at the stamped time), and stamps
// the bundle's signature bytes. Resolves to the time it vouches for.

import {
  CoreError,
  parseTimestampToken,
  signerIdMatches,
  verifyMessageImprint,
  verifyTimestampTokenSignature,
} from '@sigstack/core';
import { fail } from './errors.js';
import { validAt, type TrustMaterial } from './trust-material.js';

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
      verifyTimestampTokenSignature(token, signer.publicKey);
      return time;
    } catch (err) {
      if (!(err instanceof CoreError)) throw err;
      problem = `the RFC 3161 timestamp's signature does not verify: ${err.message}`;
    }
  }
  return fail('TIMESTAMP_UNTRUSTED', problem);
}
