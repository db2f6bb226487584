// Fulcio's CreateSigningCertificate: read the request (JSON, proto field names camelCase or
// snake_case), verify the identity token, check the key and its proof of possession (or the
// CSR's self-signature), then precertificate → CT log SCT → final certificate with the SCT.

import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { base64Decode, pemDecodeAll, pemEncode, precertSignedData, type SignedCertificateTimestamp } from '@sigstack/core';
import { ServiceError } from '../../errors.js';
import type { CtSubmitter } from '../../ctlog/types.js';
import { buildPrecertificate, finalizeCertificate, type CaIssuer } from '../cert/leaf.js';
import { verifyProofOfPossession, type SubjectPublicKey } from '../cert/proof-of-possession.js';
import { certificateIdentity, type Principal } from '../oidc/principal.js';
import type { TokenVerifier } from '../oidc/verify-token.js';
import { checkCertificateSigningRequest } from './csr.js';

export interface SigningCertificateAuthorityOptions {
  /** What issues leaves: the issuing CA certificate (DER) and its key. */
  issuer: CaIssuer;
  /** The certificates above a leaf: the issuing certificate first, up to the root (DER). */
  chain: Buffer[];
  verifier: TokenVerifier;
  /** Where precertificates are logged; its SCT is embedded in the certificate. */
  ctSubmitter: CtSubmitter;
  /** The CT log's public key (KeyObject, PEM or DER SPKI): each SCT is checked against it before it is embedded. */
  ctPublicKey?: KeyObject | string | Buffer;
  /** Default 10, as Fulcio. */
  validityMinutes?: number;
}

/** What Fulcio answers: the chain, leaf first, as PEM. */
export interface SigningCertificateResponse {
  signedCertificateEmbeddedSct: { chain: { certificates: string[] } };
}

export interface IssuedCertificate {
  response: SigningCertificateResponse;
  principal: Principal;
  certificate: Buffer;
  sct: SignedCertificateTimestamp;
}

type Obj = Record<string, unknown>;

function invalid(message: string): ServiceError {
  return new ServiceError(400, 'REQUEST_INVALID', message);
}

const REQUEST_SHAPE =
  'send {"credentials": {"oidcIdentityToken": TOKEN}, "publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": PEM}, "proofOfPossession": BASE64}} ' +
  'or {"credentials": …, "certificateSigningRequest": BASE64_OF_PEM_CSR}';

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field under its proto JSON name (lowerCamelCase) or its proto name (snake_case), as protojson reads both. */
function field(obj: Obj, camel: string, snake: string): unknown {
  const value = obj[camel];
  return value === undefined || value === null ? (obj[snake] ?? undefined) : value;
}

function bytesField(value: unknown, what: string): Buffer {
  if (typeof value !== 'string') throw invalid(`${what} must be a base64 string (proto bytes)`);
  try {
    return base64Decode(value, what);
  } catch {
    throw invalid(`${what} is not valid base64`);
  }
}

const ALGORITHMS = new Set(['PUBLIC_KEY_ALGORITHM_UNSPECIFIED', 'RSA_PSS', 'ECDSA', 'ED25519']);

/** The token: credentials.oidcIdentityToken, else `Authorization: Bearer …` (as Fulcio's HTTP gateway). */
export function tokenFrom(body: Obj, authorization: string | undefined): string {
  const credentials = field(body, 'credentials', 'credentials');
  if (credentials !== undefined && !isObject(credentials)) throw invalid(`"credentials" must be an object; ${REQUEST_SHAPE}`);
  const inBody = credentials ? field(credentials, 'oidcIdentityToken', 'oidc_identity_token') : undefined;
  if (inBody !== undefined && typeof inBody !== 'string') throw invalid('"credentials.oidcIdentityToken" must be a string (the raw JWT)');
  if (typeof inBody === 'string' && inBody.trim() !== '') return inBody;
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw new ServiceError(400, 'TOKEN_MISSING', 'the Authorization header must be "Bearer <OIDC ID token>"');
    return m[1]!;
  }
  throw new ServiceError(400, 'TOKEN_MISSING', 'no identity token: put the OIDC ID token in credentials.oidcIdentityToken, or send it as "Authorization: Bearer <token>"');
}

