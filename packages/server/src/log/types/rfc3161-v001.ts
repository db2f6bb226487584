// rfc3161 0.0.1 (Rekor pkg/types/rfc3161/v0.0.1): an RFC 3161 TimeStampResp (at most 10 KiB)
// whose status is granted and whose token is signed by the certificate it embeds. The body
// keeps the response bytes; the index key is the SHA-256 of those bytes.

import { CoreError, parseTimestampToken, signerCertificateMatches, verifyTimestampTokenSignature, X509, type TimestampToken } from '@sigstack/core';
import { IndexKeys, canonicalEntry, sha256, signatureInvalid } from './common.js';
import { b64, invalid, obj, v1Spec } from './fields.js';
import type { CanonicalEntry, EntryType } from './types.js';

const KIND = 'rfc3161';
const VERSION = '0.0.1';
const MAX_TSR = 10 * 1024;

/** True when the DER starts SEQUENCE { SEQUENCE ... }: a TimeStampResp (a bare token starts with an OID). */
function isTimeStampResp(der: Buffer): boolean {
  if (der[0] !== 0x30 || der.length < 2) return false;
  const first = der[1]!;
  const headerLength = first < 0x80 ? 2 : 2 + (first & 0x7f);
  return der[headerLength] === 0x30;
}

async function canonicalize(proposed: unknown): Promise<CanonicalEntry> {
  const spec = v1Spec(proposed, KIND, VERSION);
  const tsr = obj(spec.tsr, 'spec.tsr');
  const der = b64(tsr.content, 'spec.tsr.content');
  if (der.length > MAX_TSR) throw invalid(`spec.tsr.content is ${der.length} bytes; a timestamp response may be at most ${MAX_TSR} bytes (10 KiB)`);
  if (!isTimeStampResp(der)) throw invalid('spec.tsr.content must be a DER TimeStampResp (RFC 3161 §2.4.2), not a bare token');

  let token: TimestampToken;
  try {
    token = parseTimestampToken(der);
  } catch (err) {
    throw invalid(`spec.tsr.content is not a usable RFC 3161 timestamp response: ${(err as Error).message}`);
  }
  // Rekor (Go pkcs7 Verify) checks the signature with the signer certificate the token embeds.
  let signer: X509 | undefined;
  for (const certDer of token.certificates) {
    try {
      if (signerCertificateMatches(token, certDer)) {
        signer = X509.fromDer(certDer);
        break;
      }
    } catch {
      // a certificate that does not parse is not the signer
    }
  }
  if (!signer) throw signatureInvalid('the timestamp token does not embed the certificate of its signer, so its signature cannot be checked; ask the TSA to include its certificate (certReq)');
  try {
    verifyTimestampTokenSignature(token, signer.publicKey);
  } catch (err) {
    if (err instanceof CoreError) throw signatureInvalid(`the timestamp token's signature does not verify with its embedded signer certificate: ${err.message}`);
    throw err;
  }

  const body = { tsr: { content: der.toString('base64') } };
  return canonicalEntry(KIND, VERSION, body, new IndexKeys().hash('sha256', sha256(der).toString('hex')));
}

export const rfc3161V001: EntryType = { kind: KIND, apiVersion: VERSION, canonicalize };
