// Embedded SCTs: each signed by a trusted CT log (valid at the SCT's time) over the
// precertificate, proving the certificate was logged. At least one must verify.

import { digestOf, parseSctList, precertSignedData, verifySignatureAsync, type X509 } from '@sigstack/core';
import { fail } from './errors.js';
import { validAt, verifyByLog, type TrustMaterial } from './trust-material.js';

export async function verifyEmbeddedScts(leaf: X509, issuer: X509, trust: TrustMaterial, threshold = 1): Promise<number> {
  const listBytes = leaf.sctListBytes;
  if (!listBytes) fail('SCT_MISSING', 'the signing certificate carries no embedded SCT: it was not logged to certificate transparency');
  const scts = parseSctList(listBytes);
  if (scts.length === 0) fail('SCT_MISSING', 'the signing certificate\'s SCT list is empty');
  const issuerKeyHash = digestOf('sha256', issuer.publicKeySpki);
  const tbs = leaf.precertificateTbs();
  const results = await Promise.all(
    scts.map((sct) => {
      const log = trust.ctlogById(sct.logId);
      if (!log || !validAt(log.validFor, new Date(Number(sct.timestamp)))) return Promise.resolve(false);
      const alg = { name: 'sct', hash: sct.signatureAlgorithm === 'ed25519' ? null : sct.hashAlgorithm };
      const signed = precertSignedData(sct, issuerKeyHash, tbs);
      // An ECDSA SCT from the log's prepared key; any other kind through its KeyObject.
      return sct.signatureAlgorithm === 'ecdsa' ? verifyByLog(log, alg, signed, sct.signature) : verifySignatureAsync(alg, signed, log.publicKey, sct.signature);
    }),
  );
  const verified = results.filter(Boolean).length;
  if (verified < threshold) {
    const known = scts.some((sct) => trust.ctlogById(sct.logId));
    fail('SCT_INVALID', known
      ? 'no embedded SCT verifies under a trusted CT log key valid at its time'
      : 'the embedded SCTs come from CT logs that are not in the trusted root');
  }
  return verified;
}
