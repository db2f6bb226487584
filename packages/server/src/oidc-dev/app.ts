// A development-only OIDC issuer as a Fastify app: discovery document, JWKS, POST /token (a
// signed ID token for any email or subject to anyone who asks) and auto-approved browser and
// device logins (flows.ts). Never trust it in production; it says so in its discovery and logs.

import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { SignJWT } from 'jose';
import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { ServiceError } from '../errors.js';
import { installErrorHandler } from '../http-errors.js';
import { devSigningKey, loadOrCreateDevKey, type DevOidcAlgorithm, type DevSigningKey } from './key.js';
import { GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, installDevOidcFlows, looksLikeEmail, type DevOidcFlowOptions } from './flows.js';

export const DEV_OIDC_WARNING =
  'DEVELOPMENT ONLY: this OIDC issuer signs an ID token for any email or subject to anyone who asks, and, when its interactive logins are enabled, approves browser and device logins automatically with no login page (for the login_hint email or its default email); never list it in a production CA configuration';

export interface DevOidcAppOptions extends DevOidcFlowOptions {
  /** The issuer URL put in tokens and the discovery document (or a function, when the port is known late). */
  issuerUrl: string | (() => string);
  /** Private key file; generated there on first use. */
  keyPath?: string;
  /** Private key (KeyObject, PEM, or one loaded with loadOrCreateDevKey) instead of a file. */
  key?: KeyObject | string | DevSigningKey;
  /** Algorithm of a generated key (default ES256). */
  alg?: DevOidcAlgorithm;
  /** Default token lifetime in seconds (default 600). */
  defaultLifetimeSeconds?: number;
  logger?: FastifyServerOptions['logger'];
}

function isDevSigningKey(value: unknown): value is DevSigningKey {
  return typeof value === 'object' && value !== null && 'kid' in value && 'jwk' in value;
}

const MAX_LIFETIME = 24 * 60 * 60;


const invalid = (message: string) => new ServiceError(400, 'REQUEST_INVALID', message);


interface TokenRequest {
  email?: string;
  subject?: string;
  audience: string | string[];
  lifetime: number;
  claims: Record<string, unknown>;
}

function readTokenRequest(body: unknown, defaultLifetime: number): TokenRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('send a JSON object or form fields: {"email": "..."} or {"subject": "..."}, optionally "audience", "expires_in" and "claims"');
  }
  const b = body as Record<string, unknown>;
  const str = (name: string, value: unknown): string | undefined => {
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') throw invalid(`"${name}" must be a string`);
    return value;
  };
  const email = str('email', b['email']);
  const subject = str('subject', b['subject'] ?? b['sub']);
  if (email === undefined && subject === undefined) throw invalid('name the identity: give "email" (an email identity) or "subject" (any other identity), or both');
  if (email !== undefined && !looksLikeEmail(email)) throw invalid(`"email" ${JSON.stringify(email)} is not an email address`);

  let audience: string | string[] = 'sigstore';
  const aud = b['audience'] ?? b['aud'] ?? b['client_id'];
  if (aud !== undefined && aud !== '') {
    if (typeof aud === 'string') audience = aud;
    else if (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string' && a !== '')) audience = aud as string[];
    else throw invalid('"audience" must be a string or a non-empty array of strings');
  }

  let lifetime = defaultLifetime;
  const exp = b['expires_in'] ?? b['expiresIn'];
  if (exp !== undefined && exp !== '') {
    const n = typeof exp === 'string' ? Number(exp) : exp;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_LIFETIME) throw invalid(`"expires_in" must be a whole number of seconds from 1 to ${MAX_LIFETIME}`);
    lifetime = n;
  }

  let claims: Record<string, unknown> = {};
  let raw = b['claims'];
  if (typeof raw === 'string' && raw !== '') {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw invalid('"claims" (a form field) must be a JSON object');
    }
  }
  if (raw !== undefined && raw !== '') {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('"claims" must be an object of extra claims');
    claims = raw as Record<string, unknown>;
    if ('iss' in claims) throw invalid('"claims" cannot set "iss": tokens from this issuer always name it');
  }
  return { ...(email !== undefined ? { email } : {}), ...(subject !== undefined ? { subject } : {}), audience, lifetime, claims };
}

