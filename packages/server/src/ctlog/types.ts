// What the CA needs from a certificate transparency log: submit a precertificate chain (leaf
// first, then the issuing CA certificates, DER) and get the log's SCT for it. Implemented
// in-process over the shared log engine and by an RFC 6962 HTTP client.

import type { SignedCertificateTimestamp } from '@sigstack/core';

export interface CtSubmitter {
  /** RFC 6962 add-pre-chain: the SCT the log signed over the precertificate. */
  addPreChain(chain: Buffer[]): Promise<SignedCertificateTimestamp>;
}