/** The PEM "PUBLIC KEY" content, or base64 DER SPKI for clients that send that. */
function publicKeyContent(content: unknown): Buffer | string {
  if (typeof content !== 'string' || content.trim() === '') throw invalid('"publicKeyRequest.publicKey.content" must be the PEM-encoded public key (-----BEGIN PUBLIC KEY-----)');
  if (content.includes('-----BEGIN')) {
    let labels: string[];
    try {
      labels = pemDecodeAll(content).map((b) => b.label);
    } catch (err) {
      throw new ServiceError(400, 'PUBLIC_KEY_INVALID', `the public key is not valid PEM (${(err as Error).message})`);
    }
    if (!labels.includes('PUBLIC KEY')) throw new ServiceError(400, 'PUBLIC_KEY_INVALID', `the public key PEM holds no "PUBLIC KEY" block (found: ${labels.join(', ')}): send the key as PKIX SubjectPublicKeyInfo`);
    return content;
  }
  try {
    return base64Decode(content.trim(), 'public key');
  } catch {
    throw new ServiceError(400, 'PUBLIC_KEY_INVALID', 'the public key is neither PEM nor base64 DER: send it as PEM ("-----BEGIN PUBLIC KEY-----")');
  }
}

type KeyRequest = { kind: 'publicKey'; content: Buffer | string; proof: Buffer } | { kind: 'csr'; csr: Buffer };

/** The key half of the request (public key + proof of possession, or a CSR); shape checks only. */
export function keyRequestFrom(body: Obj): KeyRequest {
  const publicKeyRequest = field(body, 'publicKeyRequest', 'public_key_request');
  const csr = field(body, 'certificateSigningRequest', 'certificate_signing_request');
  if (publicKeyRequest !== undefined && csr !== undefined) throw invalid('send either "publicKeyRequest" or "certificateSigningRequest", not both');
  if (csr !== undefined) {
    const bytes = bytesField(csr, '"certificateSigningRequest"');
    if (bytes.length === 0) throw invalid('"certificateSigningRequest" is empty');
    return { kind: 'csr', csr: bytes };
  }
  if (publicKeyRequest === undefined) throw invalid(`the request has no key: ${REQUEST_SHAPE}`);
  if (!isObject(publicKeyRequest)) throw invalid(`"publicKeyRequest" must be an object; ${REQUEST_SHAPE}`);
  const publicKey = field(publicKeyRequest, 'publicKey', 'public_key');
  if (!isObject(publicKey)) throw invalid('"publicKeyRequest.publicKey" must be an object {"algorithm": …, "content": PEM}');
  const algorithm = publicKey['algorithm'];
  if (algorithm !== undefined && algorithm !== null && !(typeof algorithm === 'number' && algorithm >= 0 && algorithm <= 3) && !(typeof algorithm === 'string' && ALGORITHMS.has(algorithm))) {
    throw invalid(`"publicKeyRequest.publicKey.algorithm" must be one of ${[...ALGORITHMS].join(', ')} (or leave it out: the key says what it is)`);
  }
  const proof = field(publicKeyRequest, 'proofOfPossession', 'proof_of_possession');
  if (proof === undefined || proof === '') {
    throw new ServiceError(400, 'PROOF_OF_POSSESSION_INVALID', '"publicKeyRequest.proofOfPossession" is missing: sign the token\'s subject (its email for email issuers, else its sub claim) with the private key and send the base64 signature');
  }
  return { kind: 'publicKey', content: publicKeyContent(publicKey['content']), proof: bytesField(proof, '"publicKeyRequest.proofOfPossession"') };
}

