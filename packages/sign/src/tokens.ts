// OIDC identity tokens for keyless signing, from the first source that has one: an explicit
// token (or a file holding it), SIGSTORE_ID_TOKEN, the GitHub Actions ambient token, then an
// interactive login (browser with PKCE and a localhost callback, or the RFC 8628 device flow).

import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { SignError, messageOf } from './errors.js';
import { answerError, httpRequest, jsonBody } from './http.js';

export interface TokenClaims {
  iss: string;
  sub: string;
  email?: string;
  emailVerified?: boolean;
  /** Expiry, seconds since the epoch. */
  exp?: number;
  aud?: string | string[];
  [claim: string]: unknown;
}

export interface IdentityToken {
  token: string;
  claims: TokenClaims;
  /** Where it came from, for status lines ("--identity-token", "SIGSTORE_ID_TOKEN", …). */
  source: string;
}

export interface TokenProvider {
  readonly name: string;
  /** The token, or undefined when this source has none (the next one is tried). */
  getToken(): Promise<string | undefined>;
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Reads a JWT's claims without checking its signature (the CA does that). */
export function parseIdentityToken(token: string): TokenClaims {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || !JWT.test(token.trim())) {
    throw new SignError('TOKEN_INVALID', 'the identity token is not a JWT (three base64url parts separated by dots)');
  }
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new SignError('TOKEN_INVALID', 'the identity token payload is not base64url JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new SignError('TOKEN_INVALID', 'the identity token payload is not a JSON object');
  if (typeof claims.iss !== 'string' || claims.iss === '') throw new SignError('TOKEN_INVALID', 'the identity token has no "iss" (issuer) claim');
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new SignError('TOKEN_INVALID', 'the identity token has no "sub" (subject) claim');
  const out: TokenClaims = { ...claims, iss: claims.iss, sub: claims.sub };
  if (typeof claims.email === 'string') out.email = claims.email;
  if (typeof claims.email_verified === 'boolean') out.emailVerified = claims.email_verified;
  else if (claims.email_verified === 'true') out.emailVerified = true;
  if (typeof claims.exp === 'number') out.exp = claims.exp;
  return out;
}

/**
 * What the proof of possession signs: the token's email when it has one, else its `sub`
 * (what Fulcio's challenge is for email and for other issuers). An unverified email is refused.
 */
export function tokenSubject(claims: TokenClaims): string {
  if (claims.email !== undefined) {
    if (claims.emailVerified === false) {
      throw new SignError('TOKEN_EMAIL_UNVERIFIED', `the identity token's email ${claims.email} is not verified by its issuer (email_verified is false)`);
    }
    return claims.email;
  }
  return claims.sub;
}

/** Who the token names, for status lines. */
export function describeIdentity(claims: TokenClaims): string {
  return `${claims.email ?? claims.sub} (issuer ${claims.iss})`;
}

// ---------------------------------------------------------------------------------------------
// Non-interactive sources

/** `--identity-token`: the token itself, or a path to a file holding it. */
export function explicitTokenProvider(value: string, name = '--identity-token'): TokenProvider {
  return {
    name,
    async getToken() {
      const trimmed = value.trim();
      // A file of that name wins (a JWT is never a file name in practice; a path may look like one).
      if (!existsSync(value) && JWT.test(trimmed)) return trimmed;
      if (existsSync(value)) {
        try {
          const text = readFileSync(value, 'utf8').trim();
          if (text === '') throw new SignError('TOKEN_INVALID', `${name} file ${value} is empty`);
          return text;
        } catch (err) {
          if (err instanceof SignError) throw err;
          throw new SignError('TOKEN_UNREADABLE', `cannot read ${name} file ${value}: ${messageOf(err)}`, { cause: err });
        }
      }
      throw new SignError('TOKEN_INVALID', `${name} is neither a JWT nor a readable file`);
    },
  };
}

/** SIGSTORE_ID_TOKEN. */
export function environmentTokenProvider(env: NodeJS.ProcessEnv = process.env): TokenProvider {
  return {
    name: 'SIGSTORE_ID_TOKEN',
    async getToken() {
      const value = env.SIGSTORE_ID_TOKEN?.trim();
      return value ? value : undefined;
    },
  };
}

/**
 * The GitHub Actions ambient token: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=… with the
 * request token as bearer (the workflow needs `permissions: id-token: write`).
 */
export function githubActionsTokenProvider(options: { env?: NodeJS.ProcessEnv; audience?: string } = {}): TokenProvider {
  const env = options.env ?? process.env;
  return {
    name: 'GitHub Actions',
    async getToken() {
      const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
      const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
      if (!requestUrl || !requestToken) return undefined;
      const url = new URL(requestUrl);
      url.searchParams.set('audience', options.audience ?? 'sigstore');
      const service = 'GitHub Actions OIDC token service';
      const response = await httpRequest({ service, url: url.toString(), headers: { authorization: `bearer ${requestToken}`, accept: 'application/json' } });
      if (response.status !== 200) throw answerError(service, response, 'TOKEN_UNAVAILABLE', 'gave no token (does the job have `permissions: id-token: write`?)');
      const value = (jsonBody(service, response) as { value?: unknown }).value;
      if (typeof value !== 'string' || value === '') throw answerError(service, response, 'TOKEN_UNAVAILABLE', 'answered without a "value" token');
      return value;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Interactive sources (openid-client)

export interface InteractiveOptions {
  /** The OIDC issuer (default https://oauth2.sigstore.dev/auth). */
  issuer?: string;
  clientId?: string;
  clientSecret?: string;
  /** Local port for the browser flow's callback (default: any free port). */
  redirectPort?: number;
  /** 'auto' (browser when one seems available, else device flow), 'browser' or 'device'. */
  flow?: 'auto' | 'browser' | 'device';
  /** Opens a URL in the user's browser (default: xdg-open / open / start). */
  openBrowser?: (url: string) => Promise<void>;
  /** Where instructions go (default stderr). */
  log?: (line: string) => void;
  /** How long to wait for the user, ms (default 5 minutes). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_OIDC_ISSUER = 'https://oauth2.sigstore.dev/auth';
export const DEFAULT_OIDC_CLIENT_ID = 'sigstore';

/** A browser can be opened: macOS and Windows, or a Linux/BSD desktop session. */
export function browserAvailable(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  if (env.SIGSTACK_NO_BROWSER) return false;
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY || env.BROWSER);
}

function defaultOpenBrowser(url: string): Promise<void> {
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]] : [process.env.BROWSER || 'xdg-open', [url]];
  return new Promise((resolve, reject) => {
    const child = spawn(command as string, args as string[], { stdio: 'ignore', detached: true });
    child.once('error', reject);
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}

/** An openid-client error with the issuer's OAuth error code and description, when it sent them. */
function oauthMessage(err: unknown): string {
  const e = err as { error?: unknown; error_description?: unknown };
  if (typeof e?.error === 'string') return `${e.error}${typeof e.error_description === 'string' ? `: ${e.error_description}` : ''}`;
  return messageOf(err);
}

async function oidcConfiguration(options: InteractiveOptions) {
  const client = await import('openid-client');
  const issuer = new URL(options.issuer ?? DEFAULT_OIDC_ISSUER);
  const clientId = options.clientId ?? DEFAULT_OIDC_CLIENT_ID;
  const auth = options.clientSecret ? client.ClientSecretPost(options.clientSecret) : client.None();
  try {
    const config = await client.discovery(issuer, clientId, undefined, auth, issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined);
    return { client, config };
  } catch (err) {
    throw new SignError('OIDC_DISCOVERY_FAILED', `OIDC issuer at ${issuer.href} could not be discovered: ${messageOf(err)}`, { service: 'OIDC issuer', url: issuer.href, cause: err });
  }
}

/** Authorization code flow with PKCE: a browser login answered on a localhost callback. */
export function browserTokenProvider(options: InteractiveOptions = {}): TokenProvider {
  return {
    name: 'browser login',
    async getToken() {
      const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
      const { client, config } = await oidcConfiguration(options);
      const verifier = client.randomPKCECodeVerifier();
      const challenge = await client.calculatePKCECodeChallenge(verifier);
      const state = client.randomState();
      const nonce = client.randomNonce();

      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.redirectPort ?? 0, '127.0.0.1', () => resolve());
      });
      const port = (server.address() as { port: number }).port;
      const redirectUri = `http://localhost:${port}/auth/callback`;
      const timeout = options.timeoutMs ?? 5 * 60_000;
      try {
        const callback = new Promise<URL>((resolve, reject) => {
          const timer = setTimeout(() => reject(new SignError('OIDC_LOGIN_TIMEOUT', `no browser login within ${Math.round(timeout / 1000)} s`)), timeout);
          server.on('request', (req, res) => {
            const url = new URL(req.url ?? '/', redirectUri);
            if (url.pathname !== '/auth/callback') {
              res.writeHead(404).end();
              return;
            }
            const failed = url.searchParams.get('error');
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
            res.end(failed ? '<p>Login failed; see the terminal.</p>' : '<p>Signed in. You can close this window and return to the terminal.</p>');
            clearTimeout(timer);
            resolve(url);
          });
        });
        const authUrl = client.buildAuthorizationUrl(config, {
          redirect_uri: redirectUri,
          scope: 'openid email',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          state,
          nonce,
        });
        log(`Opening the browser to sign in; if it does not open, visit:\n  ${authUrl.href}`);
        await (options.openBrowser ?? defaultOpenBrowser)(authUrl.href).catch(() => undefined);
        const currentUrl = await callback;
        try {
          const tokens = await client.authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }, { redirect_uri: redirectUri });
          if (!tokens.id_token) throw new Error('the token response has no id_token');
          return tokens.id_token;
        } catch (err) {
          throw new SignError('OIDC_LOGIN_FAILED', `the browser login failed: ${oauthMessage(err)}`, { service: 'OIDC issuer', url: config.serverMetadata().issuer, cause: err });
        }
      } finally {
        server.close();
      }
    },
  };
}

