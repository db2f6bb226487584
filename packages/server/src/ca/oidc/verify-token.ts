// Verifies an OIDC ID token for the CA: matches its issuer to the configuration, fetches (and
// caches) the issuer's discovery document and keys, checks signature, iss, aud, exp/nbf/iat and
// email_verified, and answers a Principal or a coded 400 that says which check failed.

import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ServiceError } from '../../errors.js';
import { findIssuer, type OidcConfig, type ResolvedIssuer } from './config.js';
import { FetchError, fetchJson } from './fetch-json.js';
import type { Principal } from './principal.js';

export interface TokenVerifierOptions {
  /** Tolerated clock difference for exp, nbf and iat, in seconds (default 60). */
  clockSkewSeconds?: number;
  /** How long an issuer's discovery document and keys are reused, in ms (default 10 min). */
  cacheTtlMs?: number;
  /** When a token names a key the cached set lacks, refetch at most this often, in ms (default 30 s). */
  refreshCooldownMs?: number;
  /** When a refresh fails, keep using keys at most this old, in ms (default 1 h). */
  maxStaleMs?: number;
  /** Deadline for each discovery / JWKS request, in ms (default 10 s, as Fulcio). */
  fetchTimeoutMs?: number;
  /** Largest discovery document or JWKS accepted, in bytes (default 512 KiB). */
  maxDocumentBytes?: number;
  /** Most issuers whose keys are cached at once (default 100, as Fulcio's LRU). */
  maxCachedIssuers?: number;
  /** Largest token accepted, in bytes (default 64 KiB). */
  maxTokenBytes?: number;
  /** The clock (tests). */
  now?: () => Date;
}

/** Signature algorithms accepted for ID tokens: asymmetric only, never `none` or HMAC. */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

interface IssuerKeys {
  jwksUri: string;
  algorithms: string[];
  getKey: JWTVerifyGetKey;
  fetchedAt: number;
}

const bad = (code: string, message: string) => new ServiceError(400, code, message);

function unreachable(issuer: string, detail: string): ServiceError {
  return new ServiceError(
    502,
    'ISSUER_UNREACHABLE',
    `could not get the signing keys of the token's issuer ${issuer}: ${detail}; retry later, and if it persists the issuer is down or misconfigured (the CA operator can check the issuer's /.well-known/openid-configuration)`,
  );
}

/** Unverified claims of a compact JWS, or TOKEN_MALFORMED saying what is wrong with its shape. */
function decodeUnverified(token: string, maxBytes: number): { payload: JWTPayload; alg: string; kid?: string } {
  const hint = 'send the raw OIDC ID token (three base64url parts separated by dots), not an access token or a JSON wrapper';
  if (token.length === 0) throw bad('TOKEN_MALFORMED', `the identity token is empty; ${hint}`);
  if (token.length > maxBytes) throw bad('TOKEN_MALFORMED', `the identity token is ${token.length} bytes, more than the ${maxBytes} accepted; ${hint}`);
  const parts = token.split('.');
  if (parts.length !== 3) throw bad('TOKEN_MALFORMED', `the identity token has ${parts.length} dot-separated part(s), not 3 (header.payload.signature); ${hint}`);
  if (!parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p))) throw bad('TOKEN_MALFORMED', `the identity token is not base64url text; ${hint}`);
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw bad('TOKEN_MALFORMED', `the identity token's header is not a base64url JSON object; ${hint}`);
  }
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    throw bad('TOKEN_MALFORMED', `the identity token's payload is not a base64url JSON object of claims; ${hint}`);
  }
  if (typeof header.alg !== 'string') throw bad('TOKEN_MALFORMED', 'the identity token\'s header has no "alg"; it is not a signed JWT');
  if (typeof payload.iss !== 'string' || payload.iss === '') throw bad('TOKEN_MALFORMED', 'the identity token has no "iss" (issuer) claim; get an ID token from an OpenID Connect provider');
  return { payload, alg: header.alg, ...(typeof header.kid === 'string' ? { kid: header.kid } : {}) };
}

/** A value from the token, quoted and cut short, for messages (never the token itself). */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function iso(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}