/** Issues Fulcio-profile signing certificates with embedded SCTs. */
export class SigningCertificateAuthority {
  readonly chainPem: string[];
  private readonly options: SigningCertificateAuthorityOptions;
  private readonly ct?: { key: KeyObject; logId: Buffer };

  constructor(options: SigningCertificateAuthorityOptions) {
    this.options = options;
    this.chainPem = options.chain.map((der) => pemEncode('CERTIFICATE', der));
    if (options.ctPublicKey !== undefined) {
      const k = options.ctPublicKey;
      const key = typeof k === 'string' ? createPublicKey(k) : Buffer.isBuffer(k) ? createPublicKey({ key: k, format: 'der', type: 'spki' }) : k.type === 'private' ? createPublicKey(k) : k;
      this.ct = { key, logId: createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest() };
    }
  }

  /** The SCT must be the configured log's, over exactly this precertificate (RFC 6962 §3.2). */
  private checkSct(sct: SignedCertificateTimestamp, precert: { issuerKeyHash: Buffer; precertTbs: Buffer }): void {
    if (!this.ct) return;
    const invalid = (why: string) => new ServiceError(502, 'CT_LOG_SCT_INVALID', `the certificate transparency log answered with an SCT that ${why}; the certificate was not issued`);
    if (!sct.logId.equals(this.ct.logId)) throw invalid('names another log than the configured CT log key');
    const hash = sct.signatureAlgorithm === 'ed25519' ? null : sct.hashAlgorithm;
    let ok = false;
    try {
      ok = verify(hash, precertSignedData(sct, precert.issuerKeyHash, precert.precertTbs), this.ct.key, sct.signature);
    } catch {
      ok = false;
    }
    if (!ok) throw invalid('does not verify with the configured CT log key over this precertificate');
  }

  /**
   * Handles one CreateSigningCertificate request body; `authorization` is the HTTP header, if
   * any. Throws ServiceError: 400 with the code of the check that failed, 502 when the issuer's
   * keys or the CT log cannot be reached.
   */
  async issue(body: unknown, authorization?: string): Promise<IssuedCertificate> {
    if (!isObject(body)) throw invalid(`the request body must be a JSON object; ${REQUEST_SHAPE}`);
    const token = tokenFrom(body, authorization);
    const keyRequest = keyRequestFrom(body);
    const principal = await this.options.verifier.verify(token);

    let key: SubjectPublicKey;
    if (keyRequest.kind === 'csr') key = checkCertificateSigningRequest(keyRequest.csr).key;
    else key = verifyProofOfPossession(keyRequest.content, keyRequest.proof, principal.subject);

    const identity = certificateIdentity(principal, this.options.verifier.config);
    const precert = await buildPrecertificate({
      subjectPublicKeySpki: key.spki,
      san: { type: identity.san.type, value: identity.san.value },
      extensions: identity.extensions.map((e) => ({ oid: e.oid, value: e.value, critical: e.critical })),
      issuer: this.options.issuer,
      ...(this.options.validityMinutes !== undefined ? { validityMinutes: this.options.validityMinutes } : {}),
    });
    let sct: SignedCertificateTimestamp;
    try {
      sct = await this.options.ctSubmitter.addPreChain([precert.der, ...this.options.chain]);
    } catch (err) {
      if (err instanceof ServiceError && err.status >= 500) throw err;
      const detail = err instanceof ServiceError ? `${err.code}: ${err.message}` : (err as Error).message;
      throw new ServiceError(502, 'CT_LOG_UNAVAILABLE', `the certificate transparency log did not log the precertificate (${detail}); try again shortly`, { cause: err });
    }
    this.checkSct(sct, precert);
    const certificate = await finalizeCertificate(precert, [sct]);
    const leafPem = pemEncode('CERTIFICATE', certificate);
    return { response: { signedCertificateEmbeddedSct: { chain: { certificates: [leafPem, ...this.chainPem] } } }, principal, certificate, sct };
  }
}