/** The app; the key is loaded (or generated) when it is built. */
export function buildDevOidcApp(options: DevOidcAppOptions): FastifyInstance {
  let key: DevSigningKey;
  if (options.key !== undefined) key = isDevSigningKey(options.key) ? options.key : devSigningKey(options.key);
  else if (options.keyPath !== undefined) key = loadOrCreateDevKey(options.keyPath, options.alg);
  else throw new ServiceError(500, 'KEY_MISSING', 'the development OIDC issuer needs a key or a keyPath');
  const issuer = () => (typeof options.issuerUrl === 'function' ? options.issuerUrl() : options.issuerUrl);
  const base = () => issuer().replace(/\/$/, '');
  const defaultLifetime = options.defaultLifetimeSeconds ?? 600;

  const bodyLimit = 64 * 1024;
  const app = Fastify({ bodyLimit, logger: options.logger ?? false, return503OnClosing: true });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  installErrorHandler(app, { bodyLimit, tooLarge: 'a token request is a few hundred bytes', mediaTypes: 'application/json or application/x-www-form-urlencoded' });
  app.addHook('onReady', async () => {
    app.log.warn({ issuer: issuer() }, DEV_OIDC_WARNING);
  });

  const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
  const interactive = options.interactiveFlows === true;
  const flows = interactive
    ? installDevOidcFlows(
        app,
        {
          base,
          async issueIdToken(email, clientId, extra) {
            const now = Math.floor(Date.now() / 1000);
            const token = await sign({ sub: email, aud: clientId, iat: now, nbf: now, exp: now + defaultLifetime, jti: randomUUID(), email, email_verified: true, ...extra, iss: issuer() });
            return { token, expiresIn: defaultLifetime };
          },
        },
        options,
      )
    : undefined;

  app.get('/.well-known/openid-configuration', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return {
      issuer: issuer(),
      jwks_uri: `${base()}/jwks`,
      token_endpoint: `${base()}/token`,
      ...(interactive
        ? {
            authorization_endpoint: `${base()}/authorize`,
            device_authorization_endpoint: `${base()}/device/code`,
            response_types_supported: ['code'],
            response_modes_supported: ['query'],
            code_challenge_methods_supported: ['S256'],
            scopes_supported: ['openid', 'email'],
          }
        : { response_types_supported: ['id_token'] }),
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [key.alg],
      // client_credentials stands for the POST /token {email} shortcut.
      grant_types_supported: interactive ? [GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, 'client_credentials'] : ['client_credentials'],
      token_endpoint_auth_methods_supported: ['none'],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'email', 'email_verified', 'nonce', 'auth_time'],
      description: DEV_OIDC_WARNING,
    };
  });

  app.get('/jwks', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return { keys: [key.jwk] };
  });

  app.post('/token', async (request, reply) => {
    const grantType = (request.body as { grant_type?: unknown } | null)?.grant_type;
    if (flows && typeof grantType === 'string' && flows.handles(grantType)) return flows.token(request.body, reply);
    const req = readTokenRequest(request.body, defaultLifetime);
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      sub: req.subject ?? req.email,
      aud: req.audience,
      iat: now,
      nbf: now,
      exp: now + req.lifetime,
      jti: randomUUID(),
      ...(req.email !== undefined ? { email: req.email, email_verified: true } : {}),
      // Extra claims win (tests use them for GitHub Actions-shaped tokens, expiry, email_verified).
      ...req.claims,
      iss: issuer(),
    };
    const token = await sign(claims);
    const exp = typeof claims['exp'] === 'number' ? claims['exp'] : now + req.lifetime;
    return { id_token: token, access_token: token, token_type: 'Bearer', expires_in: Math.max(0, exp - now) };
  });

  app.get('/healthz', async () => ({ status: 'ok', description: DEV_OIDC_WARNING }));
  return app;
}