/** Fulcio's stringAsBool for email_verified: true, "true", "True" (and false likewise). */
function emailVerified(value: unknown): boolean {
  return value === true || value === 'true' || value === 'True';
}

/**
 * Verifies OIDC ID tokens against one configuration, caching each issuer's keys. One instance
 * serves concurrent requests; it fetches an issuer's documents once for all of them.
 */
export class TokenVerifier {
  readonly config: OidcConfig;
  private readonly options: Required<Omit<TokenVerifierOptions, 'now'>> & { now: () => Date };
  private readonly cache = new Map<string, IssuerKeys>();
  private readonly inflight = new Map<string, Promise<IssuerKeys>>();

  constructor(config: OidcConfig, options: TokenVerifierOptions = {}) {
    this.config = config;
    this.options = {
      clockSkewSeconds: options.clockSkewSeconds ?? 60,
      cacheTtlMs: options.cacheTtlMs ?? 10 * 60_000,
      refreshCooldownMs: options.refreshCooldownMs ?? 30_000,
      maxStaleMs: options.maxStaleMs ?? 60 * 60_000,
      fetchTimeoutMs: options.fetchTimeoutMs ?? 10_000,
      maxDocumentBytes: options.maxDocumentBytes ?? 512 * 1024,
      maxCachedIssuers: options.maxCachedIssuers ?? 100,
      maxTokenBytes: options.maxTokenBytes ?? 64 * 1024,
      now: options.now ?? (() => new Date()),
    };
  }

  /** Forgets every cached discovery document and key set. */
  clearCache(): void {
    this.cache.clear();
  }

