// PKCS#10 certificate signing requests for the CA (Fulcio's certificateSigningRequest): parsed
// with an @peculiar/asn1-schema schema (RFC 2986), DER or PEM; the self-signature is the proof of
// possession, checked with the algorithm sigstore permits for the key.

import { AsnArray, AsnConvert, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Attribute, Name, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { pemDecodeAll, signatureAlgorithmFromOid, verifySignature, type SignatureAlgorithm } from '@sigstack/core';
import { ServiceError } from '../../errors.js';
import { checkSubjectPublicKey, type SubjectPublicKey } from '../cert/proof-of-possession.js';

@AsnType({ type: AsnTypeTypes.Sequence, itemType: Attribute })
class CsrAttributes extends AsnArray<Attribute> {
  constructor(items?: Attribute[]) {
    super(items);
    Object.setPrototypeOf(this, CsrAttributes.prototype);
  }
}

class CertificationRequestInfo {
  @AsnProp({ type: AsnPropTypes.Integer })
  version = 0;

  @AsnProp({ type: Name })
  subject = new Name();

  @AsnProp({ type: SubjectPublicKeyInfo })
  subjectPKInfo = new SubjectPublicKeyInfo();

  @AsnProp({ type: CsrAttributes, implicit: true, context: 0, optional: true })
  attributes = new CsrAttributes();
}

class CertificationRequest {
  @AsnProp({ type: CertificationRequestInfo, raw: true })
  certificationRequestInfo = new CertificationRequestInfo();

  certificationRequestInfoRaw?: ArrayBuffer;

  @AsnProp({ type: AlgorithmIdentifier })
  signatureAlgorithm = new AlgorithmIdentifier();

  @AsnProp({ type: AsnPropTypes.BitString })
  signature = new ArrayBuffer(0);
}

function invalid(message: string, cause?: unknown): ServiceError {
  return new ServiceError(400, 'CSR_INVALID', message, cause === undefined ? undefined : { cause });
}

/** The DER of a CSR sent as PEM ("CERTIFICATE REQUEST" / "NEW CERTIFICATE REQUEST") or DER bytes. */
function csrDer(bytes: Buffer): Buffer {
  const head = bytes.subarray(0, 64).toString('latin1');
  if (!head.includes('-----BEGIN')) return bytes;
  let blocks;
  try {
    blocks = pemDecodeAll(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(`the certificate signing request is not valid PEM (${(err as Error).message})`, err);
  }
  const block = blocks.find((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
  if (!block) throw invalid(`the certificate signing request holds no "CERTIFICATE REQUEST" PEM block (found: ${blocks.map((b) => b.label).join(', ')})`);
  return block.der;
}

export interface CheckedCsr {
  key: SubjectPublicKey;
  signatureAlgorithm: SignatureAlgorithm;
}

/**
 * Parses a PKCS#10 request (PEM or DER), checks its key (400 WEAK_KEY / PUBLIC_KEY_INVALID) and
 * its self-signature (400 CSR_SIGNATURE_INVALID), and refuses signature algorithms sigstore does
 * not permit for the key (400 SIGNING_ALGORITHM_NOT_PERMITTED). Only the key is used: Fulcio
 * ignores every other field of a CSR, and so does this CA.
 */
export function checkCertificateSigningRequest(bytes: Buffer): CheckedCsr {
  const der = csrDer(bytes);
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(der, CertificationRequest);
  } catch (err) {
    throw invalid(`the certificate signing request could not be parsed as PKCS#10 (${(err as Error).message}): send a DER or PEM CertificationRequest`, err);
  }
  if (!Buffer.from(AsnConvert.serialize(csr)).equals(der)) throw invalid('the certificate signing request is not DER-encoded (or has trailing bytes): send it as DER, or PEM of DER');
  if (csr.certificationRequestInfo.version !== 0) throw invalid(`the certificate signing request has version ${csr.certificationRequestInfo.version}; PKCS#10 requests are version 1 (0)`);
  const info = csr.certificationRequestInfoRaw;
  if (!info) throw invalid('the certificate signing request has no request info');

  const key = checkSubjectPublicKey(Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo)));
  let algorithm: SignatureAlgorithm;
  try {
    algorithm = signatureAlgorithmFromOid(csr.signatureAlgorithm.algorithm, undefined);
  } catch {
    throw new ServiceError(400, 'SIGNING_ALGORITHM_NOT_PERMITTED', `the certificate signing request is signed with algorithm ${csr.signatureAlgorithm.algorithm}, which is not supported: sign it with ECDSA (SHA-256 for P-256, SHA-384 for P-384, SHA-512 for P-521), Ed25519, or RSA PKCS#1 v1.5 with SHA-256`);
  }
  const keyType = key.publicKey.asymmetricKeyType;
  const family = algorithm.name.startsWith('ecdsa') ? 'ec' : algorithm.name === 'Ed25519' ? 'ed25519' : 'rsa';
  if (family !== (keyType === 'rsa-pss' ? 'rsa' : keyType)) {
    throw new ServiceError(400, 'CSR_SIGNATURE_INVALID', `the certificate signing request is signed with ${algorithm.name}, which a ${keyType} key cannot make: the request must be signed by its own key`);
  }
  // sigstore's algorithm registry (Fulcio's IsAlgorithmPermitted): the key's own digest.
  if (algorithm.hash !== key.hash) {
    throw new ServiceError(
      400,
      'SIGNING_ALGORITHM_NOT_PERMITTED',
      `a ${key.keyDetails} key signing with ${algorithm.name} is not permitted: sign the request with ${key.hash === null ? 'Ed25519' : `${key.hash.toUpperCase()}`} (sigstore's algorithm for this key)`,
    );
  }
  if (!verifySignature(algorithm, Buffer.from(info), key.publicKey, Buffer.from(csr.signature))) {
    throw new ServiceError(400, 'CSR_SIGNATURE_INVALID', 'the certificate signing request\'s signature does not verify with the public key it contains: sign the request with the private key of that public key');
  }
  return { key, signatureAlgorithm: algorithm };
}