/** The device authorization grant (RFC 8628): a code to enter on another device. */
export function deviceFlowTokenProvider(options: InteractiveOptions = {}): TokenProvider {
  return {
    name: 'device login',
    async getToken() {
      const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
      const { client, config } = await oidcConfiguration(options);
      const issuer = config.serverMetadata().issuer;
      if (!config.serverMetadata().device_authorization_endpoint) {
        throw new SignError('OIDC_DEVICE_FLOW_UNSUPPORTED', `OIDC issuer ${issuer} offers no device authorization endpoint: pass --identity-token or sign where a browser can open`);
      }
      try {
        const device = await client.initiateDeviceAuthorization(config, { scope: 'openid email' });
        const where = device.verification_uri_complete ?? device.verification_uri;
        log(`To sign in, visit ${where}${device.verification_uri_complete ? '' : ` and enter the code ${device.user_code}`}`);
        const controller = new AbortController();
        const waitMs = options.timeoutMs ?? Math.min(device.expires_in * 1000, 15 * 60_000);
        const timer = setTimeout(() => controller.abort(), waitMs);
        try {
          const tokens = await client.pollDeviceAuthorizationGrant(config, device, undefined, { signal: controller.signal });
          if (!tokens.id_token) throw new Error('the token response has no id_token');
          return tokens.id_token;
        } catch (err) {
          if (controller.signal.aborted || (err as { error?: unknown }).error === 'expired_token') {
            throw new SignError('OIDC_LOGIN_TIMEOUT', `the device login was not approved in time (the code expired or ${Math.round(waitMs / 1000)} s passed): run again and approve it sooner`, { service: 'OIDC issuer', url: issuer, cause: err });
          }
          throw err;
        } finally {
          clearTimeout(timer);
        }
      } catch (err) {
        if (err instanceof SignError) throw err;
        throw new SignError('OIDC_LOGIN_FAILED', `the device login failed: ${oauthMessage(err)}`, { service: 'OIDC issuer', url: issuer, cause: err });
      }
    },
  };
}

