// Root and intermediate CA certificates shaped as Fulcio's certificate specification asks and
// its public instance has them: O/CN subject, KeyUsage keyCertSign+cRLSign (critical), EKU
// codeSigning on intermediates, BasicConstraints CA (critical) with pathLen, SKID and AKID.

import { BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsageFlags, Name } from '@peculiar/asn1-x509';
import { OID_CODE_SIGNING, X509 } from '@sigstack/core';
import type { CaSigner } from '../keys/signer.js';
import {
  OID_BASIC_CONSTRAINTS,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  authorityKeyIdExtension,
  distinguishedName,
  extension,
  internalError,
  keyIdentifier,
  parseCertificate,
  randomSerialNumber,
  signCertificate,
  subjectKeyIdExtension,
  tbsCertificate,
  wholeSeconds,
} from './builder.js';

export interface CaCertificateRequest {
  subject: { organization?: string; commonName: string };
  /** DER SubjectPublicKeyInfo of the CA's key. */
  spki: Buffer;
  /** The parent CA (certificate DER + its signer); absent for a self-signed root, which `signer` then signs. */
  parent?: { cert: Buffer; signer: CaSigner };
  /** The root's own signer, for a self-signed certificate. */
  signer?: CaSigner;
  notBefore: Date;
  notAfter: Date;
  /** BasicConstraints pathLenConstraint; omitted when undefined. */
  pathLength?: number;
  /** Adds the code-signing EKU (Fulcio: required on intermediates, forbidden on roots). */
  codeSigning?: boolean;
}

/** Builds and signs a CA certificate; returns its DER. */
export async function buildCaCertificate(request: CaCertificateRequest): Promise<Buffer> {
  const subject = distinguishedName(request.subject);
  let issuer: Name;
  let signer: CaSigner;
  let authorityKeyId: Buffer;
  if (request.parent) {
    const parent = X509.fromDer(request.parent.cert);
    issuer = parseCertificate(request.parent.cert, 'the parent CA certificate').tbsCertificate.subject;
    signer = request.parent.signer;
    authorityKeyId = parent.subjectKeyIdentifier ?? keyIdentifier(parent.publicKeySpki);
    if (!parent.publicKeySpki.equals(signer.spki)) throw internalError('the parent CA certificate does not belong to the parent signer\'s key');
  } else {
    if (!request.signer) throw internalError('a self-signed CA certificate needs its signer');
    if (!request.signer.spki.equals(request.spki)) throw internalError('a self-signed certificate must be signed by its own key');
    issuer = subject;
    signer = request.signer;
    authorityKeyId = keyIdentifier(request.spki);
  }
  const extensions = [
    extension(OID_KEY_USAGE, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign), true),
    ...(request.codeSigning ? [extension(OID_EXT_KEY_USAGE, new ExtendedKeyUsage([OID_CODE_SIGNING]))] : []),
    extension(OID_BASIC_CONSTRAINTS, new BasicConstraints(request.pathLength === undefined ? { cA: true } : { cA: true, pathLenConstraint: request.pathLength }), true),
    subjectKeyIdExtension(request.spki),
    authorityKeyIdExtension(authorityKeyId),
  ];
  const tbs = tbsCertificate({
    serialNumber: randomSerialNumber(),
    algorithm: signer.algorithm,
    issuer,
    subject,
    notBefore: wholeSeconds(request.notBefore),
    notAfter: wholeSeconds(request.notAfter),
    spki: request.spki,
    extensions,
  });
  return signCertificate(tbs, signer);
}
