// Which services to sign with: from a signing_config v0.2 (CA, OIDC, Rekor v1 or v2 by
// majorApiVersion, TSAs, with the ANY / ALL / EXACT selectors), from explicit URLs, or both
// (explicit URLs win); without either, the public-good sigstore instance.

import { readFileSync } from 'node:fs';
import { CoreError, parseSigningConfig, selectServices, type SigningConfig } from '@sigstack/core';
import { SignError, messageOf } from './errors.js';

export interface SigningServices {
  /** The certificate authority (keyless signing only). */
  ca?: { url: string };
  /** The OIDC issuer for interactive logins. */
  oidc?: { url: string };
  tlogs: { url: string; majorApiVersion: 1 | 2 }[];
  tsas: { url: string }[];
}

/** The public-good instance's signing config (Rekor v1; Rekor v2 is opt-in there). */
export const PUBLIC_GOOD_SIGNING_CONFIG = {
  mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
  caUrls: [{ url: 'https://fulcio.sigstore.dev', majorApiVersion: 1, validFor: { start: '2023-04-14T21:38:40Z' }, operator: 'sigstore.dev' }],
  oidcUrls: [{ url: 'https://oauth2.sigstore.dev/auth', majorApiVersion: 1, validFor: { start: '2025-04-16T00:00:00Z' }, operator: 'sigstore.dev' }],
  rekorTlogUrls: [{ url: 'https://rekor.sigstore.dev', majorApiVersion: 1, validFor: { start: '2021-01-12T11:53:27Z' }, operator: 'sigstore.dev' }],
  tsaUrls: [{ url: 'https://timestamp.sigstore.dev/api/v1/timestamp', majorApiVersion: 1, validFor: { start: '2025-07-04T00:00:00Z' }, operator: 'sigstore.dev' }],
  rekorTlogConfig: { selector: 'ANY' },
  tsaConfig: { selector: 'ANY' },
} as const;

/** The staging instance's signing config (conformance `--staging`). */
export const STAGING_SIGNING_CONFIG = {
  mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
  caUrls: [{ url: 'https://fulcio.sigstage.dev', majorApiVersion: 1, validFor: { start: '2022-04-14T21:38:40Z' }, operator: 'sigstore.dev' }],
  oidcUrls: [{ url: 'https://oauth2.sigstage.dev/auth', majorApiVersion: 1, validFor: { start: '2025-04-16T00:00:00Z' }, operator: 'sigstore.dev' }],
  rekorTlogUrls: [{ url: 'https://rekor.sigstage.dev', majorApiVersion: 1, validFor: { start: '2021-01-12T11:53:27Z' }, operator: 'sigstore.dev' }],
  tsaUrls: [{ url: 'https://timestamp.sigstage.dev/api/v1/timestamp', majorApiVersion: 1, validFor: { start: '2025-04-09T00:00:00Z' }, operator: 'sigstore.dev' }],
  rekorTlogConfig: { selector: 'ANY' },
  tsaConfig: { selector: 'ANY' },
} as const;

/** Reads and parses a signing_config v0.2 file. */
export function loadSigningConfig(path: string): SigningConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SignError('SIGNING_CONFIG_UNREADABLE', `cannot read signing config ${path}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`, { cause: err });
  }
  try {
    return parseSigningConfig(JSON.parse(text));
  } catch (err) {
    const code = err instanceof CoreError ? err.code : 'SIGNING_CONFIG_INVALID';
    throw new SignError(code, `signing config ${path} is not usable: ${messageOf(err)}`, { cause: err });
  }
}

function select(what: string, run: () => { url: string; majorApiVersion: number }[]) {
  try {
    return run();
  } catch (err) {
    if (err instanceof CoreError) throw new SignError(err.code, `signing config ${what}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The services a signing config names for use now, per its selectors. */
export function servicesFromSigningConfig(config: SigningConfig, now = new Date()): SigningServices {
  const services: SigningServices = { tlogs: [], tsas: [] };
  if (config.caUrls.length > 0) {
    const [ca] = select('caUrls', () => selectServices(config.caUrls, { selector: 'ANY' }, [1], now));
    if (ca) services.ca = { url: ca.url };
  }
  if (config.oidcUrls.length > 0) {
    const [oidc] = select('oidcUrls', () => selectServices(config.oidcUrls, { selector: 'ANY' }, [1], now));
    if (oidc) services.oidc = { url: oidc.url };
  }
  if (config.rekorTlogUrls.length > 0) {
    services.tlogs = select('rekorTlogUrls', () => selectServices(config.rekorTlogUrls, config.rekorTlogConfig, [1, 2], now)).map((s) => ({
      url: s.url,
      majorApiVersion: s.majorApiVersion as 1 | 2,
    }));
  }
  if (config.tsaUrls.length > 0) {
    services.tsas = select('tsaUrls', () => selectServices(config.tsaUrls, config.tsaConfig, [1], now)).map((s) => ({ url: s.url }));
  }
  return services;
}

export interface ExplicitServices {
  fulcioUrl?: string;
  rekorUrl?: string;
  /** API version of --rekor-url (default 1). */
  rekorVersion?: 1 | 2;
  tsaUrls?: string[];
  oidcIssuer?: string;
}

/**
 * The services to sign with: a signing config (parsed) with any explicit URLs replacing its
 * choice for that service; without a config, only the explicit URLs, or the public-good
 * instance when none is given at all.
 */
export function resolveServices(options: { signingConfig?: SigningConfig; explicit?: ExplicitServices; now?: Date } = {}): SigningServices {
  const explicit = options.explicit ?? {};
  const anyExplicit = Boolean(explicit.fulcioUrl || explicit.rekorUrl || explicit.tsaUrls?.length);
  const base: SigningServices = options.signingConfig
    ? servicesFromSigningConfig(options.signingConfig, options.now)
    : anyExplicit
      ? { tlogs: [], tsas: [] }
      : servicesFromSigningConfig(parseSigningConfig(PUBLIC_GOOD_SIGNING_CONFIG), options.now);
  if (explicit.fulcioUrl) base.ca = { url: explicit.fulcioUrl };
  if (explicit.oidcIssuer) base.oidc = { url: explicit.oidcIssuer };
  if (explicit.rekorUrl) base.tlogs = [{ url: explicit.rekorUrl, majorApiVersion: explicit.rekorVersion ?? 1 }];
  if (explicit.tsaUrls?.length) base.tsas = explicit.tsaUrls.map((url) => ({ url }));
  return base;
}