/** Browser login when a browser can open, else the device flow. */
export function interactiveTokenProvider(options: InteractiveOptions = {}): TokenProvider {
  const flow = options.flow ?? 'auto';
  const browser = flow === 'browser' || (flow === 'auto' && browserAvailable(options.env));
  return browser ? browserTokenProvider(options) : deviceFlowTokenProvider(options);
}

// ---------------------------------------------------------------------------------------------

export interface ResolveTokenOptions {
  /** `--identity-token`: a token or a file path. */
  identityToken?: string;
  env?: NodeJS.ProcessEnv;
  /** Interactive login settings; false to never prompt (the default when not given). */
  interactive?: InteractiveOptions | false;
  /** Extra providers tried after the built-in non-interactive ones. */
  providers?: TokenProvider[];
}

/** The non-interactive then interactive providers, in the order they are tried. */
export function tokenProviders(options: ResolveTokenOptions = {}): TokenProvider[] {
  const env = options.env ?? process.env;
  const providers: TokenProvider[] = [];
  if (options.identityToken !== undefined) providers.push(explicitTokenProvider(options.identityToken));
  providers.push(environmentTokenProvider(env), githubActionsTokenProvider({ env }), ...(options.providers ?? []));
  if (options.interactive) providers.push(interactiveTokenProvider({ env, ...options.interactive }));
  return providers;
}

/**
 * The first token any provider has, with its claims. Throws TOKEN_MISSING when none has one,
 * TOKEN_EXPIRED when the token found has expired.
 */
export async function resolveIdentityToken(options: ResolveTokenOptions = {}): Promise<IdentityToken> {
  for (const provider of tokenProviders(options)) {
    const token = await provider.getToken();
    if (token === undefined) continue;
    const claims = parseIdentityToken(token);
    if (claims.exp !== undefined && claims.exp * 1000 < Date.now()) {
      throw new SignError('TOKEN_EXPIRED', `the identity token from ${provider.name} expired at ${new Date(claims.exp * 1000).toISOString()}: get a fresh one`);
    }
    return { token, claims, source: provider.name };
  }
  throw new SignError(
    'TOKEN_MISSING',
    'no identity token: pass --identity-token (a token or a file), set SIGSTORE_ID_TOKEN, run in GitHub Actions with `id-token: write`, or sign interactively in a terminal (or use --key for a managed key)',
  );
}
