// The certificate authority client (Fulcio's API): POST /api/v2/signingCert with the identity
// token, the public key and a proof of possession; answers the chain, leaf first, as DER.

import { X509, bytesEqual, pemDecodeAll } from '@sigstack/core';
import { SignError, messageOf } from './errors.js';
import { answerError, joinUrl, jsonBody, postJson, type RetryOptions } from './http.js';

export const CA_SERVICE = 'certificate authority';

export interface SigningCertificateRequest {
  /** The OIDC identity token. */
  token: string;
  /** The public key to certify, PEM SubjectPublicKeyInfo. */
  publicKeyPem: string;
  /** The key's signature over the token's subject (email or sub). */
  proofOfPossession: Buffer;
}

export interface SigningCertificate {
  /** DER certificates, leaf first, then the issuing chain. */
  chain: Buffer[];
  leaf: X509;
  /** True when the SCT is embedded in the leaf (what bundles need); false for a detached SCT. */
  embeddedSct: boolean;
  /** The detached SCT, when the CA gave one instead of embedding it. */
  detachedSct?: Buffer;
}

function keyAlgorithm(pem: string): string {
  // Fulcio's PublicKeyAlgorithm names; the CA reads the key itself, this is only a hint.
  if (/BEGIN PUBLIC KEY/.test(pem)) return 'ECDSA';
  return 'PUBLIC_KEY_ALGORITHM_UNSPECIFIED';
}

export class FulcioClient {
  readonly url: string;

  constructor(
    baseUrl: string,
    private readonly retry: RetryOptions = {},
  ) {
    this.url = baseUrl.replace(/\/+$/, '');
  }

  async createSigningCertificate(request: SigningCertificateRequest, expectedSpki?: Buffer): Promise<SigningCertificate> {
    const url = joinUrl(this.url, '/api/v2/signingCert');
    const body = {
      credentials: { oidcIdentityToken: request.token },
      publicKeyRequest: {
        publicKey: { algorithm: keyAlgorithm(request.publicKeyPem), content: request.publicKeyPem },
        proofOfPossession: request.proofOfPossession.toString('base64'),
      },
    };
    const response = await postJson({ ...this.retry, service: CA_SERVICE, url }, body);
    if (response.status !== 200 && response.status !== 201) throw answerError(CA_SERVICE, response, 'CERTIFICATE_REFUSED', 'refused to issue a certificate');
    const json = jsonBody(CA_SERVICE, response) as Record<string, any>;
    const embedded = json.signedCertificateEmbeddedSct;
    const detached = json.signedCertificateDetachedSct;
    const part = embedded ?? detached;
    const pems: unknown = part?.chain?.certificates;
    const invalid = (why: string, cause?: unknown) =>
      new SignError('CERTIFICATE_RESPONSE_INVALID', `${CA_SERVICE} at ${url} answered with ${why}`, { service: CA_SERVICE, url, cause });
    if (!Array.isArray(pems) || pems.length === 0 || !pems.every((p) => typeof p === 'string')) {
      throw invalid('no certificate chain (expected signedCertificateEmbeddedSct.chain.certificates)');
    }
    let chain: Buffer[];
    let leaf: X509;
    try {
      chain = (pems as string[]).flatMap((pem) => pemDecodeAll(pem).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der));
      leaf = X509.fromDer(chain[0] as Buffer);
    } catch (err) {
      throw invalid(`a certificate that cannot be parsed: ${messageOf(err)}`, err);
    }
    if (expectedSpki && !bytesEqual(leaf.publicKeySpki, expectedSpki)) {
      throw invalid('a certificate for a different public key than the one sent');
    }
    const result: SigningCertificate = { chain, leaf, embeddedSct: embedded !== undefined };
    if (!embedded && typeof detached?.signedCertificateTimestamp === 'string') result.detachedSct = Buffer.from(detached.signedCertificateTimestamp, 'base64');
    return result;
  }
}