  /**
   * The verified identity in `token`. Throws ServiceError: 400 with code TOKEN_MALFORMED,
   * TOKEN_UNKNOWN_ISSUER, TOKEN_SIGNATURE_INVALID, TOKEN_EXPIRED, TOKEN_NOT_YET_VALID,
   * TOKEN_WRONG_AUDIENCE, TOKEN_EMAIL_UNVERIFIED or TOKEN_CLAIM_INVALID; 502 ISSUER_UNREACHABLE.
   * No message contains the token.
   */
  async verify(token: string): Promise<Principal> {
    if (typeof token !== 'string') throw bad('TOKEN_MALFORMED', 'the identity token must be a string');
    token = token.trim();
    const { payload: unverified, alg, kid } = decodeUnverified(token, this.options.maxTokenBytes);
    const iss = unverified.iss!;
    const issuer = findIssuer(this.config, iss);
    if (!issuer) {
      throw bad('TOKEN_UNKNOWN_ISSUER', `the identity token's issuer ${shown(iss)} is not one this CA accepts; get a token from a configured OIDC issuer (the CA's configuration lists them), or ask the operator to add this one`);
    }
    if (!ALLOWED_ALGORITHMS.includes(alg)) {
      throw bad('TOKEN_SIGNATURE_INVALID', `the identity token is signed with alg ${shown(alg)}, which this CA does not accept (accepted: ${ALLOWED_ALGORITHMS.join(', ')})`);
    }

    let keys = await this.keysFor(issuer, false);
    let payload: JWTPayload;
    try {
      payload = await this.check(token, issuer, keys);
    } catch (err) {
      // A key the cached set lacks may be newly rotated in: refetch once, not too often.
      if (!(err instanceof errors.JWKSNoMatchingKey) || this.now() - keys.fetchedAt < this.options.refreshCooldownMs) throw this.mapError(err, issuer, kid);
      keys = await this.keysFor(issuer, true);
      try {
        payload = await this.check(token, issuer, keys);
      } catch (again) {
        throw this.mapError(again, issuer, kid);
      }
    }

    const skew = this.options.clockSkewSeconds;
    const nowSeconds = this.now() / 1000;
    if (payload.exp === undefined) throw bad('TOKEN_MALFORMED', `the identity token from ${iss} has no "exp" claim; ID tokens must expire, so get a standard ID token`);
    if (payload.iat !== undefined && payload.iat > nowSeconds + skew) {
      throw bad('TOKEN_NOT_YET_VALID', `the identity token was issued in the future (iat ${iso(payload.iat)}, more than ${skew}s ahead of the CA's clock); check the clocks of this machine and of ${iss}`);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw bad('TOKEN_CLAIM_INVALID', `the identity token from ${iss} has no "sub" (subject) claim; an ID token must name its subject`);

    let subject = payload.sub;
    if (issuer.Type === 'email') {
      const email = payload['email'];
      if (typeof email !== 'string' || email === '') throw bad('TOKEN_CLAIM_INVALID', `the identity token from ${iss} has no "email" claim; request the "email" scope when getting the token`);
      if (!issuer.SkipEmailVerification && !emailVerified(payload['email_verified'])) {
        throw bad('TOKEN_EMAIL_UNVERIFIED', `the identity token from ${iss} says the email address is not verified (email_verified is not true); verify the address with the identity provider, then get a new token`);
      }
      subject = email;
    } else if (issuer.Type === 'chainguard-identity' && typeof payload['email'] === 'string' && payload['email'] !== '' && emailVerified(payload['email_verified'])) {
      subject = payload['email'] as string;
    }
    return { issuer: iss, subject, type: issuer.Type, claims: payload as Record<string, unknown>, issuerConfig: issuer };
  }

  private now(): number {
    return this.options.now().getTime();
  }

  private async check(token: string, issuer: ResolvedIssuer, keys: IssuerKeys): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, keys.getKey, {
      issuer: issuer.IssuerURL,
      audience: issuer.ClientID,
      algorithms: keys.algorithms,
      clockTolerance: this.options.clockSkewSeconds,
      currentDate: this.options.now(),
    });
    return payload;
  }

  private mapError(err: unknown, issuer: ResolvedIssuer, kid: string | undefined): ServiceError {
    if (err instanceof ServiceError) return err;
    const iss = issuer.IssuerURL;
    const skew = this.options.clockSkewSeconds;
    if (err instanceof errors.JWTExpired) {
      const exp = (err.payload as JWTPayload).exp;
      return bad('TOKEN_EXPIRED', `the identity token expired${exp !== undefined ? ` at ${iso(exp)}` : ''} (the CA allows ${skew}s of clock skew); get a fresh token from ${iss} and use it right away`);
    }
    if (err instanceof errors.JWTClaimValidationFailed) {
      const payload = err.payload as JWTPayload;
      switch (err.claim) {
        case 'nbf':
          if (err.reason === 'check_failed') {
            return bad('TOKEN_NOT_YET_VALID', `the identity token is not valid until ${iso(payload.nbf!)} (its "nbf"), more than ${skew}s after the CA's clock; check the clocks of this machine and of ${iss}`);
          }
          return bad('TOKEN_MALFORMED', `the identity token's "nbf" claim is not a number of seconds`);
        case 'aud': {
          const aud = payload.aud;
          return bad('TOKEN_WRONG_AUDIENCE', `the identity token's audience ("aud") is ${aud === undefined ? 'missing' : shown(aud)}, but this CA accepts tokens from ${iss} only for audience "${issuer.ClientID}"; request the token with audience "${issuer.ClientID}"`);
        }
        case 'iss':
          return bad('TOKEN_UNKNOWN_ISSUER', `the identity token's issuer does not match ${iss}`);
        default:
          return bad('TOKEN_MALFORMED', `the identity token's "${err.claim}" claim is invalid (${err.message})`);
      }
    }
    if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSMultipleMatchingKeys) {
      return bad('TOKEN_SIGNATURE_INVALID', `the identity token's signature does not verify with the keys ${iss} publishes; the token was altered or was not issued by ${iss}; get a new token from it`);
    }
    if (err instanceof errors.JWKSNoMatchingKey) {
      return bad('TOKEN_SIGNATURE_INVALID', `none of the keys ${iss} publishes matches the token's key id ${kid === undefined ? '(none given)' : shown(kid)} and algorithm; the token was not issued by ${iss} (or with a key it no longer publishes); get a new token from it`);
    }
    if (err instanceof errors.JOSEAlgNotAllowed) {
      return bad('TOKEN_SIGNATURE_INVALID', `the identity token's signature algorithm is not one ${iss} announces or this CA accepts`);
    }
    if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) {
      return bad('TOKEN_MALFORMED', `the identity token is not a valid signed JWT: ${err.message}`);
    }
    if (err instanceof errors.JOSENotSupported || err instanceof errors.JWKInvalid || err instanceof errors.JWKSInvalid) {
      return unreachable(iss, `its key set has a key this CA cannot use (${err.message})`);
    }
    if (err instanceof TypeError) {
      // jose reports key-type mismatches (e.g. an RSA key for an ES256 token) as TypeError.
      return bad('TOKEN_SIGNATURE_INVALID', `the identity token's signature cannot be checked with the key ${iss} publishes under its key id; the token was not issued by ${iss}`);
    }
    return new ServiceError(500, 'INTERNAL_ERROR', 'verifying the identity token failed unexpectedly', { cause: err });
  }

  /** The issuer's keys: cached while fresh; fetched (once for all concurrent callers) otherwise. */
  private async keysFor(issuer: ResolvedIssuer, forceRefresh: boolean): Promise<IssuerKeys> {
    const url = issuer.IssuerURL;
    const cached = this.cache.get(url);
    const age = cached ? this.now() - cached.fetchedAt : Infinity;
    if (cached && !forceRefresh && age < this.options.cacheTtlMs) {
      // Keep recently used issuers at the end (least recently used are evicted first).
      this.cache.delete(url);
      this.cache.set(url, cached);
      return cached;
    }
    let pending = this.inflight.get(url);
    if (!pending) {
      pending = this.fetchKeys(issuer).finally(() => this.inflight.delete(url));
      this.inflight.set(url, pending);
    }
    try {
      const keys = await pending;
      this.cache.delete(url);
      this.cache.set(url, keys);
      while (this.cache.size > this.options.maxCachedIssuers) this.cache.delete(this.cache.keys().next().value!);
      return keys;
    } catch (err) {
      if (cached && age < this.options.maxStaleMs) return cached;
      throw err;
    }
  }

  private async fetchKeys(issuer: ResolvedIssuer): Promise<IssuerKeys> {
    const iss = issuer.IssuerURL;
    const fetchOptions = { timeoutMs: this.options.fetchTimeoutMs, maxBytes: this.options.maxDocumentBytes, ...(issuer.CACert ? { ca: issuer.CACert } : {}) };
    const get = async (url: string) => {
      try {
        return await fetchJson(url, fetchOptions);
      } catch (err) {
        if (err instanceof FetchError) throw unreachable(iss, err.message);
        throw err;
      }
    };
    const discovery = await get(`${iss.replace(/\/$/, '')}/.well-known/openid-configuration`);
    if (typeof discovery !== 'object' || discovery === null || Array.isArray(discovery)) throw unreachable(iss, 'its discovery document is not a JSON object');
    const doc = discovery as Record<string, unknown>;
    if (doc['issuer'] !== iss) throw unreachable(iss, `its discovery document names issuer ${shown(doc['issuer'])}, not ${shown(iss)}`);
    const jwksUri = doc['jwks_uri'];
    if (typeof jwksUri !== 'string' || !/^https?:\/\//.test(jwksUri)) throw unreachable(iss, 'its discovery document has no http(s) jwks_uri');
    const announced = doc['id_token_signing_alg_values_supported'];
    let algorithms = ALLOWED_ALGORITHMS;
    if (Array.isArray(announced)) {
      const both = ALLOWED_ALGORITHMS.filter((a) => announced.includes(a));
      if (both.length > 0) algorithms = both;
    }
    const jwks = await get(jwksUri);
    let getKey: JWTVerifyGetKey;
    try {
      getKey = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
    } catch (err) {
      throw unreachable(iss, `its key set at ${jwksUri} is not a JSON Web Key Set (${(err as Error).message})`);
    }
    return { jwksUri, algorithms, getKey, fetchedAt: this.now() };
  }
}

const verifiers = new WeakMap<OidcConfig, TokenVerifier>();

/**
 * Verifies `token` against `config` (see TokenVerifier.verify), with one shared key cache per
 * configuration object. Options apply when the configuration is first used.
 */
export function verifyToken(token: string, config: OidcConfig, options?: TokenVerifierOptions): Promise<Principal> {
  let verifier = verifiers.get(config);
  if (!verifier) {
    verifier = new TokenVerifier(config, options);
    verifiers.set(config, verifier);
  }
  return verifier.verify(token);
}
