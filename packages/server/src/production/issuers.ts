// The OIDC issuers the stack's CA trusts: the operator's Fulcio-format configuration
// (--oidc-config), the stack's own development issuer only when asked for (always in a
// development stack, with --dev-issuer in production), and which of them signing_config lists.

import { parseOidcConfig, loadOidcConfig, type OidcConfig } from '../ca/oidc/config.js';
import { ServiceError } from '../errors.js';

export interface IssuerChoice {
  /** Path of a Fulcio issuer configuration (JSON or YAML). */
  configPath?: string;
  /** The dev issuer's URL when it is on. */
  devIssuerUrl?: string;
}

export function stackOidcConfig(choice: IssuerChoice): OidcConfig {
  const dev = choice.devIssuerUrl
    ? parseOidcConfig(JSON.stringify({ OIDCIssuers: { [choice.devIssuerUrl]: { IssuerURL: choice.devIssuerUrl, ClientID: 'sigstore', Type: 'email' } } }), 'sigstack up (dev issuer)')
    : undefined;
  const file = choice.configPath ? loadOidcConfig(choice.configPath) : undefined;
  if (!file && !dev) {
    throw new ServiceError(500, 'NO_OIDC_ISSUERS', 'a production stack needs --oidc-config ISSUERS.yaml (Fulcio\'s issuer configuration: GitHub Actions, GitLab, Google, Keycloak or Dex, SPIFFE, Kubernetes); --dev-issuer adds the development issuer, which gives a token to anyone');
  }
  if (!file) return dev!;
  if (!dev) return file;
  return {
    OIDCIssuers: new Map([...file.OIDCIssuers, ...dev.OIDCIssuers]),
    MetaIssuers: file.MetaIssuers,
    CIIssuerMetadata: file.CIIssuerMetadata,
    warnings: file.warnings,
  };
}

/** The issuers a person signs in with (signing_config's oidcUrls): the email-type ones, in order. */
export function interactiveIssuers(config: OidcConfig): string[] {
  return [...config.OIDCIssuers.values()].filter((issuer) => issuer.Type === 'email').map((issuer) => issuer.IssuerURL);
}
