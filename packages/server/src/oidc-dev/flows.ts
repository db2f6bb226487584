// The development OIDC issuer's interactive logins, auto-approved with no login page: the
// authorization code flow with PKCE (S256, loopback redirect URIs only) and the RFC 8628 device
// flow, for the email in login_hint or the issuer's configured default. Development only.

import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ServiceError } from '../errors.js';

export const GRANT_AUTHORIZATION_CODE = 'authorization_code';
export const GRANT_DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

export interface DevOidcFlowOptions {
  /**
   * Offer the browser (authorization code + PKCE) and device logins (default false: off, the
   * issuer then offers only POST /token {email}).
   */
  interactiveFlows?: boolean;
  /** The email an interactive login approves when the request has no login_hint. */
  defaultEmail?: string;
  /** How long an authorization code may be redeemed, seconds (default 60). */
  codeLifetimeSeconds?: number;
  /** How long a device code waits for approval, seconds (default 600). */
  deviceCodeLifetimeSeconds?: number;
  /** The device flow's polling interval, seconds (default 5). */
  deviceIntervalSeconds?: number;
}

/** What the flows need from the app: its base URL and a signer for ID tokens. */
export interface FlowContext {
  base(): string;
  /** Signs an ID token for `email`, audience `clientId`, with `extra` claims (nonce); returns it with its lifetime. */
  issueIdToken(email: string, clientId: string, extra: Record<string, unknown>): Promise<{ token: string; expiresIn: number }>;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce?: string;
  email: string;
  expiresAt: number;
}

interface PendingDevice {
  clientId: string;
  userCode: string;
  hint?: string;
  email?: string;
  expiresAt: number;
  interval: number;
  lastPoll?: number;
}

const MAX_PENDING = 10_000;
const invalid = (message: string) => new ServiceError(400, 'REQUEST_INVALID', message);

export function looksLikeEmail(value: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
}

/** A loopback redirect URI: http://127.0.0.1:port/… or http://localhost:port/…, no fragment. */
function loopbackRedirect(value: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') || url.hash !== '' || url.username !== '' || url.password !== '') return undefined;
  return url;
}

function params(source: unknown): Record<string, string> {
  if (typeof source !== 'object' || source === null || Array.isArray(source)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(source as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

function oauthError(reply: FastifyReply, error: string, description: string, status = 400) {
  reply.header('cache-control', 'no-store');
  return reply.code(status).send({ error, error_description: description });
}

function purge<T extends { expiresAt: number }>(map: Map<string, T>, now: number): void {
  for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
  if (map.size >= MAX_PENDING) throw new ServiceError(503, 'BUSY', 'too many logins are pending on this development issuer; try again in a minute');
}

const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
function userCode(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new ServiceError(500, 'CONFIG_INVALID', `${name} must be a positive number of seconds`);
  return value;
}

export interface DevOidcFlows {
  /** True when the grant is one of the flows' (the /token route then hands the request here). */
  handles(grantType: string | undefined): boolean;
  token(body: unknown, reply: FastifyReply): Promise<unknown>;
}

/** Registers GET /authorize, POST /device/code and GET|POST /device on `app`. */
export function installDevOidcFlows(app: FastifyInstance, ctx: FlowContext, options: DevOidcFlowOptions): DevOidcFlows {
  if (options.defaultEmail !== undefined && !looksLikeEmail(options.defaultEmail)) {
    throw new ServiceError(500, 'CONFIG_INVALID', `the default email ${JSON.stringify(options.defaultEmail)} is not an email address`);
  }
  const codeLifetime = positive('codeLifetimeSeconds', options.codeLifetimeSeconds, 60) * 1000;
  const deviceLifetime = positive('deviceCodeLifetimeSeconds', options.deviceCodeLifetimeSeconds, 600) * 1000;
  const interval = positive('deviceIntervalSeconds', options.deviceIntervalSeconds, 5);
  const codes = new Map<string, PendingCode>();
  const devices = new Map<string, PendingDevice>();
  const byUserCode = new Map<string, string>();

  const emailFor = (hint: string | undefined): string | undefined => {
    if (hint !== undefined && hint !== '') return looksLikeEmail(hint) ? hint : undefined;
    return options.defaultEmail;
  };

  app.get('/authorize', async (request, reply) => {
    const q = params(request.query);
    if (!q['client_id']) throw invalid('give "client_id" (sigstore clients use "sigstore")');
    if (!q['redirect_uri']) throw invalid('give "redirect_uri": a loopback URL such as http://127.0.0.1:PORT/callback');
    const redirect = loopbackRedirect(q['redirect_uri']);
    if (!redirect) throw invalid(`"redirect_uri" ${JSON.stringify(q['redirect_uri'])} is not allowed: this development issuer redirects only to http://127.0.0.1:PORT/… or http://localhost:PORT/…`);
    // From here on, errors go back to the client on its redirect URI (RFC 6749 section 4.1.2.1).
    const back = (params: Record<string, string>) => {
      const target = new URL(redirect);
      for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
      if (q['state'] !== undefined) target.searchParams.set('state', q['state']);
      return reply.redirect(target.href, 302);
    };
    if (q['response_type'] !== 'code') return back({ error: 'unsupported_response_type', error_description: 'only response_type=code is supported' });
    if (!(q['scope'] ?? '').split(' ').includes('openid')) return back({ error: 'invalid_scope', error_description: 'the scope must include "openid"' });
    if (!q['code_challenge'] || q['code_challenge_method'] !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(q['code_challenge'])) {
      return back({ error: 'invalid_request', error_description: 'PKCE is required: give code_challenge (base64url SHA-256 of the verifier) with code_challenge_method=S256' });
    }
    const hint = q['login_hint'];
    const email = emailFor(hint);
    if (email === undefined) {
      return back({ error: 'login_required', error_description: hint ? `login_hint ${JSON.stringify(hint)} is not an email address` : 'this development issuer has no login page: give login_hint=EMAIL or start it with a default email' });
    }
    const now = Date.now();
    purge(codes, now);
    const code = randomBytes(32).toString('base64url');
    codes.set(code, { clientId: q['client_id'], redirectUri: q['redirect_uri'], challenge: q['code_challenge'], ...(q['nonce'] ? { nonce: q['nonce'] } : {}), email, expiresAt: now + codeLifetime });
    return back({ code });
  });

  app.post('/device/code', async (request, reply) => {
    const b = params(request.body);
    if (!b['client_id']) return oauthError(reply, 'invalid_request', 'give "client_id" (sigstore clients use "sigstore")');
    if (b['scope'] !== undefined && !b['scope'].split(' ').includes('openid')) return oauthError(reply, 'invalid_scope', 'the scope must include "openid"');
    const now = Date.now();
    purge(devices, now);
    for (const [u, d] of byUserCode) if (!devices.has(d)) byUserCode.delete(u);
    const deviceCode = randomBytes(32).toString('base64url');
    let user = userCode();
    while (byUserCode.has(user)) user = userCode();
    devices.set(deviceCode, { clientId: b['client_id'], userCode: user, ...(b['login_hint'] ? { hint: b['login_hint'] } : {}), expiresAt: now + deviceLifetime, interval });
    byUserCode.set(user, deviceCode);
    const verification = `${ctx.base()}/device`;
    reply.header('cache-control', 'no-store');
    return {
      device_code: deviceCode,
      user_code: user,
      verification_uri: verification,
      verification_uri_complete: `${verification}?user_code=${encodeURIComponent(user)}`,
      expires_in: Math.ceil(deviceLifetime / 1000),
      interval,
    };
  });

  // The "login page": visiting it approves the code at once (no UI, development only).
  const approve = async (source: Record<string, string>) => {
    const code = (source['user_code'] ?? '').toUpperCase().replace(/[^A-Z]/g, '');
    if (code === '') throw invalid('give "user_code" (the code the device shows)');
    const deviceCode = byUserCode.get(`${code.slice(0, 4)}-${code.slice(4)}`);
    const pending = deviceCode === undefined ? undefined : devices.get(deviceCode);
    if (!pending || pending.expiresAt <= Date.now()) throw new ServiceError(400, 'USER_CODE_INVALID', 'no pending device login has that code (it may have expired): start the login again');
    const hint = source['login_hint'] || pending.hint;
    const email = emailFor(hint);
    if (email === undefined) {
      throw invalid(hint ? `login_hint ${JSON.stringify(hint)} is not an email address` : 'this development issuer has no login page: add login_hint=EMAIL to this URL or start the issuer with a default email');
    }
    pending.email = email;
    return { status: 'approved', email, user_code: pending.userCode, description: 'Approved automatically by the development OIDC issuer; return to your device.' };
  };
  app.get('/device', async (request) => approve(params(request.query)));
  app.post('/device', async (request) => approve({ ...params(request.query), ...params(request.body) }));

  const tokens = async (reply: FastifyReply, email: string, clientId: string, extra: Record<string, unknown>) => {
    const { token, expiresIn } = await ctx.issueIdToken(email, clientId, extra);
    reply.header('cache-control', 'no-store');
    return { access_token: randomBytes(32).toString('base64url'), id_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: 'openid email' };
  };

  return {
    handles: (grantType) => grantType === GRANT_AUTHORIZATION_CODE || grantType === GRANT_DEVICE_CODE,
    async token(body, reply) {
      const b = params(body);
      const now = Date.now();
      if (!b['client_id']) return oauthError(reply, 'invalid_client', 'give "client_id" (public clients authenticate with none)', 401);
      if (b['grant_type'] === GRANT_AUTHORIZATION_CODE) {
        if (!b['code'] || !b['redirect_uri'] || !b['code_verifier']) return oauthError(reply, 'invalid_request', 'give "code", "redirect_uri" and "code_verifier"');
        const pending = codes.get(b['code']);
        codes.delete(b['code']); // single use, whatever happens next
        if (!pending || pending.expiresAt <= now) return oauthError(reply, 'invalid_grant', 'the authorization code is unknown, used or expired: log in again');
        if (pending.clientId !== b['client_id']) return oauthError(reply, 'invalid_grant', 'the authorization code was issued to another client_id');
        if (pending.redirectUri !== b['redirect_uri']) return oauthError(reply, 'invalid_grant', 'redirect_uri differs from the one in the authorization request');
        const verifier = b['code_verifier'];
        const computed = createHash('sha256').update(verifier, 'ascii').digest('base64url');
        if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || computed !== pending.challenge) return oauthError(reply, 'invalid_grant', 'code_verifier does not match the code_challenge (S256)');
        return tokens(reply, pending.email, pending.clientId, { ...(pending.nonce !== undefined ? { nonce: pending.nonce } : {}), auth_time: Math.floor(now / 1000) });
      }
      // Device code (RFC 8628 section 3.4 / 3.5).
      if (!b['device_code']) return oauthError(reply, 'invalid_request', 'give "device_code"');
      const pending = devices.get(b['device_code']);
      if (!pending || pending.clientId !== b['client_id']) return oauthError(reply, 'invalid_grant', 'the device code is unknown or was issued to another client_id');
      if (pending.expiresAt <= now) {
        devices.delete(b['device_code']);
        byUserCode.delete(pending.userCode);
        return oauthError(reply, 'expired_token', 'the device code expired before the login was approved: start the login again');
      }
      if (pending.email !== undefined) {
        devices.delete(b['device_code']);
        byUserCode.delete(pending.userCode);
        return tokens(reply, pending.email, pending.clientId, { auth_time: Math.floor(now / 1000) });
      }
      // A quarter-second of slack for timers; faster pollers must slow down by 5 s for good.
      const tooSoon = pending.lastPoll !== undefined && now - pending.lastPoll < pending.interval * 1000 - 250;
      pending.lastPoll = now;
      if (tooSoon) {
        pending.interval += 5;
        return oauthError(reply, 'slow_down', `polling too fast: wait at least ${pending.interval} seconds between requests`);
      }
      return oauthError(reply, 'authorization_pending', 'the login has not been approved yet: visit verification_uri_complete');
    },
  };
}
